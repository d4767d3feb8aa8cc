// transformer.ts — nn.TransformerEncoderLayer, TransformerDecoderLayer, TransformerEncoder,
// TransformerDecoder and Transformer, with PyTorch's structure, parameter names and defaults
// (dimFeedforward 2048, dropout 0.1, relu, layerNormEps 1e-5, batchFirst false, post-norm).
//
// Masks as nn.MultiheadAttention (PyTorch module conventions): *KeyPaddingMask [B, T] bool
// true = padding; *Mask [T, S] bool true = not allowed, or float added to the scores
// (Transformer.generateSquareSubsequentMask(n) gives the causal one).
//
// Submodules keep PyTorch's names (self_attn, multihead_attn, linear1, norm1, ...) so state dicts
// load by name.
import { AtentoError, check } from '../errors';
import { gelu, relu } from '../functional/activations';
import { add } from '../functional/elementwise';
import { Tensor, tensor, type DeviceName } from '../tensor';
import { Dropout } from './dropout';
import { xavierUniform_ } from './init';
import { Linear, type FactoryOptions } from './linear';
import { KVCache, MultiheadAttention } from './attention';
import { Module, ModuleList, deepCopy } from './module';
import { LayerNorm } from './normalization';

export type Activation = 'relu' | 'gelu' | ((x: Tensor) => Tensor);

export interface TransformerLayerOptions extends FactoryOptions {
  /** Hidden size of the feed-forward block (default 2048). */
  dimFeedforward?: number;
  /** Dropout after attention, inside and after the feed-forward block (default 0.1). */
  dropout?: number;
  /** The feed-forward activation: 'relu' (default), 'gelu' or a function. */
  activation?: Activation;
  layerNormEps?: number;
  /** [B, T, E] instead of [T, B, E] (default false). */
  batchFirst?: boolean;
  /** Pre-norm (LayerNorm before attention and feed-forward) instead of post-norm (default false). */
  normFirst?: boolean;
  /** Biases in the linear layers and LayerNorms (default true). */
  bias?: boolean;
}

function activationFn(a: Activation): (x: Tensor) => Tensor {
  if (typeof a === 'function') return a;
  if (a === 'relu') return relu;
  if (a === 'gelu') return (x) => gelu(x);
  throw new AtentoError(`activation must be 'relu', 'gelu' or a function, got ${String(a)}`, 'ERR_ARGUMENT');
}

function layerDefaults(o: TransformerLayerOptions) {
  return {
    dimFeedforward: o.dimFeedforward ?? 2048, dropout: o.dropout ?? 0.1, activation: o.activation ?? 'relu',
    layerNormEps: o.layerNormEps ?? 1e-5, batchFirst: o.batchFirst ?? false, normFirst: o.normFirst ?? false,
    bias: o.bias ?? true, device: o.device,
  };
}

export interface EncoderLayerForwardOptions {
  /** [T, T] attention mask (bool true = not allowed, or float added). */
  srcMask?: Tensor | null;
  /** [B, T] bool true = padding. */
  srcKeyPaddingMask?: Tensor | null;
  /** Causal self-attention (instead of, or with, srcMask). */
  isCausal?: boolean;
}

/** Self-attention and a feed-forward block, each with a residual connection and LayerNorm. */
export class TransformerEncoderLayer extends Module {
  self_attn: MultiheadAttention;
  linear1: Linear;
  dropout: Dropout;
  linear2: Linear;
  norm1: LayerNorm;
  norm2: LayerNorm;
  dropout1: Dropout;
  dropout2: Dropout;
  readonly normFirst: boolean;
  readonly activation: (x: Tensor) => Tensor;

  constructor(dModel: number, nhead: number, options: TransformerLayerOptions = {}) {
    super();
    const o = layerDefaults(options);
    const { device, bias } = o;
    this.self_attn = this.registerModule('self_attn',
      new MultiheadAttention(dModel, nhead, { dropout: o.dropout, bias, batchFirst: o.batchFirst, device }));
    this.linear1 = this.registerModule('linear1', new Linear(dModel, o.dimFeedforward, { bias, device }));
    this.dropout = this.registerModule('dropout', new Dropout(o.dropout));
    this.linear2 = this.registerModule('linear2', new Linear(o.dimFeedforward, dModel, { bias, device }));
    this.normFirst = o.normFirst;
    this.norm1 = this.registerModule('norm1', new LayerNorm(dModel, { eps: o.layerNormEps, bias, device }));
    this.norm2 = this.registerModule('norm2', new LayerNorm(dModel, { eps: o.layerNormEps, bias, device }));
    this.dropout1 = this.registerModule('dropout1', new Dropout(o.dropout));
    this.dropout2 = this.registerModule('dropout2', new Dropout(o.dropout));
    this.activation = activationFn(o.activation);
  }

