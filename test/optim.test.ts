import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import * as at from '../lib';
import { native } from '../lib/native';
import { loadFixtures, getFixture, type FixtureCase } from './helpers/fixtures';
import { devices, expectClose, expectCode, fromFixture } from './helpers/devices';

const { optim } = at;

// Parameters are O(1) and each step is ~10 float32 operations on them: the float32 kernels
// differ from PyTorch's float64 run by a few ulps of O(1) values per step.
const PARAM_TOL = { atol: 1e-5, rtol: 1e-5 };
// Moment estimates and momentum buffers: a handful of float32 roundings of values that may be
// small (expAvgSq ~ 1e-3 g^2): relative 1e-5, with an absolute floor far below their size.
const STATE_TOL = { atol: 1e-7, rtol: 1e-5 };
// Norms: float32 sums of <= 1e4 squares (float accumulation on cuda, double on cpu).
const NORM_TOL = { atol: 1e-6, rtol: 1e-5 };

const NPARAMS = 3;
const STEPS = 3;

function makeOptimizer(c: FixtureCase, params: at.Tensor[]): at.optim.Optimizer<any> {
  const a = c.attrs as any;
  if (c.op === 'adamw') return new optim.AdamW(params, { lr: a.lr, betas: a.betas, eps: a.eps, weightDecay: a.weightDecay });
  if (c.op === 'adam') return new optim.Adam(params, { lr: a.lr, betas: a.betas, eps: a.eps, weightDecay: a.weightDecay });
  return new optim.SGD(params, {
    lr: a.lr, momentum: a.momentum, dampening: a.dampening, weightDecay: a.weightDecay, nesterov: a.nesterov,
  });
}

// The fixture's state names (expAvg, expAvgSq, momentumBuffer) -> ours are the same.
function stateKeys(c: FixtureCase): string[] {
  return [...new Set(Object.keys(c.outputs).filter((k) => !/^p\d/.test(k)).map((k) => k.replace(/\d+$/, '')))];
}

function setGrads(c: FixtureCase, params: at.Tensor[], step: number, device: at.DeviceName): void {
  params.forEach((p, i) => {
    p.grad?.dispose();
    p.grad = fromFixture(c.inputs[`g${i}_${step}`], device);
  });
}

