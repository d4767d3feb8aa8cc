import { describe, expect, it } from 'vitest';
import * as at from '../lib';
import { _scaledDotProductAttentionWithLse as sdpaWithLse } from '../lib/functional/attention';
import { loadedFrom, native } from '../lib/native';
import { loadFixtures } from './helpers/fixtures';
import { devices, emulated, expectClose, expectCode, fromFixture } from './helpers/devices';
import { type Case, emulatorOrderRuns, expectFinite, makeMask, rnd } from './helpers/attention';

// float32 dot products of length <= 128 and softmax sums over <= 140 keys, accumulated in float32
// (tiles, online rescaling): a few ulps of values of order 1 to 10.
const TOL = { atol: 2e-5, rtol: 2e-4 };

const F = at.F;

describe.each(devices)('scaledDotProductAttention on %s (PyTorch fixtures)', (device) => {
  for (const c of loadFixtures('attention')) {
    it(c.name, () => {
      const q = fromFixture(c.inputs.q, device, true);
      const k = fromFixture(c.inputs.k, device, true);
      const v = fromFixture(c.inputs.v, device, true);
      const attnMask = c.inputs.attnMask ? fromFixture(c.inputs.attnMask, device) : null;
      const opts = { attnMask, isCausal: c.attrs.isCausal as boolean, scale: c.attrs.scale as number | null };
      const out = F.scaledDotProductAttention(q, k, v, opts);
      expect(out.shape).toEqual(c.outputs.out.shape);
      expectClose(out, c.outputs.out.data, { ...TOL, what: `${c.name} out` });
      const { out: out2, lse } = sdpaWithLse(q, k, v, opts);
      expect(lse.shape).toEqual(c.outputs.lse.shape);
      expectClose(lse, c.outputs.lse.data, { ...TOL, what: `${c.name} lse` });
      expect(out2.dataSync()).toEqual(out.dataSync()); // same kernel, same bits
      out.backward(fromFixture(c.gouts.out, device));
      const ins: Record<string, at.Tensor> = { q, k, v };
      for (const [name, g] of Object.entries(c.grads)) {
        expectFinite(ins[name].grad!, `${c.name} grad ${name}`);
        expectClose(ins[name].grad!, g.data, { ...TOL, what: `${c.name} grad ${name}` });
      }
    });
  }
});

// --- random shapes against the CPU reference kernel -------------------------------------------------

// Runs the op on `device` (forward + backward) and the CPU reference kernels on the same inputs.
function compareWithReference(c: Case, device: at.DeviceName, seed: number): void {
  const { B, H, Tq, Tk, D, Dv, causal } = c;
  const scale = c.scale ?? 1 / Math.sqrt(D);
  const qd = rnd(B * H * Tq * D, seed + 1), kd = rnd(B * H * Tk * D, seed + 2), vd = rnd(B * H * Tk * Dv, seed + 3);
  const gd = rnd(B * H * Tq * Dv, seed + 4);
  const m = makeMask(c, seed + 5);
  const what = `${JSON.stringify(c)} on ${device}`;

  const ref = { out: new Float32Array(B * H * Tq * Dv), lse: new Float32Array(B * H * Tq),
                dq: new Float32Array(qd.length), dk: new Float32Array(kd.length), dv: new Float32Array(vd.length) };
  const strides = m?.strides ?? [0, 0, 0, 0];
  native.attentionForwardRef(ref.out, ref.lse, qd, kd, vd, m?.additive ?? null, strides, B, H, Tq, Tk, D, Dv, scale, causal);
  native.attentionBackwardRef(ref.dq, ref.dk, ref.dv, gd, qd, kd, vd, ref.out, ref.lse, m?.additive ?? null, strides,
                              B, H, Tq, Tk, D, Dv, scale, causal);

  at.tidy(() => {
    const q = at.tensor(qd, [B, H, Tq, D], { device, requiresGrad: true });
    const k = at.tensor(kd, [B, H, Tk, D], { device, requiresGrad: true });
    const v = at.tensor(vd, [B, H, Tk, Dv], { device, requiresGrad: true });
    const attnMask = m ? at.tensor(m.bool ?? m.float!, m.shape, { device, dtype: m.bool ? 'bool' : 'float32' }) : null;
    const opts = { attnMask, isCausal: causal, scale: c.scale };
    const { lse } = sdpaWithLse(q, k, v, opts);
    expectClose(lse, ref.lse, { ...TOL, what: `${what} lse` });
    const out = F.scaledDotProductAttention(q, k, v, opts);
    expectClose(out, ref.out, { ...TOL, what: `${what} out` });
    out.backward(at.tensor(gd, out.shape, { device }));
    for (const [t, r, name] of [[q, ref.dq, 'dq'], [k, ref.dk, 'dk'], [v, ref.dv, 'dv']] as const) {
      expectFinite(t.grad!, `${what} ${name}`);
      expectClose(t.grad!, r, { ...TOL, what: `${what} ${name}` });
    }
    if (c.mask === 'fully-masked-rows') { // rows that see no key: out 0, dq 0
      const o = out.dataSync(), g = q.grad!.dataSync();
      for (let bh = 0; bh < B * H; bh++)
        for (let i = 1; i < Tq; i += 3) {
          for (let x = 0; x < Dv; x++) expect(o[(bh * Tq + i) * Dv + x]).toBe(0);
          for (let x = 0; x < D; x++) expect(g[(bh * Tq + i) * D + x]).toBe(0);
        }
    }
  });
}

