// Transformer stacks, incremental decoding with KVCache, layouts (batch first, time major,
// unbatched), carried RNN state, positional encodings, default initialisations, Dropout.
import { describe, expect, it } from 'vitest';
import * as at from '../lib';
import { getFixture } from './helpers/fixtures';
import { devices, expectClose, fromFixture } from './helpers/devices';

const { nn, F } = at;

// Two float32 computations of the same value along different op orders (fused vs explicit
// attention, one long GEMM vs row blocks): agreement to a few ulps of O(1) values.
const SAME = { atol: 1e-5, rtol: 1e-4 };

describe.each(devices)('incremental decoding on %s', (device) => {
  it('MultiheadAttention with a KVCache equals one causal forward (one token at a time, and a chunked prefill)', () => {
    at.manualSeed(1);
    const mha = new nn.MultiheadAttention(8, 2, { batchFirst: true, device }).eval();
    const x = at.randn([2, 7, 8], { device, seed: 2 });
    at.noGrad(() => {
      const [full] = mha.forward(x, x, x, { isCausal: true });
      for (const chunks of [[1, 1, 1, 1, 1, 1, 1], [3, 1, 2, 1]]) {
        const cache = new nn.KVCache();
        const pieces = F.split(x, chunks, 1);
        const outs = pieces.map((p) => mha.forward(p, p, p, { isCausal: true, kvCache: cache })[0]);
        expect(cache.length).toBe(7);
        expect(cache.key!.shape).toEqual([2, 2, 7, 4]);
        expectClose(F.cat(outs, 1), full, { ...SAME, what: `chunks ${chunks}` });
        cache.dispose();
        expect(cache.length).toBe(0);
      }
      // With a key padding mask over all positions so far (the same mask as the full forward).
      const kpm = at.tensor([[true, false, false, false, false, false, false], [false, false, false, false, false, false, true]], { device });
      const [fullMasked] = mha.forward(x, x, x, { isCausal: true, keyPaddingMask: kpm });
      const cache = new nn.KVCache();
      const outs = F.split(x, 1, 1).map((p, t) =>
        mha.forward(p, p, p, { isCausal: true, kvCache: cache, keyPaddingMask: F.narrow(kpm, 1, 0, t + 1) })[0]);
      // (Query 0 of batch 0 sees only a padded key: both paths give the fused kernel's zero row.)
      expectClose(F.cat(outs, 1), fullMasked, { ...SAME, what: 'cached with padding' });
    });
  });

  it('TransformerDecoder with per-layer caches equals one causal forward', () => {
    at.manualSeed(3);
    for (const normFirst of [false, true]) {
      const layer = new nn.TransformerDecoderLayer(8, 2, { dimFeedforward: 16, batchFirst: true, normFirst, device });
      const dec = new nn.TransformerDecoder(layer, 2, { norm: new nn.LayerNorm(8, { device }) }).eval();
      const tgt = at.randn([2, 5, 8], { device, seed: 4 });
      const memory = at.randn([2, 6, 8], { device, seed: 5 });
      const mkpm = at.tensor([[false, false, false, false, true, true], [false, false, false, false, false, false]], { device });
      at.noGrad(() => {
        const full = dec.forward(tgt, memory, { tgtIsCausal: true, memoryKeyPaddingMask: mkpm });
        // The same with an explicit float mask.
        const mask = nn.Transformer.generateSquareSubsequentMask(5, { device });
        expectClose(dec.forward(tgt, memory, { tgtMask: mask, memoryKeyPaddingMask: mkpm }), full, { ...SAME, what: 'mask vs isCausal' });
        const cache = dec.decoderCache();
        const steps = F.split(tgt, 1, 1).map((tok) =>
          dec.forward(tok, memory, { tgtIsCausal: true, memoryKeyPaddingMask: mkpm, cache }));
        expectClose(F.cat(steps, 1), full, { ...SAME, what: `decoder normFirst=${normFirst}` });
        expect(cache[1].self.length).toBe(5);
        expect(cache[1].cross.length).toBe(6); // the memory, projected once
        for (const c of cache) { c.self.dispose(); c.cross.dispose(); }
      });
    }
  });
});

