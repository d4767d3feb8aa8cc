import { describe, expect, it } from 'vitest';
import * as at from '../lib';
import { native } from '../lib/native';
import { loadFixtures } from './helpers/fixtures';
import { devices, expectClose, expectCode, fromFixture } from './helpers/devices';

// Outputs: float32 with one exp/log per value and sums over <= 1000 terms; the reference is
// float64 rounded once, so a few ulps of |out| plus ~1e-7 absolute for tiny probabilities.
// logSoftmax_large has |out| up to 1e5 (ulp 0.008): rtol covers it.
const OUT = { atol: 2e-6, rtol: 2e-5 };
// Gradients mix dout (O(1)) with row sums: a few ulps of the sum's magnitude.
const GRAD = { atol: 1e-5, rtol: 1e-4 };

/** Reference outputs from the plain CPU kernels (double accumulation), for random inputs. */
function reference(x: Float32Array, dout: Float32Array, outer: number, C: number, inner: number, log: boolean) {
  const out = new Float32Array(x.length), dx = new Float32Array(x.length);
  native.softmaxForwardRef(out, x, outer, C, inner, log);
  native.softmaxBackwardRef(dx, dout, out, outer, C, inner, log);
  return { out, dx };
}

function randn(n: number, seed: number, scale = 1): Float32Array {
  const g = new at.Generator(seed);
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = g.normal() * scale;
  return a;
}

