// nn.ts — helpers for the nn tests: running a PyTorch module fixture through an atento module,
// and finite-difference gradient checks.
import { expect } from 'vitest';
import * as at from '../../lib';
import { native } from '../../lib/native';
import { fixturePath, type FixtureCase } from './fixtures';
import { expectClose, fromFixture } from './devices';

export interface Tol {
  atol: number;
  rtol: number;
}

/**
 * Loads the fixture's state_dict (through at.load) into `module`, runs `forward` on the fixture's
 * inputs (float inputs require grad), compares every output, back-propagates the fixture's
 * upstream gradients and compares the gradients of the inputs and of every parameter (keyed by
 * PyTorch name).
 */
export function checkModuleCase(
  c: FixtureCase,
  device: at.DeviceName,
  module: at.nn.Module,
  forward: (inputs: Record<string, at.Tensor>) => Record<string, at.Tensor | null>,
  tol: Tol,
  gradTol: Tol = tol,
): void {
  const sd = at.load(fixturePath(c.attrs.file as string), { device });
  module.loadStateDict(sd); // strict: every PyTorch name must exist here and vice versa
  expect(module.namedParameters().map(([n]) => n).sort()).toEqual([...(c.attrs.params as string[])].sort());
  const inputs: Record<string, at.Tensor> = {};
  for (const [k, v] of Object.entries(c.inputs)) inputs[k] = fromFixture(v, device, v.dtype === 'float32' && k in c.grads);
  const outs = forward(inputs);
  for (const [k, want] of Object.entries(c.outputs)) {
    const got = outs[k];
    expect(got, `${c.name}: output ${k}`).toBeTruthy();
    expect(got!.shape, `${c.name}: output ${k} shape`).toEqual(want.shape);
    expectClose(got!, want.data, { ...tol, what: `${c.name} ${k}` });
  }
  const withGout = Object.keys(c.gouts);
  withGout.forEach((k, i) => outs[k]!.backward(fromFixture(c.gouts[k], device), { retainGraph: i < withGout.length - 1 }));
  const params = Object.fromEntries(module.namedParameters());
  for (const [k, want] of Object.entries(c.grads)) {
    const t = inputs[k] ?? params[k];
    expect(t, `${c.name}: no input or parameter '${k}'`).toBeTruthy();
    expect(t.grad, `${c.name}: no gradient for '${k}'`).toBeTruthy();
    expectClose(t.grad!, want.data, { ...gradTol, what: `${c.name} grad ${k}` });
  }
}

/** Writes host values into a tensor in place (any device). */
export function setValues(t: at.Tensor, values: Float32Array): void {
  native.copyBuffer(t.buf, values, values.byteLength);
}

/**
 * Finite-difference check of d(Σ_k <outputs_k, g_k>)/d(wrt) for random g: central differences of
 * the float32 forward, summed in float64 here. Checks up to `samples` elements of each tensor.
 * With eps = 1e-2 the truncation error is O(eps²·f''') and the float32 rounding error
 * O(ulp(f)/eps), so relative agreement to ~1e-2 is what float32 allows.
 */
export function gradCheck(
  run: () => at.Tensor[],
  wrt: at.Tensor[],
  { eps = 1e-2, atol = 2e-3, rtol = 2e-2, samples = 24, seed = 1, what = 'gradcheck' } = {},
): void {
  const rng = new at.Generator(seed);
  const outs = run();
  const gouts = outs.map((o) => {
    const g = new Float32Array(o.numel);
    for (let i = 0; i < g.length; i++) g[i] = rng.normal();
    return g;
  });
  for (const t of wrt) {
    t.grad?.dispose();
    t.grad = null;
  }
  outs.forEach((o, i) =>
    o.backward(at.tensor(gouts[i], o.shape, { device: o.device }), { retainGraph: i < outs.length - 1 }));
  const objective = (): number =>
    at.noGrad(() =>
      at.tidy(() => {
        let s = 0;
        run().forEach((o, i) => {
          const d = o.dataSync();
          for (let j = 0; j < d.length; j++) s += d[j] * gouts[i][j];
        });
        return s;
      }));
  wrt.forEach((t, ti) => {
    expect(t.grad, `${what}: tensor ${ti} got no gradient`).toBeTruthy();
    const analytic = t.grad!.dataSync();
    const base = t.dataSync() as Float32Array;
    const n = base.length;
    const idx = n <= samples ? [...Array(n).keys()] : Array.from({ length: samples }, () => Math.floor(rng.next() * n));
    const numeric: number[] = [], got: number[] = [];
    for (const i of idx) {
      const v = base.slice();
      v[i] = base[i] + eps;
      setValues(t, v);
      const fp = objective();
      v[i] = base[i] - eps;
      setValues(t, v);
      const fm = objective();
      setValues(t, base);
      numeric.push((fp - fm) / (Math.fround(base[i] + eps) - Math.fround(base[i] - eps)));
      got.push(analytic[i]);
    }
    expectClose(got, numeric, { atol, rtol, what: `${what}: tensor ${ti} [${t.shape}]` });
  });
}