  private selfAttentionBlock(x: Tensor, o: EncoderLayerForwardOptions): Tensor {
    const [out] = this.self_attn.forward(x, x, x, {
      attnMask: o.srcMask, keyPaddingMask: o.srcKeyPaddingMask, isCausal: o.isCausal, needWeights: false,
    });
    return this.dropout1.forward(out);
  }

  private feedForwardBlock(x: Tensor): Tensor {
    return this.dropout2.forward(this.linear2.forward(this.dropout.forward(this.activation(this.linear1.forward(x)))));
  }

  forward(src: Tensor, opts: EncoderLayerForwardOptions = {}): Tensor {
    let x = src;
    if (this.normFirst) {
      x = add(x, this.selfAttentionBlock(this.norm1.forward(x), opts));
      x = add(x, this.feedForwardBlock(this.norm2.forward(x)));
    } else {
      x = this.norm1.forward(add(x, this.selfAttentionBlock(x, opts)));
      x = this.norm2.forward(add(x, this.feedForwardBlock(x)));
    }
    return x;
  }
}

export interface DecoderLayerForwardOptions {
  tgtMask?: Tensor | null;
  memoryMask?: Tensor | null;
  tgtKeyPaddingMask?: Tensor | null;
  memoryKeyPaddingMask?: Tensor | null;
  /** Causal self-attention over the target (instead of, or with, tgtMask). */
  tgtIsCausal?: boolean;
  memoryIsCausal?: boolean;
  /**
   * For decoding step by step: a cache for the self-attention (grows) and one for the
   * cross-attention (static, the memory's keys and values), as made by decoderCache().
   */
  cache?: { self: KVCache; cross: KVCache } | null;
}

/** Self-attention, cross-attention over `memory` and a feed-forward block (PyTorch's decoder layer). */
export class TransformerDecoderLayer extends Module {
  self_attn: MultiheadAttention;
  multihead_attn: MultiheadAttention;
  linear1: Linear;
  dropout: Dropout;
  linear2: Linear;
  norm1: LayerNorm;
  norm2: LayerNorm;
  norm3: LayerNorm;
  dropout1: Dropout;
  dropout2: Dropout;
  dropout3: Dropout;
  readonly normFirst: boolean;
  readonly activation: (x: Tensor) => Tensor;

  constructor(dModel: number, nhead: number, options: TransformerLayerOptions = {}) {
    super();
    const o = layerDefaults(options);
    const { device, bias } = o;
    const mha = () => new MultiheadAttention(dModel, nhead, { dropout: o.dropout, bias, batchFirst: o.batchFirst, device });
    this.self_attn = this.registerModule('self_attn', mha());
    this.multihead_attn = this.registerModule('multihead_attn', mha());
    this.linear1 = this.registerModule('linear1', new Linear(dModel, o.dimFeedforward, { bias, device }));
    this.dropout = this.registerModule('dropout', new Dropout(o.dropout));
    this.linear2 = this.registerModule('linear2', new Linear(o.dimFeedforward, dModel, { bias, device }));
    this.normFirst = o.normFirst;
    this.norm1 = this.registerModule('norm1', new LayerNorm(dModel, { eps: o.layerNormEps, bias, device }));
    this.norm2 = this.registerModule('norm2', new LayerNorm(dModel, { eps: o.layerNormEps, bias, device }));
    this.norm3 = this.registerModule('norm3', new LayerNorm(dModel, { eps: o.layerNormEps, bias, device }));
    this.dropout1 = this.registerModule('dropout1', new Dropout(o.dropout));
    this.dropout2 = this.registerModule('dropout2', new Dropout(o.dropout));
    this.dropout3 = this.registerModule('dropout3', new Dropout(o.dropout));
    this.activation = activationFn(o.activation);
  }

  /** Fresh caches for step-by-step decoding with this layer (see DecoderLayerForwardOptions.cache). */
  decoderCache(): { self: KVCache; cross: KVCache } {
    return { self: new KVCache(), cross: new KVCache({ static: true }) };
  }

