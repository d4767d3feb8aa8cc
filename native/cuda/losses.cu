// losses.cu — cross-entropy, MSE and BCE-with-logits on the GPU; CPU twin: native/cpu/losses.cc.
//
// Cross-entropy, logits (N, C), target (N) int32 (validated on the host by the binding):
//   cross_entropy_forward_kernel<kBlockRow>: one warp per row (8 rows per 256-thread block) when
//     C <= 1024, else one 256-thread block per row (e.g. a 50257-way vocabulary). One pass over
//     the row: each thread keeps an online (max m, sum s of exp(x - m)) — one exp per logit —
//     merged by warp shuffles (and across warps in shared memory); writes lse and the row loss.
//     Ignored rows write 0 and skip the row. float4 loads when C % 4 == 0 and aligned (`vec`).
//   cross_entropy_reduce_kernel: one block sums the row losses of non-ignored rows in double and
//     writes out = sum / count ('mean') or sum ('sum'), and count (for the backward).
//   cross_entropy_backward_kernel<kBlockRow>: same layout, one pass writing
//     dlogits = (exp(x - lse) - onehot) * g (label smoothing: - eps/C * g, onehot * (1 - eps)).
// MSE / BCE (n elements): loss_forward_kernel<kKind> ('none', grid-stride), loss_partial_kernel
//   (block partial sums in double into a scratch of at most 256 doubles) + loss_finish_kernel
//   (one block adds them: deterministic), loss_backward_kernel<kKind> (grid-stride).
#include "launch.cuh"
#include "losses.h"
#include "device.h"
#include "row_reduce.cuh"

#include <cstdint>

#include "../common.h"

