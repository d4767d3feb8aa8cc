// softmax.cu — softmax / log-softmax on the GPU; CPU twin: native/cpu/softmax.cc.
//
// x, out, dx, dout are (outer, C, inner), normalised over C. Formulas in cpu/softmax.h.
//
// Last dim (inner == 1), rows = outer:
//   softmax_forward_kernel<kBlockRow>: one warp per row (8 rows per 256-thread block) when
//     C <= 1024, else one 256-thread block per row. Pass 1 keeps an online (max m, sum s of
//     exp(x - m)) per thread — one exp per value — merged across the warp by shuffles (and across
//     warps through shared memory); pass 2 writes exp(x - m) / s or (x - m) - log(s). float4
//     loads/stores when C % 4 == 0 and the pointers are 16-byte aligned (`vec`, uniform).
//   softmax_backward_kernel<kBlockRow>: same layout; one pass for sum(dout * out) (or
//     sum(dout) for log-softmax), one pass writing dx.
// Other dims (inner > 1): softmax_*_strided_kernel, one thread per (o, j) column walking c with
//   stride `inner`; neighbouring threads read neighbouring j, so loads coalesce.
// A row of all -inf gives NaN, as in PyTorch; other -inf entries give 0 / -inf.
#include "launch.cuh"
#include "softmax.h"
#include "device.h"
#include "row_reduce.cuh"

#include <cstdint>

#include "../common.h"

