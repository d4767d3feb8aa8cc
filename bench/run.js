#!/usr/bin/env node
// run.js — `npm run bench -- <suite> [filter]`. Suites: ops (atento vs PyTorch CPU per op),
// gpu (CUDA kernels; skipped, and says so, when no GPU is present).
'use strict';
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const suite = process.argv[2] ?? 'ops';
const file = path.join(__dirname, `${suite}.js`);
const r = spawnSync(process.execPath, [file, ...process.argv.slice(3)], { stdio: 'inherit' });
process.exit(r.status ?? 1);