// Every shape runs on every device; the emulator runs each CUDA thread as a fiber, so shapes stay
// small while still crossing tile boundaries (CUDA tiles are 16-64 rows, CPU tiles 64).
const CASES: Case[] = [
  { B: 1, H: 1, Tq: 1, Tk: 1, D: 24, Dv: 24, causal: false, mask: 'none' },
  { B: 1, H: 2, Tq: 1, Tk: 1, D: 64, Dv: 64, causal: true, mask: 'none' },
  { B: 2, H: 3, Tq: 37, Tk: 37, D: 24, Dv: 24, causal: false, mask: 'keypad-bool' },
  { B: 1, H: 2, Tq: 70, Tk: 70, D: 64, Dv: 64, causal: true, mask: 'none' },
  { B: 1, H: 1, Tq: 33, Tk: 33, D: 128, Dv: 128, causal: false, mask: '2d-bool', scale: 0.05 },
  { B: 2, H: 2, Tq: 37, Tk: 70, D: 64, Dv: 32, causal: true, mask: 'keypad-float' },
  { B: 1, H: 2, Tq: 70, Tk: 37, D: 24, Dv: 40, causal: true, mask: 'b1qk-float' },
  { B: 2, H: 1, Tq: 17, Tk: 9, D: 128, Dv: 24, causal: false, mask: 'fully-masked-rows' },
  { B: 1, H: 1, Tq: 19, Tk: 5, D: 37, Dv: 70, causal: true, mask: 'full-bool' },
  { B: 3, H: 2, Tq: 5, Tk: 19, D: 16, Dv: 7, causal: false, mask: 'none', scale: 1.7 },
  { B: 2, H: 2, Tq: 21, Tk: 70, D: 32, Dv: 32, causal: true, mask: 'per-query-float' },
  // more than one key tile of the cpu forward (256 keys): the online softmax's rescaling
  { B: 1, H: 2, Tq: 40, Tk: 300, D: 32, Dv: 16, causal: false, mask: 'keypad-float' },
  { B: 1, H: 1, Tq: 300, Tk: 300, D: 24, Dv: 24, causal: true, mask: 'none' },
  { B: 1, H: 2, Tq: 20, Tk: 530, D: 16, Dv: 16, causal: false, mask: 'none', scale: 2.5 },
];

