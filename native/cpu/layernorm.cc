// layernorm.cc — layer normalisation on the CPU (see layernorm.h for shapes and formulas).
//
// x is (N, C). OpenMP over rows; per row, passes over the C values in 16-lane vectors (vec.h; the
// row stays in L1/L2 between passes):
//   forward:  per block of 8 rows, one pass per row for D = sum(x - x0), V = sum((x - x0)^2) with
//             x0 = x[0] (shifted data: the sums are of the size of the spread, so
//             var = V/C - (D/C)^2 keeps its digits even when |mean| >> std); mean = x0 + D/C;
//             then the output pass of each row.
//   backward: per block of 8 rows, one pass per row for sum(dn), sum(dn * (x - mean)),
//             sum(x - mean) (the last corrects the saved float mean's rounding), then one pass
//             over the block writing dx and summing its dw, db terms in registers.
// dw, db: each thread owns a contiguous range of rows and a private (2, C) partial sum; the
// partials are added in thread order afterwards (deterministic for a given thread count).
//
// oneDNN's layer_normalization primitives were measured against these kernels (bench/norm_cpu.cc):
// forward about equal, backward 1.2-1.5x slower than this one at 2048x384 (forward + backward:
// 0.97x .. 1.35x in our favour), and oneDNN saves the variance rather than rstd; so the hand-written
// kernels stay, the same with and without oneDNN.

// 512-bit vectors where the build targets AVX-512 (GCC prefers 256 by default): measured
// faster here (768x128 forward: 88 -> 55 us). A no-op on other targets.
#if defined(__AVX512F__) && defined(__GNUC__) && !defined(__clang__)
#pragma GCC target("prefer-vector-width=512")
#endif
#include "layernorm.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "aligned.h"
#include "parallel.h"
#include "vec.h"