  private selfAttentionBlock(x: Tensor, o: DecoderLayerForwardOptions): Tensor {
    const [out] = this.self_attn.forward(x, x, x, {
      attnMask: o.tgtMask, keyPaddingMask: o.tgtKeyPaddingMask, isCausal: o.tgtIsCausal, kvCache: o.cache?.self,
    });
    return this.dropout1.forward(out);
  }

  private crossAttentionBlock(x: Tensor, mem: Tensor, o: DecoderLayerForwardOptions): Tensor {
    const [out] = this.multihead_attn.forward(x, mem, mem, {
      attnMask: o.memoryMask, keyPaddingMask: o.memoryKeyPaddingMask, isCausal: o.memoryIsCausal, kvCache: o.cache?.cross,
    });
    return this.dropout2.forward(out);
  }

  private feedForwardBlock(x: Tensor): Tensor {
    return this.dropout3.forward(this.linear2.forward(this.dropout.forward(this.activation(this.linear1.forward(x)))));
  }

  forward(tgt: Tensor, memory: Tensor, opts: DecoderLayerForwardOptions = {}): Tensor {
    let x = tgt;
    if (this.normFirst) {
      x = add(x, this.selfAttentionBlock(this.norm1.forward(x), opts));
      x = add(x, this.crossAttentionBlock(this.norm2.forward(x), memory, opts));
      x = add(x, this.feedForwardBlock(this.norm3.forward(x)));
    } else {
      x = this.norm1.forward(add(x, this.selfAttentionBlock(x, opts)));
      x = this.norm2.forward(add(x, this.crossAttentionBlock(x, memory, opts)));
      x = this.norm3.forward(add(x, this.feedForwardBlock(x)));
    }
    return x;
  }
}

export interface EncoderForwardOptions {
  mask?: Tensor | null;
  srcKeyPaddingMask?: Tensor | null;
  isCausal?: boolean;
}

/**
 * numLayers copies of `encoderLayer` (deep copies with equal initial weights, as PyTorch's
 * _get_clones; the layer passed in is not itself used), then an optional final norm.
 */
export class TransformerEncoder extends Module {
  layers: ModuleList<TransformerEncoderLayer>;
  norm: Module | null;
  readonly numLayers: number;

  constructor(encoderLayer: TransformerEncoderLayer, numLayers: number, { norm = null }: { norm?: Module | null } = {}) {
    super();
    check(encoderLayer instanceof TransformerEncoderLayer, 'ERR_ARGUMENT', 'TransformerEncoder: expected a TransformerEncoderLayer');
    check(Number.isInteger(numLayers) && numLayers >= 1, 'ERR_ARGUMENT',
          () => `TransformerEncoder: numLayers must be >= 1, got ${numLayers}`);
    this.numLayers = numLayers;
    this.layers = this.registerModule('layers', new ModuleList(Array.from({ length: numLayers },
        () => deepCopy(encoderLayer))));
    this.norm = this.registerModule('norm', norm);
  }

  forward(src: Tensor, { mask = null, srcKeyPaddingMask = null, isCausal = false }: EncoderForwardOptions = {}): Tensor {
    let x = src;
    for (const layer of this.layers) x = layer.forward(x, { srcMask: mask, srcKeyPaddingMask, isCausal });
    return this.norm ? this.norm.forward(x) : x;
  }
}

/** numLayers deep copies of `decoderLayer`, then an optional final norm. */
export class TransformerDecoder extends Module {
  layers: ModuleList<TransformerDecoderLayer>;
  norm: Module | null;
  readonly numLayers: number;

  constructor(decoderLayer: TransformerDecoderLayer, numLayers: number, { norm = null }: { norm?: Module | null } = {}) {
    super();
    check(decoderLayer instanceof TransformerDecoderLayer, 'ERR_ARGUMENT', 'TransformerDecoder: expected a TransformerDecoderLayer');
    check(Number.isInteger(numLayers) && numLayers >= 1, 'ERR_ARGUMENT',
          () => `TransformerDecoder: numLayers must be >= 1, got ${numLayers}`);
    this.numLayers = numLayers;
    this.layers = this.registerModule('layers', new ModuleList(Array.from({ length: numLayers },
        () => deepCopy(decoderLayer))));
    this.norm = this.registerModule('norm', norm);
  }

  /** Fresh caches for step-by-step decoding, one per layer (pass as `cache`). */
  decoderCache(): { self: KVCache; cross: KVCache }[] {
    return [...this.layers].map((l) => l.decoderCache());
  }

