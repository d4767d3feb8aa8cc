// softmax.cc — softmax / log-softmax on the CPU (see softmax.h for shapes and formulas).
//
// x is (outer, C, inner). Last dim (inner == 1): one row of C per task (4 side by side when C <=
// 128), OpenMP over rows; per row a max pass and an exp-and-sum pass (vexp on 16-lane vectors,
// tree reductions), then a scale pass (softmax) or a subtract pass (log-softmax); the row stays in
// L1/L2 between passes. Other
// dims: tasks are (o, block of 64 inner columns); the same passes run over c with the 64 columns
// as the SIMD direction (contiguous in memory; `#pragma omp simd` loops with exp_simd).
//
// oneDNN's softmax_v2 primitives were measured against these kernels (bench/norm_cpu.cc, 1 and 2
// threads, 768x128 .. 12288x256): within run-to-run noise of each other (0.9x .. 1.5x either way
// on this shared machine), so the hand-written kernels stay: same code with and without oneDNN,
// exact 0 / NaN semantics for -inf rows, no primitive cache.

// 512-bit vectors where the build targets AVX-512 (GCC prefers 256 by default): measured
// faster for the exp-heavy loops here. A no-op on other targets.
#if defined(__AVX512F__) && defined(__GNUC__) && !defined(__clang__)
#pragma GCC target("prefer-vector-width=512")
#endif
#include "softmax.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "parallel.h"
#include "vec.h"

