// attention.ts — nn.MultiheadAttention (PyTorch's parameters, masks and defaults) on the fused
// F.scaledDotProductAttention, and KVCache for decoding one token at a time.
//
//   query [B, Tq, E], key [B, Tk, kdim], value [B, Tk, vdim] with batchFirst
//   ([T, B, ...] without; [T, E] unbatched) -> out like query, weights [B, Tq, Tk] | null
//
// Masks follow PyTorch's *module* conventions (the opposite of SDPA's bool mask):
//   keyPaddingMask [B, Tk]: bool true = padding, ignored; or float, added to the scores.
//   attnMask [Tq, Tk] or [B*numHeads, Tq, Tk]: bool true = NOT allowed; or float, added.
//   isCausal: query i sees keys j <= i (with a KVCache: keys up to its own position).
// Both masks are turned into one additive float mask on the device (0 / -inf) for SDPA.
//
// needWeights = true computes the attention weights explicitly (softmax(q k^T / sqrt(D) + mask)),
// head-averaged unless averageAttnWeights is false, and takes the output from them; so does
// attention dropout in train mode, which the fused kernel does not do. Otherwise nothing of size
// Tq x Tk is stored.
import { AtentoError, check } from '../errors';
import { isGradEnabled } from '../autograd';
import { scaledDotProductAttention } from '../functional/attention';
import { dropout } from '../functional/dropout';
import { add, mul, where } from '../functional/elementwise';
import { linear, matmul } from '../functional/matmul';
import { mean } from '../functional/reduce';
import { cat, permute, split, transpose, unsqueeze, squeeze } from '../functional/shape';
import { softmax } from '../functional/softmax';
import { Tensor, empty, keep, tensor, type DeviceName } from '../tensor';
import { constant_, xavierUniform_ } from './init';
import { Linear, type FactoryOptions } from './linear';
import { Module } from './module';

/**
 * Keys and values of earlier steps, for decoding one token (or a few) at a time: pass the same
 * cache to every call of one attention layer, with only the new positions as query/key/value.
 * The layer appends the projected keys and values of the new positions ([B, H, T, D]) and
 * attends over all of them; with isCausal the new positions see every cached one and the new
 * ones up to themselves. So decoding step by step with a cache gives the same outputs as one
 * causal forward over the whole sequence.
 *
 * `new KVCache({ static: true })` is for cross-attention over a fixed memory (an encoder's output):
 * the memory's keys and values are projected at the first call and reused after, so later calls
 * may pass anything (e.g. the same memory) as key and value.
 *
 * The cache is for inference (inside at.noGrad / eval mode): it keeps its tensors out of tidy
 * scopes and disposes the previous ones as it grows. dispose() or reset() frees them.
 */
export class KVCache {
  key: Tensor | null = null;
  value: Tensor | null = null;
  readonly static: boolean;

  constructor({ static: isStatic = false }: { static?: boolean } = {}) {
    this.static = isStatic;
  }

  /** The number of positions held. */
  get length(): number {
    return this.key?.shape[2] ?? 0;
  }

  /** @internal Appends k, v [B, H, T, D] (or keeps the first ones when static); returns all. */
  update(k: Tensor | null, v: Tensor | null): [Tensor, Tensor] {
    if (this.static && this.key && this.value) return [this.key, this.value];
    check(k && v, 'ERR_ARGUMENT', 'KVCache: nothing to add');
    if (!this.key || !this.value) {
      this.key = keep(k);
      this.value = keep(v);
    } else {
      check(k.shape[0] === this.key.shape[0] && k.shape[1] === this.key.shape[1] && k.shape[3] === this.key.shape[3],
            'ERR_SHAPE', () => `KVCache: new keys [${k.shape}] do not fit the cached [${this.key!.shape}] ` +
            '(batch, heads, head size)');
      const nk = keep(cat([this.key, k], 2)), nv = keep(cat([this.value, v], 2));
      this.key.dispose();
      this.value.dispose();
      this.key = nk;
      this.value = nv;
    }
    return [this.key, this.value];
  }

  /** Empties the cache (frees its tensors). */
  reset(): void {
    this.key?.dispose();
    this.value?.dispose();
    this.key = this.value = null;
  }
  dispose(): void {
    this.reset();
  }
}

export interface MultiheadAttentionOptions extends FactoryOptions {
  /** Dropout on the attention weights in train mode (default 0). */
  dropout?: number;
  /** Biases in the input and output projections (default true). */
  bias?: boolean;
  /** Size of the key features (default embedDim). */
  kdim?: number;
  /** Size of the value features (default embedDim). */
  vdim?: number;
  /** [B, T, E] instead of [T, B, E] (default false, as PyTorch). */
  batchFirst?: boolean;
}

