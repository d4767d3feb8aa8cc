// activations.ts — relu, gelu (exact erf form or tanh approximation), sigmoid, tanh, silu, with
// PyTorch's formulas. Each is one unary kernel forward and one backward kernel
// (native/{cpu,cuda}/elementwise.*); sigmoid and tanh differentiate from their output, the
// others from their input. relu's gradient at exactly 0 is 0, as in PyTorch.
import type { Tensor } from '../tensor';
import { check } from '../errors';
import { unaryOp } from './elementwise';

/** max(x, 0). */
export function relu(x: Tensor): Tensor {
  return unaryOp('relu', x, 'relu');
}

/** x * Phi(x) (approximate 'none', the default) or its tanh approximation ('tanh'). */
export function gelu(x: Tensor, opts: { approximate?: 'none' | 'tanh' } = {}): Tensor {
  const approximate = opts.approximate ?? 'none';
  check(approximate === 'none' || approximate === 'tanh', 'ERR_ARGUMENT',
        () => `gelu: approximate must be 'none' or 'tanh', got ${String(approximate)}`);
  return approximate === 'tanh' ? unaryOp('gelu', x, 'geluTanh') : unaryOp('gelu', x, 'gelu');
}

/** 1 / (1 + e^-x). */
export function sigmoid(x: Tensor): Tensor {
  return unaryOp('sigmoid', x, 'sigmoid');
}

/** Hyperbolic tangent. */
export function tanh(x: Tensor): Tensor {
  return unaryOp('tanh', x, 'tanh');
}

/** x * sigmoid(x) (also known as swish). */
export function silu(x: Tensor): Tensor {
  return unaryOp('silu', x, 'silu');
}
