// attention.cu — fused scaled-dot-product attention in CUDA, float32, FlashAttention-2 style.
// CPU twins: native/cpu/attention.cc (same names, shapes and semantics; see attention.h).
//
//   q [B,H,Tq,D], k [B,H,Tk,D], v [B,H,Tk,Dv] -> out [B,H,Tq,Dv], lse [B,H,Tq]
//   s = scale q.k + mask (-inf if causal and j > i), p = softmax(s), out = p v, lse = logsumexp s
//
// Head sizes are padded up to a bucket DP in {32, 64, 128} (max(D, Dv) <= DP); each bucket is a
// template instance with its own tile sizes so shared memory stays under 48 KiB (no opt-in).
// Every block has 128 threads; in tile products a thread owns rows ty + 16 r and columns
// tx + 8 c (ty = tid / 8, tx = tid % 8), so the accumulators live in registers.
//
// attention_forward_kernel<DP>: one block per (b*h, query tile of BQ rows). Q tile in shared
// memory; for each key tile of BK keys (causal: tiles above the diagonal are never visited):
//   K tile -> smem; S = scale Q K^T + mask -> smem; online softmax with 128/BQ threads per row
//   (warp shuffles), which writes P over S and the row's rescale factor; V tile -> smem (over K);
//   O = alpha O + P V in registers. Then out = O / l and lse = m + log l (l = 0: out 0, -inf).
// Backward (deterministic: no atomics):
//   attention_backward_dot_kernel: Di = rowsum(dO * O), one warp per row.
//   attention_backward_dkdv_kernel<DP>: one block per (b*h, key tile); K, V tiles stay in smem,
//     dK and dV accumulate in registers over the query tiles that see the key tile:
//     P = exp(s - lse), dP = dO V^T, dS = P (dP - Di); dV += P^T dO; dK += scale dS^T Q.
//   attention_backward_dq_kernel<DP>: one block per (b*h, query tile); recomputes P and dS per
//     key tile and accumulates dQ += scale dS K in registers.
// Out-of-range rows and keys are zero-filled in shared memory and masked to -inf (P = 0), so
// partial tiles need no special cases after the loads; the mask is read only in range.
// Opt-in tensor-core forward (precision 'tf32'): attention_forward_tf32_kernel<DP>, nvcuda::wmma
// m16n16k8 with tf32 operands and float accumulators, one warp per 16 query rows (its section
// below). Its backward is the float32 kernels above (they recompute P from q, k and lse).
#include "launch.cuh"

#include <climits>
#include <cstdint>

#include "../common.h"
#include "attention.h"
#include "device.h"