export interface MultiheadAttentionForwardOptions {
  /** [B, Tk]: bool true = padding (ignored), or float added to the scores. */
  keyPaddingMask?: Tensor | null;
  /** [Tq, Tk] or [B*numHeads, Tq, Tk]: bool true = not allowed, or float added to the scores. */
  attnMask?: Tensor | null;
  /** Return the attention weights (default false). */
  needWeights?: boolean;
  /** Average the returned weights over heads: [B, Tq, Tk] (default true), else [B, H, Tq, Tk]. */
  averageAttnWeights?: boolean;
  /** Causal attention: query i sees keys j <= i (aligned to the end with a KVCache). */
  isCausal?: boolean;
  /** Keys and values of earlier positions (see KVCache). */
  kvCache?: KVCache | null;
}

// Causal masks [Tq, Tk] (0 / -inf), query i seeing keys j <= i + offset, cached per device.
const causalCache = new Map<string, Tensor>();
function causalMask(Tq: number, Tk: number, offset: number, device: DeviceName): Tensor {
  const key = `${device}:${Tq}:${Tk}:${offset}`;
  let m = causalCache.get(key);
  if (!m || m.disposed) {
    const f = new Float32Array(Tq * Tk);
    for (let i = 0; i < Tq; i++) for (let j = i + offset + 1; j < Tk; j++) f[i * Tk + j] = -Infinity;
    m = keep(tensor(f, [Tq, Tk], { device }));
    if (causalCache.size > 64) {
      for (const t of causalCache.values()) t.dispose();
      causalCache.clear();
    }
    causalCache.set(key, m);
  }
  return m;
}

/** A bool mask (true = excluded) as an additive float mask; a float mask as is. */
function additive(m: Tensor): Tensor {
  return m.dtype === 'bool' ? where(m, -Infinity, 0) : m;
}

/**
 * Multi-head attention (torch.nn.MultiheadAttention). Parameters: in_proj_weight [3E, E] (or
 * q_proj_weight [E, E], k_proj_weight [E, kdim], v_proj_weight [E, vdim] when kdim or vdim differ
 * from E), in_proj_bias [3E], out_proj.weight [E, E], out_proj.bias [E].
 * forward(query, key, value, options) -> [out, weights | null].
 */
export class MultiheadAttention extends Module {
  readonly embedDim: number;
  readonly numHeads: number;
  readonly headDim: number;
  readonly kdim: number;
  readonly vdim: number;
  readonly dropout: number;
  readonly batchFirst: boolean;
  in_proj_weight: Tensor | null;
  q_proj_weight: Tensor | null;
  k_proj_weight: Tensor | null;
  v_proj_weight: Tensor | null;
  in_proj_bias: Tensor | null;
  out_proj: Linear;

  constructor(embedDim: number, numHeads: number,
              { dropout = 0, bias = true, kdim, vdim, batchFirst = false, device }: MultiheadAttentionOptions = {}) {
    super();
    check(Number.isInteger(embedDim) && embedDim > 0 && Number.isInteger(numHeads) && numHeads > 0, 'ERR_ARGUMENT',
          () => `MultiheadAttention(${embedDim}, ${numHeads}): sizes must be positive integers`);
    check(embedDim % numHeads === 0, 'ERR_ARGUMENT',
          () => `MultiheadAttention: embedDim ${embedDim} is not divisible by numHeads ${numHeads}`);
    check(typeof dropout === 'number' && dropout >= 0 && dropout <= 1, 'ERR_ARGUMENT', 'MultiheadAttention: dropout must be in [0, 1]');
    this.embedDim = embedDim;
    this.numHeads = numHeads;
    this.headDim = embedDim / numHeads;
    this.kdim = kdim ?? embedDim;
    this.vdim = vdim ?? embedDim;
    this.dropout = dropout;
    this.batchFirst = batchFirst;
    const E = embedDim;
    const packed = this.kdim === E && this.vdim === E;
    // PyTorch's registration order: in_proj_weight or q/k/v_proj_weight, in_proj_bias, out_proj.
    if (packed) {
      this.in_proj_weight = this.registerParameter('in_proj_weight', empty([3 * E, E], { device }));
      this.q_proj_weight = this.k_proj_weight = this.v_proj_weight = null;
    } else {
      this.in_proj_weight = null;
      this.q_proj_weight = this.registerParameter('q_proj_weight', empty([E, E], { device }));
      this.k_proj_weight = this.registerParameter('k_proj_weight', empty([E, this.kdim], { device }));
      this.v_proj_weight = this.registerParameter('v_proj_weight', empty([E, this.vdim], { device }));
    }
    this.in_proj_bias = this.registerParameter('in_proj_bias', bias ? empty([3 * E], { device }) : null);
    this.out_proj = this.registerModule('out_proj', new Linear(E, E, { bias, device }));
    this.resetParameters();
  }