describe.each(devices)('scaledDotProductAttention on %s vs the CPU reference', (device) => {
  CASES.forEach((c, i) => {
    it(`B${c.B} H${c.H} Tq${c.Tq} Tk${c.Tk} D${c.D} Dv${c.Dv}${c.causal ? ' causal' : ''} mask ${c.mask}`, () => {
      compareWithReference(c, device, 100 * i);
    });
  });

  it('gives the same out and grads with a bool mask and its additive float twin', () => {
    const c: Case = { B: 2, H: 2, Tq: 9, Tk: 13, D: 16, Dv: 16, causal: true, mask: 'full-bool' };
    const m = makeMask(c, 7)!;
    const run = (attnMask: at.Tensor) => at.tidy(() => {
      const q = at.tensor(rnd(2 * 2 * 9 * 16, 1), [2, 2, 9, 16], { device, requiresGrad: true });
      const k = at.tensor(rnd(2 * 2 * 13 * 16, 2), [2, 2, 13, 16], { device, requiresGrad: true });
      const v = at.tensor(rnd(2 * 2 * 13 * 16, 3), [2, 2, 13, 16], { device, requiresGrad: true });
      const out = F.scaledDotProductAttention(q, k, v, { attnMask, isCausal: true });
      out.backward(at.onesLike(out));
      return [out, q.grad!, k.grad!, v.grad!].map((t) => t.dataSync());
    });
    const a = run(at.tensor(m.bool!, m.shape, { device, dtype: 'bool' }));
    const b = run(at.tensor(m.additive, m.shape, { device }));
    a.forEach((x, i) => expect(x).toEqual(b[i]));
  });
});

describe('cpu attention backward schedules', () => {
  // With B*H >= 2 threads each thread owns whole heads; with fewer heads dK/dV and dQ come from
  // two passes parallel over key and query tiles. Both must match the reference.
  it('agree with the reference with 1, 3 and 4 threads', () => {
    const before = at.info().threads;
    try {
      for (const threads of [1, 3, 4]) {
        at.setNumThreads(threads);
        compareWithReference({ B: 1, H: 2, Tq: 150, Tk: 140, D: 24, Dv: 40, causal: true, mask: 'keypad-float' }, 'cpu', 11);
        compareWithReference({ B: 4, H: 4, Tq: 70, Tk: 130, D: 64, Dv: 64, causal: false, mask: '2d-bool' }, 'cpu', 12);
      }
    } finally {
      at.setNumThreads(before);
    }
  });
});

// --- finite differences -----------------------------------------------------------------------------

