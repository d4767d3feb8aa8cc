#!/usr/bin/env node
// gpu.js — CUDA kernel throughput on a real GPU: `npm run bench -- gpu`.
// Attention in TFLOP/s with FlashAttention's convention (forward 4*B*H*Tq*Tk*D FLOPs, halved when
// causal; backward 2.5x the forward), layernorm and softmax in GB/s (bytes read + written once).
// Without a GPU it says so and exits 0: the numbers only mean something on real hardware.
'use strict';
const at = require('..');

const info = at.info();
if (!info.cuda.devices.length || info.cuda.emulated) {
  console.log(`gpu benchmark skipped: ${info.cuda.emulated ? 'the cuda device is the CPU emulator' :
    info.cuda.compiled ? `no usable GPU (${info.cuda.error})` : 'this build has no CUDA support'}`);
  process.exit(0);
}
const dev = 'cuda';
console.log(`${info.cuda.devices[0].name} (cc ${info.cuda.devices[0].computeCapability}), atento ${info.version}`);

function time(fn, iters = 20) {
  for (let i = 0; i < 3; i++) fn();
  at.synchronize();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < iters; i++) fn();
  at.synchronize();
  return Number(process.hrtime.bigint() - t0) / 1e9 / iters;
}

const rows = [];
for (const [B, H, T, D, causal] of [[8, 16, 1024, 64, true], [8, 16, 1024, 64, false], [4, 16, 4096, 128, true], [16, 12, 512, 64, true]]) {
  const q = at.randn([B, H, T, D], { device: dev, requiresGrad: true });
  const k = at.randn([B, H, T, D], { device: dev, requiresGrad: true });
  const v = at.randn([B, H, T, D], { device: dev, requiresGrad: true });
  const flops = 4 * B * H * T * T * D * (causal ? 0.5 : 1);
  const fwd = time(() => at.tidy(() => { at.noGrad(() => at.F.scaledDotProductAttention(q, k, v, { isCausal: causal })); }));
  const g = at.randn([B, H, T, D], { device: dev });
  const both = time(() => at.tidy(() => {
    const o = at.F.scaledDotProductAttention(q, k, v, { isCausal: causal });
    o.backward(g);
    for (const t of [q, k, v]) { t.grad.dispose(); t.grad = null; }
  }));
  rows.push([`attention B${B} H${H} T${T} D${D}${causal ? ' causal' : ''}`, `fwd ${(flops / fwd / 1e12).toFixed(1)} TFLOP/s`,
             `bwd ${((2.5 * flops) / (both - fwd) / 1e12).toFixed(1)} TFLOP/s`]);
}
for (const [N, C] of [[8192, 768], [16384, 1024], [4096, 4096]]) {
  const x = at.randn([N, C], { device: dev });
  const w = at.ones([C], { device: dev }), b = at.zeros([C], { device: dev });
  const bytes = 2 * N * C * 4;
  const ln = time(() => at.tidy(() => { at.F.layerNorm(x, [C], w, b); }));
  const sm = time(() => at.tidy(() => { at.F.softmax(x, -1); }));
  rows.push([`layernorm ${N}x${C}`, `${(bytes / ln / 1e9).toFixed(0)} GB/s`, '']);
  rows.push([`softmax ${N}x${C}`, `${(bytes / sm / 1e9).toFixed(0)} GB/s`, '']);
}
for (const r of rows) console.log(r.join('  |  '));
