// elementwise.test.ts — add/sub/mul/div (broadcasting, number operands), unary math, where,
// maskedFill and dtype casts: PyTorch fixtures, a float64 JS reference for broadcasting edge
// cases, finite differences for every backward, cpu-vs-cuda agreement, and argument errors.
import { describe, expect, it } from 'vitest';
import * as at from '../lib';
import { native } from '../lib/native';
import { loadFixtures } from './helpers/fixtures';
import { devices, expectClose, expectCode, fromFixture } from './helpers/devices';
import { gradCheck } from './helpers/nn';

// One float32 operation per element (and sums of a few float32 values in the gradients of
// broadcast inputs): a few ulps.
const TOL = { atol: 1e-6, rtol: 1e-5 };

type Bin = 'add' | 'sub' | 'mul' | 'div';
const OPS: Record<Bin, (a: number, b: number) => number> = {
  add: (a, b) => a + b, sub: (a, b) => a - b, mul: (a, b) => a * b, div: (a, b) => a / b,
};

function randomValues(n: number, seed: number, lo = -2, hi = 2): Float32Array {
  const g = new at.Generator(seed);
  const v = new Float32Array(n);
  for (let i = 0; i < n; i++) v[i] = lo + (hi - lo) * g.next();
  return v;
}
const numel = (s: number[]) => s.reduce((p, q) => p * q, 1);

// Reference broadcasting in float64: out[i] = f(a[ia], b[ib]).
function refBroadcast(f: (a: number, b: number) => number, a: ArrayLike<number>, as: number[], b: ArrayLike<number>,
                      bs: number[]): { shape: number[]; data: Float64Array } {
  const n = Math.max(as.length, bs.length);
  const pa = [...Array(n - as.length).fill(1), ...as], pb = [...Array(n - bs.length).fill(1), ...bs];
  const shape = pa.map((x, i) => (x === 1 ? pb[i] : x));
  const out = new Float64Array(numel(shape));
  for (let i = 0; i < out.length; i++) {
    let rem = i, ia = 0, ib = 0, sa = 1, sb = 1;
    for (let d = n - 1; d >= 0; d--) {
      const c = rem % shape[d];
      rem = Math.floor(rem / shape[d]);
      if (pa[d] !== 1) ia += c * sa;
      if (pb[d] !== 1) ib += c * sb;
      sa *= pa[d];
      sb *= pb[d];
    }
    out[i] = f(a[ia], b[ib]);
  }
  return { shape, data: out };
}

describe.each(devices)('add/sub/mul/div on %s (PyTorch fixtures)', (device) => {
  for (const c of loadFixtures('elementwise').filter((c) => c.op in OPS)) {
    it(c.name, () => {
      const a = fromFixture(c.inputs.a, device, true);
      const b = c.inputs.b ? fromFixture(c.inputs.b, device, true) : (c.attrs.scalar as number);
      const out = at.F[c.op as Bin](a, b);
      expect(out.shape).toEqual(c.outputs.out.shape);
      expectClose(out, c.outputs.out.data, { ...TOL, what: `${c.name} out` });
      out.backward(fromFixture(c.gouts.out, device));
      expectClose(a.grad!, c.grads.a.data, { ...TOL, what: `${c.name} grad a` });
      if (b instanceof at.Tensor) expectClose(b.grad!, c.grads.b.data, { ...TOL, what: `${c.name} grad b` });
    });
  }
});