namespace atento::cuda {

namespace {

template <bool kBlockRow>
__global__ void softmax_forward_kernel(float* __restrict__ out, const float* __restrict__ x, int64_t rows, int C,
                                       bool log, bool vec) {
  __shared__ float sh[64];
  const int64_t row = row_index<kBlockRow>();
  if (!kBlockRow && row >= rows) return;  // whole warps leave
  const int t = row_thread<kBlockRow>(), nt = row_threads<kBlockRow>();
  const float* xr = x + row * C;
  float* yr = out + row * C;

  Online o{-INFINITY, 0.0f};
  if (vec) {
    for (int c = t * 4; c < C; c += nt * 4) {
      const float4 v = load4(xr, c);
      online_add(o, v.x);
      online_add(o, v.y);
      online_add(o, v.z);
      online_add(o, v.w);
    }
  } else {
    for (int c = t; c < C; c += nt) online_add(o, xr[c]);
  }
  o = kBlockRow ? block_online(o, sh) : warp_online(o);

  if (log) {
    const float ls = logf(o.s), m = o.m;  // (x - m) - log(s): x - m is exact
    if (vec) {
      for (int c = t * 4; c < C; c += nt * 4) {
        const float4 v = load4(xr, c);
        store4(yr, c, make_float4((v.x - m) - ls, (v.y - m) - ls, (v.z - m) - ls, (v.w - m) - ls));
      }
    } else {
      for (int c = t; c < C; c += nt) yr[c] = (xr[c] - m) - ls;
    }
  } else {
    const float inv = 1.0f / o.s;
    if (vec) {
      for (int c = t * 4; c < C; c += nt * 4) {
        const float4 v = load4(xr, c);
        store4(yr, c,
               make_float4(expf(v.x - o.m) * inv, expf(v.y - o.m) * inv, expf(v.z - o.m) * inv,
                           expf(v.w - o.m) * inv));
      }
    } else {
      for (int c = t; c < C; c += nt) yr[c] = expf(xr[c] - o.m) * inv;
    }
  }
}

template <bool kBlockRow>
__global__ void softmax_backward_kernel(float* __restrict__ dx, const float* __restrict__ dout,
                                        const float* __restrict__ out, int64_t rows, int C, bool log, bool vec) {
  __shared__ float sh[64];
  const int64_t row = row_index<kBlockRow>();
  if (!kBlockRow && row >= rows) return;
  const int t = row_thread<kBlockRow>(), nt = row_threads<kBlockRow>();
  const float* gr = dout + row * C;
  const float* yr = out + row * C;
  float* dr = dx + row * C;

  float s = 0.0f;
  if (vec) {
    for (int c = t * 4; c < C; c += nt * 4) {
      const float4 g = load4(gr, c);
      if (log) {
        s += (g.x + g.y) + (g.z + g.w);
      } else {
        const float4 y = load4(yr, c);
        s += (g.x * y.x + g.y * y.y) + (g.z * y.z + g.w * y.w);
      }
    }
  } else {
    for (int c = t; c < C; c += nt) s += log ? gr[c] : gr[c] * yr[c];
  }
  s = kBlockRow ? block_sum(s, sh) : warp_sum(s);

  if (vec) {
    for (int c = t * 4; c < C; c += nt * 4) {
      const float4 g = load4(gr, c), y = load4(yr, c);
      if (log)
        store4(dr, c,
               make_float4(g.x - expf(y.x) * s, g.y - expf(y.y) * s, g.z - expf(y.z) * s, g.w - expf(y.w) * s));
      else
        store4(dr, c, make_float4(y.x * (g.x - s), y.y * (g.y - s), y.z * (g.z - s), y.w * (g.w - s)));
    }
  } else {
    for (int c = t; c < C; c += nt) dr[c] = log ? gr[c] - expf(yr[c]) * s : yr[c] * (gr[c] - s);
  }
}

__global__ void softmax_forward_strided_kernel(float* __restrict__ out, const float* __restrict__ x, int64_t outer,
                                               int64_t C, int64_t inner, bool log) {
  const int64_t columns = outer * inner;
  for (int64_t idx = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; idx < columns;
       idx += (int64_t)gridDim.x * blockDim.x) {
    const int64_t o = idx / inner, j = idx % inner;
    const float* xc = x + o * C * inner + j;
    float* yc = out + o * C * inner + j;
    Online st{-INFINITY, 0.0f};
    for (int64_t c = 0; c < C; c++) online_add(st, xc[c * inner]);
    if (log) {
      const float ls = logf(st.s);
      for (int64_t c = 0; c < C; c++) yc[c * inner] = (xc[c * inner] - st.m) - ls;
    } else {
      const float inv = 1.0f / st.s;
      for (int64_t c = 0; c < C; c++) yc[c * inner] = expf(xc[c * inner] - st.m) * inv;
    }
  }
}

__global__ void softmax_backward_strided_kernel(float* __restrict__ dx, const float* __restrict__ dout,
                                                const float* __restrict__ out, int64_t outer, int64_t C,
                                                int64_t inner, bool log) {
  const int64_t columns = outer * inner;
  for (int64_t idx = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; idx < columns;
       idx += (int64_t)gridDim.x * blockDim.x) {
    const int64_t base = (idx / inner) * C * inner + idx % inner;
    float s = 0.0f;
    for (int64_t c = 0; c < C; c++) {
      const int64_t k = base + c * inner;
      s += log ? dout[k] : dout[k] * out[k];
    }
    for (int64_t c = 0; c < C; c++) {
      const int64_t k = base + c * inner;
      dx[k] = log ? dout[k] - expf(out[k]) * s : out[k] * (dout[k] - s);
    }
  }
}

bool aligned16(const void* p) { return (reinterpret_cast<uintptr_t>(p) & 15) == 0; }

unsigned grid_for(int64_t n, int block) {
  const int64_t blocks = (n + block - 1) / block;
  return (unsigned)(blocks < 65535 ? (blocks > 0 ? blocks : 1) : 65535);
}

// Launches kernel<kBlockRow> over `rows` rows of C: a warp per row, or a block per long row.
#define ATENTO_SOFTMAX_ROWS(kernel, rows, C, ...)                                                         \
  do {                                                                                                  \
    if ((C) > kWarpRowMaxC)                                                                             \
      ATENTO_LAUNCH(kernel<true>, (unsigned)(rows), kThreads, 0, stream(), __VA_ARGS__);                \
    else                                                                                                \
      ATENTO_LAUNCH(kernel<false>, (unsigned)(((rows) + kWarps - 1) / kWarps), kThreads, 0, stream(),   \
                    __VA_ARGS__);                                                                       \
  } while (0)

void check_sizes(int64_t outer, int64_t C) {
  if (C > INT32_MAX || outer > INT32_MAX)
    throw Error("ERR_SHAPE", "softmax: more than 2^31 - 1 rows or classes is not supported on cuda");
}

}  // namespace

void softmax_forward(float* out, const float* x, int64_t outer, int64_t C, int64_t inner, bool log) {
  if (outer <= 0 || C <= 0 || inner <= 0) return;
  if (inner > 1) {
    ATENTO_LAUNCH(softmax_forward_strided_kernel, grid_for(outer * inner, kThreads), kThreads, 0, stream(), out, x,
                  outer, C, inner, log);
    return;
  }
  check_sizes(outer, C);
  const bool vec = C % 4 == 0 && aligned16(out) && aligned16(x);
  ATENTO_SOFTMAX_ROWS(softmax_forward_kernel, outer, C, out, x, outer, (int)C, log, vec);
}

void softmax_backward(float* dx, const float* dout, const float* out, int64_t outer, int64_t C, int64_t inner,
                      bool log) {
  if (outer <= 0 || C <= 0 || inner <= 0) return;
  if (inner > 1) {
    ATENTO_LAUNCH(softmax_backward_strided_kernel, grid_for(outer * inner, kThreads), kThreads, 0, stream(), dx, dout,
                  out, outer, C, inner, log);
    return;
  }
  check_sizes(outer, C);
  const bool vec = C % 4 == 0 && aligned16(dx) && aligned16(dout) && aligned16(out);
  ATENTO_SOFTMAX_ROWS(softmax_backward_kernel, outer, C, dx, dout, out, outer, (int)C, log, vec);
}

}  // namespace atento::cuda
