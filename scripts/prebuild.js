#!/usr/bin/env node
// prebuild.js — `npm run prebuild`: prebuilt binaries under prebuilds/<platform>-<arch>/.
//   node.napi.node     CPU-only build from binding.gyp, made by prebuildify (found by node-gyp-build)
//   atento.cuda.node   the cmake-js CUDA build, copied in (prebuildify cannot drive cmake-js);
//                      lib/native.ts prefers it and falls back to the CPU one if it fails to load.
// Both use a portable CPU level (ATENTO_MARCH, default x86-64-v3) instead of -march=native.
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');
const env = { ...process.env, ATENTO_MARCH: process.env.ATENTO_MARCH || 'x86-64-v3' };
// prebuildify runs `node-gyp` from PATH: use the project's (a devDependency).
env.PATH = `${path.join(root, 'node_modules', '.bin')}${path.delimiter}${env.PATH}`;
const prefix = path.join(path.dirname(process.execPath), '..');
if (!env.npm_config_nodedir && fs.existsSync(path.join(prefix, 'include', 'node', 'node_api.h'))) env.npm_config_nodedir = prefix;

function run(args, extraEnv = {}) {
  console.log(`[prebuild] ${args.join(' ')}`);
  const r = spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit', env: { ...env, ...extraEnv } });
  if (r.status !== 0) process.exit(r.status ?? 1);
}

// 1. CPU: prebuildify -> node-gyp -> binding.gyp
run([require.resolve('prebuildify/bin.js'), '--napi', '--strip', '--target', process.versions.node]);

// 2. CUDA: cmake-js into its own folder, then copy next to the CPU binary.
const out = path.join(root, 'build-prebuild');
run([path.join(__dirname, 'build-native.js')], { ATENTO_CUDA: '1', ATENTO_BUILD_DIR: out, ATENTO_EMULATOR: '0' });
const dir = path.join(root, 'prebuilds', `${process.platform}-${process.arch}`);
fs.mkdirSync(dir, { recursive: true });
fs.copyFileSync(path.join(out, 'Release', 'atento.node'), path.join(dir, 'atento.cuda.node'));
for (const f of fs.readdirSync(dir)) console.log(`[prebuild] ${path.join(dir, f)}: ${(fs.statSync(path.join(dir, f)).size / 1e6).toFixed(1)} MB`);
