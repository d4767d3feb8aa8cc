// adam.ts — Adam and AdamW, PyTorch's torch.optim.Adam / AdamW semantics (1.13), one fused kernel
// per parameter tensor (native/cpu|cuda/optim.*: adam_step).
import { callNative, check } from '../errors';
import { native } from '../native';
import type { Tensor } from '../tensor';
import { Optimizer, type GroupOptions, type ParamGroup, type Params } from './optimizer';

export interface AdamOptions extends Partial<GroupOptions> {
  /** Learning rate (default 1e-3). */
  lr?: number;
  /** Decay rates of the first and second moment estimates (default [0.9, 0.999]). */
  betas?: [number, number];
  /** Added to the denominator for numerical stability (default 1e-8). */
  eps?: number;
  /** Adam: L2 penalty added to the gradient (default 0). AdamW: decoupled decay (default 1e-2). */
  weightDecay?: number;
  /** Use the maximum of past second moments (AMSGrad; default false). */
  amsgrad?: boolean;
}

type AdamGroupOptions = Required<AdamOptions>;

/** Adam and AdamW share everything but where the weight decay goes. */
abstract class AdamBase extends Optimizer<AdamGroupOptions> {
  /** AdamW: p *= 1 - lr·wd before the update; Adam: g += wd·p. */
  protected abstract readonly decoupled: boolean;

  constructor(params: Params<AdamGroupOptions>, options: AdamOptions, defaultWeightDecay: number) {
    const o = options ?? {};
    check(typeof o === 'object', 'ERR_ARGUMENT', 'Adam: options must be an object');
    super(params, {
      lr: o.lr ?? 1e-3,
      betas: o.betas ? [...o.betas] as [number, number] : [0.9, 0.999],
      eps: o.eps ?? 1e-8,
      weightDecay: o.weightDecay ?? defaultWeightDecay,
      amsgrad: o.amsgrad ?? false,
    });
  }

  protected override checkOptions(o: AdamGroupOptions): void {
    super.checkOptions(o);
    const name = this.constructor.name;
    check(typeof o.eps === 'number' && o.eps >= 0, 'ERR_ARGUMENT', () => `${name}: invalid eps ${String(o.eps)}`);
    check(Array.isArray(o.betas) && o.betas.length === 2, 'ERR_ARGUMENT', () => `${name}: betas must be [beta1, beta2]`);
    for (const [i, b] of o.betas.entries())
      check(typeof b === 'number' && b >= 0 && b < 1, 'ERR_ARGUMENT',
            () => `${name}: invalid beta at index ${i}: ${String(b)}`);
    check(typeof o.weightDecay === 'number' && o.weightDecay >= 0, 'ERR_ARGUMENT',
          () => `${name}: invalid weightDecay ${String(o.weightDecay)}`);
    check(typeof o.amsgrad === 'boolean', 'ERR_ARGUMENT', () => `${name}: amsgrad must be a boolean`);
  }

  protected updateGroup(group: ParamGroup<AdamGroupOptions>, params: Tensor[]): void {
    const { lr, eps, weightDecay: wd, amsgrad } = group;
    const [beta1, beta2] = group.betas;
    for (const p of params) {
      const g = p.grad!;
      let s = this.state.get(p);
      if (!s) {
        s = { step: 0, expAvg: this.stateZeros(p), expAvgSq: this.stateZeros(p) };
        this.state.set(p, s);
      }
      if (amsgrad && !s.maxExpAvgSq) s.maxExpAvgSq = this.stateZeros(p);
      const step = ((s.step as number) ?? 0) + 1;
      s.step = step;
      // Step-dependent scalars in double, as PyTorch computes them in Python.
      const biasCorrection1 = 1 - beta1 ** step;
      const biasCorrection2 = 1 - beta2 ** step;
      const stepSize = lr / biasCorrection1;
      const paramScale = this.decoupled ? 1 - lr * wd : 1;
      const gradDecay = this.decoupled ? 0 : wd;
      const m = s.expAvg as Tensor, v = s.expAvgSq as Tensor;
      const vmax = amsgrad ? (s.maxExpAvgSq as Tensor) : null;
      callNative(() => native.adamStep(p.buf, g.buf, m.buf, v.buf, vmax ? vmax.buf : null, p.numel, beta1, beta2,
                                       1 - beta1, 1 - beta2, eps, paramScale, gradDecay, stepSize,
                                       Math.sqrt(biasCorrection2)));
    }
  }
}

/**
 * Adam (Kingma & Ba), with bias-corrected moment estimates:
 *
 *   g += weightDecay·p                      (L2 penalty, unlike AdamW)
 *   m = β1·m + (1-β1)·g;  v = β2·v + (1-β2)·g²
 *   p -= lr · (m / (1-β1^t)) / (sqrt(v / (1-β2^t)) + eps)
 *
 * State per parameter: `step`, `expAvg`, `expAvgSq` (and `maxExpAvgSq` with amsgrad).
 */
export class Adam extends AdamBase {
  protected readonly decoupled = false;
  constructor(params: Params<AdamGroupOptions>, options: AdamOptions = {}) {
    super(params, options, 0);
  }
}

/**
 * AdamW (Loshchilov & Hutter): Adam with decoupled weight decay. Each step first shrinks the
 * parameter, `p *= 1 - lr·weightDecay`, then takes the Adam step on the raw gradient.
 * weightDecay defaults to 1e-2, as in PyTorch.
 */
export class AdamW extends AdamBase {
  protected readonly decoupled = true;
  constructor(params: Params<AdamGroupOptions>, options: AdamOptions = {}) {
    super(params, options, 1e-2);
  }
}
