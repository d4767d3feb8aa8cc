// embedding.test.ts — embedding lookup and its scatter-add backward: PyTorch fixtures, paddingIdx,
// repeated ids, out-of-range ids, determinism of the cpu backward, cpu-vs-cuda agreement.
import { describe, expect, it } from 'vitest';
import * as at from '../lib';
import { native } from '../lib/native';
import { loadFixtures } from './helpers/fixtures';
import { devices, expectClose, expectCode, fromFixture } from './helpers/devices';

// Forward is a copy (exact); backward sums a few float32 gradients per row: a few ulps (the
// cuda order of atomicAdds varies).
const TOL = { atol: 1e-6, rtol: 1e-5 };

describe.each(devices)('embedding on %s (PyTorch fixtures)', (device) => {
  for (const c of loadFixtures('embedding')) {
    it(c.name, () => {
      const ids = fromFixture(c.inputs.ids, device);
      const weight = fromFixture(c.inputs.weight, device, true);
      const out = at.F.embedding(ids, weight, { paddingIdx: c.attrs.paddingIdx as number | null });
      expect(out.shape).toEqual(c.outputs.out.shape);
      expectClose(out, c.outputs.out.data, { atol: 0, rtol: 0, what: `${c.name} out` });
      out.backward(fromFixture(c.gouts.out, device));
      expectClose(weight.grad!, c.grads.weight.data, { ...TOL, what: `${c.name} grad` });
    });
  }
});

describe.each(devices)('embedding on %s', (device) => {
  it('accumulates repeated ids and skips paddingIdx (also negative)', () => {
    const w = at.tensor([[1, 2], [3, 4], [5, 6]], { device, requiresGrad: true });
    const ids = at.tensor([[2, 0, 2], [2, 1, 0]], { dtype: 'int32', device });
    const out = at.F.embedding(ids, w, { paddingIdx: -1 }); // row 2
    expect(out.toArray()).toEqual([[[5, 6], [1, 2], [5, 6]], [[5, 6], [3, 4], [1, 2]]]);
    out.backward(at.tensor(Float32Array.from({ length: 12 }, (_, i) => i + 1), [2, 3, 2], { device }));
    // row 0: positions 1 and 5 -> (3+11, 4+12); row 1: position 4 -> (9, 10); row 2: padding
    expect(w.grad!.toArray()).toEqual([[14, 16], [9, 10], [0, 0]]);
  });

  it('many repeats of few ids (the scatter-add under contention)', () => {
    const V = 5, C = 33, N = 517;
    const idsArr = Int32Array.from({ length: N }, (_, i) => (i * 7) % V);
    const w = at.zeros([V, C], { device, requiresGrad: true });
    const g = Float32Array.from({ length: N * C }, (_, i) => ((i % 13) - 6) / 8); // exact in float32 sums
    at.F.embedding(at.tensor(idsArr, [N], { device }), w).backward(at.tensor(g, [N, C], { device }));
    const want = new Float64Array(V * C);
    for (let n = 0; n < N; n++) for (let c = 0; c < C; c++) want[idsArr[n] * C + c] += g[n * C + c];
    expectClose(w.grad!, want, { atol: 0, rtol: 0, what: 'scatter-add' }); // multiples of 1/8: exact in any order
  });

  it('cpu backward is the same for any thread count', () => {
    if (device !== 'cpu') return;
    const V = 50, C = 64, N = 4000;
    const gen = new at.Generator(3);
    const ids = at.tensor(Int32Array.from({ length: N }, () => Math.floor(gen.next() * V)), [N]);
    const g = at.randn([N, C], { seed: 4 });
    const run = () => {
      const w = at.zeros([V, C], { requiresGrad: true });
      at.F.embedding(ids, w).backward(g);
      return w.grad!.dataSync();
    };
    const before = at.info().threads;
    at.setNumThreads(1);
    const one = run();
    at.setNumThreads(2);
    const two = run();
    at.setNumThreads(before);
    expect(Buffer.from(two.buffer).equals(Buffer.from(one.buffer))).toBe(true); // bitwise
  });

  it('rejects out-of-range ids before reading them', () => {
    const w = at.zeros([4, 3], { device });
    for (const bad of [4, -1, 1000000]) {
      expectCode(() => at.F.embedding(at.tensor([0, bad, 1], { dtype: 'int32', device }), w), 'ERR_INDEX');
    }
    expectCode(() => at.F.embedding(at.tensor([0, 1], { device }), w), 'ERR_DTYPE'); // float ids
    expectCode(() => at.F.embedding(at.tensor([0], { dtype: 'int32', device }), at.zeros([4], { device })), 'ERR_SHAPE');
    expectCode(() => at.F.embedding(at.tensor([0], { dtype: 'int32', device }), w, { paddingIdx: 4 }), 'ERR_ARGUMENT');
    if (device === 'cuda')
      expectCode(() => at.F.embedding(at.tensor([0], { dtype: 'int32', device: 'cpu' }), w), 'ERR_DEVICE');
  });

  it('the native bindings check ids and sizes themselves', () => {
    if (device !== 'cpu') return;
    const out = new Float32Array(6), w = new Float32Array(12);
    expectCode(() => native.embeddingForward(out, Int32Array.from([0, 4]), w, 2, 4, 3), 'ERR_INDEX');
    expectCode(() => native.embeddingForward(out, Int32Array.from([0, 1]), w, 2, 5, 3), 'ERR_SHAPE'); // V*C > weight
    expectCode(() => native.embeddingBackward(w, out, Int32Array.from([0, -2]), 2, 4, 3, -1), 'ERR_INDEX');
    expectCode(() => native.embeddingForward(out, Int32Array.from([0]), w, 2, 4, 3), 'ERR_SHAPE'); // N > ids
  });

  if (device === 'cuda') {
    it('agrees with the cpu kernels', () => {
      const ids = Int32Array.from({ length: 70 }, (_, i) => (i * 11) % 23);
      const wv = at.randn([23, 9], { seed: 1, device: 'cpu' }).dataSync() as Float32Array;
      const gv = at.randn([70, 9], { seed: 2, device: 'cpu' }).dataSync() as Float32Array;
      const run = (d: at.DeviceName) => {
        const w = at.tensor(wv, [23, 9], { device: d, requiresGrad: true });
        const out = at.F.embedding(at.tensor(ids, [7, 10], { device: d }), w, { paddingIdx: 5 });
        out.backward(at.tensor(gv, [7, 10, 9], { device: d }));
        return [out, w.grad!];
      };
      const [oc, gc] = run('cpu'), [og, gg] = run('cuda');
      expectClose(og, oc, { atol: 0, rtol: 0 });
      expectClose(gg, gc, TOL);
    });
  }
});
