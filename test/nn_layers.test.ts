// nn layers against PyTorch: each fixture in modules.json is a PyTorch module's state_dict
// (loaded here through at.load and loadStateDict), inputs, outputs, and the gradients of inputs
// and parameters. Plus finite-difference checks on tiny shapes and argument errors.
import { describe, expect, it } from 'vitest';
import * as at from '../lib';
import { loadFixtures, type FixtureCase } from './helpers/fixtures';
import { devices, expectClose, expectCode } from './helpers/devices';
import { checkModuleCase, gradCheck, type Tol } from './helpers/nn';

const { nn } = at;

// float32 forward/backward against a float64 reference, with reductions of length <= 16 here:
// a few ulps of values of size ~1.
const TOL: Tol = { atol: 2e-5, rtol: 2e-4 };

const kw = (c: FixtureCase) => c.attrs.kwargs as Record<string, any>;

// Transformer layers chain ~10 ops (two LayerNorms, softmax, GELU's erf): errors compound a little.
const TOL_DEEP: Tol = { atol: 5e-5, rtol: 5e-4 };

const cases: Record<string, (c: FixtureCase, device: at.DeviceName) => void> = {
  Linear: (c, device) => {
    const m = new nn.Linear(kw(c).in_features, kw(c).out_features, { device });
    checkModuleCase(c, device, m, (x) => ({ out: m.forward(x.input) }), TOL);
  },
  Embedding: (c, device) => {
    const m = new nn.Embedding(kw(c).num_embeddings, kw(c).embedding_dim, { paddingIdx: kw(c).padding_idx ?? null, device });
    checkModuleCase(c, device, m, (x) => ({ out: m.forward(x.input) }), TOL);
  },
  LayerNorm: (c, device) => {
    const m = new nn.LayerNorm(kw(c).normalized_shape, { eps: kw(c).eps ?? 1e-5, device });
    checkModuleCase(c, device, m, (x) => ({ out: m.forward(x.input) }), TOL);
  },
  LSTM: (c, device) => {
    const m = new nn.LSTM(kw(c).input_size, kw(c).hidden_size,
                          { numLayers: kw(c).num_layers, batchFirst: kw(c).batch_first, device });
    checkModuleCase(c, device, m, (x) => {
      const [out, [hN, cN]] = m.forward(x.input, x.h0 ? [x.h0, x.c0] : null);
      return { out, hN, cN };
    }, TOL);
  },
  GRU: (c, device) => {
    const m = new nn.GRU(kw(c).input_size, kw(c).hidden_size, { batchFirst: kw(c).batch_first, device });
    checkModuleCase(c, device, m, (x) => {
      const [out, hN] = m.forward(x.input, x.h0 ?? null);
      return { out, hN };
    }, TOL);
  },
  MultiheadAttention: (c, device) => {
    const k = kw(c);
    const m = new nn.MultiheadAttention(k.embed_dim, k.num_heads, { batchFirst: k.batch_first, kdim: k.kdim, vdim: k.vdim, device });
    const fk = c.attrs.forwardKwargs as Record<string, any>;
    checkModuleCase(c, device, m, (x) => {
      // needWeights as the fixture (true): the explicit path; the fused path is checked below.
      const opts = { keyPaddingMask: x.key_padding_mask, attnMask: x.attn_mask };
      const [out, weights] = m.forward(x[fk.query], x[fk.key], x[fk.value], { ...opts, needWeights: fk.need_weights });
      // The fused path (no weights) must give the same output.
      const [fused] = m.forward(x[fk.query], x[fk.key], x[fk.value], opts);
      expectClose(fused, out, { ...TOL, what: `${c.name} fused vs explicit` });
      return { out, weights };
    }, TOL);
  },
  TransformerEncoderLayer: (c, device) => {
    const k = kw(c);
    const m = new nn.TransformerEncoderLayer(k.d_model, k.nhead, {
      dimFeedforward: k.dim_feedforward, dropout: k.dropout, batchFirst: k.batch_first, normFirst: k.norm_first,
      activation: k.activation, device,
    });
    checkModuleCase(c, device, m, (x) => ({
      out: m.forward(x.src, { srcMask: x.src_mask, srcKeyPaddingMask: x.src_key_padding_mask }),
    }), TOL_DEEP);
  },
  TransformerDecoderLayer: (c, device) => {
    const k = kw(c);
    const m = new nn.TransformerDecoderLayer(k.d_model, k.nhead, {
      dimFeedforward: k.dim_feedforward, dropout: k.dropout, batchFirst: k.batch_first, normFirst: k.norm_first,
      activation: k.activation, device,
    });
    checkModuleCase(c, device, m, (x) => ({
      out: m.forward(x.tgt, x.memory, { tgtMask: x.tgt_mask, memoryKeyPaddingMask: x.memory_key_padding_mask }),
    }), TOL_DEEP);
  },
};