  forward(tgt: Tensor, memory: Tensor,
          opts: Omit<DecoderLayerForwardOptions, 'cache'> & { cache?: { self: KVCache; cross: KVCache }[] | null } = {}): Tensor {
    const { cache, ...rest } = opts;
    check(!cache || (Array.isArray(cache) && cache.length === this.numLayers), 'ERR_ARGUMENT',
          () => `TransformerDecoder: cache must hold one entry per layer (${this.numLayers}); use decoderCache()`);
    let x = tgt;
    let i = 0;
    for (const layer of this.layers) x = layer.forward(x, memory, { ...rest, cache: cache?.[i++] ?? null });
    return this.norm ? this.norm.forward(x) : x;
  }
}

export interface TransformerOptions extends TransformerLayerOptions {
  dModel?: number;
  nhead?: number;
  numEncoderLayers?: number;
  numDecoderLayers?: number;
  customEncoder?: Module | null;
  customDecoder?: Module | null;
}

export interface TransformerForwardOptions {
  srcMask?: Tensor | null;
  tgtMask?: Tensor | null;
  memoryMask?: Tensor | null;
  srcKeyPaddingMask?: Tensor | null;
  tgtKeyPaddingMask?: Tensor | null;
  memoryKeyPaddingMask?: Tensor | null;
  srcIsCausal?: boolean;
  tgtIsCausal?: boolean;
  memoryIsCausal?: boolean;
}

/**
 * The encoder-decoder of "Attention Is All You Need" (torch.nn.Transformer): dModel 512, 8 heads,
 * 6 + 6 layers, each stack ending in a LayerNorm; every parameter with more than one dim is
 * re-initialised xavier_uniform, as PyTorch does.
 */
export class Transformer extends Module {
  encoder: Module;
  decoder: Module;
  readonly dModel: number;
  readonly nhead: number;
  readonly batchFirst: boolean;

  constructor(options: TransformerOptions = {}) {
    super();
    const { dModel = 512, nhead = 8, numEncoderLayers = 6, numDecoderLayers = 6, customEncoder = null,
            customDecoder = null, ...layerOptions } = options;
    const o = layerDefaults(layerOptions);
    const norm = () => new LayerNorm(dModel, { eps: o.layerNormEps, bias: o.bias, device: o.device });
    this.encoder = this.registerModule('encoder', customEncoder ??
      new TransformerEncoder(new TransformerEncoderLayer(dModel, nhead, o), numEncoderLayers, { norm: norm() }));
    this.decoder = this.registerModule('decoder', customDecoder ??
      new TransformerDecoder(new TransformerDecoderLayer(dModel, nhead, o), numDecoderLayers, { norm: norm() }));
    this.dModel = dModel;
    this.nhead = nhead;
    this.batchFirst = o.batchFirst;
    for (const p of this.parameters()) if (p.ndim > 1) xavierUniform_(p);
  }

  /** [T, T] float mask: 0 on and below the diagonal, -inf above (each position sees its past). */
  static generateSquareSubsequentMask(n: number, { device }: { device?: DeviceName } = {}): Tensor {
    check(Number.isInteger(n) && n >= 0, 'ERR_ARGUMENT',
          () => `generateSquareSubsequentMask: n must be a non-negative integer, got ${n}`);
    const f = new Float32Array(n * n);
    for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) f[i * n + j] = -Infinity;
    return tensor(f, [n, n], { device });
  }

  forward(src: Tensor, tgt: Tensor, o: TransformerForwardOptions = {}): Tensor {
    const bDim = this.batchFirst ? 0 : 1;
    check(src.ndim === tgt.ndim && (src.ndim === 2 || src.shape[bDim] === tgt.shape[bDim]), 'ERR_SHAPE',
          () => `Transformer: src [${src.shape}] and tgt [${tgt.shape}] must have the same batch size`);
    check(src.shape[src.ndim - 1] === this.dModel && tgt.shape[tgt.ndim - 1] === this.dModel, 'ERR_SHAPE',
          () => `Transformer: src and tgt must end in dModel ${this.dModel}, got [${src.shape}] and [${tgt.shape}]`);
    const memory = this.encoder.forward(src, { mask: o.srcMask, srcKeyPaddingMask: o.srcKeyPaddingMask, isCausal: o.srcIsCausal });
    return this.decoder.forward(tgt, memory, {
      tgtMask: o.tgtMask, memoryMask: o.memoryMask, tgtKeyPaddingMask: o.tgtKeyPaddingMask,
      memoryKeyPaddingMask: o.memoryKeyPaddingMask, tgtIsCausal: o.tgtIsCausal, memoryIsCausal: o.memoryIsCausal,
    });
  }
}