describe.each(devices)('scaledDotProductAttention gradients on %s', (device) => {
  it('match central finite differences (float64 loss on the JS side)', () => {
    // B=1, H=2, Tq=3, Tk=4, D=3, Dv=2; causal plus a float mask with a -inf entry and one query
    // row (head 1, row 0) that sees no key at all.
    const [B, H, Tq, Tk, D, Dv] = [1, 2, 3, 4, 3, 2];
    const qd = rnd(B * H * Tq * D, 21), kd = rnd(B * H * Tk * D, 22), vd = rnd(B * H * Tk * Dv, 23);
    const gd = rnd(B * H * Tq * Dv, 24, 1);
    const md = rnd(H * Tq * Tk, 25, 0.5);
    md[2] = -Infinity; // head 0, row 0, key 2 (already hidden by causality) ...
    md[1 * Tq * Tk + 0 * Tk + 0] = -Infinity; // ... head 1, row 0: its only visible key
    md[1 * Tq * Tk + 2 * Tk + 1] = -Infinity;
    const opts = (mask: at.Tensor) => ({ attnMask: mask, isCausal: true, scale: 0.8 });
    const loss = (q: Float32Array, k: Float32Array, v: Float32Array): number => at.tidy(() => at.noGrad(() => {
      const out = F.scaledDotProductAttention(at.tensor(q, [B, H, Tq, D], { device }), at.tensor(k, [B, H, Tk, D], { device }),
                                              at.tensor(v, [B, H, Tk, Dv], { device }),
                                              opts(at.tensor(md, [1, H, Tq, Tk], { device })));
      const o = out.dataSync();
      let s = 0;
      for (let i = 0; i < o.length; i++) s += o[i] * gd[i];
      return s;
    }));
    const grads = at.tidy(() => {
      const q = at.tensor(qd, [B, H, Tq, D], { device, requiresGrad: true });
      const k = at.tensor(kd, [B, H, Tk, D], { device, requiresGrad: true });
      const v = at.tensor(vd, [B, H, Tk, Dv], { device, requiresGrad: true });
      const out = F.scaledDotProductAttention(q, k, v, opts(at.tensor(md, [1, H, Tq, Tk], { device })));
      out.backward(at.tensor(gd, out.shape, { device }));
      return [q.grad!.dataSync(), k.grad!.dataSync(), v.grad!.dataSync()];
    });
    const eps = 3e-3;
    const inputs = [qd, kd, vd];
    inputs.forEach((x, which) => {
      const fd = new Float64Array(x.length);
      for (let i = 0; i < x.length; i++) {
        const orig = x[i];
        x[i] = orig + eps;
        const up = loss(qd, kd, vd);
        x[i] = orig - eps;
        const down = loss(qd, kd, vd);
        x[i] = orig;
        fd[i] = (up - down) / (2 * eps);
      }
      // float32 outputs differenced over 2 eps: ~1e-7 / 6e-3 rounding, O(eps^2) truncation
      expectClose(grads[which], fd, { atol: 5e-4, rtol: 5e-3, what: `d${'qkv'[which]} vs finite differences` });
    });
    // head 1, query 0 sees nothing: its dq row is exactly 0
    for (let d = 0; d < D; d++) expect(grads[0][(1 * Tq + 0) * D + d]).toBe(0);
  });

  it('computes grads only for the inputs that need them, and records nothing under noGrad', () => {
    const q = at.tensor(rnd(2 * 8 * 4, 31), [1, 2, 8, 4], { device, requiresGrad: true });
    const k = at.tensor(rnd(2 * 8 * 4, 32), [1, 2, 8, 4], { device });
    const v = at.tensor(rnd(2 * 8 * 4, 33), [1, 2, 8, 4], { device, requiresGrad: true });
    const w = at.tensor(rnd(4 * 3, 34), [4, 3], { device });
    const y = at.matmul(F.scaledDotProductAttention(q, k, v, { isCausal: true }), w);
    y.backward(at.onesLike(y));
    expect(k.grad).toBeNull();
    expectFinite(q.grad!, 'dq');
    expectFinite(v.grad!, 'dv');
    expect(at.noGrad(() => F.scaledDotProductAttention(q, k, v)).gradFn).toBeNull();
  });
});

// --- errors -------------------------------------------------------------------------------------------