describe.each(devices)('broadcasting on %s', (device) => {
  const cases: [number[], number[]][] = [
    [[2, 1, 5], [1, 3, 1]], // [B,1,T] vs [1,C,1]
    [[3, 1], [1, 4]],
    [[4], [3, 1]],
    [[], []],
    [[5], []],
    [[2, 3, 4, 5, 6, 2], [3, 1, 5, 1, 2]], // rank 6, mixed
    [[2, 1, 2, 1, 2, 1, 2], [1, 2, 1, 2, 1, 2, 1]], // rank 7, nothing coalesces
    [[1037], [1037]], // odd dense length: boundary of the dense path
    [[0, 3], [3]], // empty
    [[7, 33], [7, 1]],
  ];
  for (const [as, bs] of cases) {
    for (const op of Object.keys(OPS) as Bin[]) {
      it(`${op} [${as}] with [${bs}] and back`, () => {
        const av = randomValues(numel(as), 1), bv = randomValues(numel(bs), 2, 0.5, 2);
        const ref = refBroadcast(OPS[op], av, as, bv, bs);
        const out = at.F[op](at.tensor(av, as, { device }), at.tensor(bv, bs, { device }));
        expect(out.shape).toEqual(ref.shape);
        expectClose(out, ref.data, { ...TOL, what: `${op} [${as}] [${bs}]` });
        const rev = at.F[op](at.tensor(bv, bs, { device }), at.tensor(av, as, { device }));
        expectClose(rev, refBroadcast(OPS[op], bv, bs, av, as).data, { ...TOL, what: `${op} reversed` });
      });
    }
  }

  it('number operands on either side', () => {
    const v = randomValues(6, 3, 0.5, 2);
    const x = at.tensor(v, [2, 3], { device });
    const ref = (f: (x: number) => number) => Array.from(v, f);
    expectClose(at.add(x, 2), ref((t) => t + 2), TOL);
    expectClose(at.add(2, x), ref((t) => t + 2), TOL);
    expectClose(at.sub(x, 2), ref((t) => t - 2), TOL);
    expectClose(at.sub(2, x), ref((t) => 2 - t), TOL);
    expectClose(at.mul(x, -3), ref((t) => t * -3), TOL);
    expectClose(at.mul(-3, x), ref((t) => t * -3), TOL);
    expectClose(at.div(x, 3), ref((t) => Math.fround(t / 3)), { atol: 0, rtol: 0 }); // true division, not * (1/3)
    expectClose(at.div(3, x), ref((t) => 3 / t), TOL);
    expectClose(x.add(1).mul(2).sub(x).div(4), ref((t) => ((t + 1) * 2 - t) / 4), TOL);
  });
});

describe.each(devices)('gradients by finite differences on %s', (device) => {
  // eps 1e-2 on float32 values of order 1: see gradCheck for the error budget.
  const shapes: [number[], number[]][] = [[[2, 1, 3], [1, 4, 1]], [[3, 4], [4]], [[3, 4], []], [[2, 3], [2, 3]]];
  for (const [as, bs] of shapes) {
    for (const op of Object.keys(OPS) as Bin[]) {
      it(`${op} [${as}] [${bs}]`, () => {
        const a = at.tensor(randomValues(numel(as), 4), as, { device, requiresGrad: true });
        const b = at.tensor(randomValues(numel(bs), 5, 0.5, 1.5), bs, { device, requiresGrad: true });
        gradCheck(() => [at.F[op](a, b)], [a, b], { what: `${op}` });
      });
    }
  }
  const unary: [string, (x: at.Tensor) => at.Tensor, number, number][] = [
    ['neg', (x) => at.neg(x), -2, 2],
    ['exp', (x) => at.exp(x), -2, 2],
    ['log', (x) => at.log(x), 0.5, 3],
    ['sqrt', (x) => at.sqrt(x), 0.5, 3],
    ['abs', (x) => at.abs(x), -2, 2],
    ['pow 3', (x) => at.pow(x, 3), -2, 2],
    ['pow -0.5', (x) => at.pow(x, -0.5), 0.5, 3],
    ['clamp', (x) => at.clamp(x, -0.5, 0.7), -2, 2],
    ['clamp min only', (x) => at.clamp(x, 0.1), -2, 2],
    ['add number', (x) => at.add(x, 1.5), -2, 2],
    ['rsub number', (x) => at.sub(1.5, x), -2, 2],
    ['mul number', (x) => at.mul(x, -2.5), -2, 2],
    ['div number', (x) => at.div(x, 4), -2, 2],
    ['rdiv number', (x) => at.div(2, x), 0.5, 2],
  ];
  for (const [name, f, lo, hi] of unary) {
    it(name, () => {
      // values kept 0.05 away from clamp's corners and abs's kink, where differences jump
      const v = randomValues(13, 6, lo, hi).map((t) => (Math.abs(t) < 0.05 || Math.abs(t - 0.7) < 0.05 ||
        Math.abs(t + 0.5) < 0.05 || Math.abs(t - 0.1) < 0.05 ? t + 0.12 : t));
      const x = at.tensor(v, [13], { device, requiresGrad: true });
      gradCheck(() => [f(x)], [x], { what: name });
    });
  }
  it('where and maskedFill', () => {
    const cond = at.tensor([true, false, true, false, false, true], [2, 3], { device });
    const a = at.tensor(randomValues(3, 7), [3], { device, requiresGrad: true });
    const b = at.tensor(randomValues(2, 8), [2, 1], { device, requiresGrad: true });
    gradCheck(() => [at.where(cond, a, b)], [a, b], { what: 'where' });
    const x = at.tensor(randomValues(6, 9), [2, 3], { device, requiresGrad: true });
    gradCheck(() => [at.maskedFill(x, at.tensor([false, true, true], [3], { device }), -5)], [x], { what: 'maskedFill' });
  });
});