namespace atento::cuda {

namespace {

constexpr int kThreads = 128;

// Tile sizes per head-size bucket: forward BQ x BK, backward BQB x BKB (BQB == BKB).
template <int DP>
struct Tiles;
template <>
struct Tiles<32> {
  static constexpr int BQ = 64, BK = 64, BQB = 32, BKB = 32;
};
template <>
struct Tiles<64> {
  static constexpr int BQ = 64, BK = 32, BQB = 32, BKB = 32;
};
template <>
struct Tiles<128> {
  static constexpr int BQ = 32, BK = 32, BQB = 16, BKB = 16;
};

struct Params {
  const float* mask;
  int64_t ms0, ms1, ms2, ms3;  // mask strides (b, h, i, j); 0 on broadcast dims
  int H, Tq, Tk, D, Dv;
  float scale;
  bool causal;
};

// dst[r][c] (row stride DP + 1) = src[row0 + r][c] for rows < T and columns < C, else 0.
template <int DP, int ROWS>
__device__ __forceinline__ void load_tile(float* dst, const float* src, int row0, int T, int C) {
  for (int idx = threadIdx.x; idx < ROWS * DP; idx += kThreads) {
    const int r = idx / DP, c = idx % DP;
    const int row = row0 + r;
    dst[r * (DP + 1) + c] = (row < T && c < C) ? src[(int64_t)row * C + c] : 0.0f;
  }
}

// The masked, scaled score of query i and key j given the raw dot product (-inf if hidden).
__device__ __forceinline__ float masked_score(const Params& p, const float* mbase, float dot, int i, int j) {
  if (j >= p.Tk || (p.causal && j > i)) return -INFINITY;
  float s = dot * p.scale;
  if (mbase && i < p.Tq) s += mbase[i * p.ms2 + j * p.ms3];
  return s;
}

// ---- forward ------------------------------------------------------------------------------------
template <int DP>
__global__ void __launch_bounds__(kThreads, 2)
    attention_forward_kernel(float* out, float* lse, const float* q, const float* k, const float* v,
                             Params p, int nqt) {
  constexpr int BQ = Tiles<DP>::BQ, BK = Tiles<DP>::BK, LD = DP + 1, LDS = BK + 1;
  constexpr int SR = BQ / 16, SC = BK / 8, OC = DP / 8, TPR = kThreads / BQ;
  ATENTO_DYNAMIC_SHARED(float, smem);
  float* Qs = smem;              // [BQ][LD]
  float* KVs = Qs + BQ * LD;     // [BK][LD]: the K tile, then the V tile
  float* Ss = KVs + BK * LD;     // [BQ][LDS]: scores, then probabilities
  float* rowA = Ss + BQ * LDS;   // [BQ]: rescale factor of the current tile
  float* rowL = rowA + BQ;       // [BQ]: final softmax denominators

  const int tid = threadIdx.x, ty = tid / 8, tx = tid % 8;
  const int64_t bh = blockIdx.x / nqt;
  const int i0 = (int)(blockIdx.x % nqt) * BQ;
  const float* Q = q + bh * p.Tq * p.D;
  const float* K = k + bh * p.Tk * p.D;
  const float* V = v + bh * p.Tk * p.Dv;
  const float* mbase = p.mask ? p.mask + (bh / p.H) * p.ms0 + (bh % p.H) * p.ms1 : nullptr;
  load_tile<DP, BQ>(Qs, Q, i0, p.Tq, p.D);

  // Softmax state of row srow, held identically by its TPR threads.
  const int srow = tid / TPR, ssub = tid % TPR;
  float m_run = -INFINITY, l_run = 0.0f;
  float o[SR][OC];
#pragma unroll
  for (int r = 0; r < SR; r++)
#pragma unroll
    for (int c = 0; c < OC; c++) o[r][c] = 0.0f;

  const int kend = p.causal ? min(p.Tk, i0 + BQ) : p.Tk;
  for (int j0 = 0; j0 < kend; j0 += BK) {
    __syncthreads();  // the previous tile's P V is done with KVs and Ss
    load_tile<DP, BK>(KVs, K, j0, p.Tk, p.D);
    __syncthreads();
    {  // S = scale Q K^T + mask
      float acc[SR][SC];
#pragma unroll
      for (int r = 0; r < SR; r++)
#pragma unroll
        for (int c = 0; c < SC; c++) acc[r][c] = 0.0f;
#pragma unroll 4
      for (int d = 0; d < p.D; d++) {
        float a[SR], b[SC];
#pragma unroll
        for (int r = 0; r < SR; r++) a[r] = Qs[(ty + 16 * r) * LD + d];
#pragma unroll
        for (int c = 0; c < SC; c++) b[c] = KVs[(tx + 8 * c) * LD + d];
#pragma unroll
        for (int r = 0; r < SR; r++)
#pragma unroll
          for (int c = 0; c < SC; c++) acc[r][c] += a[r] * b[c];
      }
#pragma unroll
      for (int r = 0; r < SR; r++)
#pragma unroll
        for (int c = 0; c < SC; c++)
          Ss[(ty + 16 * r) * LDS + tx + 8 * c] =
              masked_score(p, mbase, acc[r][c], i0 + ty + 16 * r, j0 + tx + 8 * c);
    }
    __syncthreads();
    {  // online softmax of row srow; P replaces S
      float* srowp = Ss + srow * LDS;
      float mx = -INFINITY;
      for (int c = ssub; c < BK; c += TPR) mx = fmaxf(mx, srowp[c]);
#pragma unroll
      for (int off = 1; off < TPR; off <<= 1) mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, off));
      const float m_new = fmaxf(m_run, mx);
      const float m_use = m_new == -INFINITY ? 0.0f : m_new;  // a row with nothing visible yet
      float sum = 0.0f;
      for (int c = ssub; c < BK; c += TPR) {
        const float e = __expf(srowp[c] - m_use);
        srowp[c] = e;
        sum += e;
      }
#pragma unroll
      for (int off = 1; off < TPR; off <<= 1) sum += __shfl_xor_sync(0xffffffffu, sum, off);
      const float alpha = __expf(m_run - m_use);
      l_run = l_run * alpha + sum;
      m_run = m_new;
      if (ssub == 0) rowA[srow] = alpha;
    }
    load_tile<DP, BK>(KVs, V, j0, p.Tk, p.Dv);  // K is no longer read after the barrier above
    __syncthreads();
    // O = alpha O + P V
#pragma unroll
    for (int r = 0; r < SR; r++) {
      const float a = rowA[ty + 16 * r];
#pragma unroll
      for (int c = 0; c < OC; c++) o[r][c] *= a;
    }
    const int jn = min(BK, p.Tk - j0);
    for (int j = 0; j < jn; j++) {
      float a[SR], b[OC];
#pragma unroll
      for (int r = 0; r < SR; r++) a[r] = Ss[(ty + 16 * r) * LDS + j];
#pragma unroll
      for (int c = 0; c < OC; c++) b[c] = KVs[j * LD + tx + 8 * c];
#pragma unroll
      for (int r = 0; r < SR; r++)
#pragma unroll
        for (int c = 0; c < OC; c++) o[r][c] += a[r] * b[c];
    }
  }

  if (ssub == 0) {
    rowL[srow] = l_run;
    const int i = i0 + srow;
    if (i < p.Tq) lse[bh * p.Tq + i] = l_run > 0.0f ? m_run + logf(l_run) : -INFINITY;
  }
  __syncthreads();
#pragma unroll
  for (int r = 0; r < SR; r++) {
    const int i = i0 + ty + 16 * r;
    if (i >= p.Tq) continue;
    const float l = rowL[ty + 16 * r];
    const float inv = l > 0.0f ? 1.0f / l : 0.0f;
    float* orow = out + (bh * p.Tq + i) * p.Dv;
#pragma unroll
    for (int c = 0; c < OC; c++) {
      const int col = tx + 8 * c;
      if (col < p.Dv) orow[col] = o[r][c] * inv;
    }
  }
}