describe.each(devices)('transformer stacks on %s', (device) => {
  it('TransformerEncoder: PyTorch names, independent deep copies, the same result as its layers', () => {
    at.manualSeed(6);
    const layer = new nn.TransformerEncoderLayer(8, 2, { dimFeedforward: 16, dropout: 0, device });
    const enc = new nn.TransformerEncoder(layer, 2, { norm: new nn.LayerNorm(8, { device }) });
    const names = enc.namedParameters().map(([n]) => n);
    expect(names.slice(0, 4)).toEqual(['layers.0.self_attn.in_proj_weight', 'layers.0.self_attn.in_proj_bias',
                                       'layers.0.self_attn.out_proj.weight', 'layers.0.self_attn.out_proj.bias']);
    expect(names).toContain('layers.1.norm2.bias');
    expect(names.slice(-2)).toEqual(['norm.weight', 'norm.bias']);
    const l0 = enc.layers.at(0), l1 = enc.layers.at(1);
    // Copies start equal (PyTorch's _get_clones) but are separate tensors.
    expect(Array.from(l0.linear1.weight.dataSync())).toEqual(Array.from(l1.linear1.weight.dataSync()));
    expect(l0.linear1.weight).not.toBe(l1.linear1.weight);
    expect(l0.self_attn).not.toBe(layer.self_attn);
    at.noGrad(() => nn.init.zeros_(l0.linear1.weight));
    expect(l1.linear1.weight.dataSync().some((v) => v !== 0)).toBe(true);
    // time-major input [T, B, E]
    const src = at.randn([5, 2, 8], { device, seed: 7 });
    const kpm = at.tensor([[false, false, false, true, true], [false, false, false, false, false]], { device });
    const want = enc.norm!.forward(l1.forward(l0.forward(src, { srcKeyPaddingMask: kpm }), { srcKeyPaddingMask: kpm }));
    expectClose(enc.forward(src, { srcKeyPaddingMask: kpm }), want, { ...SAME, what: 'encoder stack' });
  });

  it('Transformer: PyTorch structure, xavier re-initialisation, forward = encoder then decoder', () => {
    at.manualSeed(8);
    const t = new nn.Transformer({ dModel: 8, nhead: 2, numEncoderLayers: 2, numDecoderLayers: 1, dimFeedforward: 16,
                                   dropout: 0, device });
    const sd = t.stateDict();
    for (const k of ['encoder.layers.1.self_attn.in_proj_weight', 'encoder.norm.weight', 'decoder.layers.0.multihead_attn.out_proj.bias',
                     'decoder.layers.0.norm3.weight', 'decoder.norm.bias']) expect(sd).toHaveProperty([k]);
    expect(Object.keys(sd).length).toBe(2 * 12 + 2 + 18 + 2);
    // Every matrix re-drawn xavier_uniform: copies no longer equal, each within its bound.
    const w0 = sd['encoder.layers.0.linear1.weight'], w1 = sd['encoder.layers.1.linear1.weight'];
    expect(Array.from(w0.dataSync())).not.toEqual(Array.from(w1.dataSync()));
    const bound = Math.sqrt(6 / (8 + 16));
    expect(Math.max(...Array.from(w0.dataSync(), Math.abs))).toBeLessThanOrEqual(bound);
    const src = at.randn([6, 2, 8], { device, seed: 9 }), tgt = at.randn([4, 2, 8], { device, seed: 10 });
    const tgtMask = nn.Transformer.generateSquareSubsequentMask(4, { device });
    const out = t.forward(src, tgt, { tgtMask });
    expect(out.shape).toEqual([4, 2, 8]);
    const mem = t.encoder.forward(src);
    expectClose(out, t.decoder.forward(tgt, mem, { tgtMask }), { ...SAME, what: 'transformer' });
    expect(nn.Transformer.generateSquareSubsequentMask(3).toArray()).toEqual(
      [[0, -Infinity, -Infinity], [0, 0, -Infinity], [0, 0, 0]]);
  });

  it('batchFirst and time-major layouts agree; unbatched inputs equal a batch of one', () => {
    at.manualSeed(11);
    const bf = new nn.TransformerEncoderLayer(8, 2, { dimFeedforward: 16, dropout: 0, batchFirst: true, device });
    const tm = new nn.TransformerEncoderLayer(8, 2, { dimFeedforward: 16, dropout: 0, batchFirst: false, device });
    tm.loadStateDict(bf.stateDict());
    const x = at.randn([2, 5, 8], { device, seed: 12 });
    expectClose(F.transpose(tm.forward(F.transpose(x, 0, 1), { isCausal: true }), 0, 1), bf.forward(x, { isCausal: true }),
                { ...SAME, what: 'encoder layouts' });

    const mha = bf.self_attn;
    const one = F.narrow(x, 0, 1, 1); // [1, 5, 8]
    const [o1, w1] = mha.forward(one, one, one, { needWeights: true });
    const x2 = one.reshape([5, 8]);
    const [o2, w2] = mha.forward(x2, x2, x2, { needWeights: true });
    expect(o2.shape).toEqual([5, 8]);
    expect(w2!.shape).toEqual([5, 5]);
    expectClose(o2, o1, { ...SAME, what: 'unbatched mha' });
    expectClose(w2!, w1!, { ...SAME, what: 'unbatched weights' });
    const [, wAll] = mha.forward(one, one, one, { needWeights: true, averageAttnWeights: false });
    expect(wAll!.shape).toEqual([1, 2, 5, 5]);
    expectClose(F.mean(wAll!, 1), w1!, { ...SAME, what: 'per-head weights' });

    for (const rnn of [new nn.LSTM(8, 3, { numLayers: 2, device }), new nn.GRU(8, 3, { numLayers: 2, device })]) {
      const seq = x2; // [T, I] unbatched
      const [ou, hu] = rnn.forward(seq) as [at.Tensor, any];
      const [ob, hb] = rnn.forward(seq.reshape([5, 1, 8])) as [at.Tensor, any];
      expect(ou.shape).toEqual([5, 3]);
      expectClose(ou, ob, { ...SAME, what: `${rnn.constructor.name} unbatched` });
      const hU = Array.isArray(hu) ? hu[0] : hu, hB = Array.isArray(hb) ? hb[0] : hb;
      expect(hU.shape).toEqual([2, 3]);
      expectClose(hU, hB, { ...SAME, what: `${rnn.constructor.name} unbatched state` });
    }
  });

  it('carrying LSTM and GRU state across calls equals one call over the whole sequence', () => {
    at.manualSeed(13);
    const x = at.randn([2, 9, 3], { device, seed: 14 });
    const lstm = new nn.LSTM(3, 4, { numLayers: 2, batchFirst: true, device });
    const [full, [hF, cF]] = lstm.forward(x);
    let state: [at.Tensor, at.Tensor] | null = null;
    const outs: at.Tensor[] = [];
    for (const piece of F.split(x, [4, 2, 3], 1)) {
      const [o, [h, c]] = lstm.forward(piece, state);
      outs.push(o);
      state = [h.detach(), c.detach()];
    }
    expectClose(F.cat(outs, 1), full, { ...SAME, what: 'stateful LSTM' });
    expectClose(state![0], hF, { ...SAME, what: 'hN' });
    expectClose(state![1], cF, { ...SAME, what: 'cN' });

    const gru = new nn.GRU(3, 4, { batchFirst: true, device });
    const [gFull, gH] = gru.forward(x);
    let h: at.Tensor | null = null;
    const gOuts: at.Tensor[] = [];
    for (const piece of F.split(x, 5, 1)) {
      const [o, hn] = gru.forward(piece, h);
      gOuts.push(o);
      h = hn.detach();
    }
    expectClose(F.cat(gOuts, 1), gFull, { ...SAME, what: 'stateful GRU' });
    expectClose(h!, gH, { ...SAME, what: 'GRU hN' });
  });
});

