// activations.test.ts — gelu (erf and tanh forms), relu, sigmoid, tanh, silu: PyTorch fixtures
// (including 0, -0, tiny and huge inputs), finite differences, cpu-vs-cuda agreement, errors.
import { describe, expect, it } from 'vitest';
import * as at from '../lib';
import { loadFixtures } from './helpers/fixtures';
import { devices, expectClose, expectCode, fromFixture } from './helpers/devices';
import { gradCheck } from './helpers/nn';

// float32 libm (erf, tanh, exp) against PyTorch's vectorised float32 versions: a few ulps of
// the result, plus an absolute floor for values that cancel to ~0 (gelu of large negatives).
const TOL = { atol: 1e-6, rtol: 1e-5 };

const ACT: Record<string, (x: at.Tensor, attrs: Record<string, unknown>) => at.Tensor> = {
  gelu: (x, a) => at.F.gelu(x, { approximate: a.approximate as 'none' | 'tanh' }),
  relu: (x) => at.relu(x),
  sigmoid: (x) => at.sigmoid(x),
  tanh: (x) => at.tanh(x),
};

describe.each(devices)('activations on %s (PyTorch fixtures)', (device) => {
  for (const c of loadFixtures('elementwise').filter((c) => c.op in ACT)) {
    it(c.name, () => {
      const x = fromFixture(c.inputs.x, device, true);
      const out = ACT[c.op](x, c.attrs);
      expect(out.shape).toEqual(c.outputs.out.shape);
      expectClose(out, c.outputs.out.data, { ...TOL, what: `${c.name} out` });
      out.backward(fromFixture(c.gouts.out, device));
      expectClose(x.grad!, c.grads.x.data, { ...TOL, what: `${c.name} grad` });
    });
  }
});

describe.each(devices)('activations on %s', (device) => {
  const fns: [string, (x: at.Tensor) => at.Tensor, (v: number) => number][] = [
    ['relu', (x) => x.relu(), (v) => Math.max(v, 0)],
    ['sigmoid', (x) => x.sigmoid(), (v) => 1 / (1 + Math.exp(-v))],
    ['tanh', (x) => x.tanh(), Math.tanh],
    ['silu', (x) => at.F.silu(x), (v) => v / (1 + Math.exp(-v))],
    ['gelu tanh', (x) => x.gelu({ approximate: 'tanh' }),
      (v) => 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v ** 3)))],
  ];
  for (const [name, f, ref] of fns) {
    it(`${name}: values against float64, gradients by finite differences`, () => {
      const g = new at.Generator(7);
      const v = Float32Array.from({ length: 77 }, () => 8 * g.next() - 4);
      const x = at.tensor(v, [7, 11], { device, requiresGrad: true });
      expectClose(f(x), Array.from(v, ref), { atol: 1e-6, rtol: 2e-6, what: name });
      // relu's kink at 0 is avoided: no sample lies within eps of it
      gradCheck(() => [f(x)], [x], { what: name });
    });
  }
  it('exp, tanh, sigmoid and gelu stay accurate over wide ranges (the cpu uses vectorisable approximations)', () => {
    const n = 4001;
    const grid = (lo: number, hi: number) => Float32Array.from({ length: n }, (_, i) => lo + ((hi - lo) * i) / (n - 1));
    // relative error against float64, with an absolute floor below which values do not matter
    const rel = (got: ArrayLike<number>, x: Float32Array, f: (v: number) => number, rtol: number, floor: number, what: string) => {
      for (let i = 0; i < x.length; i++) {
        const want = f(x[i]);
        const err = Math.abs(got[i] - want);
        if (!(err <= rtol * Math.abs(want) + floor)) throw new Error(`${what}(${x[i]}) = ${got[i]}, want ${want}`);
      }
    };
    const xe = grid(-87, 88);
    rel(at.exp(at.tensor(xe, { device })).dataSync(), xe, Math.exp, 2e-7, 0, 'exp'); // ~1.5 ulp
    const xt = grid(-2, 2);
    rel(at.tanh(at.tensor(xt, { device })).dataSync(), xt, Math.tanh, 3e-7, 1e-30, 'tanh');
    const tiny = Float32Array.from([1e-30, -3e-8, 1e-4, 0.6249, 0.6251, -0.625, 9, -40]);
    rel(at.tanh(at.tensor(tiny, { device })).dataSync(), tiny, Math.tanh, 3e-7, 0, 'tanh');
    const xs = grid(-30, 30);
    rel(at.sigmoid(at.tensor(xs, { device })).dataSync(), xs, (v) => 1 / (1 + Math.exp(-v)), 5e-7, 0, 'sigmoid');
    // gelu: erfc-based on the cpu, so the negative tail keeps ~1e-6 relative accuracy
    const erf = (v: number) => { // Abramowitz-Stegun 7.1.26 is too coarse; use a series / continued fraction in float64
      const a = Math.abs(v);
      let r: number;
      if (a < 3) { let term = a, sum = a; for (let k = 1; k < 80; k++) { term *= -a * a / k; sum += term / (2 * k + 1); } r = (2 / Math.sqrt(Math.PI)) * sum; }
      else { let f = 0; for (let k = 60; k >= 1; k--) f = (k / 2) / (a + f); r = 1 - Math.exp(-a * a) / Math.sqrt(Math.PI) / (a + f); }
      return v < 0 ? -r : r;
    };
    const erfc = (v: number) => { // for v >= 3 without cancellation
      let f = 0;
      for (let k = 60; k >= 1; k--) f = (k / 2) / (v + f);
      return Math.exp(-v * v) / Math.sqrt(Math.PI) / (v + f);
    };
    const gelu = (v: number) => (v < -3 * Math.SQRT2 ? 0.5 * v * erfc(-v / Math.SQRT2) : 0.5 * v * (1 + erf(v / Math.SQRT2)));
    const xg = grid(-6, 6);
    rel(at.F.gelu(at.tensor(xg, { device })).dataSync(), xg, gelu, 3e-6, 1e-12, 'gelu');
  });

  it('gelu (erf) gradients by finite differences', () => {
    const x = at.tensor([-3, -1.5, -0.3, 0.2, 0.9, 2.5], [6], { device, requiresGrad: true });
    gradCheck(() => [at.F.gelu(x)], [x], { what: 'gelu' });
  });

  it('checks arguments', () => {
    expectCode(() => at.F.gelu(at.zeros([2], { device }), { approximate: 'erf' as never }), 'ERR_ARGUMENT');
    expectCode(() => at.relu(at.zeros([2], { device, dtype: 'int32' })), 'ERR_DTYPE');
  });

  if (device === 'cuda') {
    it('agrees with the cpu kernels, forward and backward', () => {
      const g = new at.Generator(9);
      const v = Float32Array.from({ length: 301 }, () => 10 * g.next() - 5);
      for (const [name, f] of fns) {
        const run = (d: at.DeviceName) => {
          const x = at.tensor(v, [301], { device: d, requiresGrad: true });
          const y = f(x);
          y.backward(at.onesLike(y));
          return [y, x.grad!];
        };
        const [yc, gc] = run('cpu'), [yg, gg] = run('cuda');
        expectClose(yg, yc, { atol: 1e-6, rtol: 2e-6, what: `${name} forward` }); // 1-2 ulp between libms
        expectClose(gg, gc, { atol: 1e-6, rtol: 2e-6, what: `${name} backward` });
      }
    });
  }
});