// ---- backward -----------------------------------------------------------------------------------
// Di[row] = <dO[row], O[row]> for rows < n, one warp per row.
__global__ void attention_backward_dot_kernel(float* Di, const float* dout, const float* out,
                                              int64_t n, int Dv) {
  const int lane = threadIdx.x % 32;
  const int64_t warps = (int64_t)gridDim.x * (kThreads / 32);
  for (int64_t row = (int64_t)blockIdx.x * (kThreads / 32) + threadIdx.x / 32; row < n; row += warps) {
    float s = 0.0f;
    for (int c = lane; c < Dv; c += 32) s += dout[row * Dv + c] * out[row * Dv + c];
#pragma unroll
    for (int off = 16; off > 0; off >>= 1) s += __shfl_xor_sync(0xffffffffu, s, off);
    if (lane == 0) Di[row] = s;
  }
}

// Query rows [i0, i0 + BQ) of head bh: Q and dO tiles, lse and Di (-inf lse past Tq: P = 0).
template <int DP, int BQ>
__device__ __forceinline__ void load_query_side(float* Qs, float* dOs, float* rowLse, float* rowD,
                                                const float* Q, const float* dO, const float* lse,
                                                const float* Di, int i0, const Params& p) {
  load_tile<DP, BQ>(Qs, Q, i0, p.Tq, p.D);
  load_tile<DP, BQ>(dOs, dO, i0, p.Tq, p.Dv);
  for (int r = threadIdx.x; r < BQ; r += kThreads) {
    const int i = i0 + r;
    rowLse[r] = i < p.Tq ? lse[i] : -INFINITY;
    rowD[r] = i < p.Tq ? Di[i] : 0.0f;
  }
}

// P = exp(scale Q K^T + mask - lse) and dS = P (dO V^T - Di) for a BQ x BK block, into Ps
// (unless null) and dSs (row stride BK + 1). Every element is written; hidden ones are 0.
template <int DP, int BQ, int BK>
__device__ __forceinline__ void block_p_ds(float* Ps, float* dSs, const float* Qs, const float* dOs,
                                           const float* Ks, const float* Vs, const float* rowLse,
                                           const float* rowD, const float* mbase, int i0, int j0,
                                           const Params& p) {
  constexpr int LD = DP + 1, LDS = BK + 1, SR = BQ / 16, SC = BK / 8;
  const int ty = threadIdx.x / 8, tx = threadIdx.x % 8;
  float s[SR][SC], dp[SR][SC];
#pragma unroll
  for (int r = 0; r < SR; r++)
#pragma unroll
    for (int c = 0; c < SC; c++) s[r][c] = dp[r][c] = 0.0f;
#pragma unroll 4
  for (int d = 0; d < p.D; d++) {
    float a[SR], b[SC];
#pragma unroll
    for (int r = 0; r < SR; r++) a[r] = Qs[(ty + 16 * r) * LD + d];
#pragma unroll
    for (int c = 0; c < SC; c++) b[c] = Ks[(tx + 8 * c) * LD + d];
#pragma unroll
    for (int r = 0; r < SR; r++)
#pragma unroll
      for (int c = 0; c < SC; c++) s[r][c] += a[r] * b[c];
  }
#pragma unroll 4
  for (int d = 0; d < p.Dv; d++) {
    float a[SR], b[SC];
#pragma unroll
    for (int r = 0; r < SR; r++) a[r] = dOs[(ty + 16 * r) * LD + d];
#pragma unroll
    for (int c = 0; c < SC; c++) b[c] = Vs[(tx + 8 * c) * LD + d];
#pragma unroll
    for (int r = 0; r < SR; r++)
#pragma unroll
      for (int c = 0; c < SC; c++) dp[r][c] += a[r] * b[c];
  }
#pragma unroll
  for (int r = 0; r < SR; r++) {
    const int row = ty + 16 * r;
    const float L = rowLse[row], di = rowD[row];
#pragma unroll
    for (int c = 0; c < SC; c++) {
      const int col = tx + 8 * c;
      const float x = masked_score(p, mbase, s[r][c], i0 + row, j0 + col);
      const float pr = (L == -INFINITY || x == -INFINITY) ? 0.0f : __expf(x - L);
      if (Ps) Ps[row * LDS + col] = pr;
      dSs[row * LDS + col] = pr * (dp[r][c] - di);
    }
  }
}

