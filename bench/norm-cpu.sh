#!/usr/bin/env bash
# norm-cpu.sh — builds bench/norm_cpu.cc against the kernels of native/cpu and oneDNN, and runs it
# on OMP_NUM_THREADS threads (default 2, like the PyTorch comparison).
set -euo pipefail
cd "$(dirname "$0")/.."
exe="$(mktemp -d)/norm_cpu"
g++ -std=c++17 -O3 -march=native -fopenmp -Inative bench/norm_cpu.cc native/cpu/layernorm.cc native/cpu/softmax.cc \
  native/cpu/losses.cc native/cpu/parallel.cc -ldnnl -o "$exe"
OMP_NUM_THREADS="${OMP_NUM_THREADS:-2}" "$exe"
rm -rf "$(dirname "$exe")"
