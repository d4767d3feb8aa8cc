// attention.ts — F.scaledDotProductAttention: fused attention, forward and backward, on the native
// kernels (native/cpu/attention.cc: flash-style tiles with an online softmax; native/cuda/
// attention.cu: FlashAttention-2 style). The Tq x Tk score matrix is never stored; the forward
// keeps the per-row log-sum-exp `lse` [B,H,Tq] for the backward, which recomputes the scores.
//
//   q [B,H,Tq,D], k [B,H,Tk,D], v [B,H,Tk,Dv] -> out [B,H,Tq,Dv]
//   s = q k^T * scale + mask,  out = softmax(s) v        (PyTorch's F.scaled_dot_product_attention)
// attnMask: bool (true = attend, PyTorch's SDPA convention) or float (added to s, may hold -inf),
// broadcastable to [B,H,Tq,Tk]. isCausal: query i sees keys j <= i (top-left aligned, also when
// Tq != Tk); with a mask too, both apply. A query that sees no key gets out = 0 and no gradient.
// precision 'tf32' (or at.backends.cuda.matmul.allowTf32): on cuda the forward runs on tensor cores
// with TF32 operands (attention_forward_tf32); its backward is the float32 kernels' (they recompute
// the scores from q, k and the saved lse). cpu: always float32.
import { record } from '../autograd';
import { backends } from '../backends';
import { AtentoError, callNative, check } from '../errors';
import { native } from '../native';
import { Tensor, empty, fromTypedArray, tensor } from '../tensor';
import { split, transpose } from './shape';
import { needDtype, sameDevice } from './util';

export interface ScaledDotProductAttentionOptions {
  /** bool (true = attend) or float32 additive mask, broadcastable to [B, H, Tq, Tk]. */
  attnMask?: Tensor | null;
  /** Query i attends to keys j <= i (top-left aligned). Default false. */
  isCausal?: boolean;
  /** Multiplies q k^T; default 1 / sqrt(D). */
  scale?: number | null;
  /** Attention dropout: only 0 is supported (ERR_NOT_IMPLEMENTED otherwise). */
  dropoutP?: number;
  /**
   * 'tf32': on cuda, the forward's tile products run on tensor cores with TF32 operands (10 mantissa
   * bits) and float32 accumulation: about 1e-3 relative error. 'float32': float32 throughout.
   * Default: 'tf32' when at.backends.cuda.matmul.allowTf32 is true, else 'float32'. Accepted and
   * ignored on cpu (always float32) and on GPUs below compute capability 8.0. The backward is float32.
   */
  precision?: 'tf32' | 'float32';
}

const OP = 'scaledDotProductAttention';

interface Plan {
  B: number; H: number; Tq: number; Tk: number; D: number; Dv: number;
  scale: number;
  causal: boolean;
  tf32: boolean; // the tensor-core forward (cuda only; native ignores it on cpu)
  mask: Tensor | null; // float32 additive
  maskOwned: boolean; // converted from bool here: ours to free
  maskStrides: number[]; // element strides over [B, H, Tq, Tk], 0 on broadcast dims
}