describe.each(devices)('scaledDotProductAttention argument checks on %s', (device) => {
  const z = (shape: number[], dtype: at.Dtype = 'float32') => at.zeros(shape, { device, dtype });
  const q = z([2, 3, 5, 8]), k = z([2, 3, 7, 8]), v = z([2, 3, 7, 6]);

  it('rejects bad shapes', () => {
    expectCode(() => F.scaledDotProductAttention(z([6, 5, 8]), z([6, 7, 8]), z([6, 7, 6])), 'ERR_SHAPE'); // 3-D
    expectCode(() => F.scaledDotProductAttention(q, z([2, 3, 7, 9]), v), 'ERR_SHAPE'); // D differs
    expectCode(() => F.scaledDotProductAttention(q, k, z([2, 3, 6, 6])), 'ERR_SHAPE'); // Tk differs
    expectCode(() => F.scaledDotProductAttention(q, z([1, 3, 7, 8]), z([1, 3, 7, 6])), 'ERR_SHAPE'); // B differs
    expectCode(() => F.scaledDotProductAttention(q, k, z([2, 2, 7, 6])), 'ERR_SHAPE'); // H differs
    expectCode(() => F.scaledDotProductAttention(z([2, 3, 5, 0]), z([2, 3, 7, 0]), v), 'ERR_SHAPE'); // D = 0
  });

  it('rejects masks that do not broadcast to [B, H, Tq, Tk]', () => {
    expectCode(() => F.scaledDotProductAttention(q, k, v, { attnMask: z([5, 8], 'bool') }), 'ERR_SHAPE');
    expectCode(() => F.scaledDotProductAttention(q, k, v, { attnMask: z([3, 1, 1, 7], 'bool') }), 'ERR_SHAPE');
    expectCode(() => F.scaledDotProductAttention(q, k, v, { attnMask: z([1, 2, 3, 5, 7]) }), 'ERR_SHAPE');
    expectCode(() => F.scaledDotProductAttention(q, k, v, { attnMask: z([5, 7], 'int32') }), 'ERR_DTYPE');
    // these broadcast
    for (const shape of [[7], [5, 1], [2, 1, 1, 7], [1, 3, 5, 7], [2, 3, 5, 7], []])
      expect(F.scaledDotProductAttention(q, k, v, { attnMask: z(shape, 'bool') }).shape).toEqual([2, 3, 5, 6]);
  });

  it('rejects bad dtypes and options', () => {
    expectCode(() => F.scaledDotProductAttention(z([2, 3, 5, 8], 'int32'), k, v), 'ERR_DTYPE');
    expectCode(() => F.scaledDotProductAttention(q, k, z([2, 3, 7, 6], 'bool')), 'ERR_DTYPE');
    expectCode(() => F.scaledDotProductAttention(q, k, v, { dropoutP: 0.1 }), 'ERR_NOT_IMPLEMENTED');
    expectCode(() => F.scaledDotProductAttention(q, k, v, { dropoutP: -1 }), 'ERR_ARGUMENT');
    expectCode(() => F.scaledDotProductAttention(q, k, v, { scale: NaN }), 'ERR_ARGUMENT');
    expectCode(() => F.scaledDotProductAttention(q, k, v, { isCausal: 'yes' as unknown as boolean }), 'ERR_ARGUMENT');
    expectCode(() => F.scaledDotProductAttention(q, [1, 2] as unknown as at.Tensor, v), 'ERR_ARGUMENT');
    const gone = z([2, 3, 5, 8]);
    gone.dispose();
    expectCode(() => F.scaledDotProductAttention(gone, k, v), 'ERR_DISPOSED');
    expect(F.scaledDotProductAttention(q, k, v, { dropoutP: 0 }).shape).toEqual([2, 3, 5, 6]);
  });

  if (device === 'cuda') {
    it('rejects mixed devices and head sizes above 128', () => {
      const kc = at.zeros([2, 3, 7, 8], { device: 'cpu' });
      expectCode(() => F.scaledDotProductAttention(q, kc, v), 'ERR_DEVICE');
      expectCode(() => F.scaledDotProductAttention(q, k, v, { attnMask: at.zeros([5, 7], { device: 'cpu', dtype: 'bool' }) }),
                 'ERR_DEVICE');
      expectCode(() => F.scaledDotProductAttention(z([1, 1, 2, 129]), z([1, 1, 2, 129]), z([1, 1, 2, 4])), 'ERR_NOT_IMPLEMENTED');
      expectCode(() => F.scaledDotProductAttention(z([1, 1, 2, 4]), z([1, 1, 2, 4]), z([1, 1, 2, 200])), 'ERR_NOT_IMPLEMENTED');
    });
  }

  it('handles empty sequences: Tk = 0 gives zeros, Tq = 0 an empty output', () => {
    const out = F.scaledDotProductAttention(z([1, 2, 3, 4]), z([1, 2, 0, 4]), z([1, 2, 0, 5]));
    expect(Array.from(out.dataSync())).toEqual(new Array(30).fill(0));
    const { lse } = sdpaWithLse(z([1, 2, 3, 4]), z([1, 2, 0, 4]), z([1, 2, 0, 5]));
    expect(Array.from(lse.dataSync())).toEqual(new Array(6).fill(-Infinity));
    expect(F.scaledDotProductAttention(z([1, 2, 0, 4]), z([1, 2, 3, 4]), z([1, 2, 3, 5])).shape).toEqual([1, 2, 0, 5]);
  });
});