template <int DP>
__global__ void __launch_bounds__(kThreads, 2)
    attention_backward_dkdv_kernel(float* dk, float* dv, const float* dout, const float* q,
                                   const float* k, const float* v, const float* lse,
                                   const float* Di, Params p, int nkt) {
  constexpr int BQ = Tiles<DP>::BQB, BK = Tiles<DP>::BKB, LD = DP + 1, LDS = BK + 1;
  constexpr int KR = BK / 16, OC = DP / 8;
  ATENTO_DYNAMIC_SHARED(float, smem);
  float* Ks = smem;               // [BK][LD]
  float* Vs = Ks + BK * LD;       // [BK][LD]
  float* Qs = Vs + BK * LD;       // [BQ][LD]
  float* dOs = Qs + BQ * LD;      // [BQ][LD]
  float* Ps = dOs + BQ * LD;      // [BQ][LDS]
  float* dSs = Ps + BQ * LDS;     // [BQ][LDS]
  float* rowLse = dSs + BQ * LDS; // [BQ]
  float* rowD = rowLse + BQ;      // [BQ]

  const int tid = threadIdx.x, ty = tid / 8, tx = tid % 8;
  const int64_t bh = blockIdx.x / nkt;
  const int j0 = (int)(blockIdx.x % nkt) * BK;
  const float* mbase = p.mask ? p.mask + (bh / p.H) * p.ms0 + (bh % p.H) * p.ms1 : nullptr;
  load_tile<DP, BK>(Ks, k + bh * p.Tk * p.D, j0, p.Tk, p.D);
  load_tile<DP, BK>(Vs, v + bh * p.Tk * p.Dv, j0, p.Tk, p.Dv);

  float gk[KR][OC], gv[KR][OC];
#pragma unroll
  for (int r = 0; r < KR; r++)
#pragma unroll
    for (int c = 0; c < OC; c++) gk[r][c] = gv[r][c] = 0.0f;

  // Causal: query rows before j0 see none of these keys.
  for (int i0 = p.causal ? j0 / BQ * BQ : 0; i0 < p.Tq; i0 += BQ) {
    __syncthreads();  // the previous query tile is done with Qs, dOs, Ps, dSs
    load_query_side<DP, BQ>(Qs, dOs, rowLse, rowD, q + bh * p.Tq * p.D, dout + bh * p.Tq * p.Dv,
                            lse + bh * p.Tq, Di + bh * p.Tq, i0, p);
    __syncthreads();
    block_p_ds<DP, BQ, BK>(Ps, dSs, Qs, dOs, Ks, Vs, rowLse, rowD, mbase, i0, j0, p);
    __syncthreads();
    // dV[j] += sum_i P[i][j] dO[i];  dK[j] += sum_i dS[i][j] Q[i]
    for (int i = 0; i < BQ; i++) {
      float pj[KR], sj[KR], a[OC], b[OC];
#pragma unroll
      for (int r = 0; r < KR; r++) {
        pj[r] = Ps[i * LDS + ty + 16 * r];
        sj[r] = dSs[i * LDS + ty + 16 * r];
      }
#pragma unroll
      for (int c = 0; c < OC; c++) {
        a[c] = dOs[i * LD + tx + 8 * c];
        b[c] = Qs[i * LD + tx + 8 * c];
      }
#pragma unroll
      for (int r = 0; r < KR; r++)
#pragma unroll
        for (int c = 0; c < OC; c++) {
          gv[r][c] += pj[r] * a[c];
          gk[r][c] += sj[r] * b[c];
        }
    }
  }

#pragma unroll
  for (int r = 0; r < KR; r++) {
    const int j = j0 + ty + 16 * r;
    if (j >= p.Tk) continue;
#pragma unroll
    for (int c = 0; c < OC; c++) {
      const int col = tx + 8 * c;
      if (col < p.D) dk[(bh * p.Tk + j) * p.D + col] = gk[r][c] * p.scale;
      if (col < p.Dv) dv[(bh * p.Tk + j) * p.Dv + col] = gv[r][c];
    }
  }
}

