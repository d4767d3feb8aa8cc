#!/usr/bin/env bash
# check-cpu-build.sh — builds the CPU-only module (ATENTO_CUDA=0: binding.gyp via node-gyp) in a
# scratch copy of the package and runs a smoke test against it, leaving build/ untouched.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
cp -r "$root/package.json" "$root/binding.gyp" "$root/native" "$root/scripts" "$root/dist" "$tmp/"
ln -s "$root/node_modules" "$tmp/node_modules"
(cd "$tmp" && ATENTO_CUDA=0 node scripts/build-native.js >build.log 2>&1) || { cat "$tmp/build.log"; exit 1; }
ls -la "$tmp/build/Release/atento.node"
ATENTO_BINARY="$tmp/build/Release/atento.node" node -e "
  const at = require('$tmp/dist');
  const i = at.info();
  if (i.cuda.compiled) throw new Error('expected a CPU-only build');
  const c = at.matmul(at.ones([4, 3]), at.ones([3, 2]));
  if (c.toArray()[0][0] !== 3) throw new Error('matmul gave ' + c.toArray());
  console.log('[cpu-only build] ok:', JSON.stringify({ blas: i.blas, cuda: i.cuda.compiled, error: i.cuda.error }));
"
