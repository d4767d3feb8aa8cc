// lstm.cu — LSTM sequence forward and backward on CUDA; CPU twin in native/cpu/lstm.cc (same
// structure and function names; shapes and formulas in lstm.h).
//
// Forward:  gates[T*B,4H] = x[T*B,I] wIh^T                   one cuBLAS GEMM for all steps
//           per t: gates_t += h_{t-1} wHh^T                   GEMM [B,H] x [H,4H], beta = 1
//                  lstm_forward_pointwise_kernel: bias, activations, c_t, h_t; gates_t keeps
//                  the activated i, f, g, o for backward
// Backward: per t from T-1 down: lstm_backward_pointwise_kernel: dGates_t from dh, dc, the
//                                saved gates and c_t, c_{t-1}; dc becomes dL/dc_{t-1}
//                                dh = dGates_t wHh            GEMM [B,4H] x [4H,H]
//           dX   = dGates wIh, dWih = dGates^T x, dWhh = dGates_{1..}^T out_{0..T-2} + dGates_0^T h0
//           dbIh = dbHh = column sums of dGates               lstm_bias_backward_kernel
//
// Pointwise kernels: one thread per (b, hidden unit j); blockIdx.x * blockDim.x + threadIdx.x = j,
// blockIdx.y walks the batch (grid-stride, so any B fits). A thread reads the four gates of its
// unit (stride H apart in a row of 4H: coalesced across the warp) and writes them back activated.
#include "launch.cuh"

#include <algorithm>

#include "../common.h"
#include "device.h"
#include "lstm.h"

