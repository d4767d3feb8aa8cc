#!/usr/bin/env node
// norm-losses.js — forward + backward of layerNorm, softmax, logSoftmax, crossEntropy, mseLoss and
// binaryCrossEntropyWithLogits, atento (CPU) against PyTorch CPU (/usr/bin/python3, torch 1.13)
// at the shapes of a small GPT step (B*T = 768 rows, C = 128; cross-entropy C = 65 and 50257)
// and a larger one (B*T = 2048, C = 384), on the same number of threads.
//
//   ATENTO_NUM_THREADS=2 node bench/norm-losses.js [filter]
//   ATENTO_LIB=<compiled lib dir> (default: ../dist) ATENTO_BINARY=<atento.node> to pick a build.
//
// Each side reports the best (minimum) and the median wall time over repeated runs after a
// warm-up. Best-of-N is the headline: on a shared machine it is the run other processes disturbed
// least; the medians show how noisy the machine was.
'use strict';
const { spawnSync } = require('node:child_process');
const os = require('node:os');
const path = require('node:path');

const threads = Number(process.env.ATENTO_NUM_THREADS || 2);
process.env.ATENTO_NUM_THREADS = String(threads);
process.env.ATENTO_DEVICE = 'cpu';
const at = require(process.env.ATENTO_LIB ? path.resolve(process.env.ATENTO_LIB) : '../dist');
const F = at.F;

function timeit(fn, minTime = 1.0, warmup = 5) {
  for (let i = 0; i < warmup; i++) fn();
  const times = [];
  const start = process.hrtime.bigint();
  while (Number(process.hrtime.bigint() - start) / 1e9 < minTime || times.length < 10) {
    const t0 = process.hrtime.bigint();
    fn();
    times.push(Number(process.hrtime.bigint() - t0) / 1e9);
  }
  times.sort((a, b) => a - b);
  return { best: times[0], median: times[times.length >> 1] };
}

const leaf = (shape, seed = 1) => at.randn(shape, { seed, requiresGrad: true });
// Inputs are built once; each run is forward + backward inside a tidy scope (grads reset).
function step(inputs, run, gradShape) {
  const g = gradShape ? at.randn(gradShape, { seed: 2 }) : null;
  return () => at.tidy(() => {
    for (const t of inputs) { t.grad?.dispose(); t.grad = null; }
    run().backward(g ?? undefined);
  });
}

const CASES = {
  'layernorm 768x128': () => { const x = leaf([768, 128]), w = leaf([128]), b = leaf([128]);
    return step([x, w, b], () => F.layerNorm(x, [128], w, b), [768, 128]); },
  'layernorm 2048x384': () => { const x = leaf([2048, 384]), w = leaf([384]), b = leaf([384]);
    return step([x, w, b], () => F.layerNorm(x, [384], w, b), [2048, 384]); },
  'softmax 768x128': () => { const x = leaf([768, 128]); return step([x], () => F.softmax(x, -1), [768, 128]); },
  'softmax 2048x384': () => { const x = leaf([2048, 384]); return step([x], () => F.softmax(x, -1), [2048, 384]); },
  'logSoftmax 768x128': () => { const x = leaf([768, 128]); return step([x], () => F.logSoftmax(x, -1), [768, 128]); },
  'logSoftmax 2048x384': () => { const x = leaf([2048, 384]); return step([x], () => F.logSoftmax(x, -1), [2048, 384]); },
  'crossEntropy 768x65': () => { const x = leaf([768, 65]), t = at.randint(0, 65, [768], { seed: 3 });
    return step([x], () => F.crossEntropy(x, t)); },
  'crossEntropy 2048x65': () => { const x = leaf([2048, 65]), t = at.randint(0, 65, [2048], { seed: 3 });
    return step([x], () => F.crossEntropy(x, t)); },
  'crossEntropy 768x50257': () => { const x = leaf([768, 50257]), t = at.randint(0, 50257, [768], { seed: 3 });
    return step([x], () => F.crossEntropy(x, t)); },
  'mseLoss 768x128': () => { const x = leaf([768, 128]), y = at.randn([768, 128], { seed: 4 });
    return step([x], () => F.mseLoss(x, y)); },
  'bceWithLogits 768x128': () => { const x = leaf([768, 128]), y = at.rand([768, 128], { seed: 4 });
    return step([x], () => F.binaryCrossEntropyWithLogits(x, y)); },
};

