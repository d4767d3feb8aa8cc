import { describe, expect, it } from 'vitest';
import * as at from '../lib';
import { native } from '../lib/native';
import { loadFixtures } from './helpers/fixtures';
import { devices, expectClose, expectCode, fromFixture } from './helpers/devices';

// float32 throughout; a gate sums I + H <= 16 products, and up to 7 steps compound the rounding
// of the recurrence (forward and backward): errors stay within a few 1e-6 of values O(1).
const TOL = { atol: 2e-5, rtol: 1e-4 };
// Sizes up to H = 37, I = 11, T = 9 against float64: a few more ulps of accumulated rounding.
const REF_TOL = { atol: 5e-5, rtol: 2e-4 };

type Arr = Float32Array | Float64Array;

// --- float64 reference: the LSTM and its backward through time, written from the formulas ---

interface RefIn {
  T: number; B: number; I: number; H: number;
  x: Arr; h0: Arr | null; c0: Arr | null; wIh: Arr; wHh: Arr; bIh: Arr | null; bHh: Arr | null;
}
interface RefGrads { gOut: Arr | null; ghN: Arr | null; gcN: Arr | null }

const sig = (v: number) => 1 / (1 + Math.exp(-v));

function refLstm(p: RefIn, g?: RefGrads) {
  const { T, B, I, H } = p, G = 4 * H;
  const out = new Float64Array(T * B * H), cs = new Float64Array(T * B * H), acts = new Float64Array(T * B * G);
  const hPrev = (t: number, b: number, k: number) => (t ? out[((t - 1) * B + b) * H + k] : p.h0 ? p.h0[b * H + k] : 0);
  const cPrev = (t: number, b: number, k: number) => (t ? cs[((t - 1) * B + b) * H + k] : p.c0 ? p.c0[b * H + k] : 0);
  for (let t = 0; t < T; t++)
    for (let b = 0; b < B; b++) {
      const pre = new Float64Array(G);
      for (let r = 0; r < G; r++) {
        let s = (p.bIh ? p.bIh[r] : 0) + (p.bHh ? p.bHh[r] : 0);
        for (let k = 0; k < I; k++) s += p.x[(t * B + b) * I + k] * p.wIh[r * I + k];
        for (let k = 0; k < H; k++) s += hPrev(t, b, k) * p.wHh[r * H + k];
        pre[r] = s;
      }
      for (let k = 0; k < H; k++) {
        const i = sig(pre[k]), f = sig(pre[H + k]), gg = Math.tanh(pre[2 * H + k]), o = sig(pre[3 * H + k]);
        const c = f * cPrev(t, b, k) + i * gg;
        const a = (t * B + b) * G;
        acts[a + k] = i; acts[a + H + k] = f; acts[a + 2 * H + k] = gg; acts[a + 3 * H + k] = o;
        cs[(t * B + b) * H + k] = c;
        out[(t * B + b) * H + k] = o * Math.tanh(c);
      }
    }
  const hN = out.slice((T - 1) * B * H), cN = cs.slice((T - 1) * B * H);
  if (!g) return { out, hN, cN, grads: undefined };

  const dx = new Float64Array(T * B * I), dWih = new Float64Array(G * I), dWhh = new Float64Array(G * H);
  const db = new Float64Array(G);
  let dh = Float64Array.from(g.ghN ?? new Float64Array(B * H)), dc = Float64Array.from(g.gcN ?? new Float64Array(B * H));
  for (let t = T - 1; t >= 0; t--) {
    const dhPrev = new Float64Array(B * H);
    for (let b = 0; b < B; b++) {
      const dpre = new Float64Array(G);
      for (let k = 0; k < H; k++) {
        const a = (t * B + b) * G, m = b * H + k;
        const i = acts[a + k], f = acts[a + H + k], gg = acts[a + 2 * H + k], o = acts[a + 3 * H + k];
        const tc = Math.tanh(cs[(t * B + b) * H + k]);
        const dht = dh[m] + (g.gOut ? g.gOut[(t * B + b) * H + k] : 0);
        const dct = dc[m] + dht * o * (1 - tc * tc);
        dpre[k] = dct * gg * i * (1 - i);
        dpre[H + k] = dct * cPrev(t, b, k) * f * (1 - f);
        dpre[2 * H + k] = dct * i * (1 - gg * gg);
        dpre[3 * H + k] = dht * tc * o * (1 - o);
        dc[m] = dct * f;
      }
      for (let r = 0; r < G; r++) {
        db[r] += dpre[r];
        for (let k = 0; k < I; k++) {
          dx[(t * B + b) * I + k] += dpre[r] * p.wIh[r * I + k];
          dWih[r * I + k] += dpre[r] * p.x[(t * B + b) * I + k];
        }
        for (let k = 0; k < H; k++) {
          dhPrev[b * H + k] += dpre[r] * p.wHh[r * H + k];
          dWhh[r * H + k] += dpre[r] * hPrev(t, b, k);
        }
      }
    }
    dh = dhPrev;
  }
  return { out, hN, cN, grads: { x: dx, h0: dh, c0: dc, wIh: dWih, wHh: dWhh, bIh: db, bHh: db } };
}

