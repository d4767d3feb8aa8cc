#!/usr/bin/env bash
# fma-peak.sh — builds and runs bench/fma_peak.cc: the FMA peak of one core of this machine.
set -euo pipefail
cd "$(dirname "$0")/.."
exe="$(mktemp -d)/fma_peak"
g++ -std=c++17 -O2 -march=native bench/fma_peak.cc -o "$exe"
"$exe"
rm -rf "$(dirname "$exe")"
