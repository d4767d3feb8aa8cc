// losses.cc — cross-entropy, MSE and BCE-with-logits on the CPU (see losses.h for formulas).
//
// Cross-entropy, logits (N, C): OpenMP over rows. Forward is one pass over each row's memory:
// the row is walked in blocks of 512 values (2 KB, in L1), each block's max updates the running
// max m (the running sum s is rescaled by exp(m_old - m_new) once per block, not per value),
// then s += sum exp(x - m) over the block (vexp on 16-lane vectors): one exp per logit. Short rows
// (C <= 256) go 16 to a task, in groups of 4 side by side, and their 16 logs as one vector. lse =
// m + log(s) is saved per row; loss = (m - x[t]) + log(s) (+ label smoothing). Backward is one pass
// per row: dlogits = (exp(x - lse) - onehot) * g. Row losses are summed in double for the reductions.
// MSE and BCE: one vectorised pass (BCE's exp and log1p are vectorisable polynomials), OpenMP over
// blocks of elements; sums in float within a block and in double across blocks.

// 512-bit vectors where the build targets AVX-512 (GCC prefers 256 by default): measured
// faster for the exp-heavy loops here. A no-op on other targets.
#if defined(__AVX512F__) && defined(__GNUC__) && !defined(__clang__)
#pragma GCC target("prefer-vector-width=512")
#endif
#include "losses.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <type_traits>
#include <vector>

#include "../common.h"
#include "parallel.h"
#include "vec.h"