function plan(q: Tensor, k: Tensor, v: Tensor, opts: ScaledDotProductAttentionOptions): Plan {
  check(opts !== null && typeof opts === 'object', 'ERR_ARGUMENT', () => `${OP}: options must be an object`);
  const { attnMask = null, isCausal = false, scale = null, dropoutP = 0 } = opts;
  const precision = opts.precision ?? (backends.cuda.matmul.allowTf32 ? 'tf32' : 'float32');
  for (const [t, name] of [[q, 'query'], [k, 'key'], [v, 'value']] as const)
    check(t instanceof Tensor, 'ERR_ARGUMENT', () => `${OP}: ${name} must be a Tensor`);
  check(attnMask === null || attnMask instanceof Tensor, 'ERR_ARGUMENT', () => `${OP}: attnMask must be a Tensor or null`);
  sameDevice(OP, q, k, v, attnMask);
  needDtype(OP, q, 'float32', 'query');
  needDtype(OP, k, 'float32', 'key');
  needDtype(OP, v, 'float32', 'value');
  check(typeof isCausal === 'boolean', 'ERR_ARGUMENT', () => `${OP}: isCausal must be a boolean`);
  check(scale === null || (typeof scale === 'number' && Number.isFinite(scale)), 'ERR_ARGUMENT',
        () => `${OP}: scale must be a finite number (or null for 1/sqrt(D)), got ${String(scale)}`);
  check(typeof dropoutP === 'number' && dropoutP >= 0 && dropoutP <= 1, 'ERR_ARGUMENT',
        () => `${OP}: dropoutP must be a number in [0, 1], got ${String(dropoutP)}`);
  check(precision === 'tf32' || precision === 'float32', 'ERR_ARGUMENT',
        () => `${OP}: precision must be 'tf32' or 'float32', got ${String(precision)}`);
  if (dropoutP > 0)
    throw new AtentoError(`${OP}: dropoutP > 0 is not implemented; apply F.dropout to the output instead, or use 0`,
                          'ERR_NOT_IMPLEMENTED');

  for (const [t, name, dims] of [[q, 'query', 'B, H, Tq, D'], [k, 'key', 'B, H, Tk, D'], [v, 'value', 'B, H, Tk, Dv']] as const)
    check(t.ndim === 4, 'ERR_SHAPE', () => `${OP}: ${name} must be 4-D [${dims}], got [${t.shape}]`);
  const [B, H, Tq, D] = q.shape;
  const [Tk, Dv] = [k.shape[2], v.shape[3]];
  check(k.shape[0] === B && k.shape[1] === H && k.shape[3] === D, 'ERR_SHAPE',
        () => `${OP}: key [${k.shape}] must be [B, H, Tk, D] with B, H, D of query [${q.shape}]`);
  check(v.shape[0] === B && v.shape[1] === H && v.shape[2] === Tk, 'ERR_SHAPE',
        () => `${OP}: value [${v.shape}] must be [B, H, Tk, Dv] with B, H, Tk of key [${k.shape}]`);
  check(D > 0, 'ERR_SHAPE', () => `${OP}: the head size D must be positive, got query [${q.shape}]`);

  let mask: Tensor | null = null, maskOwned = false;
  const maskStrides = [0, 0, 0, 0];
  if (attnMask) {
    check(attnMask.dtype === 'bool' || attnMask.dtype === 'float32', 'ERR_DTYPE',
          () => `${OP}: attnMask must be bool or float32, got ${attnMask.dtype}`);
    const target = [B, H, Tq, Tk];
    check(attnMask.ndim <= 4, 'ERR_SHAPE', () => `${OP}: attnMask [${attnMask.shape}] has more than 4 dims`);
    const shape = [...Array(4 - attnMask.ndim).fill(1), ...attnMask.shape];
    let stride = 1;
    for (let d = 3; d >= 0; d--) {
      check(shape[d] === target[d] || shape[d] === 1, 'ERR_SHAPE',
            () => `${OP}: attnMask [${attnMask.shape}] does not broadcast to [B, H, Tq, Tk] = [${target}]`);
      maskStrides[d] = shape[d] === 1 ? 0 : stride;
      stride *= shape[d];
    }
    mask = attnMask.dtype === 'float32' ? attnMask : additiveMask(attnMask);
    maskOwned = mask !== attnMask;
  }
  return { B, H, Tq, Tk, D, Dv, scale: scale ?? 1 / Math.sqrt(D), causal: isCausal, tf32: precision === 'tf32', mask,
           maskOwned, maskStrides };
}

// A bool mask (true = attend) as an additive float mask: 0 where true, -inf where false.
// Converted on the host once per call (masks are small next to q, k, v), then moved back.
function additiveMask(m: Tensor): Tensor {
  const bits = m.dataSync() as Uint8Array;
  const f = new Float32Array(bits.length);
  for (let i = 0; i < bits.length; i++) f[i] = bits[i] ? 0 : -Infinity;
  return m.device === 'cpu' ? fromTypedArray(f, m.shape) : tensor(f, m.shape, { device: m.device });
}

function forward(q: Tensor, k: Tensor, v: Tensor, p: Plan): { out: Tensor; lse: Tensor } {
  const device = q.device;
  const out = empty([p.B, p.H, p.Tq, p.Dv], { device });
  const lse = empty([p.B, p.H, p.Tq], { device });
  callNative(() => native.attentionForward(out.buf, lse.buf, q.buf, k.buf, v.buf, p.mask?.buf ?? null, p.maskStrides,
                                           p.B, p.H, p.Tq, p.Tk, p.D, p.Dv, p.scale, p.causal, p.tf32));
  return { out, lse };
}

/**
 * softmax(q k^T * scale + mask) v, fused (PyTorch's F.scaled_dot_product_attention), with autograd
 * for q, k and v (never for the mask).
 */
export function scaledDotProductAttention(q: Tensor, k: Tensor, v: Tensor,
                                          opts: ScaledDotProductAttentionOptions = {}): Tensor {
  const p = plan(q, k, v, opts);
  const { out, lse } = forward(q, k, v, p);
  const outSaved = out.detach(); // the backward reads out; a view keeps it alive if the caller disposes out
  const saved = [lse, outSaved, ...(p.maskOwned ? [p.mask!] : [])];
  return record(OP, out, [q, k, v], (g) => {
    const device = q.device;
    const dq = empty(q.shape, { device }), dk = empty(k.shape, { device }), dv = empty(v.shape, { device });
    callNative(() => native.attentionBackward(dq.buf, dk.buf, dv.buf, g.buf, q.buf, k.buf, v.buf, outSaved.buf, lse.buf,
                                              p.mask?.buf ?? null, p.maskStrides, p.B, p.H, p.Tq, p.Tk, p.D, p.Dv,
                                              p.scale, p.causal));
    return [dq, dk, dv];
  }, saved);
}