describe.each(devices)('nn layers vs PyTorch on %s', (device) => {
  for (const c of loadFixtures('modules')) {
    const run = cases[c.attrs.module as string];
    it(c.name, () => {
      if (!run) throw new Error(`no atento module for ${c.attrs.module}`);
      run(c, device);
    });
  }
});

describe.each(devices)('nn layers: finite differences on %s', (device) => {
  const rnd = (shape: number[], seed: number, scale = 1) =>
    at.F.mul(at.randn(shape, { device, seed }), scale).detach().requiresGrad_();

  it('Linear', () => {
    at.manualSeed(1);
    const m = new nn.Linear(3, 2, { device });
    const x = rnd([4, 3], 2);
    gradCheck(() => [m.forward(x)], [x, m.weight, m.bias!], { what: 'Linear' });
  });

  it('Embedding (repeated ids; the padding row\'s zero gradient is PyTorch\'s rule, checked by the fixture)', () => {
    at.manualSeed(2);
    const m = new nn.Embedding(5, 3, { device });
    const ids = at.tensor([[0, 1, 4], [4, 4, 2]], { dtype: 'int32', device });
    gradCheck(() => [m.forward(ids)], [m.weight], { what: 'Embedding' });
  });

  it('LayerNorm over two dims', () => {
    at.manualSeed(3);
    const m = new nn.LayerNorm([2, 3], { device });
    at.noGrad(() => { nn.init.normal_(m.weight!); nn.init.normal_(m.bias!); });
    const x = rnd([2, 2, 3], 4);
    gradCheck(() => [m.forward(x)], [x, m.weight!, m.bias!], { what: 'LayerNorm' });
  });

  it('LSTM, 2 layers, batch first, with initial state', () => {
    at.manualSeed(4);
    const m = new nn.LSTM(3, 4, { numLayers: 2, batchFirst: true, device });
    const x = rnd([2, 3, 3], 5), h0 = rnd([2, 2, 4], 6), c0 = rnd([2, 2, 4], 7);
    gradCheck(() => { const [out, [h, c]] = m.forward(x, [h0, c0]); return [out, h, c]; },
              [x, h0, c0, ...m.parameters()], { what: 'LSTM' });
  });

  it('GRU, 2 layers, time major, with initial state', () => {
    at.manualSeed(5);
    const m = new nn.GRU(3, 4, { numLayers: 2, device });
    const x = rnd([3, 2, 3], 8), h0 = rnd([2, 2, 4], 9);
    gradCheck(() => { const [out, h] = m.forward(x, h0); return [out, h]; }, [x, h0, ...m.parameters()], { what: 'GRU' });
  });

  it('MultiheadAttention: cross with key padding (fused) and causal self (explicit, with weights)', () => {
    at.manualSeed(6);
    const m = new nn.MultiheadAttention(4, 2, { batchFirst: true, device });
    at.noGrad(() => { nn.init.normal_(m.in_proj_bias!, { std: 0.5 }); nn.init.normal_(m.out_proj.bias!, { std: 0.5 }); });
    const q = rnd([2, 3, 4], 10), kv = rnd([2, 5, 4], 11), v = rnd([2, 5, 4], 12);
    const kpm = at.tensor([[false, false, true, false, true], [false, false, false, false, false]], { device });
    gradCheck(() => [m.forward(q, kv, v, { keyPaddingMask: kpm })[0]], [q, kv, v, ...m.parameters()], { what: 'MHA cross' });
    gradCheck(() => {
      const [out, w] = m.forward(q, q, q, { isCausal: true, needWeights: true });
      return [out, w!];
    }, [q, ...m.parameters()], { what: 'MHA self causal' });
  });

  it('MultiheadAttention with kdim and vdim (separate projections), time major', () => {
    at.manualSeed(7);
    const m = new nn.MultiheadAttention(4, 2, { kdim: 3, vdim: 5, device });
    expect(m.namedParameters().map(([n]) => n)).toEqual(
      ['q_proj_weight', 'k_proj_weight', 'v_proj_weight', 'in_proj_bias', 'out_proj.weight', 'out_proj.bias']);
    const q = rnd([2, 2, 4], 13), k = rnd([3, 2, 3], 14), v = rnd([3, 2, 5], 15);
    gradCheck(() => [m.forward(q, k, v)[0]], [q, k, v, ...m.parameters()], { what: 'MHA kdim/vdim' });
  });

  for (const normFirst of [false, true]) {
    it(`TransformerEncoderLayer and TransformerDecoderLayer (${normFirst ? 'pre' : 'post'}-norm, gelu)`, () => {
      at.manualSeed(8);
      const opts = { dimFeedforward: 6, dropout: 0, batchFirst: true, normFirst, activation: 'gelu' as const, device };
      const enc = new nn.TransformerEncoderLayer(4, 2, opts);
      const dec = new nn.TransformerDecoderLayer(4, 2, opts);
      const src = rnd([2, 3, 4], 16), tgt = rnd([2, 2, 4], 17);
      const kpm = at.tensor([[false, false, true], [false, false, false]], { device });
      gradCheck(() => [enc.forward(src, { srcKeyPaddingMask: kpm, isCausal: true })], [src, ...enc.parameters()],
                { what: 'encoder layer', samples: 12 });
      gradCheck(() => [dec.forward(tgt, src, { tgtIsCausal: true, memoryKeyPaddingMask: kpm })], [tgt, src, ...dec.parameters()],
                { what: 'decoder layer', samples: 12 });
    });
  }

  it('LearnedPositionalEmbedding', () => {
    at.manualSeed(9);
    const m = new nn.LearnedPositionalEmbedding(6, 4, { device });
    const x = rnd([2, 3, 4], 18);
    gradCheck(() => [m.forward(x, { offset: 2 })], [x, m.weight], { what: 'learned positions' });
  });

  it('loss modules', () => {
    const logits = rnd([4, 5], 19), target = at.tensor([0, 4, 2, -100], { dtype: 'int32', device });
    gradCheck(() => [new nn.CrossEntropyLoss({ labelSmoothing: 0.1 }).forward(logits, target)], [logits], { what: 'CE' });
    const a = rnd([3, 4], 20), b = rnd([3, 4], 21);
    gradCheck(() => [new nn.MSELoss({ reduction: 'sum' }).forward(a, b)], [a, b], { what: 'MSE' });
    const t = at.rand([3, 4], { device, seed: 22 });
    const bce = new nn.BCEWithLogitsLoss({ posWeight: at.tensor([1, 2, 0.5, 3], { device }) });
    gradCheck(() => [bce.forward(a, t)], [a], { what: 'BCE' });
  });
});

