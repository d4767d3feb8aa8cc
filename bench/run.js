#!/usr/bin/env node
// run.js — `npm run bench -- <suite> [filter]`. Suites: ops (atento vs PyTorch CPU per op),
// gpu (CUDA kernels; skipped, and says so, when no GPU is present), train (one training step of
// the `atento train` models vs PyTorch: bench/train-step.js).
'use strict';
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const suite = process.argv[2] ?? 'ops';
const files = { train: 'train-step' }; // suites whose file has another name
const file = path.join(__dirname, `${files[suite] ?? suite}.js`);
const r = spawnSync(process.execPath, [file, ...process.argv.slice(3)], { stdio: 'inherit' });
process.exit(r.status ?? 1);
