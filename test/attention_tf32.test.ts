// The opt-in TF32 tensor-core path of F.scaledDotProductAttention (native/cuda/attention.cu,
// attention_forward_tf32_kernel) and its switches: at.backends.cuda.matmul.allowTf32 and the
// per-call `precision` option. On the `emu` project the cuda device runs the kernel's own source
// on the CPU emulator, whose wmma rounds tf32 operands as the tensor cores do.
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import * as at from '../lib';
import { _scaledDotProductAttentionWithLse as sdpaWithLse } from '../lib/functional/attention';
import { loadedFrom, native } from '../lib/native';
import { loadFixtures } from './helpers/fixtures';
import { closeness, devices, emulated, expectClose, expectCode, fromFixture } from './helpers/devices';
import { type Case, emulatorOrderRuns, expectFinite, makeMask, rnd } from './helpers/attention';

const F = at.F;

// float32 kernels (as in test/attention.test.ts): a few ulps of values of order 1 to 10.
const TOL_F32 = { atol: 2e-5, rtol: 2e-4 };
// TF32 keeps 10 of float32's 23 mantissa bits: each rounded operand carries a relative error up to
// u = 2^-11 = 4.9e-4 (uniform, sd u/sqrt(3)). A score s = scale * sum_d q_d k_d then errs by about
// scale * sqrt(sum_d (q_d k_d)^2) * u * sqrt(2/3): with |q|, |k| <= 1.5 (rms(q k) = 0.75) that is
// sd ~ 0.75 u sqrt(2/3) sqrt(D) scale = 3e-4 at scale 1/sqrt(D), 2e-3 at the scale 1.7 case.
// out = sum_j p_j v_j moves by sum_j p_j ds_j (v_j - out) plus the rounding of p and v (u |v|), and
// lse by sum_j p_j ds_j: over the ~5e4 compared values the worst is ~5 sd ~ 1.5e-3 at the default
// scale. Measured on the emulator (whose wmma rounds as the tensor cores do), worst over CASES:
// out 1.5e-3 (1 + |ref|), lse 3e-4 (1 + |ref|). Allowed: 5e-3, about 3x that.
const TOL_TF32 = { atol: 5e-3, rtol: 5e-3 };
// The backward is the float32 kernels', fed the TF32 forward's out and lse: P = exp(s - lse) is off
// by the same ~1e-3 relative, Di = rowsum(dO out) by |dO| |out| 1e-3; gradients sum such terms over
// up to 128 keys or queries. Measured worst: dq, dk 4.4e-3 (1 + |ref|), dv 2.2e-3. Allowed: 1e-2.
const TOL_TF32_GRAD = { atol: 1e-2, rtol: 1e-2 };

const sameBits = (a: ArrayBufferView, b: ArrayBufferView) =>
  Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));

afterEach(() => {
  at.backends.cuda.matmul.allowTf32 = false;
});

// --- the switch -------------------------------------------------------------------------------------

describe('at.backends.cuda.matmul.allowTf32', () => {
  it('defaults to false, reads back what was set, and takes only booleans', () => {
    expect(at.backends.cuda.matmul.allowTf32).toBe(false);
    at.backends.cuda.matmul.allowTf32 = true;
    expect(at.backends.cuda.matmul.allowTf32).toBe(true);
    at.backends.cuda.matmul.allowTf32 = false;
    expect(at.backends.cuda.matmul.allowTf32).toBe(false);
    expectCode(() => { at.backends.cuda.matmul.allowTf32 = 1 as unknown as boolean; }, 'ERR_ARGUMENT');
    expect(at.backends.cuda.matmul.allowTf32).toBe(false);
    expect(() => { (at.backends.cuda as { matmul: unknown }).matmul = {}; }).toThrow(TypeError); // frozen
  });

  it.each(devices)('leaves float32 matmul working on %s when on', (device) => {
    // cuBLAS TF32 math is a GPU concern (the emulated cuBLAS computes in float32); the switch must
    // at least not break GEMMs, and TF32 error bounds hold either way.
    const a = at.tensor(rnd(6 * 5, 1), [6, 5], { device }), b = at.tensor(rnd(5 * 4, 2), [5, 4], { device });
    const want = at.matmul(a, b).dataSync();
    at.backends.cuda.matmul.allowTf32 = true;
    expectClose(at.matmul(a, b), want, { atol: 1e-2, rtol: 1e-2, what: 'matmul with allowTf32' });
  });
});