template <int DP>
__global__ void __launch_bounds__(kThreads, 2)
    attention_backward_dq_kernel(float* dq, const float* dout, const float* q, const float* k,
                                 const float* v, const float* lse, const float* Di, Params p,
                                 int nqt) {
  constexpr int BQ = Tiles<DP>::BQB, BK = Tiles<DP>::BKB, LD = DP + 1, LDS = BK + 1;
  constexpr int QR = BQ / 16, OC = DP / 8;
  ATENTO_DYNAMIC_SHARED(float, smem);
  float* Qs = smem;               // [BQ][LD]
  float* dOs = Qs + BQ * LD;      // [BQ][LD]
  float* Ks = dOs + BQ * LD;      // [BK][LD]
  float* Vs = Ks + BK * LD;       // [BK][LD]
  float* dSs = Vs + BK * LD;      // [BQ][LDS]
  float* rowLse = dSs + BQ * LDS; // [BQ]
  float* rowD = rowLse + BQ;      // [BQ]

  const int tid = threadIdx.x, ty = tid / 8, tx = tid % 8;
  const int64_t bh = blockIdx.x / nqt;
  const int i0 = (int)(blockIdx.x % nqt) * BQ;
  const float* K = k + bh * p.Tk * p.D;
  const float* V = v + bh * p.Tk * p.Dv;
  const float* mbase = p.mask ? p.mask + (bh / p.H) * p.ms0 + (bh % p.H) * p.ms1 : nullptr;
  load_query_side<DP, BQ>(Qs, dOs, rowLse, rowD, q + bh * p.Tq * p.D, dout + bh * p.Tq * p.Dv,
                          lse + bh * p.Tq, Di + bh * p.Tq, i0, p);

  float g[QR][OC];
#pragma unroll
  for (int r = 0; r < QR; r++)
#pragma unroll
    for (int c = 0; c < OC; c++) g[r][c] = 0.0f;

  const int kend = p.causal ? min(p.Tk, i0 + BQ) : p.Tk;
  for (int j0 = 0; j0 < kend; j0 += BK) {
    __syncthreads();  // the previous key tile is done with Ks, Vs, dSs
    load_tile<DP, BK>(Ks, K, j0, p.Tk, p.D);
    load_tile<DP, BK>(Vs, V, j0, p.Tk, p.Dv);
    __syncthreads();
    block_p_ds<DP, BQ, BK>(nullptr, dSs, Qs, dOs, Ks, Vs, rowLse, rowD, mbase, i0, j0, p);
    __syncthreads();
    // dQ[i] += sum_j dS[i][j] K[j]
    for (int j = 0; j < BK; j++) {
      float a[QR], b[OC];
#pragma unroll
      for (int r = 0; r < QR; r++) a[r] = dSs[(ty + 16 * r) * LDS + j];
#pragma unroll
      for (int c = 0; c < OC; c++) b[c] = Ks[j * LD + tx + 8 * c];
#pragma unroll
      for (int r = 0; r < QR; r++)
#pragma unroll
        for (int c = 0; c < OC; c++) g[r][c] += a[r] * b[c];
    }
  }

#pragma unroll
  for (int r = 0; r < QR; r++) {
    const int i = i0 + ty + 16 * r;
    if (i >= p.Tq) continue;
#pragma unroll
    for (int c = 0; c < OC; c++) {
      const int col = tx + 8 * c;
      if (col < p.D) dq[(bh * p.Tq + i) * p.D + col] = g[r][c] * p.scale;
    }
  }
}

// ---- forward on tensor cores: TF32 operands, float32 accumulation (opt-in) ----------------------
// attention_forward_tf32_kernel<DP> computes what attention_forward_kernel does with both tile
// products on tensor cores through nvcuda::wmma (m16n16k8, tf32 operands, float accumulators).
// One block of 4 warps per (b*h, 64 query rows); warp w owns rows 16w..16w+15 and keeps them for
// the whole key loop: its Q rows as matrix_a fragments, its O rows as accumulator fragments.
// Per key tile of BK keys (K and V in smem, rounded to tf32, zero-padded to DP columns and BK rows):
//   S = Q K^T into the warp's 16 rows of Ss; online softmax on Ss, two lanes per row (scale, mask
//   and causal as masked_score), P rounded to tf32 in place; O *= alpha through a 16x16 tile whose
//   row r holds alpha_r (element-wise products of fragments of one type: the only portable use of
//   x[]); O += P V. Only K and V cross warps, so the softmax needs only __syncwarp.
// Causal: tiles wholly above a warp's rows are skipped by that warp (they would add P = 0).
// The epilogue stages each 16x16 block of O through the same tile and writes out = O / l.
// Needs sm_80 (tf32 wmma); the launcher falls back to the float32 kernel on older devices.
constexpr int kTcWarps = kThreads / 32;
constexpr int kTcBQ = 16 * kTcWarps;  // query rows per block

template <int DP>
struct TcForward {
  static constexpr int BQ = kTcBQ;
  static constexpr int BK = DP == 32 ? 64 : 32;
  static constexpr int LD = DP + 4, LDS = BK + 4;  // row strides: multiples of 16 bytes (wmma ldm)
  // K and V tiles; the Q tile is staged over them before the key loop.
  static constexpr int KV = 2 * BK * LD > BQ * LD ? 2 * BK * LD : BQ * LD;
  static constexpr int floats = KV + BQ * LDS + kTcWarps * 256;
  static constexpr size_t bytes = sizeof(float) * floats + 32;  // + slack to align the base to 32 B
};

#if ATENTO_CUDA_ARCH >= 800
// wmma pointers must be 32-byte aligned; dynamic shared memory is only promised 16.
__device__ __forceinline__ float* align32(float* p) {
  return reinterpret_cast<float*>((reinterpret_cast<uintptr_t>(p) + 31) & ~static_cast<uintptr_t>(31));
}

// dst[r][c] (row stride LD) = tf32(src[row0 + r][c]) for rows < T and columns < C, else 0.
template <int LD, int ROWS, int COLS>
__device__ __forceinline__ void load_tile_tf32(float* dst, const float* src, int row0, int T, int C) {
  for (int idx = threadIdx.x; idx < ROWS * COLS; idx += kThreads) {
    const int r = idx / COLS, c = idx % COLS;
    const int row = row0 + r;
    dst[r * LD + c] = (row < T && c < C) ? nvcuda::wmma::__float_to_tf32(src[(int64_t)row * C + c]) : 0.0f;
  }
}
#endif

