// dropout.ts — dropout, as torch.nn.functional.dropout.
//
// Each element is kept with probability 1-p and scaled by 1/(1-p). The mask comes from a
// counter-based hash of (seed, element index) (native/cpu/dropout.h, shared by the CUDA kernel):
// the same seed gives the same mask on cpu and cuda and for any thread count. The backward
// regenerates the mask from the seed (nothing is stored): dx = dy * mask / (1-p).
// The seed is opts.seed, else drawn from opts.generator or the global generator (at.manualSeed).
import { record } from '../autograd';
import { callNative, check } from '../errors';
import { native } from '../native';
import { Tensor, empty, defaultGenerator, zeros, type Generator } from '../tensor';
import { willRecord } from './elementwise';
import { needDtype, sameDevice } from './util';

export interface DropoutOptions {
  /** A non-negative integer: the same seed gives the same mask. */
  seed?: number;
  /** Where to draw the seed from (default: the global generator). */
  generator?: Generator;
}

/** Zeroes each element with probability p (when training) and scales the rest by 1/(1-p). */
export function dropout(x: Tensor, p = 0.5, training = true, opts: DropoutOptions = {}): Tensor {
  sameDevice('dropout', x);
  needDtype('dropout', x, 'float32');
  check(typeof p === 'number' && p >= 0 && p <= 1, 'ERR_ARGUMENT', () => `dropout: p must be in [0, 1], got ${p}`);
  if (!training || p === 0) return x;
  if (p === 1) {
    const out = zeros(x.shape, { device: x.device });
    return record('dropout', out, [x], () => [zeros(x.shape, { device: x.device })]);
  }
  const seed = opts.seed ?? (opts.generator ?? defaultGenerator()).int();
  check(Number.isSafeInteger(seed) && seed >= 0, 'ERR_ARGUMENT',
        () => `dropout: seed must be a non-negative integer, got ${seed}`);
  const threshold = Math.round(p * 2 ** 24), scale = 1 / (1 - p);
  const out = empty(x.shape, { device: x.device });
  callNative(() => native.dropout(out.buf, x.buf, x.numel, seed, threshold, scale));
  if (!willRecord(x)) return out;
  return record('dropout', out, [x], (g) => {
    const gx = empty(x.shape, { device: x.device });
    callNative(() => native.dropout(gx.buf, g.buf, x.numel, seed, threshold, scale));
    return [gx];
  });
}
