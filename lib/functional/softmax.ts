// softmax.ts — F.softmax and F.logSoftmax over any dim, forward and backward, on the native
// kernels (native/cpu/softmax.cc, native/cuda/softmax.cu).
//
// The tensor is seen as [outer, C, inner] with C = shape[dim]; the last dim (inner = 1) is the
// fast case. Stable for large values (the row max is subtracted); -inf entries give 0 (softmax) /
// -inf (logSoftmax); a slice that is all -inf gives NaN, as in PyTorch. The backward uses the
// saved output: dx = y (dy - sum(dy y)) for softmax, dx = dy - exp(y) sum(dy) for logSoftmax.
import { record } from '../autograd';
import { callNative, check } from '../errors';
import { native } from '../native';
import { Tensor, empty, normDim, numel } from '../tensor';
import { needDtype, sameDevice } from './util';

function run(op: 'softmax' | 'logSoftmax', x: Tensor, dim: number): Tensor {
  check(x instanceof Tensor, 'ERR_ARGUMENT', () => `${op}: input must be a Tensor`);
  check(typeof dim === 'number', 'ERR_ARGUMENT', () => `${op}: dim is required (PyTorch's implicit dim is deprecated); ` +
        `pass e.g. -1 for the last dim`);
  sameDevice(op, x);
  needDtype(op, x, 'float32');
  const d = normDim(dim, x.ndim);
  const C = x.ndim === 0 ? 1 : x.shape[d];
  const outer = numel(x.shape.slice(0, d)), inner = x.ndim === 0 ? 1 : numel(x.shape.slice(d + 1));
  const log = op === 'logSoftmax';
  const out = empty(x.shape, { device: x.device });
  if (out.numel) callNative(() => native.softmaxForward(out.buf, x.buf, outer, C, inner, log));
  // The graph keeps its own reference to the output's storage: disposing `out` leaves it intact.
  const y = x.requiresGrad ? out._alias(out.shape) : null;
  return record(op, out, [x], (g) => {
    const dx = empty(x.shape, { device: x.device });
    if (dx.numel) callNative(() => native.softmaxBackward(dx.buf, g.buf, y!.buf, outer, C, inner, log));
    return [dx];
  }, y ? [y] : []);
}

/** softmax(x) along `dim` (like torch.softmax / F.softmax): exp(x - max) / sum(exp(x - max)). */
export function softmax(x: Tensor, dim: number): Tensor {
  return run('softmax', x, dim);
}

/** log(softmax(x)) along `dim`, computed stably as x - max - log(sum(exp(x - max))). */
export function logSoftmax(x: Tensor, dim: number): Tensor {
  return run('logSoftmax', x, dim);
}
