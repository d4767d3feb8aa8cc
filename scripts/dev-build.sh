#!/usr/bin/env bash
# dev-build.sh NAME — a quick development build into build-NAME/ (CUDA for sm_80 only, plus the
# emulator flavour), so several people can build side by side. Then test with:
#   ATENTO_BINARY=build-NAME/Release/atento.node ATENTO_EMU_BINARY=build-NAME/Release/atento_emu.node \
#     npx vitest run test/<file>.test.ts
set -euo pipefail
cd "$(dirname "$0")/.."
name="${1:?usage: dev-build.sh NAME}"
ATENTO_BUILD_DIR="build-$name" ATENTO_EMULATOR=1 ATENTO_CUDA_ARCHS="${ATENTO_CUDA_ARCHS:-80-real}" \
  ATENTO_JOBS="${ATENTO_JOBS:-2}" node scripts/build-native.js
ls -la "build-$name/Release/"*.node
