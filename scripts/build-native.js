#!/usr/bin/env node
// build-native.js — builds the native module.
//
// CUDA build (cmake-js + nvcc) when a CUDA toolkit is found, else the CPU-only build from
// binding.gyp (node-gyp). Environment:
//   ATENTO_CUDA=1        require the CUDA build (fails clearly without nvcc)
//   ATENTO_CUDA=0        CPU-only build with node-gyp (binding.gyp)
//   ATENTO_CUDA_ARCHS    CMake CUDA architectures, e.g. "80-real;90" (default: sm_75..sm_120 + PTX)
//   ATENTO_EMULATOR=1    also build build/Release/atento_emu.node (CUDA kernels on the CPU emulator)
//   ATENTO_JOBS          parallel compile jobs (default: CPU count)
//   ATENTO_BUILD_DIR     cmake-js output folder (default: build), for side-by-side dev builds
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const root = path.join(__dirname, '..');
const env = process.env;

function findNvcc() {
  const candidates = [];
  if (env.CUDACXX) candidates.push(env.CUDACXX);
  for (const dir of (env.PATH || '').split(path.delimiter)) if (dir) candidates.push(path.join(dir, 'nvcc'));
  if (env.CUDA_HOME) candidates.push(path.join(env.CUDA_HOME, 'bin', 'nvcc'));
  candidates.push('/usr/local/cuda/bin/nvcc');
  return candidates.find((p) => { try { fs.accessSync(p, fs.constants.X_OK); return true; } catch { return false; } });
}

function run(cmd, args) {
  console.log(`[atento] ${cmd} ${args.join(' ')}`);
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', env });
  if (r.status !== 0) {
    console.error(`[atento] native build failed (${cmd} exited with ${r.status ?? r.signal})`);
    process.exit(1);
  }
}

const want = env.ATENTO_CUDA;
const nvcc = findNvcc();
if (want === '1' && !nvcc) {
  console.error('[atento] ATENTO_CUDA=1 but no CUDA toolkit was found: nvcc is not on PATH, in $CUDA_HOME/bin,\n' +
                '         or in /usr/local/cuda/bin. Install the CUDA toolkit, or build the CPU-only module\n' +
                '         with ATENTO_CUDA=0.');
  process.exit(1);
}
const jobs = String(env.ATENTO_JOBS || os.availableParallelism?.() || os.cpus().length);
const emulator = env.ATENTO_EMULATOR === '1';

if (want !== '0' && (nvcc || emulator)) {
  const cmakeJs = require.resolve('cmake-js/bin/cmake-js');
  const defs = [`--CDATENTO_CUDA=${nvcc && want !== '0' ? 'ON' : 'OFF'}`, `--CDATENTO_EMULATOR=${emulator ? 'ON' : 'OFF'}`];
  if (nvcc) defs.push(`--CDCMAKE_CUDA_COMPILER=${nvcc}`);
  if (env.ATENTO_MARCH) defs.push(`--CDATENTO_MARCH=${env.ATENTO_MARCH}`);
  if (env.ATENTO_CUDA_ARCHS) defs.push(`--CDATENTO_CUDA_ARCHS=${env.ATENTO_CUDA_ARCHS}`);
  const out = env.ATENTO_BUILD_DIR ? ['--out', env.ATENTO_BUILD_DIR] : [];
  run(process.execPath, [cmakeJs, 'compile', '--parallel', jobs, ...out, ...defs]);
} else {
  run(process.execPath, [findNodeGyp(), 'rebuild', `--jobs=${jobs}`, ...nodedirArgs()]);
}

// node-gyp: npm sets npm_config_node_gyp to its bundled copy during lifecycle scripts; outside
// them, a local install or the copy bundled with npm next to this node.
function findNodeGyp() {
  if (env.npm_config_node_gyp) return env.npm_config_node_gyp;
  try { return require.resolve('node-gyp/bin/node-gyp.js'); } catch {}
  const bundled = path.join(path.dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules',
                            'node-gyp', 'bin', 'node-gyp.js');
  if (fs.existsSync(bundled)) return bundled;
  console.error('[atento] node-gyp not found: install it (npm i -g node-gyp) or use npm install');
  process.exit(1);
}

// Use the headers installed with this node (no download) when they match it.
function nodedirArgs() {
  if (env.npm_config_nodedir) return [`--nodedir=${env.npm_config_nodedir}`];
  const prefix = path.join(path.dirname(process.execPath), '..');
  return fs.existsSync(path.join(prefix, 'include', 'node', 'node_api.h')) ? [`--nodedir=${prefix}`] : [];
}