namespace atento::cuda {

namespace {

constexpr int kMaxPartials = 256;

// --- cross-entropy --------------------------------------------------------------------------

// losses (N): the row losses ('none': the output itself).
template <bool kBlockRow>
__global__ void cross_entropy_forward_kernel(float* __restrict__ losses, float* __restrict__ lse,
                                             const float* __restrict__ logits, const int32_t* __restrict__ target,
                                             int64_t N, int C, int32_t ignore_index, float smoothing, bool vec) {
  __shared__ float sh[64];
  const int64_t row = row_index<kBlockRow>();
  if (!kBlockRow && row >= N) return;  // whole warps leave
  const int t = kBlockRow ? (int)threadIdx.x : (int)(threadIdx.x % 32);
  const int nt = kBlockRow ? (int)blockDim.x : 32;
  const int32_t tgt = target[row];
  if (tgt == ignore_index) {  // uniform in the warp / block
    if (t == 0) {
      losses[row] = 0.0f;
      lse[row] = 0.0f;
    }
    return;
  }
  const float* xr = logits + row * C;
  const bool smooth = smoothing != 0.0f;
  Online o{-INFINITY, 0.0f};
  float sx = 0.0f;
  if (vec) {
    for (int c = t * 4; c < C; c += nt * 4) {
      const float4 v = load4(xr, c);
      online_add(o, v.x);
      online_add(o, v.y);
      online_add(o, v.z);
      online_add(o, v.w);
      sx += (v.x + v.y) + (v.z + v.w);
    }
  } else {
    for (int c = t; c < C; c += nt) {
      const float v = xr[c];
      online_add(o, v);
      sx += v;
    }
  }
  o = kBlockRow ? block_online(o, sh) : warp_online(o);
  if (smooth) sx = kBlockRow ? block_sum(sx, sh) : warp_sum(sx);
  if (t == 0) {
    const float ls = logf(o.s);
    lse[row] = o.m + ls;
    // (m - x_t) + log(s) rather than lse - x_t: m - x_t is exact. tgt is in range after validation.
    const float nll = (o.m - (tgt >= 0 && tgt < C ? xr[tgt] : NAN)) + ls;
    losses[row] = smooth ? (1.0f - smoothing) * nll + smoothing * ((o.m - sx / (float)C) + ls) : nll;
  }
}

__global__ void cross_entropy_reduce_kernel(float* __restrict__ out, float* __restrict__ count,
                                            const float* __restrict__ losses, const int32_t* __restrict__ target,
                                            int64_t N, int32_t ignore_index, int reduction) {
  __shared__ double sh[32];
  double s = 0.0, n = 0.0;
  for (int64_t i = threadIdx.x; i < N; i += blockDim.x) {
    if (target[i] == ignore_index) continue;
    s += losses[i];
    n += 1.0;
  }
  s = block_sum(s, sh);
  n = block_sum(n, sh);
  if (threadIdx.x == 0) {
    count[0] = (float)n;
    out[0] = reduction == 1 ? (float)(s / n) : (float)s;
  }
}

template <bool kBlockRow>
__global__ void cross_entropy_backward_kernel(float* __restrict__ dlogits, const float* __restrict__ dout,
                                              const float* __restrict__ logits, const float* __restrict__ lse,
                                              const float* __restrict__ count, const int32_t* __restrict__ target,
                                              int64_t N, int C, int32_t ignore_index, float smoothing, int reduction,
                                              bool vec) {
  const int64_t row = row_index<kBlockRow>();
  if (row >= N) return;
  const int t = kBlockRow ? (int)threadIdx.x : (int)(threadIdx.x % 32);
  const int nt = kBlockRow ? (int)blockDim.x : 32;
  const int32_t tgt = target[row];
  float* dr = dlogits + row * C;
  const float* xr = logits + row * C;
  if (tgt == ignore_index) {
    for (int c = t; c < C; c += nt) dr[c] = 0.0f;
    return;
  }
  const float g = reduction == 0 ? dout[row] : (reduction == 1 ? dout[0] / count[0] : dout[0]);
  const float l = lse[row], off = smoothing / (float)C * g, hit = (1.0f - smoothing) * g;
  if (vec) {
    for (int c = t * 4; c < C; c += nt * 4) {
      const float4 v = load4(xr, c);
      float4 d;
      d.x = expf(v.x - l) * g - off - (c == tgt ? hit : 0.0f);
      d.y = expf(v.y - l) * g - off - (c + 1 == tgt ? hit : 0.0f);
      d.z = expf(v.z - l) * g - off - (c + 2 == tgt ? hit : 0.0f);
      d.w = expf(v.w - l) * g - off - (c + 3 == tgt ? hit : 0.0f);
      *reinterpret_cast<float4*>(dr + c) = d;
    }
  } else {
    for (int c = t; c < C; c += nt) dr[c] = expf(xr[c] - l) * g - off - (c == tgt ? hit : 0.0f);
  }
}

// --- MSE and BCE with logits -----------------------------------------------------------------

constexpr int kMse = 0, kBce = 1;

__device__ __forceinline__ float softplus_neg(float x) { return log1pf(expf(-fabsf(x))) + fmaxf(-x, 0.0f); }

template <int kKind>
__device__ __forceinline__ float loss_value(float x, float t, const float* pw, int64_t i, int64_t C) {
  if (kKind == kMse) {
    const float d = x - t;
    return d * d;
  }
  const float lw = pw ? 1.0f + (pw[i % C] - 1.0f) * t : 1.0f;
  return (1.0f - t) * x + lw * softplus_neg(x);
}

template <int kKind>
__global__ void loss_forward_kernel(float* __restrict__ out, const float* __restrict__ x, const float* __restrict__ t,
                                    const float* __restrict__ pw, int64_t n, int64_t C) {
  for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
    out[i] = loss_value<kKind>(x[i], t[i], pw, i, C);
}

template <int kKind>
__global__ void loss_partial_kernel(double* __restrict__ partials, const float* __restrict__ x,
                                    const float* __restrict__ t, const float* __restrict__ pw, int64_t n, int64_t C) {
  __shared__ double sh[32];
  double s = 0.0;
  for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
    s += loss_value<kKind>(x[i], t[i], pw, i, C);
  s = block_sum(s, sh);
  if (threadIdx.x == 0) partials[blockIdx.x] = s;
}

__global__ void loss_finish_kernel(float* __restrict__ out, const double* __restrict__ partials, int count,
                                   double divisor) {
  __shared__ double sh[32];
  double s = 0.0;
  for (int i = threadIdx.x; i < count; i += blockDim.x) s += partials[i];
  s = block_sum(s, sh);
  if (threadIdx.x == 0) out[0] = (float)(s / divisor);
}

template <int kKind>
__global__ void loss_backward_kernel(float* __restrict__ dx, float* __restrict__ dt, const float* __restrict__ dout,
                                     const float* __restrict__ x, const float* __restrict__ t,
                                     const float* __restrict__ pw, int64_t n, int64_t C, int reduction) {
  const float g0 = reduction == 0 ? 0.0f : (reduction == 1 ? dout[0] / (float)n : dout[0]);
  for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x) {
    const float g = reduction == 0 ? dout[i] : g0;
    const float xi = x[i], ti = t[i];
    if (kKind == kMse) {
      const float d = 2.0f * (xi - ti) * g;
      if (dx) dx[i] = d;
      if (dt) dt[i] = -d;
    } else {
      const float p = pw ? pw[i % C] : 1.0f;
      if (dx) {
        const float lw = 1.0f + (p - 1.0f) * ti;
        dx[i] = ((1.0f - ti) - lw / (1.0f + expf(xi))) * g;  // lw * sigmoid(-x)
      }
      if (dt) dt[i] = (-xi + (p - 1.0f) * softplus_neg(xi)) * g;
    }
  }
}

unsigned grid_for(int64_t n, int block, int64_t max_blocks = 65535) {
  const int64_t blocks = (n + block - 1) / block;
  return (unsigned)(blocks < max_blocks ? (blocks > 0 ? blocks : 1) : max_blocks);
}

bool aligned16(const void* p) { return (reinterpret_cast<uintptr_t>(p) & 15) == 0; }

template <int kKind>
void loss_forward(float* out, const float* x, const float* t, const float* pw, int64_t n, int64_t C, int reduction) {
  if (reduction == 0) {
    if (n > 0) ATENTO_LAUNCH(loss_forward_kernel<kKind>, grid_for(n, kThreads), kThreads, 0, stream(), out, x, t, pw, n, C);
    return;
  }
  const unsigned blocks = grid_for(n, kThreads, kMaxPartials);
  double* partials = static_cast<double*>(alloc(blocks * sizeof(double)));
  ATENTO_LAUNCH(loss_partial_kernel<kKind>, blocks, kThreads, 0, stream(), partials, x, t, pw, n, C);
  ATENTO_LAUNCH(loss_finish_kernel, 1, kThreads, 0, stream(), out, partials, (int)blocks,
                reduction == 1 ? (double)n : 1.0);  // 'mean' of nothing: 0/0 = NaN, like PyTorch
  release(partials, blocks * sizeof(double));  // stream-ordered reuse
}

template <int kKind>
void loss_backward(float* dx, float* dt, const float* dout, const float* x, const float* t, const float* pw, int64_t n,
                   int64_t C, int reduction) {
  if (n <= 0 || (!dx && !dt)) return;
  ATENTO_LAUNCH(loss_backward_kernel<kKind>, grid_for(n, kThreads), kThreads, 0, stream(), dx, dt, dout, x, t, pw, n,
                C, reduction);
}

}  // namespace

