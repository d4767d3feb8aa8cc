// losses.cc — cross-entropy, MSE and BCE-with-logits on the CPU (see losses.h for formulas).
//
// Cross-entropy, logits (N, C): OpenMP over rows. Forward is one pass over each row's memory:
// the row is walked in blocks of 512 values (2 KB, in L1), each block's max updates the running
// max m (the running sum s is rescaled by exp(m_old - m_new) once per block, not per value),
// then s += sum exp(x - m) over the block (exp_simd, vectorised): one exp per logit. lse = m +
// log(s) is saved per row; loss = lse - x[t] (+ label smoothing). Backward is one pass per row:
// dlogits = (exp(x - lse) - onehot) * g. Row losses are summed in double for 'mean'/'sum'.
// MSE and BCE: one vectorised pass, OpenMP over elements, double sums for the reductions.
#include "losses.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "../common.h"
#include "parallel.h"
#include "softmax.h"  // exp_simd

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
// sum(x) when want_sum.
inline float row_max_logsum(const float* x, int64_t C, bool want_sum, float* log_s, float* sum_x) {
  float m = -std::numeric_limits<float>::infinity(), s = 0.0f, sx = 0.0f;
  for (int64_t c0 = 0; c0 < C; c0 += kBlock) {
    const int64_t n = std::min(kBlock, C - c0);
    const float* xb = x + c0;
    float bm = -std::numeric_limits<float>::infinity();
    #pragma omp simd reduction(max : bm)
    for (int64_t c = 0; c < n; c++) bm = xb[c] > bm ? xb[c] : bm;
    if (bm > m) {
      s = s == 0.0f ? 0.0f : s * std::exp(m - bm);
      m = bm;
    }
    const float ms = m == -std::numeric_limits<float>::infinity() ? 0.0f : m;  // all -inf so far: adds 0s
    float bs = 0.0f;
    #pragma omp simd reduction(+ : bs)
    for (int64_t c = 0; c < n; c++) bs += exp_simd(xb[c] - ms);
    s += bs;
    if (want_sum) {
      float bx = 0.0f;
      #pragma omp simd reduction(+ : bx)
      for (int64_t c = 0; c < n; c++) bx += xb[c];
      sx += bx;
    }
  }
  *sum_x = sx;
  *log_s = std::log(s);
  return m;
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
  #pragma omp parallel for schedule(static) reduction(+ : total, valid) if (N * C > kParallelGrain)
  for (int64_t i = 0; i < N; i++) {
    const int32_t t = target[i];
    float loss = 0.0f;
    if (!ignored(t, ignore_index)) {
      const float* x = logits + i * C;
      float sx = 0.0f, ls = 0.0f;
      const float m = row_max_logsum(x, C, smooth, &ls, &sx);
      lse[i] = m + ls;
      loss = row_loss(m, ls, x[t], sx, C, smoothing);
      total += loss;
      valid++;
    } else {
      lse[i] = 0.0f;
    }
    if (reduction == 0) out[i] = loss;
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
    #pragma omp simd
    for (int64_t c = 0; c < C; c++) d[c] = exp_simd(x[c] - l) * g - off;
    if (t >= 0 && t < C) d[t] -= (1.0f - smoothing) * g;  // always true after validation
  }
}

void mse_forward(float* out, const float* input, const float* target, int64_t n, int reduction) {
  if (reduction == 0) {
    #pragma omp parallel for simd schedule(static) if (n > kParallelGrain)
    for (int64_t i = 0; i < n; i++) {
      const float d = input[i] - target[i];
      out[i] = d * d;
    }
    return;
  }
  double total = 0.0;
  #pragma omp parallel for simd schedule(static) reduction(+ : total) if (n > kParallelGrain)
  for (int64_t i = 0; i < n; i++) {
    const double d = (double)input[i] - (double)target[i];
    total += d * d;
  }
  out[0] = reduce_out(total, (double)n, reduction);
}

void mse_backward(float* dinput, float* dtarget, const float* dout, const float* input, const float* target,
                  int64_t n, int reduction) {
  const float g0 = reduction == 0 ? 0.0f : (reduction == 1 ? dout[0] / (float)n : dout[0]);
  #pragma omp parallel for simd schedule(static) if (n > kParallelGrain)
  for (int64_t i = 0; i < n; i++) {
    const float g = reduction == 0 ? dout[i] : g0;
    const float d = 2.0f * (input[i] - target[i]) * g;
    if (dinput) dinput[i] = d;
    if (dtarget) dtarget[i] = -d;
  }
}

namespace {

inline float softplus_neg(float x) { return std::log1p(std::exp(-std::fabs(x))) + std::max(-x, 0.0f); }

inline float bce_value(float x, float t, const float* pw, int64_t c) {
  const float lw = pw ? 1.0f + (pw[c] - 1.0f) * t : 1.0f;
  return (1.0f - t) * x + lw * softplus_neg(x);
}

}  // namespace

void bce_with_logits_forward(float* out, const float* input, const float* target, const float* pos_weight,
                             int64_t n, int64_t C, int reduction) {
  if (reduction == 0) {
    #pragma omp parallel for schedule(static) if (n > kParallelGrain / 16)
    for (int64_t i = 0; i < n; i++) out[i] = bce_value(input[i], target[i], pos_weight, pos_weight ? i % C : 0);
    return;
  }
  double total = 0.0;
  #pragma omp parallel for schedule(static) reduction(+ : total) if (n > kParallelGrain / 16)
  for (int64_t i = 0; i < n; i++) total += bce_value(input[i], target[i], pos_weight, pos_weight ? i % C : 0);
  out[0] = reduce_out(total, (double)n, reduction);
}

void bce_with_logits_backward(float* dinput, float* dtarget, const float* dout, const float* input,
                              const float* target, const float* pos_weight, int64_t n, int64_t C, int reduction) {
  const float g0 = reduction == 0 ? 0.0f : (reduction == 1 ? dout[0] / (float)n : dout[0]);
  #pragma omp parallel for schedule(static) if (n > kParallelGrain / 16)
  for (int64_t i = 0; i < n; i++) {
    const float g = reduction == 0 ? dout[i] : g0;
    const float x = input[i], t = target[i];
    const float pw = pos_weight ? pos_weight[i % C] : 1.0f;
    if (dinput) {
      const float lw = 1.0f + (pw - 1.0f) * t;
      const float sig_neg = 1.0f / (1.0f + std::exp(x));  // sigmoid(-x)
      dinput[i] = ((1.0f - t) - lw * sig_neg) * g;
    }
    if (dtarget) dtarget[i] = (-x + (pw - 1.0f) * softplus_neg(x)) * g;
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
