// layernorm.ts — F.layerNorm, forward and backward, on the native kernels (native/cpu/layernorm.cc,
// native/cuda/layernorm.cu).
//
// x [..., *normalizedShape] is seen as N rows of C = numel(normalizedShape) values:
//   mean = sum(x) / C,  var = sum((x - mean)^2) / C (biased),  rstd = 1 / sqrt(var + eps)
//   out = (x - mean) * rstd * weight + bias
// The forward saves mean and rstd per row (shape x.shape without the normalized dims) for the
// backward, which gives gradients for x, weight and bias (PyTorch's formulas).
import { isGradEnabled, record } from '../autograd';
import { callNative, check } from '../errors';
import { native } from '../native';
import { Tensor, empty, numel } from '../tensor';
import { needDtype, sameDevice } from './util';

const OP = 'layerNorm';

interface Forward {
  out: Tensor;
  mean: Tensor;
  rstd: Tensor;
}

function forward(x: Tensor, normalizedShape: number | readonly number[], weight: Tensor | null | undefined,
                 bias: Tensor | null | undefined, eps: number): Forward {
  check(x instanceof Tensor, 'ERR_ARGUMENT', () => `${OP}: input must be a Tensor`);
  check(weight == null || weight instanceof Tensor, 'ERR_ARGUMENT', () => `${OP}: weight must be a Tensor or null`);
  check(bias == null || bias instanceof Tensor, 'ERR_ARGUMENT', () => `${OP}: bias must be a Tensor or null`);
  const ns = typeof normalizedShape === 'number' ? [normalizedShape] : normalizedShape;
  check(Array.isArray(ns) && ns.length > 0 && ns.every((d) => Number.isInteger(d) && d > 0), 'ERR_SHAPE',
        () => `${OP}: normalizedShape must be a positive size or a non-empty list of them, ` +
        `got ${JSON.stringify(normalizedShape)}`);
  check(typeof eps === 'number' && eps >= 0 && Number.isFinite(eps), 'ERR_ARGUMENT',
        () => `${OP}: eps must be a finite number >= 0, got ${String(eps)}`);
  sameDevice(OP, x, weight, bias);
  needDtype(OP, x, 'float32');
  const k = ns.length;
  check(x.ndim >= k && x.shape.slice(x.ndim - k).join() === ns.join(), 'ERR_SHAPE',
        () => `${OP}: input [${x.shape}] does not end in normalizedShape [${ns}]`);
  for (const [t, name] of [[weight, 'weight'], [bias, 'bias']] as const) {
    if (!t) continue;
    needDtype(OP, t, 'float32', name);
    check(t.shape.join() === ns.join(), 'ERR_SHAPE', () => `${OP}: ${name} must have shape [${ns}], got [${t.shape}]`);
  }
  const C = numel(ns);
  const statShape = x.shape.slice(0, x.ndim - k);
  const N = numel(statShape);
  const out = empty(x.shape, { device: x.device });
  const mean = empty(statShape, { device: x.device });
  const rstd = empty(statShape, { device: x.device });
  if (N) callNative(() => native.layerNormForward(out.buf, mean.buf, rstd.buf, x.buf, weight?.buf ?? null,
                                                  bias?.buf ?? null, N, C, eps));
  // The graph keeps its own references to mean and rstd: disposing the returned ones is safe.
  const wantGrad = isGradEnabled() && [x, weight, bias].some((t) => t?.requiresGrad);
  const saved = wantGrad ? [mean._alias(mean.shape), rstd._alias(rstd.shape)] : [];
  record(OP, out, [x, weight, bias], (g) => {
    const [m, r] = saved;
    const gx = x.requiresGrad ? empty(x.shape, { device: x.device }) : null;
    const gw = weight?.requiresGrad ? empty(weight.shape, { device: x.device }) : null;
    const gb = bias?.requiresGrad ? empty(bias.shape, { device: x.device }) : null;
    callNative(() => native.layerNormBackward(gx?.buf ?? null, gw?.buf ?? null, gb?.buf ?? null, g.buf, x.buf,
                                              weight?.buf ?? null, m.buf, r.buf, N, C));
    return [gx, gw, gb];
  }, saved);
  return { out, mean, rstd };
}

/**
 * Layer normalisation over the trailing dims `normalizedShape` (like torch.nn.functional.layer_norm):
 * (x - mean) / sqrt(var + eps) * weight + bias, with the biased variance. weight and bias (shape
 * normalizedShape) are optional.
 */
export function layerNorm(x: Tensor, normalizedShape: number | readonly number[], weight?: Tensor | null,
                          bias?: Tensor | null, eps = 1e-5): Tensor {
  const { out, mean, rstd } = forward(x, normalizedShape, weight, bias, eps);
  mean.dispose();
  rstd.dispose();
  return out;
}

/**
 * layerNorm that also returns the saved statistics, like torch.native_layer_norm: [out, mean, rstd]
 * with mean and rstd of shape x.shape without the normalized dims (rstd = 1/sqrt(var + eps)).
 * Gradients flow through `out` only.
 */
export function nativeLayerNorm(x: Tensor, normalizedShape: number | readonly number[], weight?: Tensor | null,
                                bias?: Tensor | null, eps = 1e-5): [Tensor, Tensor, Tensor] {
  const { out, mean, rstd } = forward(x, normalizedShape, weight, bias, eps);
  return [out, mean, rstd];
}
