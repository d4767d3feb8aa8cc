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
