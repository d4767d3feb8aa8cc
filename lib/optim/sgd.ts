// sgd.ts — stochastic gradient descent with momentum, dampening, Nesterov and weight decay,
// PyTorch's torch.optim.SGD semantics (1.13), one fused kernel per parameter tensor.
import { callNative, check } from '../errors';
import { native } from '../native';
import type { Tensor } from '../tensor';
import { Optimizer, type GroupOptions, type ParamGroup, type Params } from './optimizer';

export interface SGDOptions extends GroupOptions {
  /** Learning rate (required). */
  lr: number;
  /** Momentum factor (default 0: plain gradient descent). */
  momentum?: number;
  /** Dampening of the momentum: buf = momentum·buf + (1 - dampening)·g (default 0). */
  dampening?: number;
  /** L2 penalty added to the gradient: g + weightDecay·p (default 0). */
  weightDecay?: number;
  /** Nesterov momentum (needs momentum > 0 and dampening 0). */
  nesterov?: boolean;
}

type SGDGroupOptions = Required<SGDOptions>;

/**
 * Gradient descent: `p -= lr · d`, with d the gradient plus weight decay, through a momentum
 * buffer when momentum > 0 (the first step sets the buffer to the gradient, as PyTorch does):
 *
 *   d = g + weightDecay·p
 *   buf = momentum·buf + (1 - dampening)·d        (buf = d on the first step)
 *   d = nesterov ? d + momentum·buf : buf
 *
 * Full-batch, mini-batch and stochastic gradient descent are this same optimizer: they differ
 * only in how many examples the loss behind `.grad` averages over (the whole data set, a
 * mini-batch, or one example per step).
 *
 *   const opt = new optim.SGD(model.parameters(), { lr: 0.1, momentum: 0.9 });
 *   opt.zeroGrad(); loss.backward(); opt.step();
 */
export class SGD extends Optimizer<SGDGroupOptions> {
  constructor(params: Params<SGDGroupOptions>, options: SGDOptions) {
    check(options !== null && typeof options === 'object', 'ERR_ARGUMENT', 'SGD: options { lr } are required');
    super(params, {
      lr: options.lr,
      momentum: options.momentum ?? 0,
      dampening: options.dampening ?? 0,
      weightDecay: options.weightDecay ?? 0,
      nesterov: options.nesterov ?? false,
    });
  }

  protected override checkOptions(o: SGDGroupOptions): void {
    super.checkOptions(o);
    check(typeof o.momentum === 'number' && o.momentum >= 0, 'ERR_ARGUMENT',
          () => `SGD: invalid momentum ${String(o.momentum)}`);
    check(typeof o.dampening === 'number' && Number.isFinite(o.dampening), 'ERR_ARGUMENT',
          () => `SGD: invalid dampening ${String(o.dampening)}`);
    check(typeof o.weightDecay === 'number' && o.weightDecay >= 0, 'ERR_ARGUMENT',
          () => `SGD: invalid weightDecay ${String(o.weightDecay)}`);
    check(typeof o.nesterov === 'boolean', 'ERR_ARGUMENT', 'SGD: nesterov must be a boolean');
    check(!o.nesterov || (o.momentum > 0 && o.dampening === 0), 'ERR_ARGUMENT',
          'SGD: Nesterov momentum requires a momentum and zero dampening');
  }

  protected updateGroup(group: ParamGroup<SGDGroupOptions>, params: Tensor[]): void {
    const { lr, momentum, dampening, weightDecay, nesterov } = group;
    for (const p of params) {
      const g = p.grad!;
      let buf: Tensor | null = null;
      let first = false;
      if (momentum !== 0) {
        let s = this.state.get(p);
        if (!s) this.state.set(p, (s = {}));
        const existing = s.momentumBuffer;
        if (existing === undefined) {
          buf = this.stateZeros(p);
          s.momentumBuffer = buf;
          first = true;
        } else {
          buf = existing as Tensor;
        }
      }
      callNative(() => native.sgdStep(p.buf, g.buf, buf ? buf.buf : null, p.numel, lr, momentum, dampening, weightDecay,
                                      nesterov, first));
    }
  }
}
