// normalization.ts — nn.LayerNorm.
import { check } from '../errors';
import { layerNorm } from '../functional/layernorm';
import { Tensor, empty } from '../tensor';
import { ones_, zeros_ } from './init';
import type { FactoryOptions } from './linear';
import { Module } from './module';

/**
 * Normalises over the trailing dims `normalizedShape`: (x - mean) / sqrt(var + eps) * weight + bias
 * (biased variance, as PyTorch). `weight` (ones) and `bias` (zeros) have shape normalizedShape.
 */
export class LayerNorm extends Module {
  readonly normalizedShape: number[];
  readonly eps: number;
  readonly elementwiseAffine: boolean;
  weight: Tensor | null;
  bias: Tensor | null;

  constructor(normalizedShape: number | number[],
              { eps = 1e-5, elementwiseAffine = true, bias = true, device }:
                { eps?: number; elementwiseAffine?: boolean; bias?: boolean } & FactoryOptions = {}) {
    super();
    const shape = typeof normalizedShape === 'number' ? [normalizedShape] : [...normalizedShape];
    check(shape.length > 0 && shape.every((d) => Number.isInteger(d) && d > 0), 'ERR_ARGUMENT',
          () => `LayerNorm: normalizedShape [${shape}] must hold positive integers`);
    check(typeof eps === 'number' && eps >= 0, 'ERR_ARGUMENT',
          () => `LayerNorm: eps must be a non-negative number, got ${eps}`);
    this.normalizedShape = shape;
    this.eps = eps;
    this.elementwiseAffine = elementwiseAffine;
    this.weight = this.registerParameter('weight', elementwiseAffine ? empty(shape, { device }) : null);
    this.bias = this.registerParameter('bias', elementwiseAffine && bias ? empty(shape, { device }) : null);
    this.resetParameters();
  }

  resetParameters(): void {
    if (this.weight) ones_(this.weight);
    if (this.bias) zeros_(this.bias);
  }

  forward(x: Tensor): Tensor {
    return layerNorm(x, this.normalizedShape, this.weight, this.bias, this.eps);
  }

  extraRepr(): string {
    return `[${this.normalizedShape}], eps=${this.eps}, elementwiseAffine=${this.elementwiseAffine}`;
  }
}
