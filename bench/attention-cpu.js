#!/usr/bin/env node
// attention-cpu.js — causal self-attention forward + backward on the CPU: atento's fused
// at.F.scaledDotProductAttention against PyTorch 1.13 (Debian's python3-torch, /usr/bin/python3),
// which has no fused SDPA, so it runs the same math as matmul + scale + masked_fill + softmax +
// matmul with autograd. Same shapes, same thread count, same run.
//
//   node bench/attention-cpu.js [B,H,T,D ...]      (default 12,4,64,32 8,6,256,64)
//
// Both sides report the median (and the minimum: the machine may be shared) over BENCH_REPS runs
// (default 30) after warm-up, of the forward
// alone (no graph) and of forward + backward (gradients for q, k, v; upstream gradient given).
// Threads: ATENTO_NUM_THREADS for atento, OMP_NUM_THREADS for PyTorch (both default to 2).
// ATENTO_LIB picks the atento build to load (default: the package, i.e. dist/).
'use strict';
const { spawnSync } = require('node:child_process');
const path = require('node:path');

const threads = Number(process.env.ATENTO_NUM_THREADS || process.env.OMP_NUM_THREADS || 2);
process.env.ATENTO_NUM_THREADS = String(threads);
process.env.ATENTO_DEVICE = 'cpu';
const at = require(process.env.ATENTO_LIB ? path.resolve(process.env.ATENTO_LIB) : '..');

const configs = process.argv.slice(2).map((s) => s.split(',').map(Number));
if (!configs.length) configs.push([12, 4, 64, 32], [8, 6, 256, 64]);
const reps = Number(process.env.BENCH_REPS || 30);

const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const min = (xs) => Math.min(...xs);
const now = () => Number(process.hrtime.bigint()) / 1e6;

function uniform(shape, seed, requiresGrad) {
  const n = shape.reduce((a, b) => a * b, 1), d = new Float32Array(n);
  let s = seed;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    d[i] = (s / 4294967296) * 2 - 1;
  }
  return at.tensor(d, shape, { requiresGrad });
}

function atento([B, H, T, D]) {
  const q = uniform([B, H, T, D], 1, true), k = uniform([B, H, T, D], 2, true), v = uniform([B, H, T, D], 3, true);
  const g = uniform([B, H, T, D], 4, false);
  const fwd = [], both = [];
  for (let r = 0; r < reps + 3; r++) {
    for (const t of [q, k, v]) { t.grad?.dispose(); t.grad = null; }
    at.tidy(() => {
      const t0 = now();
      at.noGrad(() => at.F.scaledDotProductAttention(q, k, v, { isCausal: true }));
      const t1 = now();
      const out = at.F.scaledDotProductAttention(q, k, v, { isCausal: true });
      out.backward(g);
      const t2 = now();
      if (r >= 3) { fwd.push(t1 - t0); both.push(t2 - t1); }
    });
  }
  return { fwd: median(fwd), both: median(both), fwdMin: min(fwd), bothMin: min(both) };
}

function torch([B, H, T, D]) {
  const py = `
import json, math, time, torch
torch.manual_seed(0)
B, H, T, D, reps = ${B}, ${H}, ${T}, ${D}, ${reps}
q, k, v = (torch.randn(B, H, T, D, requires_grad=True) for _ in range(3))
g = torch.randn(B, H, T, D)
hidden = ~torch.ones(T, T, dtype=torch.bool).tril()
def attn():
    s = (q @ k.transpose(-1, -2)) * (1 / math.sqrt(D))
    return torch.softmax(s.masked_fill(hidden, float('-inf')), -1) @ v
fwd, both = [], []
for r in range(reps + 3):
    for p in (q, k, v): p.grad = None
    t0 = time.perf_counter()
    with torch.no_grad(): attn()
    t1 = time.perf_counter()
    attn().backward(g)
    t2 = time.perf_counter()
    if r >= 3: fwd.append((t1 - t0) * 1e3); both.append((t2 - t1) * 1e3)
med = lambda x: sorted(x)[len(x) // 2]
print(json.dumps({"fwd": med(fwd), "both": med(both), "fwdMin": min(fwd), "bothMin": min(both), "threads": torch.get_num_threads(), "version": torch.__version__}))
`;
  const r = spawnSync('/usr/bin/python3', ['-c', py], { env: { ...process.env, OMP_NUM_THREADS: String(threads) }, encoding: 'utf8' });
  if (r.status !== 0) return { error: (r.stderr || r.error?.message || 'python3 failed').trim().split('\n').pop() };
  return JSON.parse(r.stdout.trim().split('\n').pop());
}

const f = (ms) => `${ms.toFixed(3)} ms`;
console.log(`causal attention, float32, ${threads} threads, median of ${reps} (atento ${at.info().binary})`);
for (const c of configs) {
  const a = atento(c), t = torch(c);
  const name = `B=${c[0]} H=${c[1]} T=${c[2]} D=${c[3]}`;
  if (t.error) {
    console.log(`${name}: atento fwd ${f(a.fwd)}, fwd+bwd ${f(a.both)}; PyTorch unavailable: ${t.error}`);
    continue;
  }
  const row = (what, x, y, xm, ym) => `${what.padEnd(8)} atento ${f(x)} (min ${f(xm)})  PyTorch ${t.version} ${f(y)} (min ${f(ym)})` +
    `  speed-up x${(y / x).toFixed(2)} (min x${(ym / xm).toFixed(2)})`;
  console.log(`${name}: ${row('fwd', a.fwd, t.fwd, a.fwdMin, t.fwdMin)}`);
  console.log(`${' '.repeat(name.length)}  ${row('fwd+bwd', a.both, t.both, a.bothMin, t.bothMin)}`);
}
