// nn layers against PyTorch: each fixture in modules.json is a PyTorch module's state_dict
// (loaded here through at.load and loadStateDict), inputs, outputs, and the gradients of inputs
// and parameters. Plus finite-difference checks on tiny shapes and argument errors.
import { describe, it } from 'vitest';
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
  it('Linear', () => {
    at.manualSeed(1);
    const m = new nn.Linear(3, 2, { device });
    const x = at.randn([4, 3], { device, requiresGrad: true, seed: 2 });
    gradCheck(() => [m.forward(x)], [x, m.weight, m.bias!], { what: 'Linear' });
  });
});

describe.each(devices)('nn layers: bad arguments on %s', (device) => {
  it('Linear', () => {
    const m = new nn.Linear(3, 2, { device });
    expectCode(() => m.forward(at.zeros([4, 5], { device })), 'ERR_SHAPE');
  });
});
