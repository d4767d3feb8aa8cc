// reduce.test.ts — sum, mean, max/min, argmax/argmin, sumTo: PyTorch fixtures, a float64 JS
// reference, finite differences, cpu-vs-cuda agreement, and argument errors.
import { describe, expect, it } from 'vitest';
import * as at from '../lib';
import { native } from '../lib/native';
import { loadFixtures } from './helpers/fixtures';
import { devices, expectClose, expectCode, fromFixture } from './helpers/devices';
import { gradCheck } from './helpers/nn';

// Sums of up to 1000 float32 values (accumulated in double on cpu, in float32 tree order on
// cuda) against PyTorch's float32 sums: relative error ~1e-6, more where terms cancel.
const TOL = { atol: 2e-5, rtol: 2e-5 };

function randomValues(n: number, seed: number, lo = -2, hi = 2): Float32Array {
  const g = new at.Generator(seed);
  const v = new Float32Array(n);
  for (let i = 0; i < n; i++) v[i] = lo + (hi - lo) * g.next();
  return v;
}
const numel = (s: number[]) => s.reduce((p, q) => p * q, 1);

// Reference reduction in float64 over `dims` of x (shape `shape`), keepdim shape.
function refReduce(x: ArrayLike<number>, shape: number[], dims: number[], f: 'sum' | 'mean' | 'max' | 'min') {
  const out = shape.map((s, i) => (dims.includes(i) ? 1 : s));
  const n = numel(out);
  const acc = new Float64Array(n).fill(f === 'max' ? -Infinity : f === 'min' ? Infinity : 0);
  const arg = new Int32Array(n).fill(-1);
  const count = numel(dims.map((d) => shape[d]));
  for (let i = 0; i < x.length; i++) {
    let rem = i, o = 0, stride = 1, r = 0, rstride = 1;
    for (let d = shape.length - 1; d >= 0; d--) {
      const c = rem % shape[d];
      rem = Math.floor(rem / shape[d]);
      if (dims.includes(d)) {
        r += c * rstride;
        rstride *= shape[d];
      } else {
        o += c * stride;
        stride *= shape[d];
      }
    }
    const v = x[i];
    if (f === 'sum' || f === 'mean') acc[o] += v;
    else if (f === 'max' ? v > acc[o] : v < acc[o]) {
      acc[o] = v;
      arg[o] = r;
    }
  }
  if (f === 'mean') for (let i = 0; i < n; i++) acc[i] /= count;
  return { shape: out, data: acc, arg };
}

describe.each(devices)('sum and mean on %s (PyTorch fixtures)', (device) => {
  for (const c of loadFixtures('reductions')) {
    it(c.name, () => {
      const x = fromFixture(c.inputs.x, device, true);
      const dim = c.attrs.dim as number | number[] | null;
      const out = (c.op === 'sum' ? at.sum : at.mean)(x, dim, c.attrs.keepdim as boolean);
      expect(out.shape).toEqual(c.outputs.out.shape);
      expectClose(out, c.outputs.out.data, { ...TOL, what: `${c.name} out` });
      out.backward(fromFixture(c.gouts.out, device));
      expectClose(x.grad!, c.grads.x.data, { ...TOL, what: `${c.name} grad` });
    });
  }
});