// --- PyTorch fixtures -------------------------------------------------------------------------------

describe.each(devices)('scaledDotProductAttention precision tf32 on %s (PyTorch fixtures)', (device) => {
  for (const c of loadFixtures('attention')) {
    it(c.name, () => {
      const q = fromFixture(c.inputs.q, device, true);
      const k = fromFixture(c.inputs.k, device, true);
      const v = fromFixture(c.inputs.v, device, true);
      const attnMask = c.inputs.attnMask ? fromFixture(c.inputs.attnMask, device) : null;
      const opts = { attnMask, isCausal: c.attrs.isCausal as boolean, scale: c.attrs.scale as number | null,
                     precision: 'tf32' as const };
      const out = F.scaledDotProductAttention(q, k, v, opts);
      expectClose(out, c.outputs.out.data, { ...TOL_TF32, what: `${c.name} out` });
      const { lse } = sdpaWithLse(q, k, v, opts);
      expectClose(lse, c.outputs.lse.data, { ...TOL_TF32, what: `${c.name} lse` });
      out.backward(fromFixture(c.gouts.out, device));
      const ins: Record<string, at.Tensor> = { q, k, v };
      for (const [name, g] of Object.entries(c.grads)) {
        expectFinite(ins[name].grad!, `${c.name} grad ${name}`);
        expectClose(ins[name].grad!, g.data, { ...TOL_TF32_GRAD, what: `${c.name} grad ${name}` });
      }
    });
  }
});

// --- random shapes against the CPU reference kernel -------------------------------------------------

// The shape set of test/attention.test.ts (odd sizes, T = 1, Tq != Tk, every head bucket, causal,
// masks, fully masked rows) plus exact 64-row tiles and a causal case whose warps skip key tiles.
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
  { B: 1, H: 1, Tq: 64, Tk: 64, D: 32, Dv: 32, causal: false, mask: 'none' },
  { B: 1, H: 1, Tq: 128, Tk: 128, D: 128, Dv: 100, causal: true, mask: 'none' },
];

// Worst error per device and output, in units of 1e-3 (1 + |ref|), printed after the cases.
const worst: Record<string, Record<string, number>> = {};
const noteWorst = (device: string, name: string, got: ArrayLike<number>, want: ArrayLike<number>) => {
  const w = (worst[device] ??= {});
  w[name] = Math.max(w[name] ?? 0, closeness(got, want, 1e-3, 1e-3));
};

