// dropout.ts — nn.Dropout: active in train mode, the identity in eval mode.
import { check } from '../errors';
import { dropout } from '../functional/dropout';
import type { Tensor } from '../tensor';
import { Module } from './module';

/**
 * Zeroes each element with probability p in train mode and scales the rest by 1/(1-p); returns
 * the input unchanged in eval mode. Masks come from the global generator (at.manualSeed).
 */
export class Dropout extends Module {
  readonly p: number;
  constructor(p = 0.5) {
    super();
    check(typeof p === 'number' && p >= 0 && p <= 1, 'ERR_ARGUMENT', () => `Dropout: p must be in [0, 1], got ${p}`);
    this.p = p;
  }
  forward(x: Tensor): Tensor {
    return dropout(x, this.p, this.training);
  }
  extraRepr(): string {
    return `p=${this.p}`;
  }
}
