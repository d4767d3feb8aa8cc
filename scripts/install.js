#!/usr/bin/env node
// install.js — npm's install hook. Uses a prebuilt binary when one loads on this machine (no
// compiler needed); otherwise builds from source (scripts/build-native.js: CUDA with cmake-js
// when nvcc is found, else CPU-only with node-gyp). ATENTO_CUDA=0|1 or ATENTO_BUILD_FROM_SOURCE=1
// always build.
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');
const env = process.env;

function prebuiltLoads() {
  const dir = path.join(root, 'prebuilds', `${process.platform}-${process.arch}`);
  if (!fs.existsSync(dir)) return false;
  // Test-load in a child process, so a binary that crashes on load cannot take npm down.
  const probe = `const p=require('path');const d=${JSON.stringify(dir)};` +
    `for (const f of require('fs').readdirSync(d)) if (f.endsWith('.node')) require(p.join(d, f));`;
  return spawnSync(process.execPath, ['-e', probe], { stdio: 'ignore' }).status === 0;
}

const forced = env.ATENTO_CUDA !== undefined || env.ATENTO_BUILD_FROM_SOURCE === '1' || env.ATENTO_EMULATOR === '1';
if (!forced && prebuiltLoads()) {
  console.log('[atento] using the prebuilt binary');
  process.exit(0);
}
const r = spawnSync(process.execPath, [path.join(__dirname, 'build-native.js')], { stdio: 'inherit', env });
process.exit(r.status ?? 1);
