// embedding.ts — embedding lookup, as torch.nn.functional.embedding.
//
// ids int32 [...] index rows of weight [V, C]: out [..., C]. Every id is checked to be in
// [0, V) before a kernel reads it (ERR_INDEX): on cpu in place, on cuda after copying the ids to
// the host (native/ops/embedding.cc). Backward scatter-adds the output gradient into a zero
// dWeight: on cpu without atomics (each thread owns the rows v with v % threads == t, so the
// result is deterministic), on cuda with atomicAdd. The paddingIdx row gets no gradient.
import { record } from '../autograd';
import { callNative, check } from '../errors';
import { native } from '../native';
import { Tensor, empty, zeros } from '../tensor';
import { saveForBackward, willRecord } from './elementwise';
import { needDtype, sameDevice } from './util';

export interface EmbeddingOptions {
  /** A row (negative counts from the end) that gets no gradient, as in PyTorch. */
  paddingIdx?: number | null;
}

/** The rows of weight [V, C] picked by ids (int32, any shape): [...ids.shape, C]. */
export function embedding(ids: Tensor, weight: Tensor, opts: EmbeddingOptions = {}): Tensor {
  sameDevice('embedding', ids, weight);
  needDtype('embedding', ids, 'int32', 'ids');
  needDtype('embedding', weight, 'float32', 'weight');
  check(weight.ndim === 2, 'ERR_SHAPE', () => `embedding: weight must be [V, C], got [${weight.shape}]`);
  const [V, C] = weight.shape;
  let pad = opts.paddingIdx ?? -1;
  if (opts.paddingIdx != null) {
    check(Number.isInteger(pad) && pad >= -V && pad < V, 'ERR_ARGUMENT',
          () => `embedding: paddingIdx ${opts.paddingIdx} is out of range for ${V} rows`);
    if (pad < 0) pad += V;
  }
  const N = ids.numel;
  const out = empty([...ids.shape, C], { device: weight.device });
  callNative(() => native.embeddingForward(out.buf, ids.buf, weight.buf, N, V, C));
  if (!willRecord(weight)) return out;
  const savedIds = saveForBackward(ids);
  return record('embedding', out, [weight], (g) => {
    const gw = zeros(weight.shape, { device: weight.device });
    callNative(() => native.embeddingBackward(gw.buf, g.buf, savedIds.buf, N, V, C, pad));
    return [gw];
  }, [savedIds]);
}