// Deterministic pseudo-random values in [-scale, scale).
function rand(n: number, seed: number, scale = 1): Float32Array {
  const a = new Float32Array(n);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    a[i] = ((s / 4294967296) * 2 - 1) * scale;
  }
  return a;
}

function makeCase(T: number, B: number, I: number, H: number, seed: number, opts: { bias?: boolean; state?: boolean } = {}) {
  const bias = opts.bias ?? true, state = opts.state ?? true;
  const w = 1 / Math.sqrt(H);
  return {
    T, B, I, H,
    x: rand(T * B * I, seed + 1), h0: state ? rand(B * H, seed + 2, 0.5) : null, c0: state ? rand(B * H, seed + 3) : null,
    wIh: rand(4 * H * I, seed + 4, w), wHh: rand(4 * H * H, seed + 5, w),
    bIh: bias ? rand(4 * H, seed + 6, w) : null, bHh: bias ? rand(4 * H, seed + 7, w) : null,
    gOut: rand(T * B * H, seed + 8), ghN: rand(B * H, seed + 9), gcN: rand(B * H, seed + 10),
  };
}
type Case = ReturnType<typeof makeCase>;

// Our op on `device` with every input requiring grad; backward of <out,gOut> + <hN,ghN> + <cN,gcN>
// as three backward calls that accumulate into the leaves (which also exercises retainGraph).
function runOurs(c: Case, device: at.DeviceName) {
  const t = (a: Float32Array | null, shape: number[]) => (a ? at.tensor(a, shape, { device, requiresGrad: true }) : null);
  const ins = {
    x: t(c.x, [c.T, c.B, c.I])!, h0: t(c.h0, [c.B, c.H]), c0: t(c.c0, [c.B, c.H]),
    wIh: t(c.wIh, [4 * c.H, c.I])!, wHh: t(c.wHh, [4 * c.H, c.H])!, bIh: t(c.bIh, [4 * c.H]), bHh: t(c.bHh, [4 * c.H]),
  };
  const state = ins.h0 && ins.c0 ? ([ins.h0, ins.c0] as const) : null;
  const [out, hN, cN] = at.F.lstm(ins.x, state, ins.wIh, ins.wHh, ins.bIh, ins.bHh);
  out.backward(at.tensor(c.gOut, out.shape, { device }), { retainGraph: true });
  hN.backward(at.tensor(c.ghN, hN.shape, { device }), { retainGraph: true });
  cN.backward(at.tensor(c.gcN, cN.shape, { device }));
  const grads: Record<string, Float32Array | null> = {};
  for (const [k, v] of Object.entries(ins)) grads[k] = v ? (v.grad!.dataSync() as Float32Array) : null;
  return { out: out.dataSync(), hN: hN.dataSync(), cN: cN.dataSync(), grads };
}

describe.each(devices)('lstm and lstmCell on %s (PyTorch fixtures)', (device) => {
  for (const c of loadFixtures('lstm')) {
    it(c.name, () => {
      const ins: Record<string, at.Tensor> = {};
      for (const [k, v] of Object.entries(c.inputs)) ins[k] = fromFixture(v, device, true);
      const outs: Record<string, at.Tensor> = {};
      if (c.op === 'lstmCell') {
        [outs.h, outs.c] = at.F.lstmCell(ins.x, [ins.h, ins.c], ins.wIh, ins.wHh, ins.bIh, ins.bHh);
      } else {
        expect(c.op).toBe('lstm');
        [outs.out, outs.hN, outs.cN] = at.F.lstm(ins.x, [ins.h0, ins.c0], ins.wIh, ins.wHh, ins.bIh, ins.bHh);
      }
      const names = Object.keys(c.outputs);
      expect(names.sort()).toEqual(Object.keys(outs).sort());
      for (const k of names) {
        expect(outs[k].shape).toEqual(c.outputs[k].shape);
        expectClose(outs[k], c.outputs[k].data, { ...TOL, what: `${c.name} ${k}` });
      }
      // d(sum_k <outputs[k], gouts[k]>): one backward per output, accumulating into the leaves.
      names.forEach((k, n) => outs[k].backward(fromFixture(c.gouts[k], device), { retainGraph: n < names.length - 1 }));
      expect(Object.keys(c.grads).sort()).toEqual(Object.keys(ins).sort());
      for (const [k, g] of Object.entries(c.grads)) expectClose(ins[k].grad!, g.data, { ...TOL, what: `${c.name} grad ${k}` });
    });
  }
});