// Runs the op with precision 'tf32' (forward + backward) and with 'float32', and the CPU reference.
function compareTf32(c: Case, device: at.DeviceName, seed: number): void {
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

  const run = (precision: 'tf32' | 'float32') => at.tidy(() => {
    const q = at.tensor(qd, [B, H, Tq, D], { device, requiresGrad: true });
    const k = at.tensor(kd, [B, H, Tk, D], { device, requiresGrad: true });
    const v = at.tensor(vd, [B, H, Tk, Dv], { device, requiresGrad: true });
    const attnMask = m ? at.tensor(m.bool ?? m.float!, m.shape, { device, dtype: m.bool ? 'bool' : 'float32' }) : null;
    const opts = { attnMask, isCausal: causal, scale: c.scale, precision };
    const { lse } = sdpaWithLse(q, k, v, opts);
    const out = F.scaledDotProductAttention(q, k, v, opts);
    out.backward(at.tensor(gd, out.shape, { device }));
    return { out: out.dataSync(), lse: lse.dataSync(), dq: q.grad!.dataSync(), dk: k.grad!.dataSync(),
             dv: v.grad!.dataSync() };
  });
  const t = run('tf32');
  for (const name of ['out', 'lse'] as const) {
    noteWorst(device, name, t[name], ref[name]);
    expectClose(t[name], ref[name], { ...TOL_TF32, what: `${what} tf32 ${name}` });
  }
  for (const name of ['dq', 'dk', 'dv'] as const) {
    for (const x of t[name]) if (!Number.isFinite(x)) throw new Error(`${what} tf32 ${name} is not finite`);
    noteWorst(device, name, t[name], ref[name]);
    expectClose(t[name], ref[name], { ...TOL_TF32_GRAD, what: `${what} tf32 ${name}` });
  }
  if (c.mask === 'fully-masked-rows') { // rows that see no key: out 0, lse -inf, dq 0
    for (let bh = 0; bh < B * H; bh++)
      for (let i = 1; i < Tq; i += 3) {
        expect(t.lse[bh * Tq + i]).toBe(-Infinity);
        for (let x = 0; x < Dv; x++) expect(t.out[(bh * Tq + i) * Dv + x]).toBe(0);
        for (let x = 0; x < D; x++) expect(t.dq[(bh * Tq + i) * D + x]).toBe(0);
      }
  }
  const f = run('float32');
  expectClose(f.out, ref.out, { ...TOL_F32, what: `${what} float32 out` });
  if (device === 'cpu') {
    // cpu takes the option and computes in float32: the same bits
    for (const name of ['out', 'lse', 'dq', 'dk', 'dv'] as const) expect(sameBits(t[name], f[name])).toBe(true);
  } else if (Tk > 1 && D >= 16) {
    // the tensor-core kernel really ran: its rounding shows in the low bits of out (with one key,
    // or only a few mantissa bits per operand, both kernels can agree exactly)
    expect(sameBits(t.out, f.out)).toBe(false);
  }
}

describe.each(devices)('scaledDotProductAttention precision tf32 on %s vs the CPU reference', (device) => {
  CASES.forEach((c, i) => {
    it(`B${c.B} H${c.H} Tq${c.Tq} Tk${c.Tk} D${c.D} Dv${c.Dv}${c.causal ? ' causal' : ''} mask ${c.mask}`, () => {
      compareTf32(c, device, 100 * i);
    });
  });

  afterAll(() => {
    const w = Object.entries(worst[device] ?? {}).map(([k, x]) => `${k} ${x.toFixed(2)}`).join(', ');
    console.log(`tf32 vs reference on ${device}, worst in units of 1e-3 (1 + |ref|): ${w}`); // eslint-disable-line no-console
  });
});

// --- the switches select the path -------------------------------------------------------------------

