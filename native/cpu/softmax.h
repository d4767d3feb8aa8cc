// softmax.h — softmax and log-softmax over one dimension on the CPU, forward and backward.
//
// Shapes: x, out, dx, dout are (outer, C, inner), contiguous; the op normalises over C, so
// element (o, c, j) lives at ((o * C) + c) * inner + j. inner == 1 (the last dim) is the fast
// case. `log` selects log-softmax.
//   softmax:     out = exp(x - max) / sum exp(x - max)
//                dx  = out * (dout - sum(dout * out))
//   log-softmax: out = x - max - log(sum exp(x - max))
//                dx  = dout - exp(out) * sum(dout)
// A row of all -inf gives NaN (like PyTorch); -inf entries in a row with a finite entry give
// exactly 0 (softmax) / -inf (log-softmax).
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>

namespace atento::cpu {

void softmax_forward(float* out, const float* x, int64_t outer, int64_t C, int64_t inner, bool log);
void softmax_backward(float* dx, const float* dout, const float* out, int64_t outer, int64_t C,
                      int64_t inner, bool log);

// The references: plain loops, double accumulation. The yardstick for tests.
void softmax_forward_ref(float* out, const float* x, int64_t outer, int64_t C, int64_t inner, bool log);
void softmax_backward_ref(float* dx, const float* dout, const float* out, int64_t outer, int64_t C,
                          int64_t inner, bool log);

// exp(x) for float that GCC vectorises inside `#pragma omp simd` loops (std::exp is a library
// call it does not). Cephes' expf: x = n ln2 + r with |r| <= ln2/2, exp(r) by a degree-6
// polynomial, times 2^n built in the exponent bits; n = round(x / ln2) comes from the magic-number
// trick (adding 1.5 * 2^23), so there is no float-to-int conversion and no floor, neither of which
// GCC vectorises here without -ffast-math. Every special case is a bit mask, not a branch (a
// branch would stop the vectoriser). Within 1 ulp of expf (max relative error 8.4e-8) for
// -87.3 <= x <= 88; below -87.3 (results under FLT_MIN, -inf included) it returns 0, above 88
// +inf (softmax and cross-entropy only call it with x <= 0), and NaN for NaN.
inline float exp_simd(float x) {
  const float lo = -87.33654475f, hi = 88.0f, M = 12582912.0f;  // M = 1.5 * 2^23
  const float tm = x * 1.44269504088896341f + M;                 // round(x / ln2) + M
  const float fx = tm - M;
  const float r = x - fx * 0.693359375f + fx * 2.12194440e-4f;   // x - n ln2, ln2 in two parts
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * (r * r) + r + 1.0f;
  uint32_t tb;
  std::memcpy(&tb, &tm, sizeof tb);
  const uint32_t sb = (tb - 0x4b400000u + 127u) << 23;  // the bits of 2^n (0x4b400000 = bits of M)
  float scale;
  std::memcpy(&scale, &sb, sizeof scale);
  const float y = p * scale;
  uint32_t yb;
  std::memcpy(&yb, &y, sizeof yb);
  yb &= -(uint32_t)(x >= lo);                        // 0 below lo (and for NaN, fixed next)
  yb |= -(uint32_t)(x != x) & 0x7fc00000u;           // NaN stays NaN
  const uint32_t big = -(uint32_t)(x > hi);
  yb = (yb & ~big) | (0x7f800000u & big);            // +inf above hi
  float out;
  std::memcpy(&out, &yb, sizeof out);
  return out;
}

}  // namespace atento::cpu