describe.each(devices)('lstm on %s against a float64 reference', (device) => {
  // Odd sizes: H = 37 and I = 11 leave vector-loop tails on the CPU and partial blocks on CUDA;
  // T >= 4 takes the CPU's packed-weight recurrent GEMM, T < 4 plain sgemm.
  const shapes: [string, Case][] = [
    ['T9 B5 I11 H37', makeCase(9, 5, 11, 37, 100)],
    ['T4 B3 I7 H5, no bias, no initial state', makeCase(4, 3, 7, 5, 200, { bias: false, state: false })],
    ['T1 B1 I1 H1', makeCase(1, 1, 1, 1, 300)],
    ['T6 B2 I3 H33, no initial state', makeCase(6, 2, 3, 33, 400, { state: false })],
    ['T2 B2 I3 H257 (more than one block of units on CUDA)', makeCase(2, 2, 3, 257, 600)],
  ];
  for (const [name, c] of shapes) {
    it(name, () => {
      const ref = refLstm(c, c);
      const ours = runOurs(c, device);
      expectClose(ours.out, ref.out, { ...REF_TOL, what: `${name} out` });
      expectClose(ours.hN, ref.hN, { ...REF_TOL, what: `${name} hN` });
      expectClose(ours.cN, ref.cN, { ...REF_TOL, what: `${name} cN` });
      for (const [k, g] of Object.entries(ours.grads)) {
        if (!g) continue;
        expectClose(g, ref.grads![k as keyof typeof ref.grads], { ...REF_TOL, what: `${name} grad ${k}` });
      }
      if (device === 'cuda') {
        // CPU and CUDA agree with each other as well as with the reference.
        const cpu = runOurs(c, 'cpu');
        expectClose(ours.out, cpu.out, { ...REF_TOL, what: `${name} out cuda vs cpu` });
        for (const [k, g] of Object.entries(ours.grads)) if (g) expectClose(g, cpu.grads[k]!, { ...REF_TOL, what: `${name} grad ${k} cuda vs cpu` });
      }
    });
  }

  it('extreme pre-activations saturate without NaN (sigmoid and tanh tails)', () => {
    const c = makeCase(3, 2, 4, 6, 500);
    c.x = rand(c.x.length, 501, 60); // gates far beyond +-20
    const ref = refLstm(c, c);
    const ours = runOurs(c, device);
    expectClose(ours.out, ref.out, { ...REF_TOL, what: 'saturated out' });
    for (const [k, g] of Object.entries(ours.grads))
      if (g) expectClose(g, ref.grads![k as keyof typeof ref.grads], { atol: 1e-4, rtol: 1e-3, what: `saturated grad ${k}` });
  });
});

