// elementwise.cu — CUDA elementwise kernels; CPU twins in native/cpu/elementwise.cc.
//
// axpy: y[i] += alpha * x[i]; one thread per element, grid-stride loop.
#include "launch.cuh"
#include "elementwise.h"
#include "device.h"

namespace atento::cuda {

__global__ void axpy_kernel(float* y, const float* x, float alpha, int64_t n) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
    y[i] += alpha * x[i];
}

static unsigned grid_for(int64_t n, int block) {
  int64_t blocks = (n + block - 1) / block;
  return (unsigned)(blocks < 65535 ? (blocks > 0 ? blocks : 1) : 65535);
}

void axpy(float* y, const float* x, float alpha, int64_t n) {
  if (n <= 0) return;
  ATENTO_LAUNCH(axpy_kernel, grid_for(n, 256), 256, 0, stream(), y, x, alpha, n);
}

}  // namespace atento::cuda