template <int DP>
__global__ void __launch_bounds__(kThreads, 2)
    attention_forward_tf32_kernel(float* out, float* lse, const float* q, const float* k, const float* v,
                                  Params p, int nqt) {
#if ATENTO_CUDA_ARCH >= 800
  namespace wmma = nvcuda::wmma;
  using FragA = wmma::fragment<wmma::matrix_a, 16, 16, 8, wmma::precision::tf32, wmma::row_major>;
  using FragAcc = wmma::fragment<wmma::accumulator, 16, 16, 8, float>;
  constexpr int BQ = TcForward<DP>::BQ, BK = TcForward<DP>::BK, LD = TcForward<DP>::LD,
                LDS = TcForward<DP>::LDS, QF = DP / 8, SF = BK / 16, OF = DP / 16;
  ATENTO_DYNAMIC_SHARED(float, smem_raw);
  float* smem = align32(smem_raw);
  float* Qs = smem;          // [BQ][LD], before the key loop
  float* Ks = smem;          // [BK][LD]
  float* Vs = Ks + BK * LD;  // [BK][LD]
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  float* Sw = smem + TcForward<DP>::KV + warp * 16 * LDS;        // [16][LDS]: the warp's S, then P
  float* Tw = smem + TcForward<DP>::KV + BQ * LDS + warp * 256;  // [16][16]: row factors, O staging

  const int64_t bh = blockIdx.x / nqt;
  const int i0 = (int)(blockIdx.x % nqt) * BQ, w0 = i0 + 16 * warp;
  const float* Q = q + bh * p.Tq * p.D;
  const float* K = k + bh * p.Tk * p.D;
  const float* V = v + bh * p.Tk * p.Dv;
  const float* mbase = p.mask ? p.mask + (bh / p.H) * p.ms0 + (bh % p.H) * p.ms1 : nullptr;

  load_tile_tf32<LD, BQ, DP>(Qs, Q, i0, p.Tq, p.D);
  __syncthreads();
  FragA qf[QF];
#pragma unroll
  for (int f = 0; f < QF; f++) wmma::load_matrix_sync(qf[f], Qs + 16 * warp * LD + 8 * f, LD);
  FragAcc o[OF];
#pragma unroll
  for (int f = 0; f < OF; f++) wmma::fill_fragment(o[f], 0.0f);

  // Softmax state of the warp's row r, held identically by lanes 2r and 2r+1 (half hc of a tile each).
  // In the 16x16 tile Tw a lane takes the other half, th: the emulator's fragments give lane l row
  // l/2, half l%2, so every Tw element then crosses lanes there too and a missing __syncwarp shows.
  const int r = lane / 2, hc = lane % 2, th = 1 - hc, i = w0 + r;
  float m_run = -INFINITY, l_run = 0.0f;
  const int kend = p.causal ? min(p.Tk, i0 + BQ) : p.Tk;
  const int kwarp = p.causal ? min(p.Tk, w0 + 16) : p.Tk;  // keys this warp's rows may see
  for (int j0 = 0; j0 < kend; j0 += BK) {
    __syncthreads();  // Q fragments loaded / the previous K and V tiles are no longer read
    load_tile_tf32<LD, BK, DP>(Ks, K, j0, p.Tk, p.D);
    load_tile_tf32<LD, BK, DP>(Vs, V, j0, p.Tk, p.Dv);
    __syncthreads();
    if (j0 >= kwarp) continue;  // causal: every key of the tile is hidden from this warp
    {  // S = Q K^T, the warp's 16 rows
      FragAcc s[SF];
#pragma unroll
      for (int n = 0; n < SF; n++) wmma::fill_fragment(s[n], 0.0f);
#pragma unroll
      for (int f = 0; f < QF; f++) {
        if (8 * f >= p.D) break;  // zero columns of Q and K
#pragma unroll
        for (int n = 0; n < SF; n++) {
          wmma::fragment<wmma::matrix_b, 16, 16, 8, wmma::precision::tf32, wmma::col_major> kf;
          wmma::load_matrix_sync(kf, Ks + 16 * n * LD + 8 * f, LD);
          wmma::mma_sync(s[n], qf[f], kf, s[n]);
        }
      }
#pragma unroll
      for (int n = 0; n < SF; n++) wmma::store_matrix_sync(Sw + 16 * n, s[n], LDS, wmma::mem_row_major);
    }
    __syncwarp();
    {  // online softmax of row r; P (tf32) replaces S
      float* srow = Sw + r * LDS + hc * (BK / 2);
      const int jh = j0 + hc * (BK / 2);
      float mx = -INFINITY;
      for (int c = 0; c < BK / 2; c++) {
        const float x = masked_score(p, mbase, srow[c], i, jh + c);
        srow[c] = x;
        mx = fmaxf(mx, x);
      }
      mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 1));
      const float m_new = fmaxf(m_run, mx);
      const float m_use = m_new == -INFINITY ? 0.0f : m_new;  // a row with nothing visible yet
      float sum = 0.0f;
      for (int c = 0; c < BK / 2; c++) {
        const float e = wmma::__float_to_tf32(__expf(srow[c] - m_use));
        srow[c] = e;
        sum += e;
      }
      sum += __shfl_xor_sync(0xffffffffu, sum, 1);
      const float alpha = __expf(m_run - m_use);
      l_run = l_run * alpha + sum;
      m_run = m_new;
#pragma unroll
      for (int c = 0; c < 8; c++) Tw[r * 16 + 8 * th + c] = alpha;
    }
    __syncwarp();
    {  // O = alpha O + P V
      FragAcc af;
      wmma::load_matrix_sync(af, Tw, 16, wmma::mem_row_major);
#pragma unroll
      for (int f = 0; f < OF; f++)
#pragma unroll
        for (int e = 0; e < af.num_elements; e++) o[f].x[e] *= af.x[e];
      const int jn = min(BK, kwarp - j0);  // keys past it have P = 0
#pragma unroll
      for (int kk = 0; kk < BK / 8; kk++) {
        if (8 * kk >= jn) break;
        FragA pf;
        wmma::load_matrix_sync(pf, Sw + 8 * kk, LDS);
#pragma unroll
        for (int f = 0; f < OF; f++) {
          if (16 * f >= p.Dv) break;
          wmma::fragment<wmma::matrix_b, 16, 16, 8, wmma::precision::tf32, wmma::row_major> vf;
          wmma::load_matrix_sync(vf, Vs + 8 * kk * LD + 16 * f, LD);
          wmma::mma_sync(o[f], pf, vf, o[f]);
        }
      }
    }
  }

  // out = O / l, lse = m + log l (l = 0: a row that sees no key: out 0, lse -inf)
  if (hc == 0 && i < p.Tq) lse[bh * p.Tq + i] = l_run > 0.0f ? m_run + logf(l_run) : -INFINITY;
  const float inv = l_run > 0.0f ? 1.0f / l_run : 0.0f;