export interface PackedAttentionOptions {
  /** Query i attends to keys j <= i. Default false. */
  isCausal?: boolean;
  /** Multiplies q k^T; default 1 / sqrt(D). */
  scale?: number | null;
}

/**
 * Multi-head self-attention on a packed projection, as GPT's c_attn makes it: qkv [B, T, 3C] holds
 * q, k and v side by side, each [B, T, H, D] with H = numHeads, D = C / H. Returns y [B, T, C], the
 * heads side by side: y[b, t, h*D + d] = scaledDotProductAttention(q, k, v)[b, h, t, d], with q, k, v
 * as [B, H, T, D]. The same as splitting qkv in three, transposing each to [B, H, T, D] and y back
 * (which is what runs on cuda); on cpu the kernels read q, k, v and write y, and the gradient of
 * qkv, in place through strides, without those copies. Gradient for qkv.
 */
export function scaledDotProductAttentionPacked(qkv: Tensor, numHeads: number,
                                                opts: PackedAttentionOptions = {}): Tensor {
  const op = 'scaledDotProductAttentionPacked';
  check(qkv instanceof Tensor, 'ERR_ARGUMENT', () => `${op}: qkv must be a Tensor`);
  check(opts !== null && typeof opts === 'object', 'ERR_ARGUMENT', () => `${op}: options must be an object`);
  const { isCausal = false, scale = null } = opts;
  sameDevice(op, qkv);
  needDtype(op, qkv, 'float32', 'qkv');
  check(Number.isInteger(numHeads) && numHeads > 0, 'ERR_ARGUMENT',
        () => `${op}: numHeads must be a positive integer, got ${numHeads}`);
  check(qkv.ndim === 3 && qkv.shape[2] % (3 * numHeads) === 0 && qkv.shape[2] > 0, 'ERR_SHAPE',
        () => `${op}: qkv must be [B, T, 3C] with C a positive multiple of numHeads ${numHeads}, got [${qkv.shape}]`);
  check(typeof isCausal === 'boolean', 'ERR_ARGUMENT', () => `${op}: isCausal must be a boolean`);
  check(scale === null || (typeof scale === 'number' && Number.isFinite(scale)), 'ERR_ARGUMENT',
        () => `${op}: scale must be a finite number (or null for 1/sqrt(D)), got ${String(scale)}`);
  const [B, T, C3] = qkv.shape, C = C3 / 3, H = numHeads, D = C / H;
  if (qkv.device !== 'cpu') {
    const [q, k, v] = split(qkv, C, 2).map((t) => transpose(t.reshape([B, T, H, D]), 1, 2));
    return transpose(scaledDotProductAttention(q, k, v, { isCausal, scale }), 1, 2).reshape([B, T, C]);
  }
  // {offset, b, h, t strides} of q, k, v in qkv and of y (native/cpu/attention.h)
  const layout = [0, T * C3, D, C3, C, T * C3, D, C3, 2 * C, T * C3, D, C3, 0, T * C, D, C];
  const s = scale ?? 1 / Math.sqrt(D), noMask = [0, 0, 0, 0];
  const out = empty([B, T, C], { device: qkv.device }), lse = empty([B, H, T], { device: qkv.device });
  callNative(() => native.attentionForward(out.buf, lse.buf, qkv.buf, qkv.buf, qkv.buf, null, noMask, B, H, T, T, D, D,
                                           s, isCausal, false, layout));
  const outSaved = out.detach();
  return record(op, out, [qkv], (g) => {
    const dqkv = empty(qkv.shape, { device: qkv.device }); // dq, dk, dv together write every element
    callNative(() => native.attentionBackward(dqkv.buf, dqkv.buf, dqkv.buf, g.buf, qkv.buf, qkv.buf, qkv.buf, outSaved.buf,
                                              lse.buf, null, noMask, B, H, T, T, D, D, s, isCausal, layout));
    return [dqkv];
  }, [lse, outSaved]);
}

/**
 * @internal The forward alone, with the per-row log-sum-exp of the scores [B, H, Tq] (natural
 * log, -Infinity for a query that sees no key). No autograd. For tests and debugging.
 */
export function _scaledDotProductAttentionWithLse(q: Tensor, k: Tensor, v: Tensor,
                                                  opts: ScaledDotProductAttentionOptions = {}): { out: Tensor; lse: Tensor } {
  const p = plan(q, k, v, opts);
  try {
    return forward(q, k, v, p);
  } finally {
    if (p.maskOwned) p.mask!.dispose();
  }
}
