import { describe, expect, it } from 'vitest';
import * as at from '../lib';
import { native } from '../lib/native';
import { loadFixtures } from './helpers/fixtures';
import { devices, expectClose, expectCode, fromFixture } from './helpers/devices';

// out, mean, rstd: float32 sums over C <= 384 values, reference in float64 rounded once: a few
// ulps of the values (|out| ~ 1..5).
const OUT = { atol: 1e-5, rtol: 1e-4 };
// Gradients: dx = rstd * (dn - mean(dn) - xhat mean(dn xhat)) cancels terms of size rstd*|dn|;
// dw, db sum over up to 6 rows. c64_offset_mean has rstd ~ 100, so dx ~ 100: rtol matters there.
const GRAD = { atol: 5e-5, rtol: 2e-4 };

function randn(n: number, seed: number, scale = 1, shift = 0): Float32Array {
  const g = new at.Generator(seed);
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = g.normal() * scale + shift;
  return a;
}

describe.each(devices)('layerNorm on %s', (device) => {
  describe('PyTorch fixtures', () => {
    for (const c of loadFixtures('layernorm')) {
      it(c.name, () => {
        const x = fromFixture(c.inputs.x, device, true);
        const w = c.inputs.weight ? fromFixture(c.inputs.weight, device, true) : null;
        const b = c.inputs.bias ? fromFixture(c.inputs.bias, device, true) : null;
        const [out, mean, rstd] = at.F.nativeLayerNorm(x, c.attrs.normalizedShape as number[], w, b, c.attrs.eps as number);
        expect(out.shape).toEqual(c.outputs.out.shape);
        expect(mean.shape).toEqual(c.outputs.mean.shape);
        expect(rstd.shape).toEqual(c.outputs.rstd.shape);
        expectClose(out, c.outputs.out.data, { ...OUT, what: `${c.name} out` });
        expectClose(mean, c.outputs.mean.data, { ...OUT, what: `${c.name} mean` });
        expectClose(rstd, c.outputs.rstd.data, { ...OUT, what: `${c.name} rstd` });
        out.backward(fromFixture(c.gouts.out, device));
        const ins: Record<string, at.Tensor | null> = { x, weight: w, bias: b };
        for (const [k, g] of Object.entries(c.grads)) expectClose(ins[k]!.grad!, g.data, { ...GRAD, what: `${c.name} grad ${k}` });
      });
    }
  });

  // Every shape against the CPU reference kernels (double accumulation) and, on cuda, against the
  // CPU kernels. C = 1, 7, 33, 1000: the scalar paths with tails; 384: float4 (cuda); N = 37:
  // several backward tiles of 8 rows; N = 4200: tiles of more than 8 rows (cuda bounds the tiles);
  // 45 x 160: the CPU backward's blocks of 8 rows and a partial one, vectors only.
  const shapes: [number, number, boolean][] = [
    [5, 1, true], [3, 7, true], [37, 33, true], [3, 1000, true], [9, 384, true], [5, 7, false], [4200, 7, true],
    [6, 128, false], [45, 160, true],
  ];
  for (const [N, C, affine] of shapes) {
    it(`N=${N} C=${C}${affine ? '' : ' no affine'} matches the reference kernel`, () => {
      const xs = randn(N * C, N + C, 2, 1), gs = randn(N * C, N * C + 1);
      const ws = affine ? randn(C, C, 0.3, 1) : null, bs = affine ? randn(C, C + 5, 0.3) : null;
      const ref = {
        out: new Float32Array(N * C), mean: new Float32Array(N), rstd: new Float32Array(N),
        dx: new Float32Array(N * C), dw: new Float32Array(C), db: new Float32Array(C),
      };
      native.layerNormForwardRef(ref.out, ref.mean, ref.rstd, xs, ws, bs, N, C, 1e-5);
      native.layerNormBackwardRef(ref.dx, affine ? ref.dw : null, affine ? ref.db : null, gs, xs, ws, ref.mean, ref.rstd, N, C);

      const run = (dev: at.DeviceName) => {
        const x = at.tensor(xs, [N, C], { device: dev, requiresGrad: true });
        const w = ws && at.tensor(ws, [C], { device: dev, requiresGrad: true });
        const b = bs && at.tensor(bs, [C], { device: dev, requiresGrad: true });
        const [out, mean, rstd] = at.F.nativeLayerNorm(x, [C], w, b);
        out.backward(at.tensor(gs, [N, C], { device: dev }));
        return { out: out.dataSync(), mean: mean.dataSync(), rstd: rstd.dataSync(), dx: x.grad!.dataSync(),
                 dw: w?.grad!.dataSync(), db: b?.grad!.dataSync() };
      };
      // dw, db sum N rows: float32 accumulation error grows with N (4200 rows: ~1e-4 relative).
      const sumTol = { atol: 1e-4 * Math.sqrt(N), rtol: 2e-4 };
      const check = (got: ReturnType<typeof run>, want: typeof ref | ReturnType<typeof run>, what: string) => {
        expectClose(got.out, want.out, { ...OUT, what: `${what} out` });
        expectClose(got.mean, want.mean, { ...OUT, what: `${what} mean` });
        expectClose(got.rstd, want.rstd, { ...OUT, what: `${what} rstd` });
        expectClose(got.dx, want.dx, { ...GRAD, what: `${what} dx` });
        if (affine) {
          expectClose(got.dw!, want.dw!, { ...sumTol, what: `${what} dw` });
          expectClose(got.db!, want.db!, { ...sumTol, what: `${what} db` });
        }
      };
      const got = run(device);
      check(got, ref, 'vs reference:');
      if (device === 'cuda') check(got, run('cpu'), 'cuda vs cpu:'); // and against the fast CPU kernels directly
    });
  }

  it('keeps precision when the first value of a row is an outlier (the shift of the shifted sums)', () => {
    // var = V/C - (D/C)^2 about x0 = x[0] = 1e4 cancels ~C = 128 times: ~1e-5 relative, not more.
    const C = 128, xs = randn(C, 9);
    xs[0] = 1e4;
    const ref = { out: new Float32Array(C), mean: new Float32Array(1), rstd: new Float32Array(1) };
    native.layerNormForwardRef(ref.out, ref.mean, ref.rstd, xs, null, null, 1, C, 1e-5);
    const [out, mean, rstd] = at.F.nativeLayerNorm(at.tensor(xs, [1, C], { device }), [C]);
    // the mean's error, relative to the spread (std ~ 880): what the output sees
    expectClose(mean, ref.mean, { atol: 880 * 1e-6, rtol: 0, what: 'mean' });
    expectClose(rstd, ref.rstd, { atol: 0, rtol: 3e-5, what: 'rstd' });
    expectClose(out, ref.out, { atol: 1e-4, rtol: 3e-5, what: 'out' });
  });

  it('keeps full precision when |mean| >> std (shifted sums)', () => {
    // x = 1000 + 1e-3 * randn: a naive float32 E[x^2] - E[x]^2 would lose every digit.
    const N = 4, C = 64;
    const xs = randn(N * C, 3, 1e-3, 1000);
    const ref = { out: new Float32Array(N * C), mean: new Float32Array(N), rstd: new Float32Array(N) };
    native.layerNormForwardRef(ref.out, ref.mean, ref.rstd, xs, null, null, N, C, 0);
    const [out, , rstd] = at.F.nativeLayerNorm(at.tensor(xs, [N, C], { device }), [C], null, null, 0);
    expectClose(rstd, ref.rstd, { atol: 0, rtol: 1e-3, what: 'rstd' });
    // x is quantised to ulp(1000) = 6e-5 = 0.06 std: outputs agree to the rounding of the mean.
    expectClose(out, ref.out, { atol: 0.05, rtol: 0, what: 'out' });
  });

  it('gradients agree with finite differences (float64 sums of the float32 op)', () => {
    const shape = [3, 2, 4], ns = [2, 4];
    const xs = randn(24, 5), ws = randn(8, 6, 0.5, 1), bs = randn(8, 7, 0.5), u = randn(24, 8);
    const L = (xv: Float32Array, wv: Float32Array, bv: Float32Array) => {
      const y = at.F.layerNorm(at.tensor(xv, shape, { device }), ns, at.tensor(wv, ns, { device }),
                               at.tensor(bv, ns, { device })).dataSync();
      let s = 0;
      for (let i = 0; i < y.length; i++) s += y[i] * u[i];
      return s;
    };
    const x = at.tensor(xs, shape, { device, requiresGrad: true });
    const w = at.tensor(ws, ns, { device, requiresGrad: true }), b = at.tensor(bs, ns, { device, requiresGrad: true });
    at.F.layerNorm(x, ns, w, b).backward(at.tensor(u, shape, { device }));
    const h = 1e-2;
    const args = [xs, ws, bs];
    const grads = [x.grad!.dataSync(), w.grad!.dataSync(), b.grad!.dataSync()];
    for (let a = 0; a < 3; a++) {
      for (let i = 0; i < args[a].length; i++) {
        const p = args.map((v) => v.slice()), m = args.map((v) => v.slice());
        p[a][i] += h;
        m[a][i] -= h;
        const fd = (L(p[0], p[1], p[2]) - L(m[0], m[1], m[2])) / (2 * h);
        // central difference: O(h^2) truncation plus float32 rounding / h
        expect(Math.abs(fd - grads[a][i])).toBeLessThan(3e-3 * (1 + Math.abs(grads[a][i])));
      }
    }
  });

  it('gives only the gradients asked for', () => {
    const x = at.randn([4, 6], { device, seed: 1, requiresGrad: true });
    const w = at.randn([6], { device, seed: 2 });
    const b = at.randn([6], { device, seed: 3, requiresGrad: true });
    at.F.layerNorm(x, 6, w, b).backward(at.ones([4, 6], { device }));
    expect(w.grad).toBeNull();
    // sum over rows of dout: 4 for every column
    expectClose(b.grad!, new Float32Array(6).fill(4), { atol: 1e-6, rtol: 0, what: 'db' });
    // with dout = 1 and w = 1 the x gradient would be 0; with w it is rstd*(w - mean(w) - xhat mean(w xhat))
    expect(x.grad!.shape).toEqual([4, 6]);
  });

  it('checks arguments', () => {
    const x = at.zeros([2, 3, 4], { device });
    expectCode(() => at.F.layerNorm(x, [3]), 'ERR_SHAPE');
    expectCode(() => at.F.layerNorm(x, [2, 3, 4, 5]), 'ERR_SHAPE');
    expectCode(() => at.F.layerNorm(x, []), 'ERR_SHAPE');
    expectCode(() => at.F.layerNorm(x, [0]), 'ERR_SHAPE');
    expectCode(() => at.F.layerNorm(x, [4], at.ones([3], { device })), 'ERR_SHAPE');
    expectCode(() => at.F.layerNorm(x, [3, 4], at.ones([12], { device })), 'ERR_SHAPE');
    expectCode(() => at.F.layerNorm(x, [4], null, at.ones([4, 1], { device })), 'ERR_SHAPE');
    expectCode(() => at.F.layerNorm(at.zeros([2, 4], { device, dtype: 'int32' }), [4]), 'ERR_DTYPE');
    expectCode(() => at.F.layerNorm(x, [4], null, null, -1), 'ERR_ARGUMENT');
    if (device === 'cuda') {
      expectCode(() => at.F.layerNorm(x, [4], at.ones([4], { device: 'cpu' })), 'ERR_DEVICE');
      expectCode(() => at.F.layerNorm(x.cpu(), [4], null, at.ones([4], { device })), 'ERR_DEVICE');
    }
    // The binding checks the buffers itself.
    const buf = (n: number) => (device === 'cpu' ? new Float32Array(n) : at.zeros([n], { device }).buf);
    expectCode(() => native.layerNormForward(buf(8), buf(2), buf(2), buf(4), null, null, 2, 4, 1e-5), 'ERR_SHAPE');
    expectCode(() => native.layerNormForward(buf(8), buf(2), buf(2), buf(8), buf(3), null, 2, 4, 1e-5), 'ERR_SHAPE');
    expectCode(() => native.layerNormForward(buf(8), buf(2), buf(2), buf(8), null, null, 2.5, 4, 1e-5), 'ERR_ARGUMENT');
  });
});