describe.each(devices)('unary math, where, maskedFill, casts on %s', (device) => {
  it('matches Math.* in float64 to float32 rounding', () => {
    const v = randomValues(301, 10, 0.1, 4);
    const x = at.tensor(v, [301], { device });
    // libm float32 functions: within 1-2 ulp of the exact value
    const T = { atol: 1e-6, rtol: 4e-7 };
    expectClose(at.neg(x), Array.from(v, (t) => -t), T);
    expectClose(at.exp(x), Array.from(v, Math.exp), T);
    expectClose(at.log(x), Array.from(v, Math.log), T);
    expectClose(at.sqrt(x), Array.from(v, Math.sqrt), T);
    expectClose(at.abs(at.neg(x)), v, T);
    expectClose(at.pow(x, 2.5), Array.from(v, (t) => t ** 2.5), { atol: 1e-6, rtol: 1e-6 });
    expectClose(at.clamp(x, 1, 2), Array.from(v, (t) => Math.min(Math.max(t, 1), 2)), T);
    expectClose(at.clamp(x, null, 2), Array.from(v, (t) => Math.min(t, 2)), T);
    expectClose(at.clamp(x, 3, 2), Array.from(v, () => 2), T); // min > max: max wins, as PyTorch
  });

  it('keeps NaN and handles infinities', () => {
    const x = at.tensor([NaN, Infinity, -Infinity, 0], [4], { device });
    expect(Array.from(at.F.relu(x).dataSync())).toEqual([NaN, Infinity, 0, 0]);
    expect(Array.from(at.clamp(x, -1, 1).dataSync())).toEqual([NaN, 1, -1, 0]);
    expect(Array.from(at.exp(x).dataSync())).toEqual([NaN, Infinity, 0, 1]);
  });

  it('where broadcasts cond, a and b (tensors or numbers)', () => {
    const c = at.tensor([true, false, false, true], [2, 1, 2], { device });
    const a = at.tensor([1, 2, 3], [3, 1], { device });
    const out = at.where(c, a, -1);
    expect(out.shape).toEqual([2, 3, 2]);
    expect(out.toArray()).toEqual([[[1, -1], [2, -1], [3, -1]], [[-1, 1], [-1, 2], [-1, 3]]]);
    expect(at.where(c, 5, a).toArray()).toEqual([[[5, 1], [5, 2], [5, 3]], [[1, 5], [2, 5], [3, 5]]]);
  });

  it('maskedFill with an attention-style mask [T,T] over [B,H,T,T]', () => {
    const T = 4, x = at.zeros([2, 2, T, T], { device });
    const mask: boolean[][] = [];
    for (let i = 0; i < T; i++) mask.push(Array.from({ length: T }, (_, j) => j > i));
    const out = at.maskedFill(x, at.tensor(mask, { device }), -Infinity);
    const d = out.dataSync();
    for (let k = 0; k < d.length; k++) {
      const i = Math.floor(k / T) % T, j = k % T;
      expect(d[k]).toBe(j > i ? -Infinity : 0);
    }
    expectCode(() => at.maskedFill(at.zeros([2, 3], { device }), at.tensor([[true], [false], [true]], { device }), 0),
               'ERR_SHAPE'); // the mask would grow x
  });

  it('comparisons: float32, int32, bool and numbers, broadcasting, NaN', () => {
    const a = at.tensor([[1, 2, NaN], [4, 5, 6]], { device }), b = at.tensor([2, 2, 2], { device });
    expect(at.eq(a, b).toArray()).toEqual([[false, true, false], [false, false, false]]);
    expect(at.ne(a, b).toArray()).toEqual([[true, false, true], [true, true, true]]);
    expect(at.lt(a, b).toArray()).toEqual([[true, false, false], [false, false, false]]);
    expect(at.le(a, 2).toArray()).toEqual([[true, true, false], [false, false, false]]);
    expect(at.gt(5, a).toArray()).toEqual([[true, true, false], [true, false, false]]);
    expect(a.ge(b).toArray()).toEqual([[false, true, false], [true, true, true]]);
    // accuracy: argmax (int32) against int32 targets
    const pred = at.argmax(at.tensor([[0.1, 0.9], [0.8, 0.2], [0.3, 0.7]], { device }), 1);
    const target = at.tensor([1, 1, 1], { dtype: 'int32', device });
    expect(pred.eq(target).float().mean().item()).toBeCloseTo(2 / 3, 6);
    // int32 compared exactly beyond 2^24; with a fraction, in float32
    const big = at.tensor([16777217, 3], { dtype: 'int32', device });
    expect(at.eq(big, 16777216).toArray()).toEqual([false, false]);
    expect(at.lt(big, 3.5).toArray()).toEqual([false, true]);
    // padding masks from ids, and their negation
    const ids = at.tensor([[5, 0, 0], [7, 8, 0]], { dtype: 'int32', device });
    const pad = ids.eq(0);
    expect(pad.dtype).toBe('bool');
    expect(pad.logicalNot().toArray()).toEqual([[true, false, false], [true, true, false]]);
    expect(at.eq(pad, at.tensor([true], { device })).toArray()).toEqual(pad.toArray());
    // odd sizes through the general kernel
    const x = at.tensor(Float32Array.from({ length: 3 * 37 }, (_, i) => i % 7), [3, 37], { device });
    const y = at.tensor(Float32Array.from({ length: 37 }, (_, i) => i % 5), [37], { device });
    const got = at.gt(x.unsqueeze(0), y.reshape(37, 1, 1)).dataSync();
    for (let i = 0; i < 37; i++)
      for (let r = 0; r < 3; r++)
        for (let j = 0; j < 37; j++) expect(got[(i * 3 + r) * 37 + j]).toBe(((r * 37 + j) % 7) > (i % 5) ? 1 : 0);
    expectCode(() => at.eq(1 as never, 2 as never), 'ERR_ARGUMENT');
    expectCode(() => at.lt(a, at.zeros([2], { device })), 'ERR_SHAPE');
  });

  it('converts between float32, int32 and bool', () => {
    const f = at.tensor([-2.7, -0.5, 0, 0.5, 3.9, 1e10, NaN], [7], { device });
    expect(Array.from(f.int().dataSync())).toEqual([-2, 0, 0, 0, 3, -2147483648, -2147483648]);
    expect(f.bool().toArray()).toEqual([true, true, false, true, true, true, true]);
    const i = at.tensor([-3, 0, 7], [3], { dtype: 'int32', device });
    expect(Array.from(i.float().dataSync())).toEqual([-3, 0, 7]);
    expect(i.bool().toArray()).toEqual([true, false, true]);
    const b = at.tensor([true, false], { device });
    expect(Array.from(b.float().dataSync())).toEqual([1, 0]);
    expect(Array.from(b.int().dataSync())).toEqual([1, 0]);
    expect(f.float()).toBe(f);
    expect(at.F.toDtype(i, 'int32')).toBe(i);
  });

  it('checks shapes, dtypes, devices and operands', () => {
    expectCode(() => at.add(at.zeros([2, 3], { device }), at.zeros([4], { device })), 'ERR_SHAPE');
    expectCode(() => at.mul(at.zeros([2, 3], { device }), at.zeros([3, 2], { device })), 'ERR_SHAPE');
    expectCode(() => at.add(at.zeros([2], { device, dtype: 'int32' }), at.zeros([2], { device })), 'ERR_DTYPE');
    expectCode(() => at.exp(at.zeros([2], { device, dtype: 'bool' })), 'ERR_DTYPE');
    expectCode(() => at.where(at.zeros([2], { device }), 1, 0), 'ERR_DTYPE'); // cond must be bool
    expectCode(() => at.add(2 as never, 3 as never), 'ERR_ARGUMENT');
    expectCode(() => at.add(at.zeros([2], { device }), '1' as never), 'ERR_ARGUMENT');
    expectCode(() => at.clamp(at.zeros([2], { device })), 'ERR_ARGUMENT');
    expectCode(() => at.F.toDtype(at.zeros([2], { device }), 'float64' as never), 'ERR_DTYPE');
    const x = at.zeros([2], { device });
    x.dispose();
    expectCode(() => at.add(x, 1), 'ERR_DISPOSED');
    if (device === 'cuda') {
      expectCode(() => at.add(at.zeros([2], { device }), at.zeros([2], { device: 'cpu' })), 'ERR_DEVICE');
      expectCode(() => at.where(at.tensor([true, false], { device: 'cpu' }), at.zeros([2], { device }), 0), 'ERR_DEVICE');
    }
  });

  if (device === 'cuda') {
    it('agrees with the cpu kernels', () => {
      const shapes: [number[], number[]][] = [[[3, 1, 70], [1, 5, 1]], [[257], [257]], [[4, 9], [9]]];
      for (const [as, bs] of shapes) {
        const av = randomValues(numel(as), 11), bv = randomValues(numel(bs), 12, 0.5, 2);
        for (const op of Object.keys(OPS) as Bin[]) {
          const cpu = at.F[op](at.tensor(av, as, { device: 'cpu' }), at.tensor(bv, bs, { device: 'cpu' }));
          const gpu = at.F[op](at.tensor(av, as, { device }), at.tensor(bv, bs, { device }));
          expectClose(gpu, cpu, { ...TOL, what: `${op} cuda vs cpu` });
        }
      }
      const v = randomValues(515, 13, -3, 3);
      for (const f of [at.exp, at.F.gelu, at.F.silu, at.abs, (t: at.Tensor) => at.pow(at.abs(t), 1.5)]) {
        expectClose(f(at.tensor(v, [515], { device })), f(at.tensor(v, [515], { device: 'cpu' })),
                    { atol: 1e-6, rtol: 2e-6, what: 'unary cuda vs cpu' }); // different libm: 1-2 ulp
      }
    });
  }
});