  /** PyTorch's default: xavier_uniform projections, zero biases (out_proj.weight keeps Linear's init). */
  resetParameters(): void {
    for (const w of [this.in_proj_weight, this.q_proj_weight, this.k_proj_weight, this.v_proj_weight]) if (w) xavierUniform_(w);
    if (this.in_proj_bias) constant_(this.in_proj_bias, 0);
    if (this.out_proj.bias) constant_(this.out_proj.bias, 0);
  }

  // [B, T, E] -> [B, H, T, D]
  private heads(x: Tensor): Tensor {
    const [B, T] = x.shape;
    return transpose(x.reshape([B, T, this.numHeads, this.headDim]), 1, 2);
  }

  // q, k, v [B, H, T, D] for batch-first inputs; k and v null when a static cache already has them.
  private project(q: Tensor, k: Tensor, v: Tensor, selfAttention: boolean, skipKV: boolean): [Tensor, Tensor | null, Tensor | null] {
    const E = this.embedDim, H = this.numHeads, D = this.headDim;
    if (selfAttention && this.in_proj_weight && !skipKV) {
      // One GEMM for all three: [B, T, 3E] -> [B, T, 3, H, D] -> [3, B, H, T, D]
      const [B, T] = q.shape;
      const qkv = permute(linear(q, this.in_proj_weight, this.in_proj_bias).reshape([B, T, 3, H, D]), [2, 0, 3, 1, 4]);
      const [pq, pk, pv] = split(qkv, 1, 0).map((t) => t.reshape([B, H, T, D]));
      return [pq, pk, pv];
    }
    const [wq, wk, wv] = this.in_proj_weight ? split(this.in_proj_weight, E, 0)
      : [this.q_proj_weight!, this.k_proj_weight!, this.v_proj_weight!];
    const [bq, bk, bv] = this.in_proj_bias ? split(this.in_proj_bias, E, 0) : [null, null, null];
    const pq = this.heads(linear(q, wq, bq));
    if (skipKV) return [pq, null, null];
    return [pq, this.heads(linear(k, wk, bk)), this.heads(linear(v, wv, bv))];
  }

  // One additive mask broadcastable to [B, H, Tq, Tk], or null.
  private mergeMasks(attnMask: Tensor | null | undefined, keyPaddingMask: Tensor | null | undefined,
                     B: number, Tq: number, Tk: number): Tensor | null {
    let mask: Tensor | null = null;
    if (attnMask != null) {
      check(attnMask instanceof Tensor, 'ERR_ARGUMENT', 'MultiheadAttention: attnMask must be a Tensor');
      check(attnMask.dtype === 'bool' || attnMask.dtype === 'float32', 'ERR_DTYPE',
            () => `MultiheadAttention: attnMask must be bool or float32, got ${attnMask.dtype}`);
      const is2d = attnMask.ndim === 2 && attnMask.shape[0] === Tq && attnMask.shape[1] === Tk;
      const is3d = attnMask.ndim === 3 && attnMask.shape.join() === [B * this.numHeads, Tq, Tk].join();
      check(is2d || is3d, 'ERR_SHAPE',
            () => `MultiheadAttention: attnMask must be [${Tq}, ${Tk}] or [${B * this.numHeads}, ${Tq}, ${Tk}], ` +
            `got [${attnMask.shape}]`);
      mask = additive(attnMask);
      if (is3d) mask = mask.reshape([B, this.numHeads, Tq, Tk]);
    }
    if (keyPaddingMask != null) {
      check(keyPaddingMask instanceof Tensor, 'ERR_ARGUMENT', 'MultiheadAttention: keyPaddingMask must be a Tensor');
      check(keyPaddingMask.dtype === 'bool' || keyPaddingMask.dtype === 'float32', 'ERR_DTYPE',
            () => `MultiheadAttention: keyPaddingMask must be bool or float32, got ${keyPaddingMask.dtype}`);
      check(keyPaddingMask.shape.join() === [B, Tk].join(), 'ERR_SHAPE',
            () => `MultiheadAttention: keyPaddingMask must be [${B}, ${Tk}], got [${keyPaddingMask.shape}]`);
      const kpm = additive(keyPaddingMask).reshape([B, 1, 1, Tk]);
      mask = mask ? add(mask, kpm) : kpm;
    }
    return mask;
  }

