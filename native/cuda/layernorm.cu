// layernorm.cu — layer normalisation on the GPU, llm.c style; CPU twin: native/cpu/layernorm.cc.
//
// x, out, dx, dout are (N, C); w, b, dw, db (C); mean, rstd (N). Formulas in cpu/layernorm.h.
//
// layernorm_forward_kernel: one warp per row, 8 rows per 256-thread block. Two passes over the
//   row (the 2nd hits L1/L2): D = sum(x - x0), V = sum((x - x0)^2) with x0 = x[0] (shifted data:
//   exact even when |mean| >> std, like the CPU kernel) -> mean = x0 + D/C, var = V/C - (D/C)^2;
//   then write out and mean, rstd. Warp-shuffle reductions; float4 loads/stores when C % 4 == 0
//   and every pointer is 16-byte aligned (kVec).
// layernorm_backward_kernel: a block of 8 warps owns a tile of R consecutive rows (R = 8 unless
//   N is huge). Phase 1: one warp per row, one pass for sum(dn), sum(dn (x - mean)), sum(x - mean)
//   (the last corrects the saved float mean, as on the CPU), one pass writing dx. Phase 2 (when dw
//   or db is wanted): the block's threads walk the columns and sum dout * xhat and dout over the
//   tile's rows (just read: L1/L2 hits) into scratch[tile][2][C] — block-level partial sums.
// layernorm_backward_dweight_kernel: the second pass, one thread per column: dw[c], db[c] = sums
//   of scratch over the tiles, in tile order. No atomics: the result is deterministic.
#include "launch.cuh"
#include "layernorm.h"
#include "device.h"

#include <algorithm>
#include <cstdint>

#include "../common.h"

