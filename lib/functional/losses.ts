// losses.ts — F.crossEntropy (fused log-softmax + NLL), F.mseLoss, F.binaryCrossEntropyWithLogits,
// forward and backward, on the native kernels (native/cpu/losses.cc, native/cuda/losses.cu).
//
// crossEntropy takes logits [N, C] and int32 class indices [N] (PyTorch's [N, C, d1, ...] layout
// and probability targets are not supported: reshape [B, T, C] logits to [B*T, C] first). One
// pass over each row computes its log-sum-exp (saved) and loss; the backward writes
// dlogits = (softmax - onehot) * scale in one pass. Targets outside [0, C) that are not
// ignoreIndex are an ERR_INDEX before any kernel runs (on cuda the N targets are copied to the
// host to check them, which waits for queued GPU work).
import { record } from '../autograd';
import { AtentoError, callNative, check } from '../errors';
import { native } from '../native';
import { Tensor, empty } from '../tensor';
import { needDtype, sameDevice } from './util';

export type Reduction = 'mean' | 'sum' | 'none';

const REDUCTION: Record<Reduction, number> = { none: 0, mean: 1, sum: 2 }; // PyTorch's at::Reduction

function reductionCode(op: string, r: unknown): number {
  check(typeof r === 'string' && r in REDUCTION, 'ERR_ARGUMENT',
        () => `${op}: reduction must be 'mean', 'sum' or 'none', got ${String(r)}`);
  return REDUCTION[r as Reduction];
}

function options<T extends object>(op: string, opts: T | undefined): T {
  check(opts === undefined || (opts !== null && typeof opts === 'object'), 'ERR_ARGUMENT',
        () => `${op}: options must be an object`);
  return (opts ?? {}) as T;
}

export interface CrossEntropyOptions {
  /** Targets equal to this contribute no loss and no gradient (default -100). */
  ignoreIndex?: number;
  /** 'mean' (default: over the non-ignored targets; all ignored gives NaN), 'sum' or 'none' ([N]). */
  reduction?: Reduction;
  /** Label smoothing eps in [0, 1]: the target becomes (1 - eps) onehot + eps / C (PyTorch's). */
  labelSmoothing?: number;
  /** Per-class weights: not supported (ERR_NOT_IMPLEMENTED). */
  weight?: Tensor | null;
}

/**
 * Cross-entropy between logits [N, C] and int32 class indices [N] (torch.nn.functional.cross_entropy):
 * loss_i = logsumexp(logits_i) - logits_i[target_i], reduced by `reduction`.
 */
export function crossEntropy(input: Tensor, target: Tensor, opts?: CrossEntropyOptions): Tensor {
  const OP = 'crossEntropy';
  const { ignoreIndex = -100, reduction = 'mean', labelSmoothing = 0, weight = null } = options(OP, opts);
  check(input instanceof Tensor && target instanceof Tensor, 'ERR_ARGUMENT',
        () => `${OP}: input and target must be Tensors`);
  if (weight != null) throw new AtentoError(`${OP}: class weights are not implemented`, 'ERR_NOT_IMPLEMENTED');
  const red = reductionCode(OP, reduction);
  check(Number.isInteger(ignoreIndex) && ignoreIndex >= -(2 ** 31) && ignoreIndex < 2 ** 31, 'ERR_ARGUMENT',
        () => `${OP}: ignoreIndex must be an int32 integer, got ${String(ignoreIndex)}`);
  check(typeof labelSmoothing === 'number' && labelSmoothing >= 0 && labelSmoothing <= 1, 'ERR_ARGUMENT',
        () => `${OP}: labelSmoothing must be a number in [0, 1], got ${String(labelSmoothing)}`);
  sameDevice(OP, input, target);
  needDtype(OP, input, 'float32');
  check(target.dtype === 'int32', 'ERR_DTYPE',
        () => `${OP}: target must hold int32 class indices, got ${target.dtype} (probability targets are not supported)`);
  check(input.ndim === 2, 'ERR_SHAPE',
        () => `${OP}: input must be logits [N, C] (reshape [B, T, C] to [B*T, C]), got [${input.shape}]`);
  const [N, C] = input.shape;
  check(C >= 1, 'ERR_SHAPE', () => `${OP}: input [${input.shape}] has no classes`);
  check(target.ndim === 1 && target.shape[0] === N, 'ERR_SHAPE',
        () => `${OP}: target must be [${N}], got [${target.shape}]`);

  const device = input.device;
  const out = empty(red === 0 ? [N] : [], { device });
  const lse = empty([N], { device });
  const count = empty([1], { device });
  callNative(() => native.crossEntropyForward(out.buf, lse.buf, count.buf, input.buf, target.buf, N, C, ignoreIndex,
                                              labelSmoothing, red));
  const savedTarget = target._alias(target.shape); // the graph's own reference
  return record(OP, out, [input], (g) => {
    const dx = empty(input.shape, { device });
    callNative(() => native.crossEntropyBackward(dx.buf, g.buf, input.buf, lse.buf, count.buf, savedTarget.buf, N, C,
                                                 ignoreIndex, labelSmoothing, red));
    return [dx];
  }, [lse, count, savedTarget]);
}

