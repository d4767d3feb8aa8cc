// gpt.ts — a GPT-style decoder (nanoGPT's architecture): token + learned position embeddings,
// pre-norm blocks of causal self-attention and a GELU MLP, a final LayerNorm, and an output head
// tied to the token embedding. Parameter names follow nanoGPT (`transformer.h.0.attn.c_attn.weight`).
//
//   idx [B, T] int32 -> logits [B, T, vocabSize]
import * as F from '../functional';
import { Module, ModuleList } from '../nn/module';
import { Dropout, Embedding, LayerNorm, Linear } from '../nn';
import { normal_, zeros_ } from '../nn/init';
import { check } from '../errors';
import { Tensor, arange } from '../tensor';

export interface GPTConfig {
  vocabSize: number;
  blockSize: number; // longest context
  nLayer: number;
  nHead: number;
  nEmbd: number;
  dropout?: number;
  bias?: boolean;
}

class CausalSelfAttention extends Module {
  c_attn: Linear;
  c_proj: Linear;
  resid_dropout: Dropout;
  constructor(private cfg: GPTConfig) {
    super();
    this.c_attn = this.registerModule('c_attn', new Linear(cfg.nEmbd, 3 * cfg.nEmbd, { bias: cfg.bias ?? true }));
    this.c_proj = this.registerModule('c_proj', new Linear(cfg.nEmbd, cfg.nEmbd, { bias: cfg.bias ?? true }));
    this.resid_dropout = this.registerModule('resid_dropout', new Dropout(cfg.dropout ?? 0));
  }
  forward(x: Tensor): Tensor {
    // qkv [B, T, 3C] -> y [B, T, C]: causal attention of each head, q, k, v split from qkv and the
    // heads joined in y by the kernel itself (no split / transpose copies on cpu)
    const y = F.scaledDotProductAttentionPacked(this.c_attn.forward(x), this.cfg.nHead, { isCausal: true });
    return this.resid_dropout.forward(this.c_proj.forward(y));
  }
}

class MLP extends Module {
  c_fc: Linear;
  c_proj: Linear;
  dropout: Dropout;
  constructor(cfg: GPTConfig) {
    super();
    this.c_fc = this.registerModule('c_fc', new Linear(cfg.nEmbd, 4 * cfg.nEmbd, { bias: cfg.bias ?? true }));
    this.c_proj = this.registerModule('c_proj', new Linear(4 * cfg.nEmbd, cfg.nEmbd, { bias: cfg.bias ?? true }));
    this.dropout = this.registerModule('dropout', new Dropout(cfg.dropout ?? 0));
  }
  forward(x: Tensor): Tensor {
    return this.dropout.forward(this.c_proj.forward(F.gelu(this.c_fc.forward(x), { approximate: 'tanh' })));
  }
}

class Block extends Module {
  ln_1: LayerNorm;
  attn: CausalSelfAttention;
  ln_2: LayerNorm;
  mlp: MLP;
  constructor(cfg: GPTConfig) {
    super();
    this.ln_1 = this.registerModule('ln_1', new LayerNorm([cfg.nEmbd]));
    this.attn = this.registerModule('attn', new CausalSelfAttention(cfg));
    this.ln_2 = this.registerModule('ln_2', new LayerNorm([cfg.nEmbd]));
    this.mlp = this.registerModule('mlp', new MLP(cfg));
  }
  forward(x: Tensor): Tensor {
    x = F.add(x, this.attn.forward(this.ln_1.forward(x)));
    return F.add(x, this.mlp.forward(this.ln_2.forward(x)));
  }
}

class Transformer extends Module {
  wte: Embedding;
  wpe: Embedding;
  drop: Dropout;
  h: ModuleList;
  ln_f: LayerNorm;
  constructor(cfg: GPTConfig) {
    super();
    this.wte = this.registerModule('wte', new Embedding(cfg.vocabSize, cfg.nEmbd));
    this.wpe = this.registerModule('wpe', new Embedding(cfg.blockSize, cfg.nEmbd));
    this.drop = this.registerModule('drop', new Dropout(cfg.dropout ?? 0));
    this.h = this.registerModule('h', new ModuleList(Array.from({ length: cfg.nLayer }, () => new Block(cfg))));
    this.ln_f = this.registerModule('ln_f', new LayerNorm([cfg.nEmbd]));
  }
}

export class GPT extends Module {
  transformer: Transformer;
  lm_head: Linear;
  constructor(readonly config: GPTConfig) {
    super();
    check(config.nEmbd % config.nHead === 0, 'ERR_ARGUMENT', 'GPT: nEmbd must be divisible by nHead');
    this.transformer = this.registerModule('transformer', new Transformer(config));
    this.lm_head = this.registerModule('lm_head', new Linear(config.nEmbd, config.vocabSize, { bias: false }));
    // Weight tying, as GPT-2: the output head reads the token embedding matrix.
    this.lm_head.weight = this.transformer.wte.weight;
    // GPT-2's initialisation: N(0, 0.02) weights, zero biases, and residual projections scaled
    // by 1/sqrt(2 * nLayer) so the residual stream does not grow with depth.
    for (const [name, p] of this.namedParameters()) {
      if (name.endsWith('.bias') && !name.includes('ln_')) zeros_(p);
      else if (!name.includes('ln_')) normal_(p, { std: name.endsWith('c_proj.weight') ? 0.02 / Math.sqrt(2 * config.nLayer) : 0.02 });
    }
  }

  /** Logits [B, T, V] for token ids [B, T] (T <= blockSize). */
  forward(idx: Tensor): Tensor {
    const [, T] = idx.shape;
    check(idx.ndim === 2 && T <= this.config.blockSize, 'ERR_SHAPE',
          () => `GPT: idx must be [B, T] with T <= ${this.config.blockSize}, got [${idx.shape}]`);
    const pos = arange(T, { device: idx.device });
    const t = this.transformer;
    let x = t.drop.forward(F.add(t.wte.forward(idx), t.wpe.forward(pos)));
    for (const block of t.h) x = (block as Block).forward(x);
    return this.lm_head.forward(t.ln_f.forward(x));
  }
}