#pragma unroll
  for (int f = 0; f < OF; f++) {
    if (16 * f >= p.Dv) break;
    __syncwarp();  // every lane is done reading Tw
    wmma::store_matrix_sync(Tw, o[f], 16, wmma::mem_row_major);
    __syncwarp();
    if (i < p.Tq) {
      float* orow = out + (bh * p.Tq + i) * p.Dv;
#pragma unroll
      for (int c = 0; c < 8; c++) {
        const int col = 16 * f + 8 * th + c;
        if (col < p.Dv) orow[col] = Tw[r * 16 + 8 * th + c] * inv;
      }
    }
  }
#else
  (void)out, (void)lse, (void)q, (void)k, (void)v, (void)p, (void)nqt;
  __trap();  // never launched: attention_forward_tf32 checks the compute capability
#endif
}

// ---- launchers ----------------------------------------------------------------------------------
int64_t cdiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

Params make_params(const float* mask, const int64_t* ms, int64_t H, int64_t Tq, int64_t Tk, int64_t D,
                   int64_t Dv, float scale, bool causal) {
  return Params{mask, mask ? ms[0] : 0, mask ? ms[1] : 0, mask ? ms[2] : 0, mask ? ms[3] : 0,
                (int)H, (int)Tq, (int)Tk, (int)D, (int)Dv, scale, causal};
}

// Checks the sizes the kernels index with 32-bit ints and grids, and picks the head bucket.
int bucket(int64_t BH, int64_t Tq, int64_t Tk, int64_t D, int64_t Dv) {
  const int64_t dmax = D > Dv ? D : Dv;
  check(dmax <= 128, "ERR_NOT_IMPLEMENTED",
        [&] {
          return "scaledDotProductAttention on cuda: head sizes above 128 are not supported (D=" + std::to_string(D) +
                 ", Dv=" + std::to_string(Dv) + ")";
        });
  check(Tq <= INT_MAX / 2 && Tk <= INT_MAX / 2 && cdiv(Tq, 16) * BH <= INT_MAX && cdiv(Tk, 16) * BH <= INT_MAX,
        "ERR_SHAPE", "scaledDotProductAttention on cuda: too many rows for one launch");
  return dmax <= 32 ? 32 : dmax <= 64 ? 64 : 128;
}

template <int DP>
void forward_launch(float* out, float* lse, const float* q, const float* k, const float* v, const Params& p,
                    int64_t BH) {
  constexpr int BQ = Tiles<DP>::BQ, BK = Tiles<DP>::BK;
  const size_t smem = sizeof(float) * ((BQ + BK) * (DP + 1) + BQ * (BK + 1) + 2 * BQ);
  const int nqt = (int)cdiv(p.Tq, BQ);
  ATENTO_LAUNCH(attention_forward_kernel<DP>, dim3((unsigned)(BH * nqt)), dim3(kThreads), smem, stream(),
                out, lse, q, k, v, p, nqt);
}

template <int DP>
void forward_tf32_launch(float* out, float* lse, const float* q, const float* k, const float* v, const Params& p,
                         int64_t BH) {
  static_assert(TcForward<DP>::bytes <= 48 * 1024, "stays under the default dynamic shared memory limit");
  const int nqt = (int)cdiv(p.Tq, kTcBQ);
  ATENTO_LAUNCH(attention_forward_tf32_kernel<DP>, dim3((unsigned)(BH * nqt)), dim3(kThreads),
                TcForward<DP>::bytes, stream(), out, lse, q, k, v, p, nqt);
}

// tf32 wmma needs compute capability 8.0 (atento uses device 0).
bool tf32_tensor_cores() {
  const std::vector<DeviceInfo>& d = devices();
  return !d.empty() && d[0].major >= 8;
}