describe('native attention bindings guard their buffers', () => {
  const f = (n: number) => new Float32Array(n);
  // B=1, H=2, Tq=3, Tk=4, D=5, Dv=6
  const args = () => [f(36), f(6), f(30), f(40), f(48)];
  const dims = [1, 2, 3, 4, 5, 6, 0.5, false];
  it('rejects buffers smaller than the sizes, wrong dtypes and bad strides', () => {
    expect(() => native.attentionForward(...args(), null, [0, 0, 0, 0], ...dims)).not.toThrow();
    const [o, l, q, k, v] = args();
    expectCode(() => native.attentionForward(f(35), l, q, k, v, null, [0, 0, 0, 0], ...dims), 'ERR_SHAPE');
    expectCode(() => native.attentionForward(o, f(5), q, k, v, null, [0, 0, 0, 0], ...dims), 'ERR_SHAPE');
    expectCode(() => native.attentionForward(o, l, q, f(39), v, null, [0, 0, 0, 0], ...dims), 'ERR_SHAPE');
    expectCode(() => native.attentionForward(o, l, q, k, new Int32Array(48), null, [0, 0, 0, 0], ...dims), 'ERR_DTYPE');
    // a full [1,2,3,4] mask needs 24 elements; a [4] key mask 4; strides must be 4 non-negatives
    expect(() => native.attentionForward(o, l, q, k, v, f(24), [24, 12, 4, 1], ...dims)).not.toThrow();
    expect(() => native.attentionForward(o, l, q, k, v, f(4), [0, 0, 0, 1], ...dims)).not.toThrow();
    expectCode(() => native.attentionForward(o, l, q, k, v, f(23), [24, 12, 4, 1], ...dims), 'ERR_SHAPE');
    expectCode(() => native.attentionForward(o, l, q, k, v, f(4), [0, 0, 1, 1], ...dims), 'ERR_SHAPE');
    expectCode(() => native.attentionForward(o, l, q, k, v, f(24), [0, 0, -4, 1], ...dims), 'ERR_SHAPE');
    expectCode(() => native.attentionForward(o, l, q, k, v, f(24), [0, 4, 1], ...dims), 'ERR_ARGUMENT');
    expectCode(() => native.attentionForward(o, l, q, k, v, null, [0, 0, 0, 0], 1, 2, 3, 4, 5, 6, 0.5, 1), 'ERR_ARGUMENT');
    expectCode(() => native.attentionForward(o, l, q, k, v, null, [0, 0, 0, 0], 1e6, 1e6, 1e6, 1e6, 5, 6, 0.5, false), 'ERR_SHAPE');
    const gradsAndInputs = () => [f(30), f(40), f(48), f(36), f(30), f(40), f(48), f(36), f(6)];
    expect(() => native.attentionBackward(...gradsAndInputs(), null, [0, 0, 0, 0], ...dims)).not.toThrow();
    const bad = gradsAndInputs();
    bad[8] = f(5); // lse
    expectCode(() => native.attentionBackward(...bad, null, [0, 0, 0, 0], ...dims), 'ERR_SHAPE');
    expectCode(() => native.attentionBackwardRef(...gradsAndInputs(), f(3), [0, 0, 0, 1], ...dims), 'ERR_SHAPE');
  });
});

// --- packed self-attention (GPT's c_attn output) ---------------------------------------------------

// qkv [B, T, 3C] -> y [B, T, C] by split + transpose + scaledDotProductAttention + transpose.
function packedByParts(qkv: at.Tensor, H: number, opts: { isCausal?: boolean; scale?: number | null }): at.Tensor {
  const [B, T, C3] = qkv.shape, C = C3 / 3, D = C / H;
  const [q, k, v] = F.split(qkv, C, 2).map((t) => F.transpose(t.reshape([B, T, H, D]), 1, 2));
  return F.transpose(F.scaledDotProductAttention(q, k, v, opts), 1, 2).reshape([B, T, C]);
}

function packedRun(device: at.DeviceName, B: number, T: number, H: number, D: number, opts: { isCausal?: boolean; scale?: number | null },
                   byParts: boolean, seed: number): { y: Float32Array; g: Float32Array } {
  return at.tidy(() => {
    const qkv = at.tensor(rnd(B * T * 3 * H * D, seed), [B, T, 3 * H * D], { device, requiresGrad: true });
    const y = byParts ? packedByParts(qkv, H, opts) : F.scaledDotProductAttentionPacked(qkv, H, opts);
    expect(y.shape).toEqual([B, T, H * D]);
    y.backward(at.tensor(rnd(B * T * H * D, seed + 1, 1), y.shape, { device }));
    return { y: y.dataSync() as Float32Array, g: qkv.grad!.dataSync() as Float32Array };
  });
}