namespace atento::cpu {

namespace {

constexpr int64_t kBlock = 512;

inline bool ignored(int32_t t, int32_t ignore_index) { return t == ignore_index; }

// Per-row gradient scale: g_i.
inline float grad_scale(const float* dout, const float* count, int64_t i, int reduction) {
  if (reduction == 0) return dout[i];
  return reduction == 1 ? dout[0] / count[0] : dout[0];
}

// One row: returns its max m and *log_s = log(sum exp(x - m)) (lse = m + log_s); *sum_x gets
// sum(x) when want_sum. Blocks of kBlock values: the block's max, a rescale of the running sum if
// the max grew, then the block's exp-sum from L1 (16-lane vectors, the tail on floats).
inline float row_max_logsum(const float* x, int64_t C, bool want_sum, float* log_s, float* sum_x) {
  const float ninf = -std::numeric_limits<float>::infinity();
  float m = ninf, s = 0.0f, sx = 0.0f;
  for (int64_t c0 = 0; c0 < C; c0 += kBlock) {
    const int64_t n = std::min(kBlock, C - c0), nv = n - n % kLanes;
    const float* xb = x + c0;
    VecF mv = vsplat(ninf);
    for (int64_t c = 0; c < nv; c += kLanes) mv = vmax(vload(xb + c), mv);
    float bm = vhmax(mv);
    for (int64_t c = nv; c < n; c++) bm = xb[c] > bm ? xb[c] : bm;
    if (bm > m) {
      s = s == 0.0f ? 0.0f : s * std::exp(m - bm);
      m = bm;
    }
    const float ms = m == ninf ? 0.0f : m;  // all -inf so far: adds 0s (or NaN for NaN)
    VecF sv = vsplat(0.0f);
    for (int64_t c = 0; c < nv; c += kLanes) sv += vexp(vload(xb + c) - ms);
    float bs = vsum(sv);
    for (int64_t c = nv; c < n; c++) bs += exp_simd(xb[c] - ms);
    s += bs;
    if (want_sum) {
      VecF xv = vsplat(0.0f);
      for (int64_t c = 0; c < nv; c += kLanes) xv += vload(xb + c);
      float bx = vsum(xv);
      for (int64_t c = nv; c < n; c++) bx += xb[c];
      sx += bx;
    }
  }
  *sum_x = sx;
  *log_s = std::log(s);
  return m;
}

// R short rows (C <= kShortRow) side by side: each row's max m and s = sum exp(x - m) (sum_x: its
// sum, when want_sum), as R independent dependency chains. A row of 65 logits is 4 vectors and a
// tail; on its own, the core mostly waited for the chain max -> exp -> sum to finish.
constexpr int64_t kShortRow = 256;
constexpr int kRowGroup = 4;
template <int R, bool want_sum>
inline void rows_max_sum(const float* x, int64_t C, float* m, float* s, float* sum_x) {
  const float ninf = -std::numeric_limits<float>::infinity();
  const int64_t nv = C - C % kLanes;
  VecF mv[R], sv[R], xv[R];
#pragma GCC unroll 4
  for (int r = 0; r < R; r++) {
    mv[r] = vsplat(ninf);
    sv[r] = xv[r] = vsplat(0.0f);
  }
  for (int64_t c = 0; c < nv; c += kLanes)
#pragma GCC unroll 4
    for (int r = 0; r < R; r++) mv[r] = vmax(vload(x + r * C + c), mv[r]);
  float ms[R];
#pragma GCC unroll 4
  for (int r = 0; r < R; r++) {
    m[r] = vhmax(mv[r]);
    for (int64_t c = nv; c < C; c++) m[r] = x[r * C + c] > m[r] ? x[r * C + c] : m[r];
    ms[r] = m[r] == ninf ? 0.0f : m[r];  // all -inf: adds 0s (or NaN for NaN)
  }
  for (int64_t c = 0; c < nv; c += kLanes)
#pragma GCC unroll 4
    for (int r = 0; r < R; r++) {
      const VecF v = vload(x + r * C + c);
      sv[r] += vexp(v - ms[r]);
      if (want_sum) xv[r] += v;
    }
#pragma GCC unroll 4
  for (int r = 0; r < R; r++) {
    s[r] = vsum(sv[r]);
    float sx = want_sum ? vsum(xv[r]) : 0.0f;
    for (int64_t c = nv; c < C; c++) {
      s[r] += exp_simd(x[r * C + c] - ms[r]);
      sx += x[r * C + c];
    }
    sum_x[r] = sx;
  }
}

// Statistics of kLanes short rows (fewer at the end: `rows`): m, log_s = log(sum exp(x - m)) and
// sum_x, in groups of kRowGroup rows, and the logs as one vector (vlog: a libm call per row was a
// fifth of the forward). crossEntropy 768x65 forward, 2 threads: 32-38 -> 20-27 us (alternating
// builds in a throwaway A/B, with the faster vexp; `bash bench/norm-cpu.sh` times the current kernel).
template <bool want_sum>
inline void short_rows_stats(const float* x, int64_t C, int64_t rows, float* m, float* log_s, float* sum_x) {
  alignas(64) float s[kLanes];
  int64_t r = 0;
  for (; r + kRowGroup <= rows; r += kRowGroup) rows_max_sum<kRowGroup, want_sum>(x + r * C, C, m + r, s + r, sum_x + r);
  for (; r < rows; r++) rows_max_sum<1, want_sum>(x + r * C, C, m + r, s + r, sum_x + r);
  for (; r < kLanes; r++) s[r] = 1.0f;
  vstore(log_s, vlog(vload(s)));
}

// (m - x_t) + log_s rather than lse - x_t: m - x_t is exact, so large logits lose nothing.
inline float row_loss(float m, float log_s, float xt, float sum_x, int64_t C, float smoothing) {
  const float nll = (m - xt) + log_s;
  return smoothing == 0.0f ? nll : (1.0f - smoothing) * nll + smoothing * ((m - sum_x / (float)C) + log_s);
}

// The scalar out of a reduction: sum or mean over `count`.
inline float reduce_out(double total, double count, int reduction) {
  return reduction == 1 ? (float)(total / count) : (float)total;
}

}  // namespace

int64_t cross_entropy_check_targets(const int32_t* target, int64_t N, int64_t C, int32_t ignore_index) {
  int64_t valid = 0;
  for (int64_t i = 0; i < N; i++) {
    const int32_t t = target[i];
    if (t == ignore_index) continue;
    if (t < 0 || t >= C)
      throw Error("ERR_INDEX", "crossEntropy: target " + std::to_string(t) + " at position " + std::to_string(i) +
                                   " is out of range for " + std::to_string(C) + " classes (ignoreIndex " +
                                   std::to_string(ignore_index) + ")");
    valid++;
  }
  return valid;
}

void cross_entropy_forward(float* out, float* lse, float* count, const float* logits, const int32_t* target,
                           int64_t N, int64_t C, int32_t ignore_index, float smoothing, int reduction) {
  double total = 0.0;
  int64_t valid = 0;
  const bool smooth = smoothing != 0.0f;
  // A task is kLanes short rows (statistics of ignored ones computed and dropped) or one long row.
  const int64_t R = C <= kShortRow ? kLanes : 1, tasks = (N + R - 1) / R;
  #pragma omp parallel for schedule(static) reduction(+ : total, valid) if (N * C > kParallelGrain)
  for (int64_t k = 0; k < tasks; k++) {
    const int64_t i0 = k * R, rows = std::min(R, N - i0);
    alignas(64) float m[kLanes], ls[kLanes], sx[kLanes];
    if (R == 1) {
      if (!ignored(target[i0], ignore_index)) m[0] = row_max_logsum(logits + i0 * C, C, smooth, &ls[0], &sx[0]);
    } else if (smooth) {
      short_rows_stats<true>(logits + i0 * C, C, rows, m, ls, sx);
    } else {
      short_rows_stats<false>(logits + i0 * C, C, rows, m, ls, sx);
    }
    for (int64_t r = 0; r < rows; r++) {
      const int64_t i = i0 + r;
      const int32_t t = target[i];
      float loss = 0.0f;
      if (!ignored(t, ignore_index)) {
        lse[i] = m[r] + ls[r];
        loss = row_loss(m[r], ls[r], logits[i * C + t], sx[r], C, smoothing);
        total += loss;
        valid++;
      } else {
        lse[i] = 0.0f;
      }
      if (reduction == 0) out[i] = loss;
    }
  }
  if (count) count[0] = (float)valid;
  if (reduction != 0) out[0] = reduce_out(total, (double)valid, reduction);
}

void cross_entropy_backward(float* dlogits, const float* dout, const float* logits, const float* lse,
                            const float* count, const int32_t* target, int64_t N, int64_t C, int32_t ignore_index,
                            float smoothing, int reduction) {
  #pragma omp parallel for schedule(static) if (N * C > kParallelGrain)
  for (int64_t i = 0; i < N; i++) {
    float* d = dlogits + i * C;
    const int32_t t = target[i];
    if (ignored(t, ignore_index)) {
      std::fill(d, d + C, 0.0f);
      continue;
    }
    const float g = grad_scale(dout, count, i, reduction), l = lse[i], off = smoothing / (float)C * g;
    const float* x = logits + i * C;
    const int64_t Cv = C - C % kLanes;
    for (int64_t c = 0; c < Cv; c += kLanes) vstore(d + c, vexp(vload(x + c) - l) * g - off);
    for (int64_t c = Cv; c < C; c++) d[c] = exp_simd(x[c] - l) * g - off;
    if (t >= 0 && t < C) d[t] -= (1.0f - smoothing) * g;  // always true after validation
  }
}

void mse_forward(float* out, const float* input, const float* target, int64_t n, int reduction) {
  if (reduction == 0) {
    #pragma omp parallel for simd schedule(static) if (parallel: n > kParallelGrain)
    for (int64_t i = 0; i < n; i++) {
      const float d = input[i] - target[i];
      out[i] = d * d;
    }
    return;
  }
  double total = 0.0;
  #pragma omp parallel for simd schedule(static) reduction(+ : total) if (parallel: n > kParallelGrain)
  for (int64_t i = 0; i < n; i++) {
    const double d = (double)input[i] - (double)target[i];
    total += d * d;
  }
  out[0] = reduce_out(total, (double)n, reduction);
}

void mse_backward(float* dinput, float* dtarget, const float* dout, const float* input, const float* target,
                  int64_t n, int reduction) {
  // The branches are hoisted out of the loops so each loop vectorises.
  const float g0 = reduction == 0 ? 0.0f : (reduction == 1 ? dout[0] / (float)n : dout[0]);
  float* d = dinput ? dinput : dtarget;
  if (!d) return;
  const float sign = dinput ? 2.0f : -2.0f;
  if (reduction == 0) {
    #pragma omp parallel for simd schedule(static) if (parallel: n > kParallelGrain)
    for (int64_t i = 0; i < n; i++) d[i] = sign * (input[i] - target[i]) * dout[i];
  } else {
    #pragma omp parallel for simd schedule(static) if (parallel: n > kParallelGrain)
    for (int64_t i = 0; i < n; i++) d[i] = sign * (input[i] - target[i]) * g0;
  }
  if (dinput && dtarget) {
    #pragma omp parallel for simd schedule(static) if (parallel: n > kParallelGrain)
    for (int64_t i = 0; i < n; i++) dtarget[i] = -dinput[i];
  }
}

namespace {

// log1p(u) for 0 <= u <= 1, vectorisable (see exp_simd): w = 1 + u = 2^e (1 + f) with
// e in {0, 1} and f in [sqrt(1/2) - 1, sqrt(2) - 1); log(1 + f) by Cephes' logf polynomial; the
// rounding of 1 + u is corrected to first order, (u - (w - 1)) / w, so small u keep full precision.
inline float log1p_unit(float u) {
  const float w = 1.0f + u;
  const float e = w >= 1.41421356f ? 1.0f : 0.0f;
  const float f = w * (1.0f - 0.5f * e) - 1.0f;  // exact: w or w / 2, minus 1
  const float z = f * f;
  float y = 7.0376836292e-2f;
  y = y * f - 1.1514610310e-1f;
  y = y * f + 1.1676998740e-1f;
  y = y * f - 1.2420140846e-1f;
  y = y * f + 1.4249322787e-1f;
  y = y * f - 1.6668057665e-1f;
  y = y * f + 2.0000714765e-1f;
  y = y * f - 2.4999993993e-1f;
  y = y * f + 3.3333331174e-1f;
  y = y * f * z - 2.12194440e-4f * e - 0.5f * z;
  const float lw = (f + y) + 0.693359375f * e;
  return lw + (u - (w - 1.0f)) / w;
}

// softplus(-x) = log(1 + exp(-x)) = max(-x, 0) + log1p(exp(-|x|)), stable for any x.
inline float softplus_neg(float x) { return std::max(-x, 0.0f) + log1p_unit(exp_simd(-std::fabs(x))); }

}  // namespace

namespace {

// BCE walks the n values in blocks of B, B a multiple of C, so posWeight[i % C] is the same
// table (pw_block, B values) for every block and the loops stay flat and vectorised whatever C is.
struct BceBlocks {
  int64_t B;
  std::vector<float> pw;  // posWeight repeated over one block (empty without posWeight)
  BceBlocks(const float* pos_weight, int64_t C) {
    B = pos_weight ? C * std::max<int64_t>(1, 2048 / C) : 2048;
    if (pos_weight) {
      pw.resize((size_t)B);
      for (int64_t k = 0; k < B; k++) pw[k] = pos_weight[k % C];
    }
  }
};

}  // namespace

void bce_with_logits_forward(float* out, const float* input, const float* target, const float* pos_weight,
                             int64_t n, int64_t C, int reduction) {
  const BceBlocks blk(pos_weight, C);
  const int64_t B = blk.B, nb = (n + B - 1) / B;
  const float* pwb = pos_weight ? blk.pw.data() : nullptr;
  double total = 0.0;
  #pragma omp parallel for schedule(static) reduction(+ : total) if (n > kParallelGrain)
  for (int64_t k = 0; k < nb; k++) {
    const int64_t i0 = k * B, len = std::min(B, n - i0);
    const float* x = input + i0;
    const float* t = target + i0;
    float s = 0.0f;  // one block in float, the blocks in double
    if (reduction == 0) {
      float* o = out + i0;
      if (pwb) {
        #pragma omp simd
        for (int64_t j = 0; j < len; j++) o[j] = (1.0f - t[j]) * x[j] + (1.0f + (pwb[j] - 1.0f) * t[j]) * softplus_neg(x[j]);
      } else {
        #pragma omp simd
        for (int64_t j = 0; j < len; j++) o[j] = (1.0f - t[j]) * x[j] + softplus_neg(x[j]);
      }
    } else if (pwb) {
      #pragma omp simd reduction(+ : s)
      for (int64_t j = 0; j < len; j++) s += (1.0f - t[j]) * x[j] + (1.0f + (pwb[j] - 1.0f) * t[j]) * softplus_neg(x[j]);
    } else {
      #pragma omp simd reduction(+ : s)
      for (int64_t j = 0; j < len; j++) s += (1.0f - t[j]) * x[j] + softplus_neg(x[j]);
    }
    total += s;
  }
  if (reduction != 0) out[0] = reduce_out(total, (double)n, reduction);
}

void bce_with_logits_backward(float* dinput, float* dtarget, const float* dout, const float* input,
                              const float* target, const float* pos_weight, int64_t n, int64_t C, int reduction) {
  const float g0 = reduction == 0 ? 0.0f : (reduction == 1 ? dout[0] / (float)n : dout[0]);
  const BceBlocks blk(pos_weight, C);
  const int64_t B = blk.B, nb = (n + B - 1) / B;
  const float* pwb = pos_weight ? blk.pw.data() : nullptr;
  #pragma omp parallel for schedule(static) if (n > kParallelGrain)
  for (int64_t k = 0; k < nb; k++) {
    const int64_t i0 = k * B, len = std::min(B, n - i0);
    const float* x = input + i0;
    const float* t = target + i0;
    const float* go = reduction == 0 ? dout + i0 : nullptr;
    // One loop per combination of (posWeight?, per-element dout?): loop-invariant selects inside
    // a vector loop cost more than the arithmetic.
    auto run = [&](auto has_pw, auto has_go) {
      if (dinput) {
        float* d = dinput + i0;
        // lw * sigmoid(-x), sigmoid(-x) = 1 / (1 + exp(x)) (exp_simd(x > 88) = inf gives 0)
        #pragma omp simd
        for (int64_t j = 0; j < len; j++) {
          const float lw = has_pw ? 1.0f + (pwb[j] - 1.0f) * t[j] : 1.0f;
          d[j] = ((1.0f - t[j]) - lw / (1.0f + exp_simd(x[j]))) * (has_go ? go[j] : g0);
        }
      }
      if (dtarget) {
        float* d = dtarget + i0;
        #pragma omp simd
        for (int64_t j = 0; j < len; j++) {
          const float pw1 = has_pw ? pwb[j] - 1.0f : 0.0f;
          d[j] = (-x[j] + pw1 * softplus_neg(x[j])) * (has_go ? go[j] : g0);
        }
      }
    };
    using yes = std::true_type;
    using no = std::false_type;
    if (pwb) {
      if (go) run(yes(), yes());
      else run(yes(), no());
    } else {
      if (go) run(no(), yes());
      else run(no(), no());
    }
  }
}

// --- references ---------------------------------------------------------------------------

void cross_entropy_forward_ref(float* out, float* lse, float* count, const float* logits, const int32_t* target,
                               int64_t N, int64_t C, int32_t ignore_index, float smoothing, int reduction) {
  double total = 0.0;
  int64_t valid = 0;
  for (int64_t i = 0; i < N; i++) {
    const float* x = logits + i * C;
    const int32_t t = target[i];
    double loss = 0.0;
    lse[i] = 0.0f;
    if (t != ignore_index) {
      double m = -INFINITY, s = 0.0, sx = 0.0;
      for (int64_t c = 0; c < C; c++) m = std::max(m, (double)x[c]);
      for (int64_t c = 0; c < C; c++) {
        s += std::exp((double)x[c] - m);
        sx += x[c];
      }
      const double l = m + std::log(s);
      lse[i] = (float)l;
      loss = (1.0 - smoothing) * (l - x[t]) + smoothing * (l - sx / (double)C);
      total += loss;
      valid++;
    }
    if (reduction == 0) out[i] = (float)loss;
  }
  if (count) count[0] = (float)valid;
  if (reduction != 0) out[0] = reduce_out(total, (double)valid, reduction);
}

void cross_entropy_backward_ref(float* dlogits, const float* dout, const float* logits, const float* lse,
                                const float* count, const int32_t* target, int64_t N, int64_t C,
                                int32_t ignore_index, float smoothing, int reduction) {
  for (int64_t i = 0; i < N; i++) {
    const int32_t t = target[i];
    const double g = t == ignore_index ? 0.0 : grad_scale(dout, count, i, reduction);
    for (int64_t c = 0; c < C; c++) {
      const double p = t == ignore_index ? 0.0 : std::exp((double)logits[i * C + c] - lse[i]);
      dlogits[i * C + c] = (float)((p - (c == t ? 1.0 - smoothing : 0.0) - smoothing / (double)C) * g);
    }
  }
}

}  // namespace atento::cpu
