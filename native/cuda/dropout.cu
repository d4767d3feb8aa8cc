// dropout.cu — CUDA dropout; CPU twin in native/cpu/dropout.cc.
//
// dropout_kernel: out[i] = keep(i) ? x[i] * scale : 0 over x [n], one thread per element
// (grid-stride). keep(i) hashes (seed, i) with the function native/cpu/dropout.h shares with
// the CPU, so both devices draw the same mask; the backward is the same kernel on dy.
#include "launch.cuh"

#include "../cpu/dropout.h"
#include "device.h"
#include "dropout.h"

namespace atento::cuda {

static unsigned grid_for(int64_t n, int block) {
  int64_t blocks = (n + block - 1) / block;
  return (unsigned)(blocks < 65535 ? (blocks > 0 ? blocks : 1) : 65535);
}

__global__ void dropout_kernel(float* out, const float* x, int64_t n, uint64_t key, uint32_t threshold, float scale) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
    out[i] = dropout_bits(key, (uint64_t)i) >= threshold ? x[i] * scale : 0.0f;
}

void dropout_forward(float* out, const float* x, int64_t n, uint64_t seed, uint32_t threshold, float scale) {
  if (n <= 0) return;
  ATENTO_LAUNCH(dropout_kernel, grid_for(n, 256), 256, 0, stream(), out, x, n, dropout_key(seed), threshold, scale);
}

}  // namespace atento::cuda