const PY = String.raw`
import json, sys, time
import torch, torch.nn.functional as F
torch.manual_seed(0)
def timeit(fn, min_time=1.0, warmup=5):
    for _ in range(warmup): fn()
    t = []; start = time.perf_counter()
    while time.perf_counter() - start < min_time or len(t) < 10:
        t0 = time.perf_counter(); fn(); t.append(time.perf_counter() - t0)
    t.sort(); return {"best": t[0], "median": t[len(t) // 2]}
def leaf(*s): return torch.randn(*s, requires_grad=True)
def ln(N, C):
    x, w, b, g = leaf(N, C), leaf(C), leaf(C), torch.randn(N, C)
    return lambda: F.layer_norm(x, (C,), w, b).backward(g)
def sm(N, C, log):
    x, g = leaf(N, C), torch.randn(N, C)
    f = torch.log_softmax if log else torch.softmax
    return lambda: f(x, -1).backward(g)
def ce(N, C):
    x, t = leaf(N, C), torch.randint(0, C, (N,))
    return lambda: F.cross_entropy(x, t).backward()
def mse(N, C):
    x, y = leaf(N, C), torch.randn(N, C)
    return lambda: F.mse_loss(x, y).backward()
def bce(N, C):
    x, y = leaf(N, C), torch.rand(N, C)
    return lambda: F.binary_cross_entropy_with_logits(x, y).backward()
CASES = {
  "layernorm 768x128": lambda: ln(768, 128), "layernorm 2048x384": lambda: ln(2048, 384),
  "softmax 768x128": lambda: sm(768, 128, False), "softmax 2048x384": lambda: sm(2048, 384, False),
  "logSoftmax 768x128": lambda: sm(768, 128, True), "logSoftmax 2048x384": lambda: sm(2048, 384, True),
  "crossEntropy 768x65": lambda: ce(768, 65), "crossEntropy 2048x65": lambda: ce(2048, 65),
  "crossEntropy 768x50257": lambda: ce(768, 50257),
  "mseLoss 768x128": lambda: mse(768, 128), "bceWithLogits 768x128": lambda: bce(768, 128),
}
print(json.dumps({n: timeit(CASES[n]()) for n in json.load(sys.stdin)}))
`;

function main() {
  const filter = process.argv[2] ?? '';
  const names = Object.keys(CASES).filter((n) => n.includes(filter));
  const ours = {};
  for (const n of names) ours[n] = timeit(CASES[n]());
  const py = spawnSync('/usr/bin/python3', ['-c', PY], {
    input: JSON.stringify(names), encoding: 'utf8', env: { ...process.env, OMP_NUM_THREADS: String(threads) },
  });
  if (py.status !== 0) throw new Error(`PyTorch side failed: ${py.stderr}`);
  const torch = JSON.parse(py.stdout);
  const us = (s) => (s * 1e6).toFixed(0);
  const rows = [['op (forward + backward)', 'atento us', 'PyTorch us', 'speed-up', 'atento median', 'PyTorch median']];
  for (const n of names) {
    const a = ours[n], t = torch[n];
    rows.push([n, us(a.best), us(t.best), (t.best / a.best).toFixed(2) + 'x', us(a.median), us(t.median)]);
  }
  console.log(`atento vs PyTorch ${'1.13'} CPU, ${threads} thread(s), best of N (medians for the noise), ` +
              `${os.cpus()[0].model}, load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`);
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => String(r[c]).length)));
  rows.forEach((r, i) => {
    console.log('| ' + r.map((x, c) => String(x).padEnd(widths[c])).join(' | ') + ' |');
    if (i === 0) console.log('|' + widths.map((w) => '-'.repeat(w + 2)).join('|') + '|');
  });
}

main();