describe.each(devices)('reductions on %s', (device) => {
  const cases: [number[], number[]][] = [
    [[3, 4, 5], [1]], [[3, 4, 5], [0, 2]], [[2, 3, 4, 5], [0, 1, 3]], [[300], [0]], [[5, 300], [1]],
    [[300, 3], [0]], [[2, 513, 3], [1]], [[4, 1, 6], [1]], [[7], []],
  ];
  for (const [shape, dims] of cases) {
    it(`sum/mean/max/min over [${dims}] of [${shape}]`, () => {
      const v = randomValues(numel(shape), 1);
      const x = at.tensor(v, shape, { device });
      const all = dims.length === 0;
      for (const f of ['sum', 'mean'] as const) {
        const ref = refReduce(v, shape, all ? shape.map((_, i) => i) : dims, f);
        const out = at[f](x, all ? undefined : dims, true);
        expect(out.shape).toEqual(ref.shape);
        expectClose(out, ref.data, { ...TOL, what: f });
      }
      if (dims.length === 1) {
        for (const f of ['max', 'min'] as const) {
          const ref = refReduce(v, shape, dims, f);
          const { values, indices } = at[f](x, dims[0]);
          expect(values.shape).toEqual(ref.shape.filter((_, i) => i !== dims[0]));
          expectClose(values, ref.data, { atol: 0, rtol: 0, what: f }); // a selection: exact
          expect(Array.from(indices.dataSync())).toEqual(Array.from(ref.arg));
          const arg = (f === 'max' ? at.argmax : at.argmin)(x, dims[0], true);
          expect(arg.dtype).toBe('int32');
          expect(arg.shape).toEqual(ref.shape);
          expect(Array.from(arg.dataSync())).toEqual(Array.from(ref.arg));
        }
      }
    });
  }

  it('max/argmax over everything, ties and NaN', () => {
    const x = at.tensor([[1, 5, 2], [5, -1, 5]], { device });
    expect(at.max(x).item()).toBe(5);
    expect(at.max(x).shape).toEqual([]);
    expect(at.argmax(x).item()).toBe(1); // first maximum in the flattened tensor
    expect(at.argmin(x).item()).toBe(4);
    expect(at.argmax(x, 1).toArray()).toEqual([1, 0]); // ties: the first index
    expect(at.argmax(x, -1, true).shape).toEqual([2, 1]);
    expect(at.max(x, 0, true).values.toArray()).toEqual([[5, 5, 5]]);
    const n = at.tensor([[1, NaN, 3, NaN], [2, 0, 1, 1]], { device });
    expect(at.argmax(n, 1).toArray()).toEqual([1, 0]); // NaN counts as the maximum (PyTorch)
    expect(Number.isNaN(at.max(n, 1).values.toArray()[0])).toBe(true);
    expect(at.argmin(n, 1).toArray()).toEqual([1, 1]); // ... and as the minimum
    expect(x.max(1).indices.toArray()).toEqual([1, 0]);
    expect(x.argmax(-1).toArray()).toEqual([1, 0]);
  });

  it('long rows (cuda: several warps and threads per row)', () => {
    for (const R of [31, 32, 33, 255, 256, 257, 1000]) {
      const v = randomValues(2 * R, R);
      const x = at.tensor(v, [2, R], { device });
      const ref = refReduce(v, [2, R], [1], 'sum');
      expectClose(at.sum(x, 1), ref.data, { ...TOL, what: `sum R=${R}` });
      const m = refReduce(v, [2, R], [1], 'max');
      expect(Array.from(at.argmax(x, 1).dataSync())).toEqual(Array.from(m.arg));
    }
  });

  it('empty and 0-d tensors', () => {
    expect(at.sum(at.zeros([0, 3], { device })).item()).toBe(0);
    expect(Array.from(at.sum(at.zeros([0, 3], { device }), 0).dataSync())).toEqual([0, 0, 0]);
    expect(Number.isNaN(at.mean(at.zeros([0], { device })).item())).toBe(true); // 0/0 as PyTorch
    const s = at.tensor(4, { device });
    expect(at.sum(s).item()).toBe(4);
    expect(at.sum(s, 0).item()).toBe(4);
    expect(at.max(s, 0).values.item()).toBe(4);
    expect(at.sum(at.zeros([2, 3], { device }), []).shape).toEqual([]); // dim [] reduces all (PyTorch 1.13)
  });

  it('sumTo undoes broadcasting', () => {
    const g = at.tensor(randomValues(2 * 3 * 4, 3), [2, 3, 4], { device });
    const ref = refReduce(g.dataSync(), [2, 3, 4], [0, 2], 'sum');
    const s = at.F.sumTo(g, [3, 1]);
    expect(s.shape).toEqual([3, 1]);
    expectClose(s, ref.data, TOL);
    expect(at.F.sumTo(g, [2, 3, 4])).toBe(g);
    expectCode(() => at.F.sumTo(g, [5, 1]), 'ERR_SHAPE');
  });

  it('gradients by finite differences', () => {
    // eps 1e-2 on float32 values of order 1 (see gradCheck)
    const x = at.tensor(randomValues(2 * 3 * 4, 4), [2, 3, 4], { device, requiresGrad: true });
    gradCheck(() => [at.sum(x, [0, 2])], [x], { what: 'sum' });
    gradCheck(() => [at.mean(x, -1, true)], [x], { what: 'mean' });
    gradCheck(() => [at.mean(x)], [x], { what: 'mean all' });
    gradCheck(() => [at.max(x, 1).values], [x], { what: 'max dim' });
    gradCheck(() => [at.min(x, 0, true).values], [x], { what: 'min dim' });
    gradCheck(() => [at.max(x)], [x], { what: 'max all' });
    gradCheck(() => [at.F.sumTo(x, [3, 1])], [x], { what: 'sumTo' });
  });

  it('checks dims and dtypes', () => {
    const x = at.zeros([2, 3], { device });
    expectCode(() => at.sum(x, 2), 'ERR_ARGUMENT');
    expectCode(() => at.sum(x, [0, -2]), 'ERR_ARGUMENT'); // the same dim twice
    expectCode(() => at.mean(x, 1.5), 'ERR_ARGUMENT');
    expectCode(() => at.max(x, -3), 'ERR_ARGUMENT');
    expectCode(() => at.argmax(at.zeros([3, 0], { device }), 1), 'ERR_SHAPE');
    expectCode(() => at.max(at.zeros([0], { device })), 'ERR_SHAPE');
    expectCode(() => at.sum(at.zeros([2], { device, dtype: 'int32' })), 'ERR_DTYPE');
    expectCode(() => at.argmax(at.zeros([2], { device, dtype: 'bool' })), 'ERR_DTYPE');
  });

  if (device === 'cuda') {
    it('agrees with the cpu kernels', () => {
      for (const [shape, dim] of [[[6, 700], 1], [[40, 9, 3], 1], [[3, 64], 0]] as [number[], number][]) {
        const v = randomValues(numel(shape), 5);
        const c = at.tensor(v, shape, { device: 'cpu' }), g = at.tensor(v, shape, { device });
        expectClose(at.sum(g, dim), at.sum(c, dim), { ...TOL, what: 'sum cuda vs cpu' });
        expect(Array.from(at.argmax(g, dim).dataSync())).toEqual(Array.from(at.argmax(c, dim).dataSync()));
        expect(Array.from(at.argmin(g, dim).dataSync())).toEqual(Array.from(at.argmin(c, dim).dataSync()));
      }
    });
  }
});

describe('native reduction bindings guard their buffers', () => {
  it('rejects sizes beyond the buffers', () => {
    const f4 = new Float32Array(4);
    expectCode(() => native.reduceSum(f4, f4, 2, 3, 1, 1), 'ERR_SHAPE');
    expectCode(() => native.reduceSum(f4, f4, -1, 3, 1, 1), 'ERR_SHAPE');
    expectCode(() => native.reduceMax(f4, new Int32Array(1), f4, 2, 2, 1, false), 'ERR_SHAPE');
    expectCode(() => native.reduceMax(f4, f4, f4, 1, 4, 1, false), 'ERR_DTYPE');
    expectCode(() => native.reduceMaxBackward(f4, f4, new Int32Array(4), 1, 8, 1), 'ERR_SHAPE');
  });
});