namespace atento::cuda {

__device__ __forceinline__ float sigmoidf_(float x) { return 1.0f / (1.0f + expf(-x)); }

// gates_t [B,4H]: pre-activations without bias in, activated i, f, g, o out. c_t, h_t [B,H]
// written; c_prev [B,H] (null: zeros); bIh, bHh [4H] (null: none).
__global__ void lstm_forward_pointwise_kernel(float* gates_t, float* c_t, float* h_t, const float* c_prev,
                                              const float* bIh, const float* bHh, int B, int H) {
  const int j = blockIdx.x * blockDim.x + threadIdx.x;
  if (j >= H) return;
  for (int b = blockIdx.y; b < B; b += gridDim.y) {
    float* g = gates_t + (int64_t)b * 4 * H;
    float ai = g[j], af = g[H + j], ag = g[2 * H + j], ao = g[3 * H + j];
    if (bIh) {
      ai += bIh[j];
      af += bIh[H + j];
      ag += bIh[2 * H + j];
      ao += bIh[3 * H + j];
    }
    if (bHh) {
      ai += bHh[j];
      af += bHh[H + j];
      ag += bHh[2 * H + j];
      ao += bHh[3 * H + j];
    }
    const float i = sigmoidf_(ai), f = sigmoidf_(af), gg = tanhf(ag), o = sigmoidf_(ao);
    const int64_t k = (int64_t)b * H + j;
    const float c = c_prev ? f * c_prev[k] + i * gg : i * gg;
    c_t[k] = c;
    h_t[k] = o * tanhf(c);
    g[j] = i;
    g[H + j] = f;
    g[2 * H + j] = gg;
    g[3 * H + j] = o;
  }
}

// dGates_t [B,4H] (pre-activation gradients) from dh [B,H] (+ dOut_t [B,H] when not null),
// dc [B,H], the activated gates_t [B,4H], c_t and c_prev [B,H] (null: zeros).
// dc becomes dL/dc_{t-1}.
__global__ void lstm_backward_pointwise_kernel(float* dGates_t, float* dc, const float* dh, const float* dOut_t,
                                               const float* gates_t, const float* c_t, const float* c_prev,
                                               int B, int H) {
  const int j = blockIdx.x * blockDim.x + threadIdx.x;
  if (j >= H) return;
  for (int b = blockIdx.y; b < B; b += gridDim.y) {
    const float* g = gates_t + (int64_t)b * 4 * H;
    float* dg = dGates_t + (int64_t)b * 4 * H;
    const int64_t k = (int64_t)b * H + j;
    const float i = g[j], f = g[H + j], gg = g[2 * H + j], o = g[3 * H + j];
    const float tc = tanhf(c_t[k]);
    const float dht = dOut_t ? dh[k] + dOut_t[k] : dh[k];
    const float dct = dc[k] + dht * o * (1.0f - tc * tc);
    const float cprev = c_prev ? c_prev[k] : 0.0f;
    dg[j] = dct * gg * i * (1.0f - i);
    dg[H + j] = dct * cprev * f * (1.0f - f);
    dg[2 * H + j] = dct * i * (1.0f - gg * gg);
    dg[3 * H + j] = dht * tc * o * (1.0f - o);
    dc[k] = dct * f;
  }
}

// dbIh, dbHh [G] (either may be null) = column sums of dGates [R,G]. Block (32, 8): 32 columns,
// 8 row lanes that stride over the rows, then a reduction over the 8 lanes in shared memory.
constexpr int kBiasCols = 32, kBiasRows = 8;
__global__ void lstm_bias_backward_kernel(float* dbIh, float* dbHh, const float* dGates, int64_t R, int G) {
  __shared__ float part[kBiasRows][kBiasCols + 1];
  const int j = blockIdx.x * kBiasCols + threadIdx.x;
  float acc = 0.0f;
  if (j < G)
    for (int64_t r = threadIdx.y; r < R; r += kBiasRows) acc += dGates[r * G + j];
  part[threadIdx.y][threadIdx.x] = acc;
  __syncthreads();
  if (threadIdx.y == 0 && j < G) {
    float s = 0.0f;
    for (int y = 0; y < kBiasRows; y++) s += part[y][threadIdx.x];
    if (dbIh) dbIh[j] = s;
    if (dbHh) dbHh[j] = s;
  }
}

namespace {

// Launch shape of the pointwise kernels: threads cover the H units (a multiple of 32, at most
// 256), blockIdx.y the batch.
struct PointwiseLaunch {
  dim3 grid, block;
};
PointwiseLaunch pointwise_launch(int64_t B, int64_t H) {
  check(B < (int64_t)1 << 31 && 4 * H < (int64_t)1 << 31, "ERR_SHAPE", "lstm: batch or hidden size too large for CUDA");
  const int threads = (int)std::min<int64_t>(256, (H + 31) / 32 * 32);
  return {dim3((unsigned)((H + threads - 1) / threads), (unsigned)std::min<int64_t>(B, 65535)), dim3(threads)};
}

// Row-major C [M,N] = alpha op(A) op(B) + beta C through cuBLAS; K = 0 gives beta C.
void gemm(bool tA, bool tB, int64_t M, int64_t N, int64_t K, const float* A, int64_t lda, const float* Bm,
          int64_t ldb, float beta, float* C, int64_t ldc) {
  if (K == 0) {
    check(beta == 0.0f, "ERR_INTERNAL", "lstm: empty GEMM with beta != 0");
    memset_zero(C, (size_t)(M * N) * sizeof(float));
    return;
  }
  sgemm_strided_batched(tA, tB, M, N, K, 1.0f, A, lda, 0, Bm, ldb, 0, beta, C, ldc, 0, 1);
}

}  // namespace

void lstm_forward(float* out, float* hN, float* cN, float* gates, float* cs, const float* x, const float* h0,
                  const float* c0, const float* wIh, const float* wHh, const float* bIh, const float* bHh,
                  int64_t T, int64_t B, int64_t I, int64_t H) {
  const int64_t G = 4 * H, BH = B * H, BG = B * G;
  const PointwiseLaunch pl = pointwise_launch(B, H);
  // gates [T*B,4H] = x [T*B,I] wIh^T
  gemm(false, true, T * B, G, I, x, I, wIh, I, 0.0f, gates, G);
  for (int64_t t = 0; t < T; t++) {
    float* g = gates + t * BG;
    const float* h_prev = t ? out + (t - 1) * BH : h0;
    const float* c_prev = t ? cs + (t - 1) * BH : c0;
    // gates_t [B,4H] += h_{t-1} [B,H] wHh^T (a zero h0 adds nothing)
    if (h_prev) gemm(false, true, B, G, H, h_prev, H, wHh, H, 1.0f, g, G);
    ATENTO_LAUNCH(lstm_forward_pointwise_kernel, pl.grid, pl.block, 0, stream(), g, cs + t * BH, out + t * BH,
                  c_prev, bIh, bHh, (int)B, (int)H);
  }
  if (hN) copy_device(hN, out + (T - 1) * BH, (size_t)BH * sizeof(float));
  if (cN) copy_device(cN, cs + (T - 1) * BH, (size_t)BH * sizeof(float));
}

void lstm_backward(float* dX, float* dWih, float* dWhh, float* dbIh, float* dbHh, float* dh, float* dc,
                   float* dGates, const float* dOut, const float* gates, const float* cs, const float* out,
                   const float* x, const float* h0, const float* c0, const float* wIh, const float* wHh,
                   int64_t T, int64_t B, int64_t I, int64_t H) {
  const int64_t G = 4 * H, BH = B * H, BG = B * G;
  const PointwiseLaunch pl = pointwise_launch(B, H);
  for (int64_t t = T - 1; t >= 0; t--) {
    float* dg = dGates + t * BG;
    const float* c_prev = t ? cs + (t - 1) * BH : c0;
    ATENTO_LAUNCH(lstm_backward_pointwise_kernel, pl.grid, pl.block, 0, stream(), dg, dc, dh,
                  dOut ? dOut + t * BH : nullptr, gates + t * BG, cs + t * BH, c_prev, (int)B, (int)H);
    // dh [B,H] = dGates_t [B,4H] wHh [4H,H]: dL/dh_{t-1} through the recurrence
    gemm(false, false, B, H, G, dg, G, wHh, H, 0.0f, dh, H);
  }
  // dX [T*B,I] = dGates [T*B,4H] wIh [4H,I]
  if (dX) gemm(false, false, T * B, I, G, dGates, G, wIh, I, 0.0f, dX, I);
  // dWih [4H,I] = dGates^T [4H,T*B] x [T*B,I]
  if (dWih) gemm(true, false, G, I, T * B, dGates, G, x, I, 0.0f, dWih, I);
  if (dWhh) {
    // dWhh [4H,H] = sum_t dGates_t^T h_{t-1}: steps 1..T-1 read out_{0..T-2}, step 0 reads h0.
    gemm(true, false, G, H, (T - 1) * B, dGates + BG, G, out, H, 0.0f, dWhh, H);
    if (h0) gemm(true, false, G, H, B, dGates, G, h0, H, 1.0f, dWhh, H);
  }
  if (dbIh || dbHh)
    ATENTO_LAUNCH(lstm_bias_backward_kernel, dim3((unsigned)((G + kBiasCols - 1) / kBiasCols)),
                  dim3(kBiasCols, kBiasRows), 0, stream(), dbIh, dbHh, dGates, T * B, (int)G);
}

}  // namespace atento::cuda
