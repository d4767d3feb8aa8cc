// op-overhead.js — what an op costs beyond its kernel: forward + backward of small ops on a 4 x 16
// tensor (the kernels' own work is negligible there), a bare empty() + dispose(), and a few raw
// native calls. Everything a training step does per op — argument checks, allocation, autograd
// bookkeeping, the N-API call, entering (or not) the thread pool — shows up here.
// `node bench/op-overhead.js` (CPU; mean microseconds per call over 50000 calls after a warm-up).
'use strict';
process.env.ATENTO_DEVICE = 'cpu';
const at = require('..');
const { native } = require('../dist/native');

const F = at.F;
const x = at.randn([4, 16], { seed: 1, requiresGrad: true });
const w = at.randn([16], { seed: 3, requiresGrad: true }), b = at.randn([16], { seed: 4, requiresGrad: true });
const g = at.randn([4, 16], { seed: 2 });
const out = at.empty([4, 16]);
const clear = (...ts) => { for (const t of ts) { t.grad?.dispose(); t.grad = null; } };
const shape = [4, 16];

const CASES = {
  'layerNorm fwd + bwd': () => at.tidy(() => { clear(x, w, b); F.layerNorm(x, [16], w, b).backward(g); }),
  'softmax fwd + bwd': () => at.tidy(() => { clear(x); F.softmax(x, -1).backward(g); }),
  'add(x, x) fwd + bwd': () => at.tidy(() => { clear(x); at.add(x, x).backward(g); }),
  'softmax fwd, no grad': () => at.noGrad(() => at.tidy(() => { F.softmax(x, -1); })),
  'empty + dispose': () => { at.empty(shape).dispose(); },
  'native binary (add)': () => native.binary(out.buf, x.buf, g.buf, 0, shape, shape, shape),
  'native axpy': () => native.axpy(out.buf, x.buf, 1, 64),
};

console.log(`op-overhead: ${at.info().threads} threads, mean µs per call`);
console.log('| call | µs |');
console.log('|---|---|');
for (const [name, fn] of Object.entries(CASES)) {
  for (let i = 0; i < 20000; i++) fn();
  const n = 50000;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) fn();
  console.log(`| ${name} | ${(Number(process.hrtime.bigint() - t0) / n / 1e3).toFixed(2)} |`);
}
