// embedding.cu — CUDA embedding; CPU twin in native/cpu/embedding.cc.
//
// embedding_forward_kernel: out [N, C] <- weight [V, C] rows ids [N]; one thread per output
//   element (grid-stride), consecutive threads along C, so loads and stores are coalesced.
// embedding_backward_kernel: dweight [V, C] += dout [N, C] by atomicAdd, one thread per (n, c),
//   skipping padding_idx. Repeated ids make the summation order vary from run to run (results
//   agree to float rounding); the CPU version is deterministic.
#include "launch.cuh"

#include "device.h"
#include "embedding.h"

namespace atento::cuda {

static unsigned grid_for(int64_t n, int block) {
  int64_t blocks = (n + block - 1) / block;
  return (unsigned)(blocks < 65535 ? (blocks > 0 ? blocks : 1) : 65535);
}

__global__ void embedding_forward_kernel(float* out, const int32_t* ids, const float* weight, int64_t N, int64_t C) {
  const int64_t n_total = N * C;
  for (int64_t t = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; t < n_total; t += (int64_t)gridDim.x * blockDim.x) {
    int64_t n = t / C, c = t % C;
    out[t] = weight[(int64_t)ids[n] * C + c];
  }
}

void embedding_forward(float* out, const int32_t* ids, const float* weight, int64_t N, int64_t C) {
  if (N * C <= 0) return;
  ATENTO_LAUNCH(embedding_forward_kernel, grid_for(N * C, 256), 256, 0, stream(), out, ids, weight, N, C);
}

__global__ void embedding_backward_kernel(float* dweight, const float* dout, const int32_t* ids, int64_t N, int64_t C,
                                          int64_t padding_idx) {
  const int64_t n_total = N * C;
  for (int64_t t = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; t < n_total; t += (int64_t)gridDim.x * blockDim.x) {
    int64_t n = t / C, c = t % C;
    int64_t v = ids[n];
    if (v != padding_idx) atomicAdd(dweight + v * C + c, dout[t]);
  }
}

void embedding_backward(float* dweight, const float* dout, const int32_t* ids, int64_t N, int64_t V, int64_t C,
                        int64_t padding_idx) {
  if (N * C <= 0) return;
  ATENTO_LAUNCH(embedding_backward_kernel, grid_for(N * C, 256), 256, 0, stream(), dweight, dout, ids, N, C,
                padding_idx);
}

}  // namespace atento::cuda