describe.each(devices)('allowTf32 and precision select the kernel on %s', (device) => {
  const [B, H, Tq, Tk, D, Dv] = [2, 2, 37, 45, 40, 24];
  const qd = rnd(B * H * Tq * D, 61), kd = rnd(B * H * Tk * D, 62), vd = rnd(B * H * Tk * Dv, 63);
  const forward = (opts: at.F.ScaledDotProductAttentionOptions) => at.tidy(() => {
    const q = at.tensor(qd, [B, H, Tq, D], { device }), k = at.tensor(kd, [B, H, Tk, D], { device });
    const v = at.tensor(vd, [B, H, Tk, Dv], { device });
    return F.scaledDotProductAttention(q, k, v, { isCausal: true, ...opts }).dataSync();
  });
  // The kernel that ran before the option existed: the native call without the tf32 argument.
  const before = () => {
    const q = at.tensor(qd, [B, H, Tq, D], { device }), k = at.tensor(kd, [B, H, Tk, D], { device });
    const v = at.tensor(vd, [B, H, Tk, Dv], { device });
    const out = at.empty([B, H, Tq, Dv], { device }), lse = at.empty([B, H, Tq], { device });
    native.attentionForward(out.buf, lse.buf, q.buf, k.buf, v.buf, null, [0, 0, 0, 0], B, H, Tq, Tk, D, Dv,
                            1 / Math.sqrt(D), true);
    const r = out.dataSync();
    for (const t of [q, k, v, out, lse]) t.dispose();
    return r;
  };

  it('allowTf32 = false (the default) gives the float32 kernel, bit for bit', () => {
    const base = before();
    expect(sameBits(forward({}), base)).toBe(true);
    expect(sameBits(forward({ precision: 'float32' }), base)).toBe(true);
  });

  it('allowTf32 = true gives the tf32 kernel; precision overrides the switch both ways', () => {
    const f32 = forward({ precision: 'float32' }), tf32 = forward({ precision: 'tf32' });
    at.backends.cuda.matmul.allowTf32 = true;
    expect(sameBits(forward({}), tf32)).toBe(true);
    expect(sameBits(forward({ precision: 'float32' }), f32)).toBe(true);
    at.backends.cuda.matmul.allowTf32 = false;
    expect(sameBits(forward({}), f32)).toBe(true);
    if (device === 'cpu') {
      expect(sameBits(tf32, f32)).toBe(true); // cpu ignores it
    } else {
      expect(sameBits(tf32, f32)).toBe(false);
      expectClose(tf32, f32, { ...TOL_TF32, what: 'tf32 vs float32' });
      // the difference is TF32 rounding, not float32 noise: well above float32's few ulps
      expect(closeness(tf32, f32, TOL_F32.atol, TOL_F32.rtol)).toBeGreaterThan(1);
    }
  });

  it('rejects an unknown precision', () => {
    const z = at.zeros([1, 1, 2, 4], { device });
    expectCode(() => F.scaledDotProductAttention(z, z, z, { precision: 'bf16' as 'tf32' }), 'ERR_ARGUMENT');
    expectCode(() => F.scaledDotProductAttention(z, z, z, { precision: 'TF32' as 'tf32' }), 'ERR_ARGUMENT');
    expectCode(() => native.attentionForward(at.empty([1, 1, 2, 4]).buf, at.empty([1, 1, 2]).buf, z.buf, z.buf, z.buf, null,
                                             [0, 0, 0, 0], 1, 1, 2, 2, 4, 4, 0.5, false, 1 as unknown as boolean),
               'ERR_ARGUMENT');
  });

  it('handles empty sequences with tf32: Tk = 0 gives zeros and lse -inf, Tq = 0 an empty output', () => {
    const z = (shape: number[]) => at.zeros(shape, { device });
    const opts = { precision: 'tf32' as const };
    const { out, lse } = sdpaWithLse(z([1, 2, 3, 4]), z([1, 2, 0, 4]), z([1, 2, 0, 5]), opts);
    expect(Array.from(out.dataSync())).toEqual(new Array(30).fill(0));
    expect(Array.from(lse.dataSync())).toEqual(new Array(6).fill(-Infinity));
    expect(F.scaledDotProductAttention(z([1, 2, 0, 4]), z([1, 2, 3, 4]), z([1, 2, 3, 5]), opts).shape).toEqual([1, 2, 0, 5]);
    if (device === 'cuda')
      expectCode(() => F.scaledDotProductAttention(z([1, 1, 2, 129]), z([1, 1, 2, 129]), z([1, 1, 2, 4]), opts),
                 'ERR_NOT_IMPLEMENTED');
  });
});

// --- determinism under the emulator ---------------------------------------------------------------

// The tf32 forward, and the float32 backward from its out and lse (see emulatorOrderRuns).
describe.runIf(emulated)('attention tf32 kernel under the emulator', () => {
  it('gives bit-identical results with forward, reverse and shuffled thread orders', () => {
    const runs = emulatorOrderRuns(loadedFrom, true,
                                   [[2, 2, 37, 45, 24, 24, true], [1, 2, 20, 33, 64, 40, false], [1, 1, 70, 70, 128, 128, true]]);
    expect(runs[0].length).toBe(15);
    expect(runs[1]).toEqual(runs[0]);
    expect(runs[2]).toEqual(runs[0]);
  });
});