namespace atento::cpu {

namespace {

constexpr int64_t kColumnBlock = 64;  // inner columns per task when inner > 1
constexpr int kRowGroup = 4;          // short rows interleaved (softmax_rows, softmax_rows_backward)

// Whether a tensor of n floats streams from beyond L2 (2 MiB per core here), where the forward
// prefetches the next rows. Below, the prefetch loop only cost time (3072x64 forward, 2 threads,
// 64 -> 56-57 us); the backward's prefetch pays at every size (3072x64: 40-42 -> 36-38 us).
inline bool streaming(int64_t n) { return n * (int64_t)sizeof(float) > (int64_t{2} << 20); }

// R consecutive rows of C contiguous values: 16-lane vectors (VecF) over the first C - C % 16
// values, the same arithmetic on floats for the rest. A row's passes are a chain (max, then
// exp-and-sum, then scale), and for short rows the core sat waiting on it; R rows side by side
// are R independent chains (softmax 3072x64 forward, 2 threads: 88-95 -> ~74 us with R = 4).
template <int R>
inline void softmax_rows(float* out, const float* x, int64_t C, bool log) {
  const int64_t Cv = C - C % kLanes;
  VecF mv[R], sv[R];
  float m[R], s[R];
#pragma GCC unroll 4
  for (int r = 0; r < R; r++) mv[r] = vsplat(-std::numeric_limits<float>::infinity());
  for (int64_t c = 0; c < Cv; c += kLanes)
#pragma GCC unroll 4
    for (int r = 0; r < R; r++) mv[r] = vmax(vload(x + r * C + c), mv[r]);
#pragma GCC unroll 4
  for (int r = 0; r < R; r++) {
    m[r] = vhmax(mv[r]);
    for (int64_t c = Cv; c < C; c++) m[r] = x[r * C + c] > m[r] ? x[r * C + c] : m[r];
    sv[r] = vsplat(0.0f);
    s[r] = 0.0f;
  }
  if (log) {
    for (int64_t c = 0; c < Cv; c += kLanes)
#pragma GCC unroll 4
      for (int r = 0; r < R; r++) sv[r] += vexp(vload(x + r * C + c) - m[r]);
    float ls[R];
#pragma GCC unroll 4
    for (int r = 0; r < R; r++) {
      for (int64_t c = Cv; c < C; c++) s[r] += exp_simd(x[r * C + c] - m[r]);
      ls[r] = std::log(vsum(sv[r]) + s[r]);  // (x - m) - log(s): x - m is exact, so large x lose nothing
    }
    for (int64_t c = 0; c < Cv; c += kLanes)
#pragma GCC unroll 4
      for (int r = 0; r < R; r++) vstore(out + r * C + c, (vload(x + r * C + c) - m[r]) - ls[r]);
#pragma GCC unroll 4
    for (int r = 0; r < R; r++)
      for (int64_t c = Cv; c < C; c++) out[r * C + c] = (x[r * C + c] - m[r]) - ls[r];
  } else {
    for (int64_t c = 0; c < Cv; c += kLanes)
#pragma GCC unroll 4
      for (int r = 0; r < R; r++) {
        const VecF e = vexp(vload(x + r * C + c) - m[r]);
        vstore(out + r * C + c, e);
        sv[r] += e;
      }
    float inv[R];
#pragma GCC unroll 4
    for (int r = 0; r < R; r++) {
      for (int64_t c = Cv; c < C; c++) {
        const float e = exp_simd(x[r * C + c] - m[r]);
        out[r * C + c] = e;
        s[r] += e;
      }
      inv[r] = 1.0f / (vsum(sv[r]) + s[r]);
    }
    for (int64_t c = 0; c < Cv; c += kLanes)
#pragma GCC unroll 4
      for (int r = 0; r < R; r++) vstore(out + r * C + c, vload(out + r * C + c) * inv[r]);
#pragma GCC unroll 4
    for (int r = 0; r < R; r++)
      for (int64_t c = Cv; c < C; c++) out[r * C + c] *= inv[r];
  }
}

// R consecutive rows' backward, side by side like softmax_rows (short rows: each row's sum is a
// chain ending in a horizontal add, then a second pass waits on it).
template <int R>
inline void softmax_rows_backward(float* dx, const float* dout, const float* out, int64_t C, bool log) {
  const int64_t Cv = C - C % kLanes;
  VecF sv[R];
  float s[R];
#pragma GCC unroll 4
  for (int r = 0; r < R; r++) sv[r] = vsplat(0.0f);
  for (int64_t c = 0; c < Cv; c += kLanes)
#pragma GCC unroll 4
    for (int r = 0; r < R; r++) sv[r] += log ? vload(dout + r * C + c) : vload(dout + r * C + c) * vload(out + r * C + c);
#pragma GCC unroll 4
  for (int r = 0; r < R; r++) {
    s[r] = 0.0f;
    for (int64_t c = Cv; c < C; c++) s[r] += log ? dout[r * C + c] : dout[r * C + c] * out[r * C + c];
    s[r] += vsum(sv[r]);
  }
  for (int64_t c = 0; c < Cv; c += kLanes)
#pragma GCC unroll 4
    for (int r = 0; r < R; r++) {
      const int64_t k = r * C + c;
      vstore(dx + k, log ? vload(dout + k) - vexp(vload(out + k)) * s[r] : vload(out + k) * (vload(dout + k) - s[r]));
    }
#pragma GCC unroll 4
  for (int r = 0; r < R; r++)
    for (int64_t c = Cv; c < C; c++) {
      const int64_t k = r * C + c;
      dx[k] = log ? dout[k] - exp_simd(out[k]) * s[r] : out[k] * (dout[k] - s[r]);
    }
}

// Columns j0 .. j0+J of one (C, inner) slab; the SIMD direction is j.
inline void softmax_columns(float* out, const float* x, int64_t C, int64_t inner, int64_t J, bool log) {
  float m[kColumnBlock], s[kColumnBlock];
  for (int64_t j = 0; j < J; j++) {
    m[j] = -std::numeric_limits<float>::infinity();
    s[j] = 0.0f;
  }
  for (int64_t c = 0; c < C; c++) {
    const float* xc = x + c * inner;
    #pragma omp simd
    for (int64_t j = 0; j < J; j++) m[j] = xc[j] > m[j] ? xc[j] : m[j];
  }
  for (int64_t c = 0; c < C; c++) {
    const float* xc = x + c * inner;
    float* oc = out + c * inner;
    if (log) {
      #pragma omp simd
      for (int64_t j = 0; j < J; j++) s[j] += exp_simd(xc[j] - m[j]);
    } else {
      #pragma omp simd
      for (int64_t j = 0; j < J; j++) {
        const float e = exp_simd(xc[j] - m[j]);
        oc[j] = e;
        s[j] += e;
      }
    }
  }
  // s becomes log(s) (log) or the factor to multiply by (softmax).
  for (int64_t j = 0; j < J; j++) s[j] = log ? std::log(s[j]) : 1.0f / s[j];
  for (int64_t c = 0; c < C; c++) {
    const float* xc = x + c * inner;
    float* oc = out + c * inner;
    if (log) {
      #pragma omp simd
      for (int64_t j = 0; j < J; j++) oc[j] = (xc[j] - m[j]) - s[j];
    } else {
      #pragma omp simd
      for (int64_t j = 0; j < J; j++) oc[j] *= s[j];
    }
  }
}

inline void softmax_columns_backward(float* dx, const float* dout, const float* out, int64_t C, int64_t inner,
                                     int64_t J, bool log) {
  float s[kColumnBlock];
  for (int64_t j = 0; j < J; j++) s[j] = 0.0f;
  for (int64_t c = 0; c < C; c++) {
    const float* gc = dout + c * inner;
    const float* yc = out + c * inner;
    if (log) {
      #pragma omp simd
      for (int64_t j = 0; j < J; j++) s[j] += gc[j];
    } else {
      #pragma omp simd
      for (int64_t j = 0; j < J; j++) s[j] += gc[j] * yc[j];
    }
  }
  for (int64_t c = 0; c < C; c++) {
    const float* gc = dout + c * inner;
    const float* yc = out + c * inner;
    float* dc = dx + c * inner;
    if (log) {
      #pragma omp simd
      for (int64_t j = 0; j < J; j++) dc[j] = gc[j] - exp_simd(yc[j]) * s[j];
    } else {
      #pragma omp simd
      for (int64_t j = 0; j < J; j++) dc[j] = yc[j] * (gc[j] - s[j]);
    }
  }
}

}  // namespace

void softmax_forward(float* out, const float* x, int64_t outer, int64_t C, int64_t inner, bool log) {
  if (outer <= 0 || C <= 0 || inner <= 0) return;
  const bool par = outer * C * inner > kParallelGrain;
  if (inner == 1) {
    // Groups of kRowGroup rows (prefetching the next group), the last few one by one; short rows
    // only: long ones have enough independent work each, and R of them would not stay in L1.
    const int64_t group = C <= 128 ? kRowGroup : 1;
    const int64_t groups = outer / group;
    const bool stream = streaming(outer * C);
    parallel_for(groups, par, [&](int64_t k) {
      const int64_t o = k * group;
      if (stream && k + 1 < groups) {
        prefetch_row(x + (o + group) * C, group * C);
        prefetch_row_for_write(out + (o + group) * C, group * C);
      }
      if (group == kRowGroup) softmax_rows<kRowGroup>(out + o * C, x + o * C, C, log);
      else softmax_rows<1>(out + o * C, x + o * C, C, log);
    });
    for (int64_t o = groups * group; o < outer; o++) softmax_rows<1>(out + o * C, x + o * C, C, log);
    return;
  }
  const int64_t blocks = (inner + kColumnBlock - 1) / kColumnBlock;
  parallel_for(outer * blocks, par, [&](int64_t t) {
    const int64_t o = t / blocks, j0 = (t % blocks) * kColumnBlock;
    const int64_t off = o * C * inner + j0;
    softmax_columns(out + off, x + off, C, inner, std::min(kColumnBlock, inner - j0), log);
  });
}

void softmax_backward(float* dx, const float* dout, const float* out, int64_t outer, int64_t C, int64_t inner,
                      bool log) {
  if (outer <= 0 || C <= 0 || inner <= 0) return;
  const bool par = outer * C * inner > kParallelGrain;
  if (inner == 1) {  // groups of rows as in the forward
    const int64_t group = C <= 128 ? kRowGroup : 1;
    const int64_t groups = outer / group;
    parallel_for(groups, par, [&](int64_t k) {
      const int64_t o = k * group;
      if (k + 1 < groups) {  // (measured: worth it here at every size)
        prefetch_row(dout + (o + group) * C, group * C);
        prefetch_row(out + (o + group) * C, group * C);
        prefetch_row_for_write(dx + (o + group) * C, group * C);
      }
      if (group == kRowGroup) softmax_rows_backward<kRowGroup>(dx + o * C, dout + o * C, out + o * C, C, log);
      else softmax_rows_backward<1>(dx + o * C, dout + o * C, out + o * C, C, log);
    });
    for (int64_t o = groups * group; o < outer; o++)
      softmax_rows_backward<1>(dx + o * C, dout + o * C, out + o * C, C, log);
    return;
  }
  const int64_t blocks = (inner + kColumnBlock - 1) / kColumnBlock;
  parallel_for(outer * blocks, par, [&](int64_t t) {
    const int64_t o = t / blocks, j0 = (t % blocks) * kColumnBlock;
    const int64_t off = o * C * inner + j0;
    softmax_columns_backward(dx + off, dout + off, out + off, C, inner, std::min(kColumnBlock, inner - j0), log);
  });
}

void exp_vectorised(float* out, const float* x, int64_t n) {
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes) vstore(out + i, vexp(vload(x + i)));
  for (; i < n; i++) out[i] = exp_simd(x[i]);
}

