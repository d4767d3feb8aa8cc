// activation.ts — activation functions as modules (no parameters).
import { check } from '../errors';
import { gelu, relu, sigmoid, silu, tanh } from '../functional/activations';
import { logSoftmax, softmax } from '../functional/softmax';
import type { Tensor } from '../tensor';
import { Module } from './module';

export class ReLU extends Module {
  forward(x: Tensor): Tensor {
    return relu(x);
  }
}

/** x Φ(x); approximate 'tanh' uses PyTorch's tanh approximation. */
export class GELU extends Module {
  readonly approximate: 'none' | 'tanh';
  constructor({ approximate = 'none' }: { approximate?: 'none' | 'tanh' } = {}) {
    super();
    check(approximate === 'none' || approximate === 'tanh', 'ERR_ARGUMENT',
          () => `GELU: approximate must be 'none' or 'tanh', got ${String(approximate)}`);
    this.approximate = approximate;
  }
  forward(x: Tensor): Tensor {
    return gelu(x, { approximate: this.approximate });
  }
  extraRepr(): string {
    return `approximate='${this.approximate}'`;
  }
}

export class Sigmoid extends Module {
  forward(x: Tensor): Tensor {
    return sigmoid(x);
  }
}

export class Tanh extends Module {
  forward(x: Tensor): Tensor {
    return tanh(x);
  }
}

/** x sigmoid(x). */
export class SiLU extends Module {
  forward(x: Tensor): Tensor {
    return silu(x);
  }
}

export class Softmax extends Module {
  constructor(readonly dim: number) {
    super();
  }
  forward(x: Tensor): Tensor {
    return softmax(x, this.dim);
  }
}

export class LogSoftmax extends Module {
  constructor(readonly dim: number) {
    super();
  }
  forward(x: Tensor): Tensor {
    return logSoftmax(x, this.dim);
  }
}