describe('native elementwise bindings guard their buffers', () => {
  it('rejects bad sizes, dtypes and op codes', () => {
    const f4 = new Float32Array(4);
    expectCode(() => native.binary(f4, f4, f4, 0, [8], [8], [8]), 'ERR_SHAPE');
    expectCode(() => native.binary(f4, f4, f4, 0, [4], [3], [4]), 'ERR_SHAPE');
    expectCode(() => native.binary(f4, f4, f4, 9, [4], [4], [4]), 'ERR_ARGUMENT');
    expectCode(() => native.binary(f4, new Int32Array(4), f4, 0, [4], [4], [4]), 'ERR_DTYPE');
    expectCode(() => native.binary(f4, f4, f4, 0, [1, 1, 1, 1, 1, 1, 1, 1, 4], [4], [4]), 'ERR_ARGUMENT'); // > 8 dims
    expectCode(() => native.unary(f4, f4, 5, 0, 0, 0), 'ERR_SHAPE');
    expectCode(() => native.unary(f4, f4, 4, 99, 0, 0), 'ERR_ARGUMENT');
    expectCode(() => native.unaryBackward(f4, f4, f4, 4, 0 /* neg: no kernel */, 0, 0), 'ERR_ARGUMENT');
    expectCode(() => native.where(f4, new Float32Array(4), f4, f4, [4], [4], [4], [4]), 'ERR_DTYPE');
    expectCode(() => native.cast(f4, new Float32Array(4), 4), 'ERR_DTYPE');
    expectCode(() => native.compare(new Uint8Array(4), f4, new Int32Array(4), 0, [4], [4], [4]), 'ERR_DTYPE');
    expectCode(() => native.compare(new Uint8Array(2), f4, f4, 0, [4], [4], [4]), 'ERR_SHAPE');
    expectCode(() => native.compare(new Uint8Array(4), f4, f4, 6, [4], [4], [4]), 'ERR_ARGUMENT');
    expectCode(() => native.cast(new Int32Array(2), f4, 4), 'ERR_SHAPE');
  });
});