namespace atento::cuda {

namespace {

constexpr unsigned kFull = 0xffffffffu;
constexpr int kThreads = 256, kWarps = kThreads / 32;
constexpr int64_t kMaxTiles = 512;        // bounds the backward's scratch to 512 * 2 * C floats
constexpr int kMaxRowsPerTile = 4096;     // bounds its shared memory (3 floats a row)

__device__ __forceinline__ float warp_sum(float v) {
  for (int off = 16; off > 0; off >>= 1) v += __shfl_xor_sync(kFull, v, off);
  return v;
}

__device__ __forceinline__ float4 load4(const float* p, int c) { return *reinterpret_cast<const float4*>(p + c); }
__device__ __forceinline__ float4 load4_or(const float* p, int c, float v) {
  return p ? load4(p, c) : make_float4(v, v, v, v);
}

template <bool kVec>
__global__ void layernorm_forward_kernel(float* __restrict__ out, float* __restrict__ mean,
                                         float* __restrict__ rstd, const float* __restrict__ x,
                                         const float* __restrict__ w, const float* __restrict__ b, int64_t N, int C,
                                         float eps) {
  const int lane = threadIdx.x % 32;
  const int64_t row = (int64_t)blockIdx.x * kWarps + threadIdx.x / 32;
  if (row >= N) return;  // the whole warp leaves together
  const float* xr = x + row * C;
  float* yr = out + row * C;

  // Shifted data, as on the CPU: sums of d = x - x[0] (x[0] is one of the row's values, so the
  // variance V/C - (D/C)^2 does not cancel even when |mean| >> std).
  const float m0 = xr[0];
  float D = 0.0f, V = 0.0f;
  if (kVec) {
    for (int c = lane * 4; c < C; c += 128) {
      const float4 v = load4(xr, c);
      const float d0 = v.x - m0, d1 = v.y - m0, d2 = v.z - m0, d3 = v.w - m0;
      D += (d0 + d1) + (d2 + d3);
      V += (d0 * d0 + d1 * d1) + (d2 * d2 + d3 * d3);
    }
  } else {
    for (int c = lane; c < C; c += 32) {
      const float d = xr[c] - m0;
      D += d;
      V += d * d;
    }
  }
  D = warp_sum(D);
  V = warp_sum(V);
  const float dm = D / (float)C;
  const float var = fmaxf(V / (float)C - dm * dm, 0.0f);
  const float r = 1.0f / sqrtf(var + eps);
  if (lane == 0) {
    mean[row] = m0 + dm;
    rstd[row] = r;
  }

  if (kVec) {
    for (int c = lane * 4; c < C; c += 128) {
      const float4 v = load4(xr, c), wv = load4_or(w, c, 1.0f), bv = load4_or(b, c, 0.0f);
      float4 o;
      o.x = ((v.x - m0) - dm) * r * wv.x + bv.x;
      o.y = ((v.y - m0) - dm) * r * wv.y + bv.y;
      o.z = ((v.z - m0) - dm) * r * wv.z + bv.z;
      o.w = ((v.w - m0) - dm) * r * wv.w + bv.w;
      *reinterpret_cast<float4*>(yr + c) = o;
    }
  } else {
    for (int c = lane; c < C; c += 32)
      yr[c] = ((xr[c] - m0) - dm) * r * (w ? w[c] : 1.0f) + (b ? b[c] : 0.0f);
  }
}

// scratch is (tiles, 2, C): per tile, the partial dw then the partial db. Dynamic shared memory:
// 3 * rows_per_tile floats (mean, mean correction, rstd of each row of the tile).
template <bool kVec>
__global__ void layernorm_backward_kernel(float* __restrict__ dx, float* __restrict__ scratch,
                                          const float* __restrict__ dout, const float* __restrict__ x,
                                          const float* __restrict__ w, const float* __restrict__ mean,
                                          const float* __restrict__ rstd, int64_t N, int C, int rows_per_tile) {
  ATENTO_DYNAMIC_SHARED(float, stats);
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  const int64_t row0 = (int64_t)blockIdx.x * rows_per_tile;
  const int R = rows_per_tile;

  for (int k = warp; k < R; k += kWarps) {
    const int64_t row = row0 + k;
    if (row >= N) break;  // uniform in the warp
    const float* xr = x + row * C;
    const float* gr = dout + row * C;
    const float m = mean[row], r = rstd[row];
    float A = 0.0f, B = 0.0f, D = 0.0f;  // sum dn, sum dn (x - m), sum (x - m)
    if (kVec) {
      for (int c = lane * 4; c < C; c += 128) {
        const float4 v = load4(xr, c), g = load4(gr, c), wv = load4_or(w, c, 1.0f);
        const float d0 = v.x - m, d1 = v.y - m, d2 = v.z - m, d3 = v.w - m;
        const float n0 = g.x * wv.x, n1 = g.y * wv.y, n2 = g.z * wv.z, n3 = g.w * wv.w;
        A += (n0 + n1) + (n2 + n3);
        B += (n0 * d0 + n1 * d1) + (n2 * d2 + n3 * d3);
        D += (d0 + d1) + (d2 + d3);
      }
    } else {
      for (int c = lane; c < C; c += 32) {
        const float d = xr[c] - m, dn = gr[c] * (w ? w[c] : 1.0f);
        A += dn;
        B += dn * d;
        D += d;
      }
    }
    A = warp_sum(A);
    B = warp_sum(B);
    D = warp_sum(D);
    const float dm = D / (float)C;
    const float a = A / (float)C;
    const float bb = r * (B - dm * A) / (float)C;
    if (dx) {
      float* dr = dx + row * C;
      if (kVec) {
        for (int c = lane * 4; c < C; c += 128) {
          const float4 v = load4(xr, c), g = load4(gr, c), wv = load4_or(w, c, 1.0f);
          float4 o;
          o.x = r * (g.x * wv.x - a - ((v.x - m) - dm) * r * bb);
          o.y = r * (g.y * wv.y - a - ((v.y - m) - dm) * r * bb);
          o.z = r * (g.z * wv.z - a - ((v.z - m) - dm) * r * bb);
          o.w = r * (g.w * wv.w - a - ((v.w - m) - dm) * r * bb);
          *reinterpret_cast<float4*>(dr + c) = o;
        }
      } else {
        for (int c = lane; c < C; c += 32) {
          const float xh = ((xr[c] - m) - dm) * r;
          dr[c] = r * (gr[c] * (w ? w[c] : 1.0f) - a - xh * bb);
        }
      }
    }
    if (lane == 0) {
      stats[k] = m;
      stats[R + k] = dm;
      stats[2 * R + k] = r;
    }
  }
  if (!scratch) return;  // uniform in the block: no barrier follows

  __syncthreads();
  const int64_t left = N - row0;
  const int rows = left < R ? (int)left : R;
  float* sw_out = scratch + (int64_t)blockIdx.x * 2 * C;
  for (int c = threadIdx.x; c < C; c += blockDim.x) {
    float sw = 0.0f, sb = 0.0f;
    for (int k = 0; k < rows; k++) {
      const int64_t off = (row0 + k) * C + c;
      const float g = dout[off];
      sw += g * (((x[off] - stats[k]) - stats[R + k]) * stats[2 * R + k]);
      sb += g;
    }
    sw_out[c] = sw;
    sw_out[C + c] = sb;
  }
}

__global__ void layernorm_backward_dweight_kernel(float* __restrict__ dw, float* __restrict__ db,
                                                  const float* __restrict__ scratch, int64_t tiles, int C) {
  const int c = blockIdx.x * blockDim.x + threadIdx.x;
  if (c >= C) return;
  float sw = 0.0f, sb = 0.0f;
  for (int64_t t = 0; t < tiles; t++) {
    sw += scratch[t * 2 * C + c];
    sb += scratch[t * 2 * C + C + c];
  }
  if (dw) dw[c] = sw;
  if (db) db[c] = sb;
}

bool aligned16(const void* p) { return (reinterpret_cast<uintptr_t>(p) & 15) == 0; }

void check_c(int64_t C) {
  if (C > INT32_MAX) throw Error("ERR_SHAPE", "layerNorm: rows longer than 2^31 - 1 values are not supported on cuda");
}

}  // namespace

void layernorm_forward(float* out, float* mean, float* rstd, const float* x, const float* w, const float* b,
                       int64_t N, int64_t C, float eps) {
  if (N <= 0 || C <= 0) return;
  check_c(C);
  const bool vec = C % 4 == 0 && aligned16(out) && aligned16(x) && aligned16(w) && aligned16(b);
  const unsigned blocks = (unsigned)((N + kWarps - 1) / kWarps);
  if (vec)
    ATENTO_LAUNCH(layernorm_forward_kernel<true>, blocks, kThreads, 0, stream(), out, mean, rstd, x, w, b, N, (int)C,
                  eps);
  else
    ATENTO_LAUNCH(layernorm_forward_kernel<false>, blocks, kThreads, 0, stream(), out, mean, rstd, x, w, b, N, (int)C,
                  eps);
}

void layernorm_backward(float* dx, float* dw, float* db, const float* dout, const float* x, const float* w,
                        const float* mean, const float* rstd, int64_t N, int64_t C) {
  if (C <= 0) return;
  check_c(C);
  if (N <= 0) {
    if (dw) memset_zero(dw, (size_t)C * sizeof(float));
    if (db) memset_zero(db, (size_t)C * sizeof(float));
    return;
  }
  int64_t rows_per_tile = kWarps;
  if ((N + rows_per_tile - 1) / rows_per_tile > kMaxTiles)
    rows_per_tile = std::min<int64_t>(kMaxRowsPerTile, ((N + kMaxTiles * kWarps - 1) / (kMaxTiles * kWarps)) * kWarps);
  const int64_t tiles = (N + rows_per_tile - 1) / rows_per_tile;
  const bool sums = dw || db;
  const size_t scratch_bytes = sums ? (size_t)(tiles * 2 * C) * sizeof(float) : 0;
  float* scratch = sums ? static_cast<float*>(alloc(scratch_bytes)) : nullptr;
  const bool vec = C % 4 == 0 && aligned16(dx) && aligned16(dout) && aligned16(x) && aligned16(w);
  const size_t smem = 3 * (size_t)rows_per_tile * sizeof(float);
  if (vec)
    ATENTO_LAUNCH(layernorm_backward_kernel<true>, (unsigned)tiles, kThreads, smem, stream(), dx, scratch, dout, x, w,
                  mean, rstd, N, (int)C, (int)rows_per_tile);
  else
    ATENTO_LAUNCH(layernorm_backward_kernel<false>, (unsigned)tiles, kThreads, smem, stream(), dx, scratch, dout, x,
                  w, mean, rstd, N, (int)C, (int)rows_per_tile);
  if (sums) {
    ATENTO_LAUNCH(layernorm_backward_dweight_kernel, (unsigned)((C + kThreads - 1) / kThreads), kThreads, 0, stream(),
                  dw, db, scratch, tiles, (int)C);
    release(scratch, scratch_bytes);  // stream-ordered: a later user of this block runs after these kernels
  }
}

}  // namespace atento::cuda
