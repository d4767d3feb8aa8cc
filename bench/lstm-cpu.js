#!/usr/bin/env node
// lstm-cpu.js — one LSTM layer over a sequence, forward + backward through time, on the CPU:
// atento's at.F.lstm against PyTorch 1.13's nn.LSTM (Debian's python3-torch, /usr/bin/python3),
// same shapes, same thread count, same run. `node bench/lstm-cpu.js [H ...]` (default 512 1024).
//
// Shapes: T = 100, B = 64, I = 256 (time-major x [T,B,I]), initial state given, biases on; the
// loss gradient enters through `out` only (PyTorch: out.backward(g)). Both sides report the
// median of BENCH_REPS (default 5) runs after a warm-up, forward and backward separately, plus
// the process CPU time of forward + backward (all threads): on a machine shared with other work
// the CPU-time ratio is the steadier comparison, wall time the one users feel.
// Threads: ATENTO_NUM_THREADS for atento, OMP_NUM_THREADS for PyTorch (both default to 2, the
// setting of the project's reference numbers). ATENTO_LIB picks the atento build to load
// (default: the package, i.e. dist/ — run `npm run build:ts` first).
'use strict';
const { spawnSync } = require('node:child_process');
const path = require('node:path');

const threads = Number(process.env.ATENTO_NUM_THREADS || process.env.OMP_NUM_THREADS || 2);
process.env.ATENTO_NUM_THREADS = String(threads);
process.env.ATENTO_DEVICE = 'cpu';
const at = require(process.env.ATENTO_LIB ? path.resolve(process.env.ATENTO_LIB) : '..');

const T = 100, B = 64, I = 256;
const Hs = process.argv.slice(2).map(Number).filter((h) => h > 0);
if (!Hs.length) Hs.push(512, 1024);
const reps = Number(process.env.BENCH_REPS || 5);

const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const now = () => Number(process.hrtime.bigint()) / 1e6;

// Uniform values in [-scale, scale) from a fixed seed (a small LCG: no dependence on at.randn).
function uniform(shape, seed, scale, requiresGrad = true) {
  const n = shape.reduce((a, b) => a * b, 1), d = new Float32Array(n);
  let s = seed;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    d[i] = ((s / 4294967296) * 2 - 1) * scale;
  }
  return at.tensor(d, shape, { requiresGrad });
}

function atento(H) {
  const k = 1 / Math.sqrt(H); // PyTorch's init range, so the gates are not all saturated
  const x = uniform([T, B, I], 1, 1), h0 = uniform([B, H], 2, 1), c0 = uniform([B, H], 3, 1);
  const w = [uniform([4 * H, I], 4, k), uniform([4 * H, H], 5, k), uniform([4 * H], 6, k), uniform([4 * H], 7, k)];
  const g = uniform([T, B, H], 8, 1, false);
  const fwd = [], bwd = [], cpu = [];
  for (let r = 0; r < reps + 1; r++) {
    for (const t of [x, h0, c0, ...w]) { t.grad?.dispose(); t.grad = null; }
    at.tidy(() => {
      const u0 = process.cpuUsage();
      const t0 = now();
      const [out] = at.F.lstm(x, [h0, c0], ...w);
      const t1 = now();
      out.backward(g);
      const t2 = now();
      const u = process.cpuUsage(u0);
      if (r > 0) { fwd.push(t1 - t0); bwd.push(t2 - t1); cpu.push((u.user + u.system) / 1e3); }
    });
  }
  return { fwd: median(fwd), bwd: median(bwd), cpu: median(cpu) };
}

function torch(H) {
  const py = `
import json, time, torch
torch.manual_seed(0)
T, B, I, H, reps = ${T}, ${B}, ${I}, ${H}, ${reps}
m = torch.nn.LSTM(I, H)
x = torch.randn(T, B, I, requires_grad=True)
h0 = torch.randn(1, B, H, requires_grad=True); c0 = torch.randn(1, B, H, requires_grad=True)
g = torch.randn(T, B, H)
fwd, bwd, cpu = [], [], []
for r in range(reps + 1):
    for p in [x, h0, c0, *m.parameters()]: p.grad = None
    c0_ = time.process_time(); t0 = time.perf_counter(); out, _ = m(x, (h0, c0)); t1 = time.perf_counter()
    out.backward(g); t2 = time.perf_counter(); c1_ = time.process_time()
    if r: fwd.append((t1 - t0) * 1e3); bwd.append((t2 - t1) * 1e3); cpu.append((c1_ - c0_) * 1e3)
med = lambda v: sorted(v)[len(v) // 2]
print(json.dumps({"fwd": med(fwd), "bwd": med(bwd), "cpu": med(cpu), "threads": torch.get_num_threads(), "version": torch.__version__}))
`;
  const r = spawnSync('/usr/bin/python3', ['-c', py], { env: { ...process.env, OMP_NUM_THREADS: String(threads) }, encoding: 'utf8' });
  if (r.status !== 0) return { error: (r.stderr || r.error?.message || 'python3 failed').trim().split('\n').pop() };
  return JSON.parse(r.stdout.trim().split('\n').pop());
}

const fmt = (v) => (v === undefined ? '-' : v.toFixed(1).padStart(8));
console.log(`LSTM forward + backward, T=${T} B=${B} I=${I}, ${threads} threads, median of ${reps} (ms); blas: ${at.info().blas}; ` +
            `OMP_WAIT_POLICY=${process.env.OMP_WAIT_POLICY ?? '(default)'} for both`);
console.log('(cpu: process CPU time of forward + backward, all threads; speed-up: of wall time, cpu time)');
console.log('     H |   atento fwd     bwd   total     cpu |    torch fwd     bwd   total     cpu | speed-up');
for (const H of Hs) {
  const a = atento(H);
  const p = torch(H);
  const at_t = a.fwd + a.bwd, pt_t = p.error ? undefined : p.fwd + p.bwd;
  console.log(`${String(H).padStart(6)} |   ${fmt(a.fwd)}${fmt(a.bwd)}${fmt(at_t)}${fmt(a.cpu)} |   ${fmt(p.fwd)}${fmt(p.bwd)}${fmt(pt_t)}${fmt(p.cpu)} | ` +
              (pt_t ? `${(pt_t / at_t).toFixed(2)}x, ${(p.cpu / a.cpu).toFixed(2)}x` : `torch: ${p.error}`));
}