describe.each(devices)('scaledDotProductAttentionPacked on %s', (device) => {
  // cpu: the kernels address q, k, v, y and dqkv through strides instead of dense copies, with the
  // same arithmetic in the same order: the bits must agree with the composed ops. cuda runs the
  // composed ops; it is held to the cpu kernel at the tolerance of the attention tests.
  const cases: [number, number, number, number, boolean, number | null][] = device === 'cpu'
    ? [[2, 5, 3, 7, true, null], [1, 70, 2, 16, false, null], [3, 130, 2, 33, true, 0.3], [12, 64, 4, 32, true, null]]
    : [[2, 5, 3, 7, true, null], [1, 9, 2, 16, false, 0.3], [2, 17, 1, 20, true, null]];
  it('equals split + transpose + scaledDotProductAttention + transpose, forward and backward', () => {
    const before = at.info().threads;
    try {
      // 1 thread: whole heads per thread; 3: with few heads, the two-pass backward
      for (const threads of device === 'cpu' ? [1, 3] : [before]) {
        at.setNumThreads(threads);
        cases.forEach(([B, T, H, D, isCausal, scale], i) => {
          const opts = { isCausal, scale };
          const packed = packedRun(device, B, T, H, D, opts, false, 40 + i);
          const parts = packedRun(device, B, T, H, D, opts, true, 40 + i);
          expect(packed.y).toEqual(parts.y);
          expect(packed.g).toEqual(parts.g);
          if (device === 'cuda') {
            const cpu = packedRun('cpu', B, T, H, D, opts, false, 40 + i);
            expectClose(packed.y, cpu.y, { ...TOL, what: 'y: cuda vs cpu' });
            expectClose(packed.g, cpu.g, { ...TOL, what: 'dqkv: cuda vs cpu' });
          }
        });
      }
    } finally {
      at.setNumThreads(before);
    }
  });

  it('rejects bad arguments with stable codes', () => {
    const z = (shape: number[], dtype: at.Dtype = 'float32') => at.zeros(shape, { device, dtype });
    expectCode(() => F.scaledDotProductAttentionPacked(z([2, 4, 12]), 3), 'ERR_SHAPE'); // 12 is not 3 * 3 heads * D
    expectCode(() => F.scaledDotProductAttentionPacked(z([2, 4, 13]), 1), 'ERR_SHAPE'); // not 3C
    expectCode(() => F.scaledDotProductAttentionPacked(z([8, 12]), 2), 'ERR_SHAPE'); // 2-D
    expectCode(() => F.scaledDotProductAttentionPacked(z([2, 4, 0]), 2), 'ERR_SHAPE'); // C = 0
    expectCode(() => F.scaledDotProductAttentionPacked(z([2, 4, 12], 'int32'), 2), 'ERR_DTYPE');
    expectCode(() => F.scaledDotProductAttentionPacked(z([2, 4, 12]), 0), 'ERR_ARGUMENT');
    expectCode(() => F.scaledDotProductAttentionPacked(z([2, 4, 12]), 2, { scale: NaN }), 'ERR_ARGUMENT');
    expectCode(() => F.scaledDotProductAttentionPacked(z([2, 4, 12]), 2, { isCausal: 1 as unknown as boolean }), 'ERR_ARGUMENT');
    expect(F.scaledDotProductAttentionPacked(z([2, 0, 12]), 2).shape).toEqual([2, 0, 4]);
    if (device === 'cuda') { // operand layouts are a cpu kernel feature
      const qkv = z([1, 2, 12]), y = z([1, 2, 4]), lse = z([1, 2, 2]);
      expectCode(() => native.attentionForward(y.buf, lse.buf, qkv.buf, qkv.buf, qkv.buf, null, [0, 0, 0, 0], 1, 2, 2, 2, 2, 2,
                                               0.5, true, false, [0, 24, 2, 12, 4, 24, 2, 12, 8, 24, 2, 12, 0, 8, 2, 4]),
                 'ERR_NOT_IMPLEMENTED');
    }
  });
});