describe.each(devices)('lstm on %s: gradients by finite differences', (device) => {
  // Central differences of L = <out,gOut> + <hN,ghN> + <cN,gcN> through our own float32 forward,
  // summed in float64. With step 1e-2 the truncation error is ~1e-5 and float32 rounding of L
  // divided by the step ~1e-5, so 2e-3 + 1e-2 relative is a safe bound that still catches a
  // wrong term (those are O(0.1)).
  it('every input of a tiny sequence (T=3, B=2, I=3, H=2)', () => {
    const c = makeCase(3, 2, 3, 2, 700);
    const loss = (k: keyof Case, idx: number, delta: number) => {
      const saved = (c[k] as Float32Array)[idx];
      (c[k] as Float32Array)[idx] = saved + delta;
      const L = at.noGrad(() => {
        const t = (a: Float32Array | null, shape: number[]) => (a ? at.tensor(a, shape, { device }) : null);
        const [out, hN, cN] = at.F.lstm(t(c.x, [c.T, c.B, c.I])!, [t(c.h0, [c.B, c.H])!, t(c.c0, [c.B, c.H])!],
                                        t(c.wIh, [4 * c.H, c.I])!, t(c.wHh, [4 * c.H, c.H])!, t(c.bIh, [4 * c.H]), t(c.bHh, [4 * c.H]));
        let s = 0;
        for (const [o, g] of [[out, c.gOut], [hN, c.ghN], [cN, c.gcN]] as const) {
          const d = o.dataSync();
          for (let i = 0; i < d.length; i++) s += d[i] * g[i];
        }
        return s;
      });
      (c[k] as Float32Array)[idx] = saved;
      return L;
    };
    const ours = runOurs(c, device);
    const h = 1e-2;
    for (const k of ['x', 'h0', 'c0', 'wIh', 'wHh', 'bIh', 'bHh'] as const) {
      const n = (c[k] as Float32Array).length;
      const fd = new Float64Array(n);
      for (let i = 0; i < n; i++) fd[i] = (loss(k, i, h) - loss(k, i, -h)) / (2 * h);
      expectClose(ours.grads[k]!, fd, { atol: 2e-3, rtol: 1e-2, what: `finite differences ${k}` });
    }
  });
});

describe.each(devices)('lstm on %s: state, cell and graph handling', (device) => {
  it('a state carried from one call to the next gets its gradient (same as one call over both)', () => {
    const c = makeCase(6, 3, 4, 5, 800);
    const whole = runOurs(c, device);
    // Split the sequence at t = 2 and carry [hN, cN] into the second call.
    const t = (a: Float32Array, shape: number[]) => at.tensor(a, shape, { device, requiresGrad: true });
    const x = t(c.x, [c.T, c.B, c.I]);
    const [h0, c0] = [t(c.h0!, [c.B, c.H]), t(c.c0!, [c.B, c.H])];
    const w = [t(c.wIh, [20, 4]), t(c.wHh, [20, 5]), t(c.bIh!, [20]), t(c.bHh!, [20])] as const;
    const s = 2 * c.B * c.I, g = 2 * c.B * c.H;
    const x1 = t(c.x.slice(0, s), [2, c.B, c.I]), x2 = t(c.x.slice(s), [4, c.B, c.I]);
    const [out1, h1, c1] = at.F.lstm(x1, [h0, c0], ...w);
    const [out2, h2, c2] = at.F.lstm(x2, [h1, c1], ...w);
    expectClose(out2, whole.out.slice(g), { ...TOL, what: 'second half out' });
    out1.backward(at.tensor(c.gOut.slice(0, g), out1.shape, { device }), { retainGraph: true });
    out2.backward(at.tensor(c.gOut.slice(g), out2.shape, { device }), { retainGraph: true });
    h2.backward(at.tensor(c.ghN, h2.shape, { device }), { retainGraph: true });
    c2.backward(at.tensor(c.gcN, c2.shape, { device }));
    const dx = new Float32Array([...x1.grad!.dataSync(), ...x2.grad!.dataSync()]);
    expectClose(dx, whole.grads.x!, { ...TOL, what: 'dx across the split' });
    expectClose(h0.grad!, whole.grads.h0!, { ...TOL, what: 'dh0 across the split' });
    expectClose(c0.grad!, whole.grads.c0!, { ...TOL, what: 'dc0 across the split' });
    ['wIh', 'wHh', 'bIh', 'bHh'].forEach((k, i) => expectClose(w[i].grad!, whole.grads[k]!, { ...TOL, what: `d${k} across the split` }));
    void x;
  });

  it('lstmCell equals one step of lstm, and without a state starts from zeros', () => {
    const c = makeCase(1, 4, 3, 6, 900);
    const t = (a: Float32Array | null, shape: number[]) => at.tensor(a!, shape, { device });
    const w = [t(c.wIh, [24, 3]), t(c.wHh, [24, 6]), t(c.bIh, [24]), t(c.bHh, [24])] as const;
    const x = t(c.x, [4, 3]);
    const [h1, c1] = at.F.lstmCell(x, null, ...w);
    const zeros = at.zeros([4, 6], { device });
    const [h2, c2] = at.F.lstmCell(x, [zeros, zeros], ...w);
    const [out, hN, cN] = at.F.lstm(t(c.x, [1, 4, 3]), null, ...w);
    expect(h1.shape).toEqual([4, 6]);
    expect(Array.from(h1.dataSync())).toEqual(Array.from(h2.dataSync()));
    expect(Array.from(c1.dataSync())).toEqual(Array.from(c2.dataSync()));
    expect(Array.from(h1.dataSync())).toEqual(Array.from(out.dataSync()));
    expect(Array.from(h1.dataSync())).toEqual(Array.from(hN.dataSync()));
    expect(Array.from(c1.dataSync())).toEqual(Array.from(cN.dataSync()));
  });

  it('backward still works after the outputs were disposed, and twice with retainGraph', () => {
    const c = makeCase(3, 2, 3, 4, 1000, { bias: false, state: false });
    const ref = refLstm(c, { gOut: null, ghN: c.ghN, gcN: null });
    const wIh = at.tensor(c.wIh, [16, 3], { device, requiresGrad: true });
    const [out, hN] = at.F.lstm(at.tensor(c.x, [3, 2, 3], { device }), null, wIh, at.tensor(c.wHh, [16, 4], { device }));
    out.dispose();
    const g = at.tensor(c.ghN, [2, 4], { device });
    hN.backward(g, { retainGraph: true });
    expectClose(wIh.grad!, ref.grads!.wIh, { ...REF_TOL, what: 'dWih' });
    hN.backward(g);
    expectClose(wIh.grad!, ref.grads!.wIh.map((v) => 2 * v), { ...REF_TOL, what: 'dWih after two backwards' });
    expectCode(() => hN.backward(g), 'ERR_ARGUMENT'); // the graph was freed by the second
  });

  it('records nothing without requiresGrad or under noGrad', () => {
    const c = makeCase(2, 2, 3, 4, 1100);
    const w = at.tensor(c.wIh, [16, 3], { device, requiresGrad: true });
    const args = [at.tensor(c.x, [2, 2, 3], { device }), null, w, at.tensor(c.wHh, [16, 4], { device })] as const;
    const [out] = at.noGrad(() => at.F.lstm(...args));
    expect(out.requiresGrad).toBe(false);
    expect(out.gradFn).toBe(null);
    const [out2] = at.F.lstm(args[0], null, at.tensor(c.wIh, [16, 3], { device }), args[3]);
    expect(out2.gradFn).toBe(null);
    const [out3] = at.F.lstm(...args);
    expect(out3.requiresGrad).toBe(true);
  });
});

