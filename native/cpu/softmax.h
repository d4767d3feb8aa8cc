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

// --- vectorised exp and 16-lane helpers, for the kernel files (softmax.cc, losses.cc) ------------
// They define ATENTO_CPU_KERNELS before including this header; the bindings do not see these
// (they are compiled without -march, and 64-byte vector types there would change the ABI).
// Everything here has internal linkage (static), so no copy crosses translation units.
#ifdef ATENTO_CPU_KERNELS
// 64-byte vectors are passed differently without AVX-512; these never cross a file boundary, so
// the warning about it is off for the rest of the kernel file.
#pragma GCC diagnostic ignored "-Wpsabi"

// exp: Cephes' expf. x = n ln2 + r with |r| <= ln2/2, exp(r) by a degree-6 polynomial, times 2^n
// built in the exponent bits; n = round(x / ln2) comes from the magic-number trick (adding
// 1.5 * 2^23), so there is no float-to-int conversion and no floor (GCC vectorises neither here
// without -ffast-math). Special cases are bit masks, not branches (a branch stops the
// vectoriser). Within 1 ulp of expf (max relative error 8.4e-8) for -87.3 <= x <= 88; below
// -87.3 (results under FLT_MIN, -inf included) it returns 0, above 88 +inf, NaN for NaN.
// One template serves a float (exp_simd: inside `#pragma omp simd` loops and for loop tails) and a
// VecF of 16 lanes (vexp).

// 16 floats as a GCC/Clang vector: one AVX-512 register, two AVX2 ones, four SSE or NEON ones.
typedef float VecF __attribute__((vector_size(64)));
typedef uint32_t VecU __attribute__((vector_size(64)));
constexpr int64_t kLanes = 16;

static inline VecF vload(const float* p) {
  VecF v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
static inline void vstore(float* p, const VecF& v) { std::memcpy(p, &v, sizeof v); }
static inline VecF vsplat(float f) { return VecF{} + f; }
static inline VecF vmax(const VecF& a, const VecF& b) { return a > b ? a : b; }  // NaN in a is dropped, as in the scalar loops
// Horizontal sum and max as a tree (what `#pragma omp simd reduction` does lane by lane instead).
static inline float vsum(const VecF& v) {
  float a[kLanes];
  std::memcpy(a, &v, sizeof a);
  for (int w = kLanes / 2; w > 0; w /= 2)
    for (int j = 0; j < w; j++) a[j] += a[j + w];
  return a[0];
}
static inline float vhmax(const VecF& v) {
  float a[kLanes];
  std::memcpy(a, &v, sizeof a);
  for (int w = kLanes / 2; w > 0; w /= 2)
    for (int j = 0; j < w; j++) a[j] = a[j + w] > a[j] ? a[j + w] : a[j];
  return a[0];
}

namespace detail {
static inline uint32_t mask_of(bool c) { return -(uint32_t)c; }
static inline VecU mask_of(const VecU& c) { return c; }  // vector comparisons already give 0 / ~0 per lane
template <class F> struct UintOf { using type = uint32_t; };
template <> struct UintOf<VecF> { using type = VecU; };

template <class F>
static inline F exp_impl(const F& x) {
  using U = typename UintOf<F>::type;
  const float lo = -87.33654475f, hi = 88.0f, M = 12582912.0f;  // M = 1.5 * 2^23
  const F tm = x * 1.44269504088896341f + M;                     // round(x / ln2) + M
  const F fx = tm - M;
  const F r = x - fx * 0.693359375f + fx * 2.12194440e-4f;       // x - n ln2, ln2 in two parts
  F p = r * 1.9875691500e-4f + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * (r * r) + r + 1.0f;
  U tb;
  std::memcpy(&tb, &tm, sizeof tb);
  const U sb = (tb - 0x4b400000u + 127u) << 23;  // the bits of 2^n (0x4b400000 = bits of M)
  F scale;
  std::memcpy(&scale, &sb, sizeof scale);
  const F y = p * scale;
  U yb;
  std::memcpy(&yb, &y, sizeof yb);
  yb &= mask_of(x >= lo);                         // 0 below lo (and for NaN, fixed next)
  yb |= mask_of(x != x) & 0x7fc00000u;            // NaN stays NaN
  const U big = mask_of(x > hi);
  yb = (yb & ~big) | (0x7f800000u & big);         // +inf above hi
  F out;
  std::memcpy(&out, &yb, sizeof out);
  return out;
}
}  // namespace detail

static inline float exp_simd(float x) { return detail::exp_impl(x); }
static inline VecF vexp(const VecF& x) { return detail::exp_impl(x); }

#endif  // ATENTO_CPU_KERNELS

}  // namespace atento::cpu
