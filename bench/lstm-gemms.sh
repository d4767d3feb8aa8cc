#!/usr/bin/env bash
# lstm-gemms.sh — builds bench/lstm_gemms.cc against native/cpu/lstm.cc and oneDNN, and runs it on
# OMP_NUM_THREADS threads (default 2, like the PyTorch comparison): atento's LSTM forward +
# backward next to the sum of its GEMMs timed alone.
set -euo pipefail
cd "$(dirname "$0")/.."
exe="$(mktemp -d)/lstm_gemms"
g++ -std=c++17 -O3 -march=native -fopenmp -DATENTO_WITH_ONEDNN -Inative bench/lstm_gemms.cc native/cpu/lstm.cc \
  native/cpu/gemm.cc native/cpu/parallel.cc -ldnnl -o "$exe"
OMP_NUM_THREADS="${OMP_NUM_THREADS:-2}" "$exe"
rm -rf "$(dirname "$exe")"
