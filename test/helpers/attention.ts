// attention.ts — inputs shared by the attention tests (test/attention.test.ts, the float32 kernels;
// test/attention_tf32.test.ts, the TF32 forward): deterministic random numbers, a finiteness
// check, and the random-shape cases with every kind of mask, as the op takes the mask and as the
// CPU reference kernel takes it.
import { spawnSync } from 'node:child_process';
import * as at from '../../lib';

// Deterministic uniform numbers in [-amp, amp) (an LCG: the same on every machine).
export function rnd(n: number, seed: number, amp = 1.5): Float32Array {
  let s = seed >>> 0;
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    a[i] = (s / 2 ** 32 * 2 - 1) * amp;
  }
  return a;
}

export function expectFinite(t: at.Tensor, what: string): void {
  const d = t.dataSync();
  for (let i = 0; i < d.length; i++) if (!Number.isFinite(d[i])) throw new Error(`${what}: element ${i} is ${d[i]}`);
}

export type MaskKind = 'none' | 'keypad-bool' | 'keypad-float' | '2d-bool' | 'b1qk-float' | 'full-bool' | 'fully-masked-rows' |
  'per-query-float';

export interface Case {
  B: number; H: number; Tq: number; Tk: number; D: number; Dv: number;
  causal: boolean; mask: MaskKind; scale?: number;
}

// The mask as the op takes it (bool or float, broadcast shape) and as the reference takes it
// (additive float32 + strides over [B,H,Tq,Tk]).
export function makeMask(c: Case, seed: number): { shape: number[]; bool?: Uint8Array; float?: Float32Array;
                                              additive: Float32Array; strides: number[] } | null {
  const { B, H, Tq, Tk } = c;
  const r = rnd(B * H * Tq * Tk, seed, 1);
  const boolOf = (n: number, keep: (i: number) => boolean) => Uint8Array.from({ length: n }, (_, i) => (keep(i) ? 1 : 0));
  const additiveOf = (b: Uint8Array) => Float32Array.from(b, (x) => (x ? 0 : -Infinity));
  switch (c.mask) {
    case 'none':
      return null;
    case 'keypad-bool': { // [B,1,1,Tk]: the last keys of each batch padded (at least one kept)
      const b = boolOf(B * Tk, (i) => i % Tk < Tk - (i / Tk | 0) - 1 || i % Tk === 0);
      return { shape: [B, 1, 1, Tk], bool: b, additive: additiveOf(b), strides: [Tk, 0, 0, 1] };
    }
    case 'keypad-float': {
      const f = Float32Array.from({ length: B * Tk }, (_, i) => (r[i] < -0.6 && i % Tk ? -Infinity : r[i]));
      return { shape: [B, 1, 1, Tk], float: f, additive: f, strides: [Tk, 0, 0, 1] };
    }
    case '2d-bool': {
      const b = boolOf(Tq * Tk, (i) => r[i] > -0.5 || i % Tk === 0);
      return { shape: [Tq, Tk], bool: b, additive: additiveOf(b), strides: [0, 0, Tk, 1] };
    }
    case 'b1qk-float': {
      const f = Float32Array.from({ length: B * Tq * Tk }, (_, i) => r[i] * 2);
      return { shape: [B, 1, Tq, Tk], float: f, additive: f, strides: [Tq * Tk, 0, Tk, 1] };
    }
    case 'full-bool': {
      const b = boolOf(B * H * Tq * Tk, (i) => r[i] > -0.3);
      return { shape: [B, H, Tq, Tk], bool: b, additive: additiveOf(b), strides: [H * Tq * Tk, Tq * Tk, Tk, 1] };
    }
    case 'per-query-float': { // [B,1,Tq,1]: a bias per query (constant over keys), -inf hides a row
      const f = Float32Array.from({ length: B * Tq }, (_, i) => (r[i] < -0.7 ? -Infinity : r[i] * 3));
      return { shape: [B, 1, Tq, 1], float: f, additive: f, strides: [Tq, 0, 1, 0] };
    }
    case 'fully-masked-rows': { // [B,H,Tq,Tk] bool, every third query row of each head sees nothing
      const b = boolOf(B * H * Tq * Tk, (i) => ((i / Tk | 0) % Tq) % 3 !== 1 && r[i] > -0.7);
      return { shape: [B, H, Tq, Tk], bool: b, additive: additiveOf(b), strides: [H * Tq * Tk, Tq * Tk, Tk, 1] };
    }
  }
}