void cross_entropy_forward(float* out, float* lse, float* count, const float* logits, const int32_t* target,
                           int64_t N, int64_t C, int32_t ignore_index, float smoothing, int reduction) {
  if (C > INT32_MAX || N > INT32_MAX)
    throw Error("ERR_SHAPE", "crossEntropy: more than 2^31 - 1 rows or classes is not supported on cuda");
  float* losses = out;
  size_t scratch_bytes = 0;
  if (reduction != 0) {
    scratch_bytes = (size_t)(N > 0 ? N : 1) * sizeof(float);
    losses = static_cast<float*>(alloc(scratch_bytes));
  }
  if (N > 0) {
    const bool vec = C % 4 == 0 && aligned16(logits);
    if (C > kWarpRowMaxC)
      ATENTO_LAUNCH(cross_entropy_forward_kernel<true>, (unsigned)N, kThreads, 0, stream(), losses, lse, logits,
                    target, N, (int)C, ignore_index, smoothing, vec);
    else
      ATENTO_LAUNCH(cross_entropy_forward_kernel<false>, (unsigned)((N + kWarps - 1) / kWarps), kThreads, 0, stream(),
                    losses, lse, logits, target, N, (int)C, ignore_index, smoothing, vec);
  }
  if (reduction != 0) {
    ATENTO_LAUNCH(cross_entropy_reduce_kernel, 1, 1024, 0, stream(), out, count, losses, target, N, ignore_index,
                  reduction);
    release(losses, scratch_bytes);  // stream-ordered reuse
  }
}

void cross_entropy_backward(float* dlogits, const float* dout, const float* logits, const float* lse,
                            const float* count, const int32_t* target, int64_t N, int64_t C, int32_t ignore_index,
                            float smoothing, int reduction) {
  if (N <= 0 || C <= 0) return;
  if (C > INT32_MAX || N > INT32_MAX)
    throw Error("ERR_SHAPE", "crossEntropy: more than 2^31 - 1 rows or classes is not supported on cuda");
  const bool vec = C % 4 == 0 && aligned16(logits) && aligned16(dlogits);
  if (C > kWarpRowMaxC)
    ATENTO_LAUNCH(cross_entropy_backward_kernel<true>, (unsigned)N, kThreads, 0, stream(), dlogits, dout, logits, lse,
                  count, target, N, (int)C, ignore_index, smoothing, reduction, vec);
  else
    ATENTO_LAUNCH(cross_entropy_backward_kernel<false>, (unsigned)((N + kWarps - 1) / kWarps), kThreads, 0, stream(),
                  dlogits, dout, logits, lse, count, target, N, (int)C, ignore_index, smoothing, reduction, vec);
}

void mse_forward(float* out, const float* input, const float* target, int64_t n, int reduction) {
  loss_forward<kMse>(out, input, target, nullptr, n, 1, reduction);
}

void mse_backward(float* dinput, float* dtarget, const float* dout, const float* input, const float* target,
                  int64_t n, int reduction) {
  loss_backward<kMse>(dinput, dtarget, dout, input, target, nullptr, n, 1, reduction);
}

void bce_with_logits_forward(float* out, const float* input, const float* target, const float* pos_weight,
                             int64_t n, int64_t C, int reduction) {
  loss_forward<kBce>(out, input, target, pos_weight, n, C, reduction);
}

void bce_with_logits_backward(float* dinput, float* dtarget, const float* dout, const float* input,
                              const float* target, const float* pos_weight, int64_t n, int64_t C, int reduction) {
  loss_backward<kBce>(dinput, dtarget, dout, input, target, pos_weight, n, C, reduction);
}

}  // namespace atento::cuda