describe.each(devices)('softmax and logSoftmax on %s', (device) => {
  describe('PyTorch fixtures', () => {
    for (const c of loadFixtures('softmax')) {
      it(c.name, () => {
        const x = fromFixture(c.inputs.x, device, true);
        const dim = c.attrs.dim as number;
        const out = c.op === 'softmax' ? at.F.softmax(x, dim) : at.F.logSoftmax(x, dim);
        expect(out.shape).toEqual(c.outputs.out.shape);
        expectClose(out, c.outputs.out.data, { ...OUT, what: `${c.name} out` });
        out.backward(fromFixture(c.gouts.out, device));
        expectClose(x.grad!, c.grads.x.data, { ...GRAD, what: `${c.name} grad x` });
      });
    }
  });

  // Every shape against the CPU reference kernels (and, on cuda, against the CPU kernels): odd sizes exercise the tails of the vector
  // loops (C % 4 != 0: no float4), C = 1000 the warp-per-row path with many values per lane,
  // C = 1500 the block-per-row path (cuda), inner > 1 the strided kernels.
  const shapes: [number[], number][] = [
    [[5, 1], -1], [[3, 7], -1], [[5, 33], 1], [[3, 1000], -1], [[2, 1500], -1], [[9, 64], -1],
    [[3, 7, 5], 1], [[7, 3], 0], [[2, 33, 3], 1], [[4, 130, 2], 1], [[6], 0], [[1, 1, 1], 2],
  ];
  for (const [shape, dim] of shapes) {
    for (const op of ['softmax', 'logSoftmax'] as const) {
      it(`${op} [${shape}] dim ${dim} matches the reference kernel`, () => {
        const n = shape.reduce((a, b) => a * b, 1);
        const d = dim < 0 ? dim + shape.length : dim;
        const outer = shape.slice(0, d).reduce((a, b) => a * b, 1), C = shape[d];
        const inner = shape.slice(d + 1).reduce((a, b) => a * b, 1);
        const xs = randn(n, n * 7 + d, 3), gs = randn(n, n * 11 + d);
        const ref = reference(xs, gs, outer, C, inner, op === 'logSoftmax');
        const run = (dev: at.DeviceName) => {
          const x = at.tensor(xs, shape, { device: dev, requiresGrad: true });
          const out = at.F[op](x, dim);
          out.backward(at.tensor(gs, shape, { device: dev }));
          return { out: out.dataSync(), dx: x.grad!.dataSync() };
        };
        const got = run(device);
        expectClose(got.out, ref.out, { ...OUT, what: 'out' });
        expectClose(got.dx, ref.dx, { ...GRAD, what: 'grad x' });
        if (device === 'cuda') { // and CUDA (emulated or not) against the fast CPU kernels directly
          const cpu = run('cpu');
          expectClose(got.out, cpu.out, { ...OUT, what: 'cuda vs cpu out' });
          expectClose(got.dx, cpu.dx, { ...GRAD, what: 'cuda vs cpu grad x' });
        }
      });
    }
  }

  it('is stable for huge values and handles -inf (a row of all -inf gives NaN, like PyTorch)', () => {
    const x = at.tensor([[1e30, 1e30, -1e30], [-Infinity, 0, -Infinity], [-Infinity, -Infinity, -Infinity]], { device });
    const p = at.F.softmax(x, -1).dataSync();
    expectClose(p.slice(0, 6), [0.5, 0.5, 0, 0, 1, 0], { atol: 1e-7, rtol: 0, what: 'softmax' });
    expect([...p.slice(6)].every(Number.isNaN)).toBe(true);
    const lp = at.F.logSoftmax(x, -1).dataSync();
    expect(lp[0]).toBeCloseTo(-Math.LN2, 6);
    expect(lp[2] / -2e30).toBeCloseTo(1, 6);
    expect([lp[3], lp[4], lp[5]]).toEqual([-Infinity, 0, -Infinity]);
    expect([...lp.slice(6)].every(Number.isNaN)).toBe(true);
  });

  it('gradients agree with finite differences (float64 sums of the float32 op)', () => {
    for (const op of ['softmax', 'logSoftmax'] as const) {
      for (const dim of [0, 1]) {
        const shape = [3, 5];
        const xs = randn(15, 42 + dim), w = randn(15, 7);
        // L(x) = sum(op(x) * w), summed in float64
        const L = (v: Float32Array) => {
          const y = at.F[op](at.tensor(v, shape, { device }), dim).dataSync();
          let s = 0;
          for (let i = 0; i < y.length; i++) s += y[i] * w[i];
          return s;
        };
        const x = at.tensor(xs, shape, { device, requiresGrad: true });
        at.F[op](x, dim).backward(at.tensor(w, shape, { device }));
        const g = x.grad!.dataSync();
        const h = 1e-2;
        for (let i = 0; i < 15; i++) {
          const p = xs.slice(), m = xs.slice();
          p[i] += h;
          m[i] -= h;
          const fd = (L(p) - L(m)) / (2 * h);
          // central difference: O(h^2) truncation plus float32 rounding / h
          expect(Math.abs(fd - g[i])).toBeLessThan(2e-3 * (1 + Math.abs(g[i])));
        }
      }
    }
  });

  it('checks arguments', () => {
    const x = at.zeros([2, 3], { device });
    expectCode(() => at.F.softmax(x, 2), 'ERR_ARGUMENT');
    expectCode(() => at.F.logSoftmax(x, -3), 'ERR_ARGUMENT');
    expectCode(() => (at.F.softmax as (x: at.Tensor) => at.Tensor)(x), 'ERR_ARGUMENT');
    expectCode(() => at.F.softmax(at.zeros([2, 3], { device, dtype: 'int32' }), -1), 'ERR_DTYPE');
    const small = device === 'cpu' ? new Float32Array(4) : at.zeros([4], { device }).buf;
    expectCode(() => native.softmaxForward(small, small, 3, 3, 1, false), 'ERR_SHAPE');
    if (device === 'cuda') expectCode(() => native.softmaxForward(small, new Float32Array(4), 1, 4, 1, false), 'ERR_DEVICE');
  });

  it('handles a 0-d tensor and an empty tensor', () => {
    expect(at.F.softmax(at.tensor(3, { device }), 0).item()).toBe(1);
    expect(at.F.logSoftmax(at.tensor(3, { device }), -0).item()).toBe(0);
    expect(at.F.softmax(at.zeros([0, 4], { device }), -1).shape).toEqual([0, 4]);
  });
});

