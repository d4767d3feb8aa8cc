import { describe, expect, it } from 'vitest';
import * as at from '../lib';
import { native } from '../lib/native';
import { loadFixtures } from './helpers/fixtures';
import { devices, expectClose, expectCode, fromFixture } from './helpers/devices';

// Loss values: float32 log-sum-exp over <= 1000 logits and sums over <= 42 terms, against a
// float64 reference rounded once: a few ulps of the value (ce_c5_large_logits reaches ~2000;
// bce_large_logits cancels terms of ~100 down to ~0.2, so atol matters there).
const OUT = { atol: 1e-5, rtol: 1e-5 };
// Gradients: softmax - onehot (or elementwise formulas) times the upstream scale: a few ulps;
// exp(x - lse) with |lse| ~ 2000 (large logits) carries ulp(lse) = 1e-4 relative.
const GRAD = { atol: 1e-6, rtol: 2e-4 };

function randn(n: number, seed: number, scale = 1): Float32Array {
  const g = new at.Generator(seed);
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = g.normal() * scale;
  return a;
}

describe.each(devices)('losses on %s', (device) => {
  describe('PyTorch fixtures', () => {
    for (const c of loadFixtures('losses')) {
      it(c.name, () => {
        const ins: Record<string, at.Tensor> = {};
        for (const [k, v] of Object.entries(c.inputs)) ins[k] = fromFixture(v, device, k in c.grads);
        const reduction = c.attrs.reduction as at.F.Reduction;
        let out: at.Tensor;
        if (c.op === 'crossEntropy') {
          out = at.F.crossEntropy(ins.logits, ins.target, { reduction, ignoreIndex: c.attrs.ignoreIndex as number });
        } else if (c.op === 'mseLoss') {
          out = at.F.mseLoss(ins.input, ins.target, { reduction });
        } else {
          out = at.F.binaryCrossEntropyWithLogits(ins.input, ins.target, { reduction, posWeight: ins.posWeight });
        }
        expect(out.shape).toEqual(c.outputs.out.shape);
        // ce_c5_all_ignored_mean: NaN, like PyTorch (closeness treats NaN == NaN only when both are)
        expectClose(out, c.outputs.out.data, { ...OUT, what: `${c.name} out` });
        out.backward(fromFixture(c.gouts.out, device));
        for (const [k, g] of Object.entries(c.grads)) expectClose(ins[k].grad!, g.data, { ...GRAD, what: `${c.name} grad ${k}` });
      });
    }
    it('ce_c5_all_ignored_mean really is NaN, with zero gradients', () => {
      const c = loadFixtures('losses').find((x) => x.name === 'ce_c5_all_ignored_mean')!;
      expect(Number.isNaN(c.outputs.out.data[0])).toBe(true);
      const logits = fromFixture(c.inputs.logits, device, true);
      const out = at.F.crossEntropy(logits, fromFixture(c.inputs.target, device));
      expect(Number.isNaN(out.item())).toBe(true);
      out.backward();
      expect([...logits.grad!.dataSync()].every((v) => v === 0)).toBe(true);
    });
  });

  // Cross-entropy against the CPU reference kernels (two passes in double) and, on cuda, against the
  // CPU kernels, forward and backward,
  // with ignored rows. C = 1, 7, 33, 1000: warp-per-row (cuda) with scalar tails; 64: float4;
  // 2000 and 1500: block-per-row (cuda), scalar and float4. On the CPU, C <= 256 goes 16 rows per
  // task in groups of 4 (N = 37: two full tasks, then a group of 4 and a single row), above one row
  // per task.
  for (const C of [1, 7, 33, 64, 256, 257, 1000, 1500, 2000]) {
    for (const [reduction, smoothing] of [['mean', 0], ['none', 0], ['sum', 0.1], ['mean', 0.2]] as const) {
      it(`crossEntropy N=37 C=${C} ${reduction}${smoothing ? ` labelSmoothing ${smoothing}` : ''} matches the reference kernel`, () => {
        const N = 37, red = { none: 0, mean: 1, sum: 2 }[reduction];
        const xs = randn(N * C, C, 4);
        const ts = new Int32Array(N).map((_, i) => (i % 4 === 1 ? -100 : (i * 7919) % C));
        const gs = randn(red === 0 ? N : 1, C + 1);
        const ref = { out: new Float32Array(red === 0 ? N : 1), lse: new Float32Array(N), count: new Float32Array(1),
                      dx: new Float32Array(N * C) };
        native.crossEntropyForwardRef(ref.out, ref.lse, ref.count, xs, ts, N, C, -100, smoothing, red);
        native.crossEntropyBackwardRef(ref.dx, gs, xs, ref.lse, ref.count, ts, N, C, -100, smoothing, red);
        const run = (dev: at.DeviceName) => {
          const x = at.tensor(xs, [N, C], { device: dev, requiresGrad: true });
          const out = at.F.crossEntropy(x, at.tensor(ts, [N], { device: dev }), { reduction, labelSmoothing: smoothing });
          out.backward(at.tensor(gs, red === 0 ? [N] : [], { device: dev }));
          return { out: out.dataSync(), dx: x.grad!.dataSync() };
        };
        const got = run(device);
        expectClose(got.out, ref.out, { ...OUT, what: 'loss' });
        expectClose(got.dx, ref.dx, { ...GRAD, what: 'dlogits' });
        if (device === 'cuda') { // and against the fast CPU kernels directly
          const cpu = run('cpu');
          expectClose(got.out, cpu.out, { ...OUT, what: 'cuda vs cpu loss' });
          expectClose(got.dx, cpu.dx, { ...GRAD, what: 'cuda vs cpu dlogits' });
        }
      });
    }
  }

  it('labelSmoothing matches PyTorch\'s formula (float64 reference in JS)', () => {
    const N = 5, C = 6, eps = 0.3;
    const xs = randn(N * C, 99, 2);
    const ts = new Int32Array([2, -100, 0, 5, 3]);
    let total = 0, count = 0;
    for (let i = 0; i < N; i++) {
      if (ts[i] === -100) continue;
      const row = Array.from(xs.slice(i * C, (i + 1) * C));
      const m = Math.max(...row);
      const lse = m + Math.log(row.reduce((s, v) => s + Math.exp(v - m), 0));
      const mean = row.reduce((s, v) => s + v, 0) / C;
      total += (1 - eps) * (lse - row[ts[i]]) + eps * (lse - mean);
      count++;
    }
    const out = at.F.crossEntropy(at.tensor(xs, [N, C], { device }), at.tensor(ts, [N], { device }), { labelSmoothing: eps });
    expect(out.item()).toBeCloseTo(total / count, 5);
  });

  it('gradients agree with finite differences (float64 sums of the float32 ops)', () => {
    const h = 1e-2;
    // Each case: a scalar loss of the flat float inputs, and the inputs' analytic gradients.
    const cases: [string, Float32Array[], (v: Float32Array[]) => at.Tensor, (v: at.Tensor[]) => at.Tensor][] = [];
    const ts = at.tensor(new Int32Array([1, -100, 6, 0]), [4], { device });
    cases.push(['crossEntropy', [randn(28, 1, 2)], (v) => at.F.crossEntropy(at.tensor(v[0], [4, 7], { device }), ts),
                (t) => at.F.crossEntropy(t[0].reshape([4, 7]), ts, { labelSmoothing: 0.1 })]);
    cases.push(['mseLoss', [randn(12, 2), randn(12, 3)],
                (v) => at.F.mseLoss(at.tensor(v[0], [3, 4], { device }), at.tensor(v[1], [3, 4], { device }), { reduction: 'sum' }),
                (t) => at.F.mseLoss(t[0].reshape([3, 4]), t[1].reshape([3, 4]), { reduction: 'sum' })]);
    const pw = at.tensor([0.5, 2, 1, 3], [4], { device });
    const probs = new Float32Array(12).map((_, i) => ((i * 37) % 11) / 10);
    cases.push(['bce', [randn(12, 4, 3), probs],
                (v) => at.F.binaryCrossEntropyWithLogits(at.tensor(v[0], [3, 4], { device }), at.tensor(v[1], [3, 4], { device }), { posWeight: pw }),
                (t) => at.F.binaryCrossEntropyWithLogits(t[0].reshape([3, 4]), t[1].reshape([3, 4]), { posWeight: pw })]);
    // the crossEntropy forward used for FD must match the analytic one: same labelSmoothing
    cases[0][2] = (v) => at.F.crossEntropy(at.tensor(v[0], [4, 7], { device }), ts, { labelSmoothing: 0.1 });
    for (const [name, inputs, L, op] of cases) {
      const leaves = inputs.map((v) => at.tensor(v, [v.length], { device, requiresGrad: true }));
      op(leaves).backward();
      for (let a = 0; a < inputs.length; a++) {
        const g = leaves[a].grad!.dataSync();
        for (let i = 0; i < inputs[a].length; i++) {
          const p = inputs.map((v) => v.slice()), m = inputs.map((v) => v.slice());
          p[a][i] += h;
          m[a][i] -= h;
          const fd = (L(p).item() - L(m).item()) / (2 * h);
          // central difference: O(h^2) truncation plus float32 rounding / h
          if (!(Math.abs(fd - g[i]) < 2e-3 * (1 + Math.abs(g[i])))) throw new Error(`${name} input ${a} [${i}]: fd ${fd} vs ${g[i]}`);
        }
      }
    }
  });

  it('binaryCrossEntropyWithLogits is stable for huge logits', () => {
    const x = at.tensor([1000, -1000, 80, -80, 0], { device, requiresGrad: true });
    const t = at.tensor([0, 1, 1, 0, 0.5], { device });
    const out = at.F.binaryCrossEntropyWithLogits(x, t, { reduction: 'none' });
    expectClose(out, [1000, 1000, 0, 0, Math.LN2], { atol: 1e-6, rtol: 1e-6, what: 'bce' });
    out.backward(at.ones([5], { device }));
    expectClose(x.grad!, [1, -1, 0, 0, 0], { atol: 1e-6, rtol: 0, what: 'bce grad' });
  });

  it('checks arguments', () => {
    const logits = at.zeros([3, 5], { device });
    const t = at.tensor(new Int32Array([0, 4, -100]), [3], { device });
    expectCode(() => at.F.crossEntropy(logits, at.zeros([3], { device })), 'ERR_DTYPE');
    expectCode(() => at.F.crossEntropy(logits, at.tensor(new Int32Array([0, 5, 1]), [3], { device })), 'ERR_INDEX');
    expectCode(() => at.F.crossEntropy(logits, at.tensor(new Int32Array([0, -1, 1]), [3], { device })), 'ERR_INDEX');
    expectCode(() => at.F.crossEntropy(logits, at.tensor(new Int32Array([0, -100, 1]), [3], { device }), { ignoreIndex: 2 }), 'ERR_INDEX');
    expectCode(() => at.F.crossEntropy(at.zeros([1, 3, 5], { device }), t), 'ERR_SHAPE');
    expectCode(() => at.F.crossEntropy(logits, at.tensor(new Int32Array([0, 1]), [2], { device })), 'ERR_SHAPE');
    expectCode(() => at.F.crossEntropy(logits, t, { reduction: 'avg' as at.F.Reduction }), 'ERR_ARGUMENT');
    expectCode(() => at.F.crossEntropy(logits, t, { labelSmoothing: 1.5 }), 'ERR_ARGUMENT');
    expectCode(() => at.F.crossEntropy(logits, t, { ignoreIndex: 0.5 }), 'ERR_ARGUMENT');
    expectCode(() => at.F.crossEntropy(logits, t, { weight: at.ones([5], { device }) }), 'ERR_NOT_IMPLEMENTED');
    expectCode(() => at.F.mseLoss(logits, at.zeros([5, 3], { device })), 'ERR_SHAPE');
    expectCode(() => at.F.mseLoss(logits, at.zeros([3, 5], { device, dtype: 'int32' })), 'ERR_DTYPE');
    expectCode(() => at.F.binaryCrossEntropyWithLogits(logits, logits, { posWeight: at.ones([3], { device }) }), 'ERR_SHAPE');
    expectCode(() => at.F.binaryCrossEntropyWithLogits(logits, logits, { weight: logits }), 'ERR_NOT_IMPLEMENTED');
    if (device === 'cuda') {
      expectCode(() => at.F.crossEntropy(logits, t.cpu()), 'ERR_DEVICE');
      expectCode(() => at.F.mseLoss(logits, logits.cpu()), 'ERR_DEVICE');
      expectCode(() => at.F.binaryCrossEntropyWithLogits(logits, logits, { posWeight: at.ones([5], { device: 'cpu' }) }), 'ERR_DEVICE');
    }
    // The bindings check values and buffers themselves.
    const f = (n: number) => (device === 'cpu' ? new Float32Array(n) : at.zeros([n], { device }).buf);
    const i = (v: number[]) => (device === 'cpu' ? new Int32Array(v) : at.tensor(new Int32Array(v), [v.length], { device }).buf);
    expectCode(() => native.crossEntropyForward(f(1), f(2), f(1), f(6), i([0, 3]), 2, 3, -100, 0, 1), 'ERR_INDEX');
    expectCode(() => native.crossEntropyForward(f(1), f(2), f(1), f(6), i([0]), 2, 3, -100, 0, 1), 'ERR_SHAPE');
    expectCode(() => native.crossEntropyForward(f(1), f(2), f(1), f(6), f(2), 2, 3, -100, 0, 1), 'ERR_DTYPE');
    expectCode(() => native.crossEntropyForward(f(1), f(2), f(1), f(6), i([0, 1]), 2, 3, -100, 0, 3), 'ERR_ARGUMENT');
    expectCode(() => native.bceWithLogitsForward(f(1), f(6), f(6), f(4), 6, 4, 1), 'ERR_SHAPE');
  });
});
