// row_reduce.cuh — building blocks of the row-wise kernels (softmax.cu, losses.cu): online
// softmax statistics, warp and block reductions, float4 access, and the one-warp-per-row /
// one-block-per-row mapping. Rows of up to kWarpRowMaxC values get a warp each (kWarps rows per
// kThreads-thread block); longer rows get a whole block.
#pragma once

#include <cstdint>

namespace atento::cuda {
namespace {

constexpr unsigned kFull = 0xffffffffu;
constexpr int kThreads = 256, kWarps = kThreads / 32;
constexpr int64_t kWarpRowMaxC = 1024;  // longer rows get a block each

// Online softmax state: s = sum of exp(x - m) over the values seen so far.
struct Online {
  float m, s;
};

__device__ __forceinline__ void online_add(Online& o, float x) {
  if (x > o.m) {
    o.s = o.s * expf(o.m - x) + 1.0f;  // o.m = -inf at first: expf(-inf) = 0
    o.m = x;
  } else {
    o.s += expf(x - (o.m == -INFINITY ? 0.0f : o.m));  // o.m = -inf here: x is -inf (adds 0) or NaN
  }
}

__device__ __forceinline__ Online online_merge(Online a, Online b) {
  const float m = fmaxf(a.m, b.m);
  if (m == -INFINITY) return Online{m, a.s + b.s};
  return Online{m, a.s * expf(a.m - m) + b.s * expf(b.m - m)};
}

__device__ __forceinline__ Online warp_online(Online o) {
  for (int off = 16; off > 0; off >>= 1) {
    Online other{__shfl_xor_sync(kFull, o.m, off), __shfl_xor_sync(kFull, o.s, off)};
    o = online_merge(o, other);
  }
  return o;
}

template <class T>
__device__ __forceinline__ T warp_sum(T v) {
  for (int off = 16; off > 0; off >>= 1) v += __shfl_xor_sync(kFull, v, off);
  return v;
}

// Block-wide versions: every thread of the block calls them and gets the result. `sh` holds
// 2 * 32 floats of shared memory; the trailing barrier lets the caller reuse it.
__device__ __forceinline__ Online block_online(Online o, float* sh) {
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32, warps = blockDim.x / 32;
  o = warp_online(o);
  if (lane == 0) {
    sh[warp] = o.m;
    sh[32 + warp] = o.s;
  }
  __syncthreads();
  o = lane < warps ? Online{sh[lane], sh[32 + lane]} : Online{-INFINITY, 0.0f};
  o = warp_online(o);
  __syncthreads();
  return o;
}

template <class T>
__device__ __forceinline__ T block_sum(T v, T* sh) {
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32, warps = blockDim.x / 32;
  v = warp_sum(v);
  if (lane == 0) sh[warp] = v;
  __syncthreads();
  v = warp_sum(lane < warps ? sh[lane] : T(0));
  __syncthreads();
  return v;
}

__device__ __forceinline__ float4 load4(const float* p, int64_t c) {
  return *reinterpret_cast<const float4*>(p + c);
}
__device__ __forceinline__ void store4(float* p, int64_t c, float4 v) { *reinterpret_cast<float4*>(p + c) = v; }

// The row this warp (or block) works on, this thread's first column and the column stride.
template <bool kBlockRow>
__device__ __forceinline__ int64_t row_index() {
  return kBlockRow ? (int64_t)blockIdx.x : (int64_t)blockIdx.x * kWarps + threadIdx.x / 32;
}
template <bool kBlockRow>
__device__ __forceinline__ int row_thread() {
  return kBlockRow ? (int)threadIdx.x : (int)(threadIdx.x % 32);
}
template <bool kBlockRow>
__device__ __forceinline__ int row_threads() {
  return kBlockRow ? (int)blockDim.x : 32;
}

}  // namespace
}  // namespace atento::cuda