describe.each(devices)('lstm on %s: bad arguments', (device) => {
  const z = (shape: number[], dtype: at.Dtype = 'float32') => at.zeros(shape, { device, dtype });
  const T = 3, B = 2, I = 5, H = 4;
  const ok = () => ({ x: z([T, B, I]), h: z([B, H]), c: z([B, H]), wIh: z([4 * H, I]), wHh: z([4 * H, H]), bIh: z([4 * H]), bHh: z([4 * H]) });

  it('checks shapes', () => {
    const a = ok();
    expectCode(() => at.F.lstm(z([T, B, I + 1]), [a.h, a.c], a.wIh, a.wHh), 'ERR_SHAPE'); // I mismatch
    expectCode(() => at.F.lstm(a.x, [a.h, a.c], z([4 * H + 4, I]), a.wHh), 'ERR_SHAPE'); // 4H mismatch in wIh
    expectCode(() => at.F.lstm(a.x, [a.h, a.c], a.wIh, z([4 * H, H + 1])), 'ERR_SHAPE'); // wHh not [4H, H]
    expectCode(() => at.F.lstm(a.x, [a.h, a.c], a.wIh, z([3 * H, H])), 'ERR_SHAPE');
    expectCode(() => at.F.lstm(a.x, [a.h, a.c], a.wIh, a.wHh, z([4 * H + 1]), a.bHh), 'ERR_SHAPE');
    expectCode(() => at.F.lstm(a.x, [z([B + 1, H]), a.c], a.wIh, a.wHh), 'ERR_SHAPE');
    expectCode(() => at.F.lstm(a.x, [a.h, z([B, H + 1])], a.wIh, a.wHh), 'ERR_SHAPE');
    expectCode(() => at.F.lstm(z([B, I]), null, a.wIh, a.wHh), 'ERR_SHAPE'); // not [T, B, I]
    expectCode(() => at.F.lstm(z([0, B, I]), null, a.wIh, a.wHh), 'ERR_SHAPE');
    expectCode(() => at.F.lstmCell(a.x, [a.h, a.c], a.wIh, a.wHh), 'ERR_SHAPE'); // cell wants [B, I]
    expectCode(() => at.F.lstmCell(z([B, I + 2]), [a.h, a.c], a.wIh, a.wHh), 'ERR_SHAPE');
  });

  it('checks dtypes', () => {
    const a = ok();
    expectCode(() => at.F.lstm(z([T, B, I], 'int32'), [a.h, a.c], a.wIh, a.wHh), 'ERR_DTYPE');
    expectCode(() => at.F.lstm(a.x, [a.h, a.c], z([4 * H, I], 'int32'), a.wHh), 'ERR_DTYPE');
    expectCode(() => at.F.lstm(a.x, [a.h, z([B, H], 'bool')], a.wIh, a.wHh), 'ERR_DTYPE');
    expectCode(() => at.F.lstmCell(z([B, I]), [a.h, a.c], a.wIh, a.wHh, a.bIh, z([4 * H], 'int32')), 'ERR_DTYPE');
  });

  it('checks the state and the biases', () => {
    const a = ok();
    expectCode(() => at.F.lstm(a.x, [a.h] as any, a.wIh, a.wHh), 'ERR_ARGUMENT'); // h0 without c0
    expectCode(() => at.F.lstm(a.x, [a.h, null] as any, a.wIh, a.wHh), 'ERR_ARGUMENT');
    expectCode(() => at.F.lstmCell(z([B, I]), [null, a.c] as any, a.wIh, a.wHh), 'ERR_ARGUMENT');
    expectCode(() => at.F.lstm(a.x, a.h as any, a.wIh, a.wHh), 'ERR_ARGUMENT'); // not a pair
    expectCode(() => at.F.lstm(a.x, null, a.wIh, a.wHh, a.bIh), 'ERR_ARGUMENT'); // one bias only
    expectCode(() => at.F.lstm(a.x, null, a.wIh, a.wHh, null, a.bHh), 'ERR_ARGUMENT');
    expectCode(() => at.F.lstm(a.x, null, a.wIh, [1, 2] as any), 'ERR_ARGUMENT');
  });

  it('checks devices', () => {
    const a = ok();
    const d = a.h;
    d.dispose();
    expectCode(() => at.F.lstm(a.x, [d, a.c], a.wIh, a.wHh), 'ERR_DISPOSED');
    if (at.cudaAvailable()) {
      // Mix in a tensor from the other device, in each position that can hold one.
      const other: at.DeviceName = device === 'cpu' ? 'cuda' : 'cpu';
      expectCode(() => at.F.lstm(a.x, null, at.zeros([4 * H, I], { device: other }), a.wHh), 'ERR_DEVICE');
      expectCode(() => at.F.lstm(a.x, [at.zeros([B, H], { device: other }), a.c], a.wIh, a.wHh), 'ERR_DEVICE');
      expectCode(() => at.F.lstm(a.x, null, a.wIh, a.wHh, a.bIh, at.zeros([4 * H], { device: other })), 'ERR_DEVICE');
      expectCode(() => at.F.lstmCell(at.zeros([B, I], { device: other }), null, a.wIh, a.wHh), 'ERR_DEVICE');
    }
  });
});