function seeded(n: number, seed: number, scale = 1): Float32Array {
  const g = new at.Generator(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = g.normal() * scale;
  return out;
}

// Float64 references of PyTorch's formulas (torch/optim/adam.py, adamw.py, sgd.py), for sizes
// and options the fixtures do not cover.
function refAdam(p: Float64Array, grads: Float32Array[], o: { lr: number; b1: number; b2: number; eps: number; wd: number;
                 decoupled: boolean; amsgrad: boolean }) {
  const n = p.length, m = new Float64Array(n), v = new Float64Array(n), vmax = new Float64Array(n);
  grads.forEach((g, s) => {
    const t = s + 1, bc1 = 1 - o.b1 ** t, bc2 = 1 - o.b2 ** t;
    for (let i = 0; i < n; i++) {
      if (o.decoupled) p[i] *= 1 - o.lr * o.wd;
      const gi = o.decoupled ? g[i] : g[i] + o.wd * p[i];
      m[i] = o.b1 * m[i] + (1 - o.b1) * gi;
      v[i] = o.b2 * v[i] + (1 - o.b2) * gi * gi;
      vmax[i] = Math.max(vmax[i], v[i]);
      const denom = Math.sqrt(o.amsgrad ? vmax[i] : v[i]) / Math.sqrt(bc2) + o.eps;
      p[i] -= (o.lr / bc1) * (m[i] / denom);
    }
  });
  return { p, m, v, vmax };
}

function refSgd(p: Float64Array, grads: Float32Array[], o: { lr: number; momentum: number; dampening: number; wd: number;
                nesterov: boolean }) {
  const buf = new Float64Array(p.length);
  grads.forEach((g, s) => {
    for (let i = 0; i < p.length; i++) {
      let d = g[i] + o.wd * p[i];
      if (o.momentum !== 0) {
        buf[i] = s === 0 ? d : o.momentum * buf[i] + (1 - o.dampening) * d;
        d = o.nesterov ? d + o.momentum * buf[i] : buf[i];
      }
      p[i] -= o.lr * d;
    }
  });
  return { p, buf };
}

describe.each(devices)('optimizers on %s (PyTorch fixtures)', (device) => {
  for (const c of loadFixtures('optim').filter((x) => x.op !== 'clipGradNorm')) {
    it(c.name, () => {
      const params = Array.from({ length: NPARAMS }, (_, i) => fromFixture(c.inputs[`p${i}`], device, true));
      const opt = makeOptimizer(c, params);
      for (let s = 0; s < STEPS; s++) {
        setGrads(c, params, s, device);
        at.tidy(() => opt.step()); // state made inside a tidy scope must outlive it
        params.forEach((p, i) => expectClose(p, c.outputs[`p${i}_${s}`].data, { ...PARAM_TOL, what: `${c.name} p${i} step ${s}` }));
      }
      const keys = stateKeys(c);
      params.forEach((p, i) => {
        const st = opt.state.get(p);
        if (keys.length === 0) expect(st).toBeUndefined(); // plain SGD keeps no state
        for (const k of keys) {
          const t = st![k] as at.Tensor;
          expect(t.device).toBe(device);
          expectClose(t, c.outputs[`${k}${i}`].data, { ...STATE_TOL, what: `${c.name} ${k}${i}` });
        }
        if (c.op !== 'sgd') expect(st!.step).toBe(STEPS);
      });
    });
  }

  for (const c of loadFixtures('optim').filter((x) => x.op !== 'clipGradNorm' && x.name !== 'sgd_plain')) {
    it(`${c.name}: stateDict after step 2 loads into a fresh optimizer and step 3 matches exactly`, () => {
      const params = Array.from({ length: NPARAMS }, (_, i) => fromFixture(c.inputs[`p${i}`], device, true));
      const opt = makeOptimizer(c, params);
      for (let s = 0; s < 2; s++) {
        setGrads(c, params, s, device);
        opt.step();
      }
      const sd = opt.stateDict();
      const fresh = params.map((p) => p.clone().requiresGrad_());
      // The snapshot must not follow the original optimizer as it keeps training.
      setGrads(c, params, 2, device);
      opt.step();

      const other = c.op === 'sgd' ? new optim.SGD(fresh, { lr: 123 }) : makeOptimizer({ ...c, attrs: { ...c.attrs, lr: 123 } }, fresh);
      other.loadStateDict(sd);
      expect(other.paramGroups[0].lr).toBe(c.attrs.lr);
      setGrads(c, fresh, 2, device);
      other.step();
      fresh.forEach((p, i) => {
        expect(p.dataSync()).toEqual(params[i].dataSync());
        expectClose(p, c.outputs[`p${i}_2`].data, { ...PARAM_TOL, what: `${c.name} p${i} after reload` });
        const st = opt.state.get(params[i]);
        if (!st) expect(other.state.get(p)).toBeUndefined(); // SGD without momentum keeps no state
        for (const [k, v] of Object.entries(st ?? {})) {
          const mine = other.state.get(p)![k];
          if (v instanceof at.Tensor) {
            expect((mine as at.Tensor).device).toBe(device);
            expect((mine as at.Tensor).dataSync()).toEqual(v.dataSync());
          } else {
            expect(mine).toBe(v);
          }
        }
      });
    });
  }

  it('stateDict survives at.save / at.load (safetensors), loaded on the cpu', () => {
    const c = getFixture('optim', 'adamw_custom');
    const params = Array.from({ length: NPARAMS }, (_, i) => fromFixture(c.inputs[`p${i}`], device, true));
    const opt = makeOptimizer(c, params);
    for (let s = 0; s < 2; s++) {
      setGrads(c, params, s, device);
      opt.step();
    }
    const dir = mkdtempSync(join(tmpdir(), 'atento-optim-'));
    try {
      at.save({ optimizer: opt.stateDict() }, join(dir, 'opt.safetensors'));
      const loaded = at.load(join(dir, 'opt.safetensors'), { device: 'cpu' });
      const fresh = params.map((p) => p.clone().requiresGrad_());
      const other = new optim.AdamW(fresh);
      other.loadStateDict(loaded.optimizer);
      for (const [ps, o] of [[params, opt], [fresh, other]] as const) {
        setGrads(c, ps, 2, device);
        o.step();
      }
      fresh.forEach((p, i) => expect(p.dataSync()).toEqual(params[i].dataSync()));
      expect((other.state.get(fresh[0])!.expAvg as at.Tensor).device).toBe(device);
      expect(other.paramGroups[0]).toMatchObject({ lr: 0.1, betas: [0.8, 0.95], eps: 1e-6, weightDecay: 0.1 });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  for (const c of loadFixtures('optim', 'clipGradNorm')) {
    it(c.name, () => {
      const params = Array.from({ length: NPARAMS }, (_, i) => {
        const p = at.zeros(c.inputs[`g${i}`].shape, { device, requiresGrad: true });
        p.grad = fromFixture(c.inputs[`g${i}`], device);
        return p;
      });
      const normType = c.attrs.normType === 'inf' ? 'inf' : (c.attrs.normType as number);
      const total = optim.clipGradNorm(params, c.attrs.maxNorm as number, normType);
      expectClose([total], c.outputs.totalNorm.data, { ...NORM_TOL, what: `${c.name} totalNorm` });
      params.forEach((p, i) => expectClose(p.grad!, c.outputs[`g${i}`].data, { ...PARAM_TOL, what: `${c.name} g${i}` }));
    });
  }
});

describe.each(devices)('optimizers on %s against float64 references', (device) => {
  // 1031 elements: several CUDA blocks of 256 and a partial last block.
  const N = 1031;
  const p0 = seeded(N, 1);
  // Shrinking gradients, so that amsgrad's running max differs from v.
  const grads = [seeded(N, 2, 3), seeded(N, 3, 1), seeded(N, 4, 0.2), seeded(N, 5, 0.1)];

  for (const [name, decoupled, amsgrad] of [['Adam', false, false], ['Adam amsgrad', false, true],
                                            ['AdamW amsgrad', true, true]] as const) {
    it(`${name}, ${N} elements`, () => {
      const o = { lr: 0.02, b1: 0.8, b2: 0.9, eps: 1e-6, wd: 0.1, decoupled, amsgrad };
      const p = at.tensor(p0, [N], { device, requiresGrad: true });
      const Cls = decoupled ? optim.AdamW : optim.Adam;
      const opt = new Cls([p], { lr: o.lr, betas: [o.b1, o.b2], eps: o.eps, weightDecay: o.wd, amsgrad });
      for (const g of grads) {
        p.grad = at.tensor(g, [N], { device });
        opt.step();
      }
      const ref = refAdam(Float64Array.from(p0), grads, o);
      expectClose(p, ref.p, { ...PARAM_TOL, what: 'p' });
      expectClose(opt.state.get(p)!.expAvg as at.Tensor, ref.m, { ...STATE_TOL, what: 'expAvg' });
      expectClose(opt.state.get(p)!.expAvgSq as at.Tensor, ref.v, { ...STATE_TOL, what: 'expAvgSq' });
      if (amsgrad) expectClose(opt.state.get(p)!.maxExpAvgSq as at.Tensor, ref.vmax, { ...STATE_TOL, what: 'maxExpAvgSq' });
      else expect(opt.state.get(p)!.maxExpAvgSq).toBeUndefined();
    });
  }

  it(`SGD nesterov with weight decay, ${N} elements`, () => {
    const o = { lr: 0.05, momentum: 0.7, dampening: 0, wd: 0.03, nesterov: true };
    const p = at.tensor(p0, [N], { device, requiresGrad: true });
    const opt = new optim.SGD([p], { lr: o.lr, momentum: o.momentum, weightDecay: o.wd, nesterov: true });
    for (const g of grads) {
      p.grad = at.tensor(g, [N], { device });
      opt.step();
    }
    const ref = refSgd(Float64Array.from(p0), grads, o);
    expectClose(p, ref.p, { ...PARAM_TOL, what: 'p' });
    expectClose(opt.state.get(p)!.momentumBuffer as at.Tensor, ref.buf, { ...STATE_TOL, what: 'momentumBuffer' });
  });

  it('clipGradNorm over many tensors of odd sizes, p = 1, 2, 3 and inf', () => {
    // Sizes around the CUDA block (256) and grid-stride boundaries, plus empty and 1-element grads;
    // 140001 > 512 blocks x 256 threads, so norm threads loop (grid-stride) on cuda.
    const sizes = [1, 0, 255, 257, 3001, 140001];
    const gs = sizes.map((n, i) => seeded(n, 10 + i, 0.5));
    gs[4][1234] = -7.5; // the inf norm: one clear maximum, negative
    for (const normType of [1, 2, 3, 'inf'] as const) {
      const params = sizes.map((n, i) => {
        const p = at.zeros([n], { device, requiresGrad: true });
        p.grad = at.tensor(gs[i], [n], { device });
        return p;
      });
      const pNum = normType === 'inf' ? Infinity : normType;
      let want = 0;
      for (const g of gs) for (const x of g) want = pNum === Infinity ? Math.max(want, Math.abs(x)) : want + Math.abs(x) ** pNum;
      if (pNum !== Infinity) want **= 1 / pNum;
      const total = optim.clipGradNorm(params, 1.5, normType);
      expectClose([total], [want], { atol: 0, rtol: 2e-5, what: `norm ${normType}` });
      const coef = Math.min(1.5 / (want + 1e-6), 1);
      params.forEach((p, i) => expectClose(p.grad!, gs[i].map((x) => x * coef), { atol: 1e-7, rtol: 2e-5, what: `grad ${i}` }));
    }
  });
});

describe.each(devices)('optimizer API on %s', (device) => {
  const vec = (xs: number[], requiresGrad = true) => at.tensor(xs, { device, requiresGrad });

  it('parameter groups take their own lr; params without a grad are skipped', () => {
    const a = vec([1, 2]), b = vec([3, 4]), frozen = vec([5, 6]);
    const opt = new optim.SGD([{ params: [a] }, { params: [b, frozen], lr: 0.5 }], { lr: 0.1 });
    expect(opt.paramGroups.map((g) => g.lr)).toEqual([0.1, 0.5]);
    expect(opt.paramGroups[1].momentum).toBe(0);
    a.grad = vec([1, 1], false);
    b.grad = vec([1, -1], false);
    opt.step();
    expectClose(a, [0.9, 1.9], { atol: 1e-7, rtol: 0 });
    expectClose(b, [2.5, 4.5], { atol: 1e-7, rtol: 0 });
    expect(Array.from(frozen.dataSync())).toEqual([5, 6]);
    const c = vec([1]);
    opt.addParamGroup({ params: [c], lr: 1, weightDecay: 0.5 });
    c.grad = vec([1], false);
    opt.step();
    expectClose(c, [1 - (1 + 0.5)], { atol: 1e-7, rtol: 0 });
    expectCode(() => opt.addParamGroup({ params: [a] }), 'ERR_ARGUMENT'); // already in a group
  });

  it('zeroGrad sets grads to null by default, or zeroes them in place', () => {
    const p = vec([1, 2, 3]);
    const opt = new optim.Adam([p]);
    p.grad = vec([1, 2, 3], false);
    const g = p.grad;
    opt.zeroGrad({ setToNone: false });
    expect(p.grad).toBe(g);
    expect(Array.from(p.grad!.dataSync())).toEqual([0, 0, 0]);
    opt.zeroGrad();
    expect(p.grad).toBeNull();
    expect(g.disposed).toBe(true);
    opt.step(); // nothing has a grad: nothing changes, no state is made
    expect(Array.from(p.dataSync())).toEqual([1, 2, 3]);
    expect(opt.state.size).toBe(0);
  });

  it('step(closure) runs the closure first and returns its loss', () => {
    const p = vec([2]);
    const opt = new optim.SGD([p], { lr: 0.25 });
    const loss = opt.step(() => {
      p.grad = vec([4], false);
      return 7;
    });
    expect(loss).toBe(7);
    expectClose(p, [1], { atol: 0, rtol: 0 });
  });

  it('rejects bad hyperparameters and parameters', () => {
    const p = vec([1]);
    expectCode(() => new optim.SGD([p], { lr: -0.1 }), 'ERR_ARGUMENT');
    expectCode(() => new optim.SGD([p], {} as any), 'ERR_ARGUMENT'); // lr is required
    expectCode(() => new optim.Adam([p], { lr: -1e-3 }), 'ERR_ARGUMENT');
    expectCode(() => new optim.AdamW([p], { lr: -1 }), 'ERR_ARGUMENT');
    expectCode(() => new optim.Adam([p], { betas: [1, 0.9] }), 'ERR_ARGUMENT');
    expectCode(() => new optim.Adam([p], { betas: [0.9, -0.1] }), 'ERR_ARGUMENT');
    expectCode(() => new optim.Adam([p], { eps: -1 }), 'ERR_ARGUMENT');
    expectCode(() => new optim.AdamW([p], { weightDecay: -1 }), 'ERR_ARGUMENT');
    expectCode(() => new optim.SGD([p], { lr: 0.1, momentum: -0.5 }), 'ERR_ARGUMENT');
    expectCode(() => new optim.SGD([p], { lr: 0.1, nesterov: true }), 'ERR_ARGUMENT'); // needs momentum
    expectCode(() => new optim.SGD([p], { lr: 0.1, momentum: 0.9, dampening: 0.1, nesterov: true }), 'ERR_ARGUMENT');
    expectCode(() => new optim.SGD([], { lr: 0.1 }), 'ERR_ARGUMENT');
    expectCode(() => new optim.SGD([p, p], { lr: 0.1 }), 'ERR_ARGUMENT');
    expectCode(() => new optim.SGD([at.tensor([1], { device, dtype: 'int32' })], { lr: 0.1 }), 'ERR_DTYPE');
    const nonLeaf = at.matmul(vec([1, 2]), vec([3, 4]));
    expectCode(() => new optim.SGD([nonLeaf], { lr: 0.1 }), 'ERR_ARGUMENT');
    // A scheduler (or a user) setting a negative lr is caught at the next step.
    const opt = new optim.SGD([p], { lr: 0.1 });
    opt.paramGroups[0].lr = -1;
    p.grad = vec([1], false);
    expectCode(() => opt.step(), 'ERR_ARGUMENT');
  });

  it('rejects grads that do not fit their parameter, before changing anything', () => {
    const a = vec([1, 2]), b = vec([3, 4]);
    const opt = new optim.Adam([a, b], { lr: 0.1 });
    a.grad = vec([1, 1], false);
    b.grad = vec([1, 1, 1], false);
    expectCode(() => opt.step(), 'ERR_SHAPE');
    b.grad = at.tensor([1, 1], { device, dtype: 'int32' });
    expectCode(() => opt.step(), 'ERR_DTYPE');
    if (device === 'cuda') {
      b.grad = at.tensor([1, 1], { device: 'cpu' });
      expectCode(() => opt.step(), 'ERR_DEVICE');
    }
    expect(Array.from(a.dataSync())).toEqual([1, 2]); // the valid first param was not updated
    expect(opt.state.size).toBe(0);
  });

  it('loadStateDict rejects a state dict that does not match', () => {
    const a = vec([1, 2]);
    const opt = new optim.Adam([a]);
    a.grad = vec([1, 1], false);
    opt.step();
    const sd = opt.stateDict();
    expect(sd.paramGroups[0]).toMatchObject({ params: [0], lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0, amsgrad: false });
    expect(sd.state[0].step).toBe(1);
    expectCode(() => new optim.Adam([vec([1]), vec([2])]).loadStateDict(sd), 'ERR_CHECKPOINT');
    const wrongShape = new optim.Adam([vec([1, 2, 3])]);
    expectCode(() => wrongShape.loadStateDict(sd), 'ERR_CHECKPOINT');
    expect(wrongShape.state.size).toBe(0);
    const two = new optim.Adam([{ params: [vec([1, 2])] }, { params: [vec([3])] }]);
    expectCode(() => two.loadStateDict(sd), 'ERR_CHECKPOINT');
  });

  it('clipGradNorm: skips params without grads, errorIfNonfinite, normType checks', () => {
    const a = vec([3, 4]), b = vec([1]);
    a.grad = vec([3, 4], false);
    expect(optim.clipGradNorm([a, b], 10)).toBeCloseTo(5, 5);
    expect(Array.from(a.grad!.dataSync())).toEqual([3, 4]); // under maxNorm: unchanged
    expect(optim.clipGradNorm([b], 1)).toBe(0); // no grads at all
    expect(optim.clipGradNorm(a, 1)).toBeCloseTo(5, 5); // a single tensor
    expectClose(a.grad!, [0.6, 0.8], { atol: 1e-6, rtol: 0 });
    a.grad = vec([Infinity, 1], false);
    expectCode(() => optim.clipGradNorm([a], 1, 2, { errorIfNonfinite: true }), 'ERR_NAN');
    expect(Array.from(a.grad!.dataSync())).toEqual([Infinity, 1]); // nothing scaled
    a.grad = vec([NaN, 1], false);
    expectCode(() => optim.clipGradNorm([a], 1, 'inf', { errorIfNonfinite: true }), 'ERR_NAN');
    expect(Number.isNaN(optim.clipGradNorm([a], 1, 'inf'))).toBe(true); // PyTorch scales by NaN too
    expect(Number.isNaN(a.grad!.dataSync()[1])).toBe(true);
    // a NaN far into a large grad (the cpu norm reduces it in pieces of 16384 and combines them)
    const big = at.zeros([40000], { device, requiresGrad: true });
    const gBig = new Float32Array(40000).fill(0.5);
    gBig[35000] = NaN;
    big.grad = at.tensor(gBig, [40000], { device });
    expect(Number.isNaN(optim.clipGradNorm([big], 1, 'inf'))).toBe(true);
    gBig[35000] = -3;
    big.grad = at.tensor(gBig, [40000], { device });
    expect(optim.clipGradNorm([big], 1e9, 'inf')).toBe(3);
    expectCode(() => optim.clipGradNorm([a], 1, 0), 'ERR_ARGUMENT');
    expectCode(() => optim.clipGradNorm([a], 1, -2), 'ERR_ARGUMENT');
  });

  it('native kernels guard their buffers', () => {
    const small = at.zeros([4], { device }).buf, other = at.zeros([4], { device }).buf;
    expectCode(() => native.adamStep(small, other, small, small, null, 100, 0.9, 0.999, 0.1, 0.001, 1e-8, 1, 0, 1e-3, 1), 'ERR_SHAPE');
    expectCode(() => native.sgdStep(small, other, null, 4, 0.1, 0.9, 0, 0, false, true), 'ERR_ARGUMENT'); // momentum, no buffer
    expectCode(() => native.gradNorms([small, other], [4], 2), 'ERR_ARGUMENT');
    expectCode(() => native.gradNorms([small], [5], 2), 'ERR_SHAPE');
    expectCode(() => native.gradNorms([at.zeros([4], { device, dtype: 'int32' }).buf], [4], 2), 'ERR_DTYPE');
    expectCode(() => native.gradScale(small, 5, 2), 'ERR_SHAPE');
    if (device === 'cuda') {
      const host = new Float32Array(4);
      expectCode(() => native.gradNorms([small, host], [4, 4], 2), 'ERR_DEVICE');
      expectCode(() => native.adamStep(small, host, small, small, null, 4, 0.9, 0.999, 0.1, 0.001, 1e-8, 1, 0, 1e-3, 1), 'ERR_DEVICE');
    }
  });
});

describe.each(devices)('learning-rate schedulers on %s', (device) => {
  const opt = (lrs: number[]) =>
    new optim.SGD(lrs.map((lr) => ({ params: [at.zeros([1], { device, requiresGrad: true })], lr })), { lr: 1 });
  const run = (s: at.optim.lrScheduler.LRScheduler, steps: number) => {
    const out = [s.getLastLr()];
    for (let i = 0; i < steps; i++) {
      s.step();
      out.push(s.getLastLr());
    }
    return out;
  };
  const close = (got: number[][], want: number[][]) => {
    expect(got.length).toBe(want.length);
    got.forEach((row, i) => row.forEach((x, j) => expect(x).toBeCloseTo(want[i][j], 12)));
  };

  it('StepLR', () => {
    const o = opt([1, 0.1]);
    const s = new optim.lrScheduler.StepLR(o, { stepSize: 2, gamma: 0.5 });
    close(run(s, 5), [[1, 0.1], [1, 0.1], [0.5, 0.05], [0.5, 0.05], [0.25, 0.025], [0.25, 0.025]]);
    expect(o.paramGroups.map((g) => g.lr)).toEqual(s.getLastLr());
  });

  it('CosineAnnealingLR', () => {
    const s = new optim.lrScheduler.CosineAnnealingLR(opt([1]), { tMax: 4, etaMin: 0.1 });
    // 0.1 + 0.9 (1 + cos(pi t / 4)) / 2 for t = 0..6 (periodic past tMax, as in PyTorch)
    const c1 = 0.1 + 0.9 * 0.8535533905932737, c3 = 0.1 + 0.9 * 0.14644660940672627;
    close(run(s, 6), [[1], [c1], [0.55], [c3], [0.1], [c3], [0.55]]);
  });

  it('LambdaLR, one function or one per group', () => {
    close(run(new optim.lrScheduler.LambdaLR(opt([0.2]), (e) => 0.5 ** e), 3), [[0.2], [0.1], [0.05], [0.025]]);
    const s = new optim.lrScheduler.LambdaLR(opt([1, 2]), [(e) => e + 1, () => 0.5]);
    close(run(s, 2), [[1, 1], [2, 1], [3, 1]]);
    expectCode(() => new optim.lrScheduler.LambdaLR(opt([1, 2]), [(e) => e]), 'ERR_ARGUMENT');
  });

  it('cosineWithWarmup', () => {
    const s = optim.lrScheduler.cosineWithWarmup(opt([1]), { warmupSteps: 2, totalSteps: 6, minLr: 0.1 });
    const c = (x: number) => 0.1 + 0.9 * x;
    close(run(s, 8), [[0.5], [1], [1], [c(0.8535533905932737)], [0.55], [c(0.14644660940672627)], [0.1], [0.1], [0.1]]);
    expect(optim.cosineWithWarmup).toBe(optim.lrScheduler.cosineWithWarmup);
    expectCode(() => optim.cosineWithWarmup(opt([1]), { warmupSteps: 5, totalSteps: 4 }), 'ERR_ARGUMENT');
    expectCode(() => new optim.lrScheduler.StepLR(opt([1]), { stepSize: 0 }), 'ERR_ARGUMENT');
  });

  it('the optimizer steps with the scheduled lr; scheduler state round-trips', () => {
    const p = at.tensor([0], { device, requiresGrad: true });
    const o = new optim.SGD([p], { lr: 1 });
    const s = new optim.lrScheduler.StepLR(o, { stepSize: 1, gamma: 0.5 });
    for (let i = 0; i < 3; i++) {
      p.grad = at.tensor([1], { device });
      o.step();
      s.step();
    }
    expectClose(p, [-(1 + 0.5 + 0.25)], { atol: 1e-7, rtol: 0 });
    const s2 = new optim.lrScheduler.StepLR(new optim.SGD([at.zeros([1], { device })], { lr: 1 }), { stepSize: 1, gamma: 0.5 });
    s2.loadStateDict(s.stateDict());
    s.step();
    s2.step();
    expect(s2.getLastLr()).toEqual(s.getLastLr());
    expect(s2.lastEpoch).toBe(4);
  });
});

describe.each(devices)('end to end on %s: minimising a quadratic', (device) => {
  const target = [1.5, -2, 0.25, 3, -0.75];
  // loss = p·p - 2 t·p = |p - t|^2 - |t|^2, by at.matmul and autograd: two backward passes
  // accumulate 2p and -2t into p.grad.
  const lossBackward = (p: at.Tensor, minus2t: at.Tensor) =>
    at.tidy(() => {
      at.matmul(p, p).backward();
      at.matmul(minus2t, p).backward();
    });

  for (const [name, make, steps, schedule] of [
    ['SGD with momentum and gradient clipping', (ps: at.Tensor[]) => new optim.SGD(ps, { lr: 0.05, momentum: 0.5 }), 80, false],
    ['AdamW with cosine warm-up', (ps: at.Tensor[]) => new optim.AdamW(ps, { lr: 0.2, weightDecay: 0 }), 300, true],
  ] as const) {
    it(`${name} reaches the target`, () => {
      const p = at.zeros([target.length], { device, requiresGrad: true });
      const minus2t = at.tensor(target.map((x) => -2 * x), { device });
      const opt = make([p]);
      const sched = schedule ? optim.cosineWithWarmup(opt, { warmupSteps: 10, totalSteps: steps, minLr: 0 }) : null;
      for (let i = 0; i < steps; i++) {
        opt.zeroGrad();
        lossBackward(p, minus2t);
        if (!schedule) optim.clipGradNorm([p], 5);
        opt.step();
        sched?.step();
      }
      expectClose(p, target, { atol: 1e-4, rtol: 0, what: name });
    });
  }
});

// getFixture is used to make sure the fixture file is the one documented (3 params, 3 steps).
it('optim fixtures have the documented layout', () => {
  const c = getFixture('optim', 'adamw_default');
  expect(c.attrs.steps).toBe(STEPS);
  expect(c.attrs.numParams).toBe(NPARAMS);
});
