// linear.ts — nn.Linear (y = x W^T + b) and nn.Identity.
import { linear } from '../functional/matmul';
import { Tensor, empty, type DeviceName } from '../tensor';
import { kaimingUniform_, uniform_, calculateFanInAndFanOut } from './init';
import { Module } from './module';

export interface FactoryOptions {
  /** Where the parameters are created (default: the default device). */
  device?: DeviceName;
}

/** Applies y = x W^T + b. Parameters `weight` [outFeatures, inFeatures] and `bias` [outFeatures]. */
export class Linear extends Module {
  readonly inFeatures: number;
  readonly outFeatures: number;
  weight: Tensor;
  bias: Tensor | null;

  constructor(inFeatures: number, outFeatures: number, { bias = true, device }: { bias?: boolean } & FactoryOptions = {}) {
    super();
    this.inFeatures = inFeatures;
    this.outFeatures = outFeatures;
    this.weight = this.registerParameter('weight', empty([outFeatures, inFeatures], { device }));
    this.bias = this.registerParameter('bias', bias ? empty([outFeatures], { device }) : null);
    this.resetParameters();
  }

  /** PyTorch's default: weight ~ kaiming_uniform(a = sqrt(5)), bias ~ U(±1/sqrt(inFeatures)). */
  resetParameters(): void {
    kaimingUniform_(this.weight, { a: Math.sqrt(5) });
    if (this.bias) {
      const { fanIn } = calculateFanInAndFanOut(this.weight);
      const bound = fanIn > 0 ? 1 / Math.sqrt(fanIn) : 0;
      uniform_(this.bias, { a: -bound, b: bound });
    }
  }

  forward(x: Tensor): Tensor {
    return linear(x, this.weight, this.bias);
  }

  extraRepr(): string {
    return `inFeatures=${this.inFeatures}, outFeatures=${this.outFeatures}, bias=${this.bias !== null}`;
  }
}

/** Returns its input. */
export class Identity extends Module {
  forward(x: Tensor): Tensor {
    return x;
  }
}