template <int DP>
void backward_launch(float* dq, float* dk, float* dv, const float* dout, const float* q, const float* k,
                     const float* v, const float* lse, const float* Di, const Params& p, int64_t BH) {
  constexpr int BQ = Tiles<DP>::BQB, BK = Tiles<DP>::BKB;
  static_assert(BQ == BK, "the causal start of the dK/dV loop assumes square backward tiles");
  const size_t smem = sizeof(float) * (2 * (BQ + BK) * (DP + 1) + 2 * BQ * (BK + 1) + 2 * BQ);
  if (p.Tk > 0) {
    const int nkt = (int)cdiv(p.Tk, BK);
    ATENTO_LAUNCH(attention_backward_dkdv_kernel<DP>, dim3((unsigned)(BH * nkt)), dim3(kThreads), smem,
                  stream(), dk, dv, dout, q, k, v, lse, Di, p, nkt);
  }
  if (p.Tq > 0) {
    const int nqt = (int)cdiv(p.Tq, BQ);
    ATENTO_LAUNCH(attention_backward_dq_kernel<DP>, dim3((unsigned)(BH * nqt)), dim3(kThreads), smem,
                  stream(), dq, dout, q, k, v, lse, Di, p, nqt);
  }
}

// Scratch for Di, from the caching allocator; freed on scope exit (also when a launch throws).
struct DeviceScratch {
  void* ptr = nullptr;
  size_t bytes = 0;
  explicit DeviceScratch(size_t n) : ptr(n ? alloc(n) : nullptr), bytes(n) {}
  ~DeviceScratch() {
    if (ptr) release(ptr, bytes);
  }
  DeviceScratch(const DeviceScratch&) = delete;
  DeviceScratch& operator=(const DeviceScratch&) = delete;
};

}  // namespace

void attention_forward(float* out, float* lse, const float* q, const float* k, const float* v,
                       const float* mask, const int64_t* mask_strides, int64_t B, int64_t H,
                       int64_t Tq, int64_t Tk, int64_t D, int64_t Dv, float scale, bool causal) {
  const int64_t BH = B * H;
  if (BH == 0 || Tq == 0) return;
  const int dp = bucket(BH, Tq, Tk, D, Dv);
  const Params p = make_params(mask, mask_strides, H, Tq, Tk, D, Dv, scale, causal);
  if (dp == 32) forward_launch<32>(out, lse, q, k, v, p, BH);
  else if (dp == 64) forward_launch<64>(out, lse, q, k, v, p, BH);
  else forward_launch<128>(out, lse, q, k, v, p, BH);
}

void attention_forward_tf32(float* out, float* lse, const float* q, const float* k, const float* v,
                            const float* mask, const int64_t* mask_strides, int64_t B, int64_t H,
                            int64_t Tq, int64_t Tk, int64_t D, int64_t Dv, float scale, bool causal) {
  if (!tf32_tensor_cores()) {  // sm_75 and older: no tf32 wmma; the float32 kernel is exact anyway
    attention_forward(out, lse, q, k, v, mask, mask_strides, B, H, Tq, Tk, D, Dv, scale, causal);
    return;
  }
  const int64_t BH = B * H;
  if (BH == 0 || Tq == 0) return;
  const int dp = bucket(BH, Tq, Tk, D, Dv);
  const Params p = make_params(mask, mask_strides, H, Tq, Tk, D, Dv, scale, causal);
  if (dp == 32) forward_tf32_launch<32>(out, lse, q, k, v, p, BH);
  else if (dp == 64) forward_tf32_launch<64>(out, lse, q, k, v, p, BH);
  else forward_tf32_launch<128>(out, lse, q, k, v, p, BH);
}

void attention_backward(float* dq, float* dk, float* dv, const float* dout, const float* q,
                        const float* k, const float* v, const float* out, const float* lse,
                        const float* mask, const int64_t* mask_strides, int64_t B, int64_t H,
                        int64_t Tq, int64_t Tk, int64_t D, int64_t Dv, float scale, bool causal) {
  const int64_t BH = B * H;
  if (BH == 0) return;
  const int dp = bucket(BH, Tq, Tk, D, Dv);
  const Params p = make_params(mask, mask_strides, H, Tq, Tk, D, Dv, scale, causal);
  DeviceScratch di(sizeof(float) * BH * Tq);
  float* Di = static_cast<float*>(di.ptr);
  if (BH * Tq > 0) {
    const int64_t rows = BH * Tq, per_block = kThreads / 32;
    const int64_t blocks = cdiv(rows, per_block) < 65535 ? cdiv(rows, per_block) : 65535;
    ATENTO_LAUNCH(attention_backward_dot_kernel, dim3((unsigned)blocks), dim3(kThreads), 0, stream(), Di,
                  dout, out, rows, (int)Dv);
  }
  if (dp == 32) backward_launch<32>(dq, dk, dv, dout, q, k, v, lse, Di, p, BH);
  else if (dp == 64) backward_launch<64>(dq, dk, dv, dout, q, k, v, lse, Di, p, BH);
  else backward_launch<128>(dq, dk, dv, dout, q, k, v, lse, Di, p, BH);
}

}  // namespace atento::cuda