describe('native attention layouts (cpu)', () => {
  const f = (n: number) => new Float32Array(n);
  // B=2, H=2, T=3, D=Dv=4 from a packed qkv [2, 3, 24] into y [2, 3, 8]
  const [B, H, T, D] = [2, 2, 3, 4], C = H * D;
  const dims = [B, H, T, T, D, D, 0.5, true];
  const layout = [0, T * 3 * C, D, 3 * C, C, T * 3 * C, D, 3 * C, 2 * C, T * 3 * C, D, 3 * C, 0, T * C, D, C];
  it('are checked against the buffers: reach, overlap of written rows, size, device', () => {
    const qkv = f(B * T * 3 * C), y = f(B * T * C), lse = f(B * H * T);
    expect(() => native.attentionForward(y, lse, qkv, qkv, qkv, null, [0, 0, 0, 0], ...dims, false, layout)).not.toThrow();
    // v's rows end at the end of qkv (q's do not)
    expect(() => native.attentionForward(y, lse, f(qkv.length - 1), qkv, qkv, null, [0, 0, 0, 0], ...dims, false, layout))
      .not.toThrow();
    expectCode(() => native.attentionForward(y, lse, qkv, qkv, f(qkv.length - 1), null, [0, 0, 0, 0], ...dims, false, layout),
               'ERR_SHAPE');
    expectCode(() => native.attentionForward(f(y.length - 1), lse, qkv, qkv, qkv, null, [0, 0, 0, 0], ...dims, false, layout),
               'ERR_SHAPE');
    const overlapping = [...layout];
    overlapping[14] = D - 1; // heads of y one element apart: rows of width 4 overlap
    expectCode(() => native.attentionForward(f(1000), lse, qkv, qkv, qkv, null, [0, 0, 0, 0], ...dims, false, overlapping),
               'ERR_SHAPE');
    const negative = [...layout];
    negative[1] = -1;
    expectCode(() => native.attentionForward(y, lse, qkv, qkv, qkv, null, [0, 0, 0, 0], ...dims, false, negative), 'ERR_SHAPE');
    expectCode(() => native.attentionForward(y, lse, qkv, qkv, qkv, null, [0, 0, 0, 0], ...dims, false, layout.slice(1)),
               'ERR_ARGUMENT');
    const dqkv = f(qkv.length);
    expect(() => native.attentionBackward(dqkv, dqkv, dqkv, y, qkv, qkv, qkv, y, lse, null, [0, 0, 0, 0], ...dims, layout))
      .not.toThrow();
    // a written operand (dk) may not have overlapping rows; a read one (out) may not reach past its buffer
    const dkOverlap = [...layout];
    dkOverlap[7] = 1;
    expectCode(() => native.attentionBackward(dqkv, dqkv, dqkv, y, qkv, qkv, qkv, y, lse, null, [0, 0, 0, 0], ...dims, dkOverlap),
               'ERR_SHAPE');
    expectCode(() => native.attentionBackward(dqkv, dqkv, dqkv, y, qkv, qkv, qkv, f(y.length - 1), lse, null, [0, 0, 0, 0], ...dims,
                                              layout), 'ERR_SHAPE');
  });
});

// --- determinism under the emulator ---------------------------------------------------------------

describe.runIf(emulated)('attention kernels under the emulator', () => {
  it('give bit-identical forward and backward results with forward, reverse and shuffled thread orders', () => {
    const runs = emulatorOrderRuns(loadedFrom, false,
                                   [[2, 2, 37, 45, 24, 24, true], [1, 2, 20, 33, 64, 40, false], [1, 1, 17, 17, 128, 128, true]]);
    expect(runs[0].length).toBe(15);
    expect(runs[1]).toEqual(runs[0]);
    expect(runs[2]).toEqual(runs[0]);
  });
});
