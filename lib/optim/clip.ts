// clip.ts — gradient clipping by global norm (PyTorch's torch.nn.utils.clip_grad_norm_).
import { AtentoError, callNative, check } from '../errors';
import { native } from '../native';
import { Tensor } from '../tensor';

export interface ClipGradNormOptions {
  /** Throw ERR_NAN when the total norm is NaN or infinite (default false: scale anyway). */
  errorIfNonfinite?: boolean;
}

/**
 * Scales the gradients of `params` in place so that their norm, taken over all of them together
 * as if concatenated into one vector, is at most `maxNorm`; returns that total norm (before
 * clipping). normType is any p > 0, or Infinity / 'inf' for the largest |g|.
 *
 * As in PyTorch: coef = maxNorm / (total + 1e-6), clamped to 1, and every grad is multiplied by
 * it. Parameters whose grad is null are skipped. Each device's norms cost one read-back.
 */
export function clipGradNorm(params: Tensor | Iterable<Tensor>, maxNorm: number, normType: number | 'inf' = 2,
                             { errorIfNonfinite = false }: ClipGradNormOptions = {}): number {
  const p = normType === 'inf' ? Infinity : normType;
  check(typeof p === 'number' && p > 0, 'ERR_ARGUMENT',
        () => `clipGradNorm: normType must be positive or 'inf', got ${String(normType)}`);
  check(typeof maxNorm === 'number' && !Number.isNaN(maxNorm), 'ERR_ARGUMENT',
        () => `clipGradNorm: invalid maxNorm ${String(maxNorm)}`);
  const list = params instanceof Tensor ? [params] : [...params];
  const grads: Tensor[] = [];
  for (const t of list) {
    check(t instanceof Tensor, 'ERR_ARGUMENT', 'clipGradNorm: params must be tensors');
    if (!t.grad) continue;
    check(t.grad.dtype === 'float32', 'ERR_DTYPE', () => `clipGradNorm: grads must be float32, got ${t.grad!.dtype}`);
    grads.push(t.grad);
  }
  if (grads.length === 0) return 0;

  // One native call (one read-back on cuda) per device for the per-tensor pieces.
  const pieces: number[] = [];
  for (const device of new Set(grads.map((g) => g.device))) {
    const mine = grads.filter((g) => g.device === device);
    pieces.push(...callNative(() => native.gradNorms(mine.map((g) => g.buf), mine.map((g) => g.numel), p) as number[]));
  }
  let total: number;
  if (p === Infinity) total = pieces.reduce((a, b) => (b > a || Number.isNaN(b) ? b : a), 0);
  else total = pieces.reduce((a, b) => a + b, 0) ** (1 / p);

  if (errorIfNonfinite && !Number.isFinite(total)) {
    throw new AtentoError(`clipGradNorm: the total norm of order ${p} of the gradients is non-finite (${total}), so ` +
                          'it cannot be clipped; pass { errorIfNonfinite: false } to scale by it anyway', 'ERR_NAN');
  }
  const coef = Math.min(maxNorm / (total + 1e-6), 1);
  if (!(coef >= 1)) for (const g of grads) callNative(() => native.gradScale(g.buf, g.numel, coef)); // NaN scales too
  return total;
}