  forward(query: Tensor, key: Tensor, value: Tensor,
          opts: MultiheadAttentionForwardOptions = {}): [Tensor, Tensor | null] {
    const { keyPaddingMask = null, attnMask = null, needWeights = false, averageAttnWeights = true,
            isCausal = false, kvCache = null } = opts;
    for (const [t, n] of [[query, 'query'], [key, 'key'], [value, 'value']] as const)
      check(t instanceof Tensor, 'ERR_ARGUMENT', () => `MultiheadAttention: ${n} must be a Tensor`);
    check(kvCache === null || kvCache instanceof KVCache, 'ERR_ARGUMENT', 'MultiheadAttention: kvCache must be a KVCache');
    const unbatched = query.ndim === 2;
    const nd = unbatched ? 2 : 3;
    for (const [t, n, f] of [[query, 'query', this.embedDim], [key, 'key', this.kdim], [value, 'value', this.vdim]] as const)
      check(t.ndim === nd && t.shape[nd - 1] === f, 'ERR_SHAPE',
            () => `MultiheadAttention: ${n} must be ${unbatched ? `[T, ${f}]` : this.batchFirst ? `[B, T, ${f}]` : `[T, B, ${f}]`}` +
            ` (as query [${query.shape}]), got [${t.shape}]`);
    // Everything below is batch-first [B, T, features].
    const toBF = (t: Tensor) => (unbatched ? unsqueeze(t, 0) : this.batchFirst ? t : transpose(t, 0, 1));
    const selfAttention = query === key && key === value;
    const q0 = toBF(query);
    const k0 = selfAttention ? q0 : toBF(key);
    const v0 = selfAttention ? q0 : key === value ? k0 : toBF(value);
    const [B, Tq] = q0.shape;
    check(k0.shape[0] === B && v0.shape[0] === B && k0.shape[1] === v0.shape[1], 'ERR_SHAPE',
          () => `MultiheadAttention: query [${query.shape}], key [${key.shape}] and value [${value.shape}] ` +
          'do not agree on batch and length');

    const skipKV = !!kvCache?.static && kvCache.length > 0;
    let [q, k, v] = this.project(q0, k0, v0, selfAttention, skipKV);
    const past = kvCache && !kvCache.static ? kvCache.length : 0;
    if (kvCache) {
      if (isGradEnabled() && this.training && this.parameters().some((p) => p.requiresGrad)) {
        throw new AtentoError('MultiheadAttention: a KVCache is for inference; use it in eval mode or inside at.noGrad()',
                              'ERR_ARGUMENT');
      }
      [k, v] = kvCache.update(k, v);
    }
    const Tk = k!.shape[2];

    let mask = this.mergeMasks(attnMask, keyPaddingMask, B, Tq, Tk);
    // Causal attention: SDPA's own flag when queries and keys line up from position 0; otherwise
    // (cached keys before the queries, or a static cache) an explicit mask aligned to the end.
    let causalFlag = false;
    if (isCausal) {
      if (past === 0 && Tq === Tk) causalFlag = true;
      else {
        const cm = causalMask(Tq, Tk, Tk - Tq, q.device);
        mask = mask ? add(mask, cm) : cm;
      }
    }

    let attn: Tensor, weights: Tensor | null = null;
    const attnDropout = this.training && this.dropout > 0;
    if (!needWeights && !attnDropout) {
      attn = scaledDotProductAttention(q, k!, v!, { attnMask: mask, isCausal: causalFlag });
    } else {
      // The explicit path: scores [B, H, Tq, Tk] -> softmax -> (dropout) -> @ v
      let scores = mul(matmul(q, transpose(k!, 2, 3)), 1 / Math.sqrt(this.headDim));
      if (mask) scores = add(scores, mask);
      if (causalFlag) scores = add(scores, causalMask(Tq, Tk, 0, q.device));
      let p = softmax(scores, -1);
      if (attnDropout) p = dropout(p, this.dropout, true);
      attn = matmul(p, v!);
      if (needWeights) weights = averageAttnWeights ? mean(p, 1) : p;
    }
    // [B, H, Tq, D] -> [B, Tq, E] -> out_proj
    let out = this.out_proj.forward(transpose(attn, 1, 2).reshape([B, Tq, this.embedDim]));
    if (unbatched) {
      out = squeeze(out, 0);
      if (weights) weights = squeeze(weights, 0);
    } else if (!this.batchFirst) {
      out = transpose(out, 0, 1);
    }
    return [out, weights];
  }

  extraRepr(): string {
    return `embedDim=${this.embedDim}, numHeads=${this.numHeads}` + (this.batchFirst ? ', batchFirst=true' : '') +
      (this.dropout ? `, dropout=${this.dropout}` : '');
  }
}