// Determinism under the emulator: child processes run the CUDA attention kernels (forward with
// tf32 or not, then the backward) with the emulator's thread/block order forward, reversed and
// shuffled, each printing hashes of the bits of out, lse, dq, dk, dv for every shape
// [B, H, Tq, Tk, D, Dv, causal]. A kernel missing a barrier, or summing in an order that depends
// on scheduling, gives different bits under different orders. Returns one list of hashes per order.
export function emulatorOrderRuns(binary: string, tf32: boolean, shapes: (number | boolean)[][]): string[][] {
  const child = `
const n = require(process.env.ATENTO_BINARY);
n.setErrorClass(class extends Error { constructor(m, c) { super(m); this.code = c; } });
function rnd(len, seed) { let s = seed >>> 0; const a = new Float32Array(len);
  for (let i = 0; i < len; i++) { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; a[i] = s / 2 ** 32 * 2 - 1; } return a; }
const up = (a) => { const d = n.deviceAlloc(a.byteLength, 0); n.copyBuffer(d, a, a.byteLength); return d; };
const down = (d, len) => { const a = new Float32Array(len); n.copyBuffer(a, d, len * 4);
  return require('node:crypto').createHash('sha256').update(new Uint8Array(a.buffer)).digest('hex').slice(0, 16); };
const parts = [];
for (const [B, H, Tq, Tk, D, Dv, causal] of ${JSON.stringify(shapes)}) {
  const q = rnd(B * H * Tq * D, 1), k = rnd(B * H * Tk * D, 2), v = rnd(B * H * Tk * Dv, 3), g = rnd(B * H * Tq * Dv, 4);
  const mask = rnd(B * Tq * Tk, 5).map((x) => (x < -0.6 ? -Infinity : x)), ms = [Tq * Tk, 0, Tk, 1];
  const dq = up(q), dk = up(k), dv = up(v), dg = up(g), dm = up(mask);
  const out = n.deviceAlloc(B * H * Tq * Dv * 4, 0), lse = n.deviceAlloc(B * H * Tq * 4, 0);
  n.attentionForward(out, lse, dq, dk, dv, dm, ms, B, H, Tq, Tk, D, Dv, 0.4, causal${tf32 ? ', true' : ''});
  const gq = n.deviceAlloc(q.byteLength, 0), gk = n.deviceAlloc(k.byteLength, 0), gv = n.deviceAlloc(v.byteLength, 0);
  n.attentionBackward(gq, gk, gv, dg, dq, dk, dv, out, lse, dm, ms, B, H, Tq, Tk, D, Dv, 0.4, causal);
  const name = [B, H, Tq, Tk, D, Dv].join('/') + ' ';
  parts.push(name + 'out ' + down(out, B * H * Tq * Dv), name + 'lse ' + down(lse, B * H * Tq), name + 'dq ' + down(gq, q.length),
             name + 'dk ' + down(gk, k.length), name + 'dv ' + down(gv, v.length));
}
process.stdout.write(JSON.stringify(parts));
`;
  return ['forward', 'reverse', 'shuffle:7'].map((order) => {
    const r = spawnSync(process.execPath, ['-e', child], {
      env: { ...process.env, ATENTO_BINARY: binary, ATENTO_EMU_ORDER: order }, encoding: 'utf8', timeout: 120_000,
    });
    if (r.status !== 0) throw new Error(`child with ATENTO_EMU_ORDER=${order} failed: ${r.stderr}`);
    return JSON.parse(r.stdout) as string[];
  });
}