describe.each(devices)('nn layers: bad arguments on %s', (device) => {
  const z = (shape: number[], dtype: at.Dtype = 'float32') => at.zeros(shape, { device, dtype });

  it('constructors', () => {
    expectCode(() => new nn.Embedding(0, 3), 'ERR_ARGUMENT');
    expectCode(() => new nn.Embedding(4, 3, { paddingIdx: 4 }), 'ERR_ARGUMENT');
    expectCode(() => new nn.LayerNorm([0]), 'ERR_ARGUMENT');
    expectCode(() => new nn.Dropout(1.5), 'ERR_ARGUMENT');
    expectCode(() => new nn.GELU({ approximate: 'fast' as never }), 'ERR_ARGUMENT');
    expectCode(() => new nn.LSTM(3, 0), 'ERR_ARGUMENT');
    expectCode(() => new nn.LSTM(3, 4, { numLayers: 0 }), 'ERR_ARGUMENT');
    expectCode(() => new nn.GRU(3, 4, { bidirectional: true }), 'ERR_NOT_IMPLEMENTED');
    expectCode(() => new nn.MultiheadAttention(6, 4), 'ERR_ARGUMENT');
    expectCode(() => new nn.TransformerEncoderLayer(4, 2, { activation: 'swish' as never }), 'ERR_ARGUMENT');
    expectCode(() => new nn.TransformerEncoder(new nn.Linear(2, 2) as never, 2), 'ERR_ARGUMENT');
    expectCode(() => new nn.BCEWithLogitsLoss({ weight: z([2]) }), 'ERR_NOT_IMPLEMENTED');
    expectCode(() => nn.Transformer.generateSquareSubsequentMask(-1), 'ERR_ARGUMENT');
  });

  it('forward shapes, dtypes and ids', () => {
    expectCode(() => new nn.Linear(3, 2, { device }).forward(z([4, 5])), 'ERR_SHAPE');
    const emb = new nn.Embedding(4, 3, { device });
    expectCode(() => emb.forward(at.tensor([1, 4], { dtype: 'int32', device })), 'ERR_INDEX');
    expectCode(() => emb.forward(z([2])), 'ERR_DTYPE');
    expectCode(() => new nn.LayerNorm(4, { device }).forward(z([2, 3])), 'ERR_SHAPE');
    const lstm = new nn.LSTM(3, 4, { numLayers: 2, device });
    expectCode(() => lstm.forward(z([5, 2, 4])), 'ERR_SHAPE');
    expectCode(() => lstm.forward(z([2, 2, 3, 1])), 'ERR_SHAPE');
    expectCode(() => lstm.forward(z([5, 2, 3]), [z([1, 2, 4]), z([1, 2, 4])]), 'ERR_SHAPE');
    expectCode(() => lstm.forward(z([5, 2, 3]), [z([2, 2, 4])] as never), 'ERR_ARGUMENT');
    expectCode(() => new nn.GRU(3, 4, { device }).forward(z([5, 2, 3]), z([1, 3, 4])), 'ERR_SHAPE');
    const mha = new nn.MultiheadAttention(4, 2, { batchFirst: true, device });
    const x = z([2, 3, 4]);
    expectCode(() => mha.forward(x, z([2, 3, 5]), z([2, 3, 5])), 'ERR_SHAPE');
    expectCode(() => mha.forward(x, z([3, 3, 4]), z([3, 3, 4])), 'ERR_SHAPE');
    expectCode(() => mha.forward(x, x, x, { keyPaddingMask: z([2, 4], 'bool') }), 'ERR_SHAPE');
    expectCode(() => mha.forward(x, x, x, { keyPaddingMask: z([2, 3], 'int32') }), 'ERR_DTYPE');
    expectCode(() => mha.forward(x, x, x, { attnMask: z([3, 4], 'bool') }), 'ERR_SHAPE');
    expectCode(() => mha.forward(x, x, x, { attnMask: z([3, 3, 3]) }), 'ERR_SHAPE');
    expectCode(() => mha.forward(x, x, x, { kvCache: {} as never }), 'ERR_ARGUMENT');
    // A KV cache while training with gradients is a mistake (it disposes what backward needs).
    expectCode(() => mha.forward(x, x, x, { kvCache: new nn.KVCache() }), 'ERR_ARGUMENT');
    const pos = new nn.SinusoidalPositionalEncoding(4, { maxLen: 5, device });
    expectCode(() => pos.forward(z([1, 6, 4])), 'ERR_INDEX');
    expectCode(() => pos.forward(z([1, 3, 4]), { offset: 3 }), 'ERR_INDEX');
    expectCode(() => pos.forward(z([1, 3, 5])), 'ERR_SHAPE');
    expectCode(() => new nn.CrossEntropyLoss().forward(z([2, 3]), z([2])), 'ERR_DTYPE');
    const t = new nn.Transformer({ dModel: 4, nhead: 2, numEncoderLayers: 1, numDecoderLayers: 1, dimFeedforward: 4, device });
    expectCode(() => t.forward(z([3, 2, 4]), z([3, 1, 4])), 'ERR_SHAPE');
  });

  if (device === 'cuda') {
    it('mixed devices', () => {
      const m = new nn.Linear(3, 2, { device: 'cpu' });
      expectCode(() => m.forward(z([1, 3])), 'ERR_DEVICE');
    });
  }
});