export interface LossOptions {
  /** 'mean' (default), 'sum' or 'none' (elementwise, the input's shape). */
  reduction?: Reduction;
}

function pairwise(op: string, input: Tensor, target: Tensor): void {
  check(input instanceof Tensor && target instanceof Tensor, 'ERR_ARGUMENT',
        () => `${op}: input and target must be Tensors`);
  sameDevice(op, input, target);
  needDtype(op, input, 'float32');
  needDtype(op, target, 'float32', 'target');
  check(input.shape.join() === target.shape.join(), 'ERR_SHAPE',
        () => `${op}: input [${input.shape}] and target [${target.shape}] must have the same shape`);
}

/** Mean squared error (torch.nn.functional.mse_loss): (input - target)^2, reduced. */
export function mseLoss(input: Tensor, target: Tensor, opts?: LossOptions): Tensor {
  const OP = 'mseLoss';
  const { reduction = 'mean' } = options(OP, opts);
  const red = reductionCode(OP, reduction);
  pairwise(OP, input, target);
  const n = input.numel;
  const out = empty(red === 0 ? input.shape : [], { device: input.device });
  callNative(() => native.mseForward(out.buf, input.buf, target.buf, n, red));
  return record(OP, out, [input, target], (g) => {
    const di = input.requiresGrad ? empty(input.shape, { device: input.device }) : null;
    const dt = target.requiresGrad ? empty(target.shape, { device: input.device }) : null;
    callNative(() => native.mseBackward(di?.buf ?? null, dt?.buf ?? null, g.buf, input.buf, target.buf, n, red));
    return [di, dt];
  });
}

export interface BceWithLogitsOptions extends LossOptions {
  /** Weight of the positive term per class, [C] for input [..., C] (broadcast over the last dim). */
  posWeight?: Tensor | null;
  /** Per-element weights: not supported (ERR_NOT_IMPLEMENTED). */
  weight?: Tensor | null;
}

/**
 * Binary cross-entropy on logits (torch.nn.functional.binary_cross_entropy_with_logits), in the
 * stable form (1 - t) x + (1 + (posWeight - 1) t) (log1p(exp(-|x|)) + max(-x, 0)).
 */
export function binaryCrossEntropyWithLogits(input: Tensor, target: Tensor, opts?: BceWithLogitsOptions): Tensor {
  const OP = 'binaryCrossEntropyWithLogits';
  const { reduction = 'mean', posWeight = null, weight = null } = options(OP, opts);
  const red = reductionCode(OP, reduction);
  if (weight != null) throw new AtentoError(`${OP}: per-element weights are not implemented`, 'ERR_NOT_IMPLEMENTED');
  pairwise(OP, input, target);
  let C = 1;
  if (posWeight != null) {
    check(posWeight instanceof Tensor, 'ERR_ARGUMENT', () => `${OP}: posWeight must be a Tensor`);
    sameDevice(OP, input, posWeight);
    needDtype(OP, posWeight, 'float32', 'posWeight');
    const last = input.ndim ? input.shape[input.ndim - 1] : 1;
    check(posWeight.numel === last && posWeight.ndim <= 1, 'ERR_SHAPE',
          () => `${OP}: posWeight must be [${last}] (the input's last dim), got [${posWeight.shape}]`);
    C = last;
  }
  const n = input.numel;
  const out = empty(red === 0 ? input.shape : [], { device: input.device });
  callNative(() => native.bceWithLogitsForward(out.buf, input.buf, target.buf, posWeight?.buf ?? null, n, Math.max(C, 1),
                                               red));
  const pw = posWeight ? posWeight._alias(posWeight.shape) : null; // the graph's own reference
  return record(OP, out, [input, target], (g) => {
    const di = input.requiresGrad ? empty(input.shape, { device: input.device }) : null;
    const dt = target.requiresGrad ? empty(target.shape, { device: input.device }) : null;
    callNative(() => native.bceWithLogitsBackward(di?.buf ?? null, dt?.buf ?? null, g.buf, input.buf, target.buf,
                                                  pw?.buf ?? null, n, Math.max(C, 1), red));
    return [di, dt];
  }, pw ? [pw] : []);
}
