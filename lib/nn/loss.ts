// loss.ts — losses as modules, over the functional ones (lib/functional/losses.ts).
import {
  binaryCrossEntropyWithLogits, crossEntropy, mseLoss,
  type BceWithLogitsOptions, type CrossEntropyOptions, type LossOptions,
} from '../functional/losses';
import { AtentoError } from '../errors';
import type { Tensor } from '../tensor';
import { Module } from './module';

/** Cross-entropy of logits [N, C] against int32 class indices [N] (see F.crossEntropy). */
export class CrossEntropyLoss extends Module {
  constructor(readonly options: CrossEntropyOptions = {}) {
    super();
  }
  forward(input: Tensor, target: Tensor): Tensor {
    return crossEntropy(input, target, this.options);
  }
}

/** Mean squared error (see F.mseLoss). */
export class MSELoss extends Module {
  constructor(readonly options: LossOptions = {}) {
    super();
  }
  forward(input: Tensor, target: Tensor): Tensor {
    return mseLoss(input, target, this.options);
  }
}

/**
 * Binary cross-entropy on logits, with an optional posWeight [C] (see F.binaryCrossEntropyWithLogits),
 * held as the buffer `pos_weight` (as PyTorch) so it moves with to().
 */
export class BCEWithLogitsLoss extends Module {
  readonly reduction: BceWithLogitsOptions['reduction'];
  pos_weight: Tensor | null;
  constructor({ posWeight = null, ...options }: BceWithLogitsOptions = {}) {
    super();
    this.reduction = options.reduction;
    this.pos_weight = this.registerBuffer('pos_weight', posWeight);
    if (options.weight != null) {
      throw new AtentoError('BCEWithLogitsLoss: per-element weights are not implemented', 'ERR_NOT_IMPLEMENTED');
    }
  }
  forward(input: Tensor, target: Tensor): Tensor {
    return binaryCrossEntropyWithLogits(input, target, { reduction: this.reduction, posWeight: this.pos_weight });
  }
}