// The exp and log inside the softmax, cross-entropy and attention kernels (native/cpu/vec.h: vexp
// and vlog on 16 lanes — AVX-512's vscalefps / vgetexpps where the build has it — and exp_simd /
// std::log for the tail), checked value by value against Math.exp / Math.log: within 2 ulp
// (relative 2.4e-7) wherever the result is a normal float; exp: 0 below ln(FLT_MIN), +inf from
// ln(FLT_MAX) on; log: -inf at 0, NaN below 0; both: NaN for NaN.
describe('the kernels\' vectorised exp and log', () => {
  const LO = -87.33654475, LN_MAX = 88.72283935546875;
  function run(fn: 'exp' | 'log', xs: number[]) {
    const x = Float32Array.from(xs), out = new Float32Array(x.length);
    native.vecMathForTest(fn, out, x, x.length);
    return { x, out };
  }
  function checkExp(xs: number[]) {
    const { x, out } = run('exp', xs);
    const bad: string[] = [];
    for (let i = 0; i < x.length; i++) {
      const v = x[i], got = out[i], want = Math.exp(v);
      const close = Math.abs(got - want) <= 2.4e-7 * want;
      const ok = Number.isNaN(v) ? Number.isNaN(got)
        : v < LO ? got === 0
        : v >= LN_MAX ? got === Infinity
        : v > 88 ? got === Infinity || close // the portable exp saturates from 88 on
        : close;
      if (!ok && bad.length < 5) bad.push(`exp(${v}) = ${got}, want ${want} (index ${i}, lane ${i % 16})`);
    }
    expect(bad).toEqual([]);
  }
  function checkLog(xs: number[]) {
    const { x, out } = run('log', xs);
    const bad: string[] = [];
    for (let i = 0; i < x.length; i++) {
      const v = x[i], got = out[i], want = Math.log(v);
      const ok = Number.isNaN(want) ? Number.isNaN(got)
        : !Number.isFinite(want) ? got === want
        : Math.abs(got - want) <= 2.4e-7 * Math.abs(want) + 1e-45;
      if (!ok && bad.length < 5) bad.push(`log(${v}) = ${got}, want ${want} (index ${i}, lane ${i % 16})`);
    }
    expect(bad).toEqual([]);
  }
  // 16 values short of a multiple of 16 plus 4: every lane, and 4 values through the scalar tail.
  const SPECIALS = [-Infinity, Infinity, NaN, LO - 1e-4, LO + 1e-4, 88, 88.5, LN_MAX, 89, 1e30, -1e30, 0, -0,
                    1e-40, -1e-40, -87, 87.9, 1, -1, 1.5, 0.7071067, 1.4142135, 3.4028234e38, 1.1754944e-38, 1e-45];
  const withTail = (xs: number[]) => [...xs, ...xs.slice(0, (16 - (xs.length % 16)) % 16), 0.5, 2, 1e-3, 7];

  it('exp: a sweep of [-90, 90] in steps of 1e-3, and special values', () => {
    const xs: number[] = [];
    for (let k = 0; k <= 180000; k++) xs.push(-90 + k * 1e-3);
    checkExp(withTail(xs));
    checkExp(withTail(SPECIALS));
  });
  it('log: every power of two from 2^-149 to 2^127 times 2000 mantissas, [0.5, 2] densely, and special values', () => {
    const xs: number[] = [];
    for (let e = -149; e <= 127; e++) for (let k = 0; k < 2000; k++) xs.push(2 ** e * (1 + k / 2000));
    for (let k = 0; k <= 150000; k++) xs.push(0.5 + k * 1e-5);
    checkLog(withTail(xs));
    checkLog(withTail(SPECIALS));
  });
});