describe.each(devices)('Tensor methods on %s', (device) => {
  it('call the functional ops', () => {
    const v = Float32Array.from({ length: 6 }, (_, i) => i + 1);
    const x = at.tensor(v, [2, 3], { device }), y = at.tensor([1, 2, 3], { device });
    const same = (a: at.Tensor, b: at.Tensor) => {
      expect(a.shape).toEqual(b.shape);
      expect(a.dtype).toBe(b.dtype);
      expect(Array.from(a.dataSync())).toEqual(Array.from(b.dataSync()));
    };
    same(x.add(y), at.add(x, y));
    same(x.sub(2), at.sub(x, 2));
    same(x.mul(y), at.mul(x, y));
    same(x.div(y), at.div(x, y));
    same(x.neg(), at.neg(x));
    same(x.exp(), at.exp(x));
    same(x.log(), at.log(x));
    same(x.sqrt(), at.sqrt(x));
    same(x.abs(), at.abs(x));
    same(x.pow(2), at.pow(x, 2));
    same(x.clamp(2, 4), at.clamp(x, 2, 4));
    same(x.matmul(y), at.matmul(x, y));
    same(x.maskedFill(at.tensor([true, false, true], { device }), 0), at.maskedFill(x, at.tensor([true, false, true], { device }), 0));
    same(x.sum(), at.sum(x));
    same(x.sum(-1, true), at.sum(x, -1, true));
    same(x.mean(0), at.mean(x, 0));
    same(x.max(), at.max(x));
    same(x.max(1).values, at.max(x, 1).values);
    same(x.min(0).indices, at.min(x, 0).indices);
    same(x.argmax(), at.argmax(x));
    same(x.argmin(1), at.argmin(x, 1));
    same(x.transpose(0, 1), at.transpose(x, 0, 1));
    same(x.permute([1, 0]), at.permute(x, [1, 0]));
    same(x.unsqueeze(1), at.unsqueeze(x, 1));
    same(x.unsqueeze(0).squeeze(0), x);
    same(x.flatten(), at.flatten(x));
    same(x.expand([2, 2, 3]), at.F.expand(x, [2, 2, 3]));
    same(x.narrow(1, 1, 2), at.narrow(x, 1, 1, 2));
    same(x.split(1, 1)[2], at.split(x, 1, 1)[2]);
    same(x.chunk(2)[1], at.chunk(x, 2)[1]);
    same(x.indexSelect(1, at.tensor([2], { dtype: 'int32', device })), at.indexSelect(x, 1, at.tensor([2], { dtype: 'int32', device })));
    same(x.eq(y), at.eq(x, y));
    same(x.ne(2), at.ne(x, 2));
    same(x.lt(y), at.lt(x, y));
    same(x.le(3), at.le(x, 3));
    same(x.gt(y), at.gt(x, y));
    same(x.ge(y), at.ge(x, y));
    same(x.gt(3).logicalNot(), at.le(x, 3));
    same(x.relu(), at.relu(x));
    same(x.gelu(), at.F.gelu(x));
    same(x.sigmoid(), at.sigmoid(x));
    same(x.tanh(), at.tanh(x));
    same(x.silu(), at.F.silu(x));
    same(x.int(), at.F.toDtype(x, 'int32'));
    same(x.bool(), at.F.toDtype(x, 'bool'));
    same(x.int().float(), x);
    same(x.toDtype('int32'), x.int());
  });
});
