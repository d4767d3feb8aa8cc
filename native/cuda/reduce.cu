// reduce.cu — CUDA reductions; CPU twins in native/cpu/reduce.cc. x [outer, R, inner].
//
// inner == 1 (reducing trailing dims):
//   reduce_sum_rows_kernel: one block per row (grid-stride over rows), block size a multiple of
//     32 up to 256 fitted to R; each thread sums a strided part of the row, then the block
//     combines with warp shuffles and one shared slot per warp.
//   reduce_max_rows_kernel: the same with (value, index) pairs: larger value wins (smaller for
//     min), NaN beats numbers, ties go to the smaller index, so the result is the first extreme.
// inner > 1:
//   reduce_sum_cols_kernel / reduce_max_cols_kernel: one thread per output (o, i) looping over r;
//     neighbouring threads read neighbouring i, so loads are coalesced.
// reduce_max_backward_kernel: one thread per dx element: dy where r is the saved index, else 0.
// Sums accumulate in float32 (the CPU uses double; tests compare with a tolerance).
#include "launch.cuh"

#include "device.h"
#include "reduce.h"

namespace atento::cuda {

static unsigned grid_for(int64_t n, int block) {
  int64_t blocks = (n + block - 1) / block;
  return (unsigned)(blocks < 65535 ? (blocks > 0 ? blocks : 1) : 65535);
}
static unsigned grid_rows(int64_t rows) { return (unsigned)(rows < 65535 ? (rows > 0 ? rows : 1) : 65535); }
// Threads per row: R rounded up to a warp multiple, at most 256.
static int block_for_row(int64_t R) { return R >= 256 ? 256 : (int)((R + 31) / 32) * 32 + (R == 0 ? 32 : 0); }

__device__ __forceinline__ float warp_sum(float v) {
  #pragma unroll
  for (int m = 16; m > 0; m >>= 1) v += __shfl_xor_sync(0xffffffffu, v, m);
  return v;
}

__global__ void reduce_sum_rows_kernel(float* out, const float* x, int64_t outer, int64_t R, float scale) {
  __shared__ float warp_sums[32];
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32, warps = blockDim.x / 32;
  for (int64_t o = blockIdx.x; o < outer; o += gridDim.x) {
    const float* row = x + o * R;
    float acc = 0.0f;
    for (int64_t r = threadIdx.x; r < R; r += blockDim.x) acc += row[r];
    acc = warp_sum(acc);
    if (lane == 0) warp_sums[warp] = acc;
    __syncthreads();
    if (warp == 0) {
      acc = lane < warps ? warp_sums[lane] : 0.0f;
      acc = warp_sum(acc);
      if (lane == 0) out[o] = acc * scale;
    }
    __syncthreads();  // warp_sums is reused by the next row
  }
}

__global__ void reduce_sum_cols_kernel(float* out, const float* x, int64_t outer, int64_t R, int64_t inner,
                                       float scale) {
  const int64_t n = outer * inner;
  for (int64_t t = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; t < n; t += (int64_t)gridDim.x * blockDim.x) {
    int64_t o = t / inner, i = t % inner;
    const float* p = x + o * R * inner + i;
    float acc = 0.0f;
    for (int64_t r = 0; r < R; r++) acc += p[r * inner];
    out[t] = acc * scale;
  }
}

void reduce_sum(float* out, const float* x, int64_t outer, int64_t R, int64_t inner, float scale) {
  if (outer <= 0 || inner <= 0) return;
  if (inner == 1) {
    int block = block_for_row(R);
    ATENTO_LAUNCH(reduce_sum_rows_kernel, grid_rows(outer), block, 0, stream(), out, x, outer, R, scale);
  } else {
    ATENTO_LAUNCH(reduce_sum_cols_kernel, grid_for(outer * inner, 256), 256, 0, stream(), out, x, outer, R, inner,
                  scale);
  }
}

// Whether candidate (v, i) beats the current (bv, bi); index -1 means "nothing yet".
__device__ __forceinline__ bool max_takes(float v, int i, float bv, int bi, bool is_min) {
  if (i < 0) return false;
  if (bi < 0) return true;
  bool vn = v != v, bn = bv != bv;
  if (vn || bn) return vn && (!bn || i < bi);
  if (v == bv) return i < bi;
  return is_min ? v < bv : v > bv;
}

__global__ void reduce_max_rows_kernel(float* values, int32_t* indices, const float* x, int64_t outer, int64_t R,
                                       bool is_min) {
  __shared__ float warp_v[32];
  __shared__ int warp_i[32];
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32, warps = blockDim.x / 32;
  for (int64_t o = blockIdx.x; o < outer; o += gridDim.x) {
    const float* row = x + o * R;
    float bv = 0.0f;
    int bi = -1;
    for (int64_t r = threadIdx.x; r < R; r += blockDim.x) {
      float v = row[r];
      if (max_takes(v, (int)r, bv, bi, is_min)) {
        bv = v;
        bi = (int)r;
      }
    }
    #pragma unroll
    for (int m = 16; m > 0; m >>= 1) {
      float v = __shfl_xor_sync(0xffffffffu, bv, m);
      int i = __shfl_xor_sync(0xffffffffu, bi, m);
      if (max_takes(v, i, bv, bi, is_min)) {
        bv = v;
        bi = i;
      }
    }
    if (lane == 0) {
      warp_v[warp] = bv;
      warp_i[warp] = bi;
    }
    __syncthreads();
    if (warp == 0) {
      bv = lane < warps ? warp_v[lane] : 0.0f;
      bi = lane < warps ? warp_i[lane] : -1;
      #pragma unroll
      for (int m = 16; m > 0; m >>= 1) {
        float v = __shfl_xor_sync(0xffffffffu, bv, m);
        int i = __shfl_xor_sync(0xffffffffu, bi, m);
        if (max_takes(v, i, bv, bi, is_min)) {
          bv = v;
          bi = i;
        }
      }
      if (lane == 0) {
        if (values) values[o] = bv;
        if (indices) indices[o] = bi;
      }
    }
    __syncthreads();
  }
}

__global__ void reduce_max_cols_kernel(float* values, int32_t* indices, const float* x, int64_t outer, int64_t R,
                                       int64_t inner, bool is_min) {
  const int64_t n = outer * inner;
  for (int64_t t = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; t < n; t += (int64_t)gridDim.x * blockDim.x) {
    int64_t o = t / inner, i = t % inner;
    const float* p = x + o * R * inner + i;
    float bv = p[0];
    int bi = 0;
    for (int64_t r = 1; r < R; r++) {
      float v = p[r * inner];
      if (max_takes(v, (int)r, bv, bi, is_min)) {
        bv = v;
        bi = (int)r;
      }
    }
    if (values) values[t] = bv;
    if (indices) indices[t] = bi;
  }
}

void reduce_max(float* values, int32_t* indices, const float* x, int64_t outer, int64_t R, int64_t inner,
                bool is_min) {
  if (outer <= 0 || inner <= 0 || R <= 0) return;
  if (inner == 1) {
    ATENTO_LAUNCH(reduce_max_rows_kernel, grid_rows(outer), block_for_row(R), 0, stream(), values, indices, x, outer,
                  R, is_min);
  } else {
    ATENTO_LAUNCH(reduce_max_cols_kernel, grid_for(outer * inner, 256), 256, 0, stream(), values, indices, x, outer,
                  R, inner, is_min);
  }
}

__global__ void reduce_max_backward_kernel(float* dx, const float* dy, const int32_t* indices, int64_t R,
                                           int64_t inner, int64_t n) {
  for (int64_t t = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; t < n; t += (int64_t)gridDim.x * blockDim.x) {
    int64_t i = t % inner, r = (t / inner) % R, o = t / (inner * R);
    int64_t k = o * inner + i;
    dx[t] = indices[k] == r ? dy[k] : 0.0f;
  }
}

void reduce_max_backward(float* dx, const float* dy, const int32_t* indices, int64_t outer, int64_t R,
                         int64_t inner) {
  int64_t n = outer * R * inner;
  if (n <= 0) return;
  ATENTO_LAUNCH(reduce_max_backward_kernel, grid_for(n, 256), 256, 0, stream(), dx, dy, indices, R, inner, n);
}

}  // namespace atento::cuda