void log_vectorised(float* out, const float* x, int64_t n) {
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes) vstore(out + i, vlog(vload(x + i)));
  for (; i < n; i++) out[i] = std::log(x[i]);
}

// --- references ---------------------------------------------------------------------------

void softmax_forward_ref(float* out, const float* x, int64_t outer, int64_t C, int64_t inner, bool log) {
  for (int64_t o = 0; o < outer; o++)
    for (int64_t j = 0; j < inner; j++) {
      const float* xr = x + o * C * inner + j;
      float* yr = out + o * C * inner + j;
      double m = -INFINITY, s = 0;
      for (int64_t c = 0; c < C; c++) m = std::max(m, (double)xr[c * inner]);
      for (int64_t c = 0; c < C; c++) s += std::exp((double)xr[c * inner] - m);
      for (int64_t c = 0; c < C; c++) {
        const double v = (double)xr[c * inner] - m;
        yr[c * inner] = (float)(log ? v - std::log(s) : std::exp(v) / s);
      }
    }
}

void softmax_backward_ref(float* dx, const float* dout, const float* out, int64_t outer, int64_t C, int64_t inner,
                          bool log) {
  for (int64_t o = 0; o < outer; o++)
    for (int64_t j = 0; j < inner; j++) {
      const int64_t base = o * C * inner + j;
      double s = 0;
      for (int64_t c = 0; c < C; c++) {
        const int64_t k = base + c * inner;
        s += log ? (double)dout[k] : (double)dout[k] * out[k];
      }
      for (int64_t c = 0; c < C; c++) {
        const int64_t k = base + c * inner;
        dx[k] = (float)(log ? dout[k] - std::exp((double)out[k]) * s : out[k] * ((double)dout[k] - s));
      }
    }
}

}  // namespace atento::cpu