namespace atento::cpu {

namespace {

// Both directions work on blocks of up to kBlockRows rows (a block's rows stay in L1): first
// each row's statistics — independent chains of vector sums and scalar math the core overlaps —
// then the passes that need them. One row at a time, each pass waited on its row's reductions.
constexpr int64_t kBlockRows = 8;

struct RowStats {  // forward: x0 = the shift, dm = mean - x0, r = rstd
  float x0, dm, r;
};

inline RowStats layernorm_row_stats(const float* x, int64_t C, float eps) {
  // Shifted data: sums of d = x - x[0]. x[0] is one of the row's values, so |d| is of the order of
  // the spread and the variance V/C - (D/C)^2 does not cancel even when |mean| >> std.
  const int64_t Cv = C - C % kLanes;
  const float x0 = x[0];
  VecF Dv = vsplat(0.0f), Vv = vsplat(0.0f);
  for (int64_t c = 0; c < Cv; c += kLanes) {
    const VecF d = vload(x + c) - x0;
    Dv += d;
    Vv += d * d;
  }
  float D = vsum(Dv), V = vsum(Vv);
  for (int64_t c = Cv; c < C; c++) {
    const float d = x[c] - x0;
    D += d;
    V += d * d;
  }
  const float dm = D / (float)C;  // mean - x0
  const float var = std::max(V / (float)C - dm * dm, 0.0f);
  return {x0, dm, 1.0f / std::sqrt(var + eps)};
}

// out = ((x - x0) - dm) * r * w + b: (x - x0) - dm rather than x - mean, the same shifted form,
// so |mean| >> std loses nothing.
inline void layernorm_row_apply(float* out, const float* x, const float* w, const float* b, RowStats s, int64_t C) {
  const int64_t Cv = C - C % kLanes;
  for (int64_t c = 0; c < Cv; c += kLanes) {
    VecF y = ((vload(x + c) - s.x0) - s.dm) * s.r;
    if (w) y *= vload(w + c);
    if (b) y += vload(b + c);
    vstore(out + c, y);
  }
  for (int64_t c = Cv; c < C; c++) out[c] = ((x[c] - s.x0) - s.dm) * s.r * (w ? w[c] : 1.0f) + (b ? b[c] : 0.0f);
}

// The backward, per block:
//   1. per row, one pass for sum(dn), sum(dn * (x - m)), sum(x - m) with dn = dy * w; these give
//      dm (the saved float mean's rounding error), a = mean(dn), bb = mean(dn * xhat);
//   2. per 16 columns, over the block's rows: dx = r (dn - a - xhat bb), and the block's dw, db
//      terms summed in registers, then added once into this thread's partial dw, db.
// Accumulating dw, db row by row instead read and wrote the partials once per row: ~half the
// memory operations of the second pass.
struct RowGrad {  // the per-row scalars of the second pass
  float m, r, dm, a, bb;
};

template <bool kW>
inline RowGrad layernorm_row_grad_stats(const float* dy, const float* x, const float* w, float m, float r, int64_t C) {
  const int64_t Cv = C - C % kLanes;
  VecF Av = vsplat(0.0f), Bv = vsplat(0.0f), Dv = vsplat(0.0f);  // sum dn, sum dn * (x - m), sum (x - m)
  for (int64_t c = 0; c < Cv; c += kLanes) {
    const VecF d = vload(x + c) - m, dn = kW ? vload(dy + c) * vload(w + c) : vload(dy + c);
    Av += dn;
    Bv += dn * d;
    Dv += d;
  }
  float A = vsum(Av), B = vsum(Bv), D = vsum(Dv);
  for (int64_t c = Cv; c < C; c++) {
    const float d = x[c] - m, dn = kW ? dy[c] * w[c] : dy[c];
    A += dn;
    B += dn * d;
    D += d;
  }
  const float dm = D / (float)C;
  return {m, r, dm, A / (float)C, r * (B - dm * A) / (float)C};
}

// Rows [i0, i0 + n) (n <= kBlockRows): dx for each, and their dw, db terms added into pw, pb.
// One instantiation per combination of what is wanted (`if constexpr`): no branch in the loops.
template <bool kW, bool kDx, bool kSums>
void layernorm_block_backward(float* dx, float* pw, float* pb, const float* dy, const float* x, const float* w,
                              const float* mean, const float* rstd, int64_t i0, int64_t n, int64_t C) {
  RowGrad s[kBlockRows];
  for (int64_t k = 0; k < n; k++) {
    const int64_t i = i0 + k;
    s[k] = layernorm_row_grad_stats<kW>(dy + i * C, x + i * C, w, mean[i], rstd[i], C);
  }
  const int64_t Cv = C - C % kLanes;
  for (int64_t c = 0; c < Cv; c += kLanes) {
    VecF gw = vsplat(0.0f), gb = vsplat(0.0f);
    const VecF wv = kW ? vload(w + c) : vsplat(1.0f);
    for (int64_t k = 0; k < n; k++) {
      const int64_t o = (i0 + k) * C + c;
      const VecF g = vload(dy + o);
      const VecF xh = ((vload(x + o) - s[k].m) - s[k].dm) * s[k].r;
      if constexpr (kDx) vstore(dx + o, s[k].r * ((kW ? g * wv : g) - s[k].a - xh * s[k].bb));
      if constexpr (kSums) {
        gw += g * xh;
        gb += g;
      }
    }
    if constexpr (kSums) {
      vstore(pw + c, vload(pw + c) + gw);
      vstore(pb + c, vload(pb + c) + gb);
    }
  }
  for (int64_t c = Cv; c < C; c++) {
    float gw = 0.0f, gb = 0.0f;
    for (int64_t k = 0; k < n; k++) {
      const int64_t o = (i0 + k) * C + c;
      const float xh = ((x[o] - s[k].m) - s[k].dm) * s[k].r;
      if constexpr (kDx) dx[o] = s[k].r * ((kW ? dy[o] * w[c] : dy[o]) - s[k].a - xh * s[k].bb);
      gw += dy[o] * xh;
      gb += dy[o];
    }
    if constexpr (kSums) {
      pw[c] += gw;
      pb[c] += gb;
    }
  }
}

using BlockBackward = void (*)(float*, float*, float*, const float*, const float*, const float*, const float*,
                               const float*, int64_t, int64_t, int64_t);

template <bool kW>
BlockBackward pick_block_backward(bool dx, bool sums) {
  if (dx) return sums ? layernorm_block_backward<kW, true, true> : layernorm_block_backward<kW, true, false>;
  return sums ? layernorm_block_backward<kW, false, true> : layernorm_block_backward<kW, false, false>;
}

}  // namespace

void layernorm_forward(float* out, float* mean, float* rstd, const float* x, const float* w, const float* b,
                       int64_t N, int64_t C, float eps) {
  if (N <= 0 || C <= 0) return;
  const int64_t blocks = (N + kBlockRows - 1) / kBlockRows;
  parallel_for(blocks, N * C > kParallelGrain, [&](int64_t k) {
    const int64_t i0 = k * kBlockRows, n = std::min(kBlockRows, N - i0);
    RowStats s[kBlockRows];
    for (int64_t j = 0; j < n; j++) s[j] = layernorm_row_stats(x + (i0 + j) * C, C, eps);
    for (int64_t j = 0; j < n; j++) {
      const int64_t i = i0 + j;
      if (mean) mean[i] = s[j].x0 + s[j].dm;
      if (rstd) rstd[i] = s[j].r;
      layernorm_row_apply(out + i * C, x + i * C, w, b, s[j], C);
    }
  });
}

void layernorm_backward(float* dx, float* dw, float* db, const float* dout, const float* x, const float* w,
                        const float* mean, const float* rstd, int64_t N, int64_t C) {
  if (C <= 0) return;
  if (N <= 0) {
    if (dw) std::fill(dw, dw + C, 0.0f);
    if (db) std::fill(db, db + C, 0.0f);
    return;
  }
  const int64_t T = std::max<int64_t>(1, std::min<int64_t>(N * C > kParallelGrain ? num_threads() : 1, N));
  const bool sums = dw || db;
  AlignedVec part(sums ? (size_t)(T * 2 * C) : 0, 0.0f);
  // dw and db are accumulated together (into a scratch one when only one is wanted).
  const BlockBackward block =
      w ? pick_block_backward<true>(dx != nullptr, sums) : pick_block_backward<false>(dx != nullptr, sums);
  parallel_for(T, T > 1, [&](int64_t t) {
    float* pw = sums ? part.data() + t * 2 * C : nullptr;
    float* pb = sums ? pw + C : nullptr;
    const int64_t i0 = N * t / T, i1 = N * (t + 1) / T;
    for (int64_t i = i0; i < i1; i += kBlockRows)
      block(dx, pw, pb, dout, x, w, mean, rstd, i, std::min(kBlockRows, i1 - i), C);
  });
  if (!sums) return;
  for (int64_t c = 0; c < C; c++) {
    float sw = 0.0f, sb = 0.0f;
    for (int64_t t = 0; t < T; t++) {
      sw += part[t * 2 * C + c];
      sb += part[t * 2 * C + C + c];
    }
    if (dw) dw[c] = sw;
    if (db) db[c] = sb;
  }
}

// --- references ---------------------------------------------------------------------------

void layernorm_forward_ref(float* out, float* mean, float* rstd, const float* x, const float* w, const float* b,
                           int64_t N, int64_t C, float eps) {
  for (int64_t i = 0; i < N; i++) {
    const float* xr = x + i * C;
    double m = 0, v = 0;
    for (int64_t c = 0; c < C; c++) m += xr[c];
    m /= (double)C;
    for (int64_t c = 0; c < C; c++) v += ((double)xr[c] - m) * ((double)xr[c] - m);
    v /= (double)C;
    const double r = 1.0 / std::sqrt(v + (double)eps);
    for (int64_t c = 0; c < C; c++)
      out[i * C + c] = (float)(((double)xr[c] - m) * r * (w ? (double)w[c] : 1.0) + (b ? (double)b[c] : 0.0));
    if (mean) mean[i] = (float)m;
    if (rstd) rstd[i] = (float)r;
  }
}

void layernorm_backward_ref(float* dx, float* dw, float* db, const float* dout, const float* x, const float* w,
                            const float* mean, const float* rstd, int64_t N, int64_t C) {
  std::vector<double> sw(C, 0.0), sb(C, 0.0);
  for (int64_t i = 0; i < N; i++) {
    const float* xr = x + i * C;
    const float* gr = dout + i * C;
    double a = 0, bb = 0;
    for (int64_t c = 0; c < C; c++) {
      const double xh = ((double)xr[c] - mean[i]) * rstd[i], dn = (double)gr[c] * (w ? w[c] : 1.0f);
      a += dn;
      bb += dn * xh;
      sw[c] += (double)gr[c] * xh;
      sb[c] += gr[c];
    }
    a /= (double)C;
    bb /= (double)C;
    if (dx)
      for (int64_t c = 0; c < C; c++) {
        const double xh = ((double)xr[c] - mean[i]) * rstd[i], dn = (double)gr[c] * (w ? w[c] : 1.0f);
        dx[i * C + c] = (float)(rstd[i] * (dn - a - xh * bb));
      }
  }
  for (int64_t c = 0; c < C; c++) {
    if (dw) dw[c] = (float)sw[c];
    if (db) db[c] = (float)sb[c];
  }
}

}  // namespace atento::cpu