describe.each(devices)('positional encodings, initialisation, dropout on %s', (device) => {
  it('SinusoidalPositionalEncoding: the formula, offsets, layouts; not saved, moved with to()', () => {
    const pe = new nn.SinusoidalPositionalEncoding(6, { maxLen: 10, device });
    const x = at.zeros([2, 4, 6], { device });
    const y = pe.forward(x, { offset: 3 }).dataSync();
    for (const [pos, i] of [[3, 0], [5, 2], [6, 4]]) {
      const angle = pos / 10000 ** (i / 6);
      expect(y[(pos - 3) * 6 + i]).toBeCloseTo(Math.sin(angle), 6);
      expect(y[(pos - 3) * 6 + i + 1]).toBeCloseTo(Math.cos(angle), 6);
    }
    expect(Object.keys(pe.stateDict())).toEqual([]);
    const tm = new nn.SinusoidalPositionalEncoding(6, { maxLen: 10, batchFirst: false, device });
    const xt = at.randn([4, 2, 6], { device, seed: 1 });
    expectClose(F.transpose(tm.forward(xt), 0, 1), pe.forward(F.transpose(xt, 0, 1)), { atol: 0, rtol: 0, what: 'layouts' });
    if (device === 'cuda') {
      pe.to('cpu');
      expect(pe.pe.device).toBe('cpu');
    }
    const learned = new nn.LearnedPositionalEmbedding(10, 6, { device });
    expect(Object.keys(learned.stateDict())).toEqual(['weight']);
    const rows = learned.forward(at.zeros([1, 2, 6], { device }), { offset: 4 }).dataSync();
    expect(Array.from(rows)).toEqual(Array.from(learned.weight.dataSync().slice(24, 36)));
  });

  it('PyTorch default initialisations', () => {
    at.manualSeed(15);
    const H = 16;
    const lstm = new nn.LSTM(5, H, { device });
    for (const p of lstm.parameters()) {
      const d = p.dataSync();
      expect(Math.max(...Array.from(d, Math.abs))).toBeLessThanOrEqual(1 / Math.sqrt(H));
    }
    const mha = new nn.MultiheadAttention(32, 4, { device });
    const w = mha.in_proj_weight!.dataSync();
    const bound = Math.sqrt(6 / (32 + 96)); // xavier on [3E, E]
    expect(Math.max(...Array.from(w, Math.abs))).toBeLessThanOrEqual(bound);
    expect(Math.max(...Array.from(w, Math.abs))).toBeGreaterThan(0.95 * bound);
    expect(mha.in_proj_bias!.dataSync().every((v) => v === 0)).toBe(true);
    expect(mha.out_proj.bias!.dataSync().every((v) => v === 0)).toBe(true);
    const emb = new nn.Embedding(6, 4, { paddingIdx: -1, device });
    expect(emb.paddingIdx).toBe(5);
    expect(Array.from(emb.weight.dataSync().slice(20))).toEqual([0, 0, 0, 0]);
    const ln = new nn.LayerNorm([2, 3], { device });
    expect(ln.weight!.toArray()).toEqual([[1, 1, 1], [1, 1, 1]]);
    expect(ln.bias!.toArray()).toEqual([[0, 0, 0], [0, 0, 0]]);
    expect(new nn.LayerNorm(3, { elementwiseAffine: false, device }).parameters()).toEqual([]);
  });

  it('Dropout is active in train mode only; activations and loss modules wrap F', () => {
    const d = new nn.Dropout(0.5);
    const x = at.ones([1000], { device });
    at.manualSeed(16);
    const y = d.forward(x).dataSync();
    const zeros = y.filter((v) => v === 0).length;
    expect(zeros).toBeGreaterThan(400);
    expect(zeros).toBeLessThan(600);
    expect(y.every((v) => v === 0 || v === 2)).toBe(true);
    d.eval();
    expect(d.forward(x)).toBe(x);
    const seq = new nn.Sequential(new nn.Linear(3, 4, { device }), new nn.GELU({ approximate: 'tanh' }), new nn.Tanh(),
                                  new nn.ReLU(), new nn.Sigmoid(), new nn.SiLU(), new nn.LogSoftmax(-1));
    const inp = at.randn([2, 3], { device, seed: 17 });
    let want = (seq.at(0) as at.nn.Linear).forward(inp);
    want = F.logSoftmax(F.silu(F.sigmoid(F.relu(F.tanh(F.gelu(want, { approximate: 'tanh' }))))), -1);
    expectClose(seq.forward(inp), want, { atol: 0, rtol: 0, what: 'activations' });
    expectClose(new nn.Softmax(0).forward(inp), F.softmax(inp, 0), { atol: 0, rtol: 0, what: 'softmax' });

    const c = getFixture('losses', 'ce_c5_ignored_mean');
    const ce = new nn.CrossEntropyLoss({ reduction: 'mean' });
    expectClose(ce.forward(fromFixture(c.inputs.logits, device), fromFixture(c.inputs.target, device)), c.outputs.out.data,
                { atol: 1e-6, rtol: 1e-5, what: 'CrossEntropyLoss' });
    const b = getFixture('losses', 'bce_posweight_mean');
    const bce = new nn.BCEWithLogitsLoss({ posWeight: fromFixture(b.inputs.posWeight, device) });
    expect(Object.keys(bce.stateDict())).toEqual(['pos_weight']);
    expectClose(bce.forward(fromFixture(b.inputs.input, device), fromFixture(b.inputs.target, device)), b.outputs.out.data,
                { atol: 1e-6, rtol: 1e-5, what: 'BCEWithLogitsLoss' });
    const m = getFixture('losses', 'mse_sum');
    expectClose(new nn.MSELoss({ reduction: 'sum' }).forward(fromFixture(m.inputs.input, device), fromFixture(m.inputs.target, device)),
                m.outputs.out.data, { atol: 1e-5, rtol: 1e-5, what: 'MSELoss' });
  });
});