describe('native lstm guards its buffers', () => {
  it('rejects sizes larger than the buffers instead of reading out of bounds', () => {
    const f = (n: number) => new Float32Array(n);
    const [T, B, I, H] = [2, 2, 3, 4];
    const args = () => [f(T * B * H), null, null, f(T * B * 5 * H), f(T * B * I), null, null, f(4 * H * I), f(4 * H * H), null, null, T, B, I, H];
    expect(() => native.lstmForward(...args())).not.toThrow();
    const small = args(); small[3] = f(T * B * 5 * H - 1); // workspace one short
    expectCode(() => native.lstmForward(...small), 'ERR_SHAPE');
    const bigH = args(); bigH[14] = 5;
    expectCode(() => native.lstmForward(...bigH), 'ERR_SHAPE');
    const zero = args(); zero[11] = 0;
    expectCode(() => native.lstmForward(...zero), 'ERR_SHAPE');
    const int = args(); int[4] = new Int32Array(T * B * I);
    expectCode(() => native.lstmForward(...int), 'ERR_DTYPE');
    const frac = args(); frac[12] = 1.5;
    expectCode(() => native.lstmForward(...frac), 'ERR_ARGUMENT');
    // backward: dGates one short
    expectCode(() => native.lstmBackward(null, null, null, null, null, f(B * H), f(B * H), f(T * B * 4 * H - 1), null,
                                         f(T * B * 5 * H), f(T * B * H), f(T * B * I), null, null, f(4 * H * I), f(4 * H * H),
                                         T, B, I, H), 'ERR_SHAPE');
  });
});
