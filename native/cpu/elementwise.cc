// elementwise.cc — CPU elementwise kernels (see elementwise.h).
//
// unary_forward / unary_backward: one flat loop per op (the switch is outside the loop), OpenMP
//   parallel and `simd`. exp, sigmoid, tanh, silu and both gelus use exp_approx, tanh_approx
//   and one_plus_erf below so that they vectorise too; log, sqrt and pow call libm.
//   x [n] -> out [n].
// binary_forward / where_forward: for_each_row over the broadcast Layout; the innermost row has
//   specialised loops for the common stride patterns (dense/dense, dense/scalar, scalar/dense),
//   so a same-shape op or a row broadcast [B*T, C] + [C] runs as plain vector loops.
// compare_forward: the same row walk as binary_forward, writing bool bytes.
// cast: flat loops, one per (from, to) pair.

// 512-bit vectors where the build targets AVX-512 (GCC prefers 256 by default), as layernorm.cc:
// the activations are bound by arithmetic (gelu-tanh, 393216 values, 1 thread: forward 556 ->
// 402 us, backward 697 -> 495 us; same results), memory-bound ops are unchanged. A no-op on
// other targets.
#if defined(__AVX512F__) && defined(__GNUC__) && !defined(__clang__)
#pragma GCC target("prefer-vector-width=512")
#endif
#include "elementwise.h"

#include <cmath>
#include <cstring>
#include <limits>

#include "../common.h"
#include "parallel.h"

namespace atento {

bool unary_backward_from_output(int op) {
  return op == kExp || op == kSqrt || op == kSigmoid || op == kTanh;
}
bool unary_has_backward(int op) {
  return op == kExp || op == kLog || op == kSqrt || op == kAbs || op == kRDiv || op == kPow || op == kClamp ||
         op == kRelu || op == kSigmoid || op == kTanh || op == kGelu || op == kGeluTanh || op == kSilu;
}

namespace cpu {

void axpy(float* y, const float* x, float alpha, int64_t n) {
  parallel_range(n, n > kParallelGrain, [&](int64_t begin, int64_t end) {
    #pragma omp simd
    for (int64_t i = begin; i < end; i++) y[i] += alpha * x[i];
  });
}

// --- unary --------------------------------------------------------------------------------------

constexpr float kSqrt1_2 = 0.70710678118654752440f;     // 1/sqrt(2)
constexpr float kInvSqrt2Pi = 0.39894228040143267794f;  // 1/sqrt(2 pi)
constexpr float kSqrt2_Pi = 0.79788456080286535588f;    // sqrt(2/pi)
constexpr float kGeluC = 0.044715f;

// exp and 1 + erf written with plain arithmetic and selects only, so the loops that call them
// vectorise (libm's scalar expf/erff would not). Used by the activations and F.exp.
//
// exp(x) = 2^n e^r, n = round(x / ln2) (by the 1.5 * 2^23 trick: floor() would not vectorise),
// r = x - n ln2 (two-part ln2) in [-ln2/2, ln2/2], e^r by its degree-7 Taylor polynomial
// (truncation < 1e-8); 2^n applied as two factors so that overflow gives inf and underflow
// gives denormals / 0. Within 1.5 ulp of exp over the normal range; NaN stays NaN.
static inline float exp_approx(float x) {
  const float xc = x < -104.0f ? -104.0f : (x > 89.0f ? 89.0f : x);
  const float n = (xc * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
  const float r = xc - n * 0.693145751953125f - n * 1.428606765330187e-06f;
  float p = 1.0f / 5040.0f;
  p = p * r + 1.0f / 720.0f;
  p = p * r + 1.0f / 120.0f;
  p = p * r + 1.0f / 24.0f;
  p = p * r + 1.0f / 6.0f;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  const int32_t ni = (int32_t)n, n1 = ni >> 1, n2 = ni - n1;
  const int32_t b1 = (n1 + 127) * (1 << 23), b2 = (n2 + 127) * (1 << 23);
  float s1, s2;
  std::memcpy(&s1, &b1, sizeof s1);
  std::memcpy(&s2, &b2, sizeof s2);
  const float res = p * s1 * s2;
  return x != x ? x : res;
}

// 1 + erf(y), accurate relative to its value on both sides (for y << 0 it is erfc(|y|), tiny):
// erfc(a) = t exp(-a^2 + P(t)), t = 1 / (1 + a/2), with the Chebyshev fit of Numerical Recipes
// (erfcc, fractional error < 1.2e-7); about 1e-6 relative after float32 evaluation.
static inline float one_plus_erf(float y) {
  const float a = std::fabs(y);
  const float t = 1.0f / (1.0f + 0.5f * a);
  float p = 0.17087277f;
  p = p * t - 0.82215223f;
  p = p * t + 1.48851587f;
  p = p * t - 1.13520398f;
  p = p * t + 0.27886807f;
  p = p * t - 0.18628806f;
  p = p * t + 0.09678418f;
  p = p * t + 0.37409196f;
  p = p * t + 1.00002368f;
  p = p * t - 1.26551223f;
  const float erfc = t * exp_approx(-a * a + p);
  return y >= 0.0f ? 2.0f - erfc : erfc;
}

// tanh: Cephes' odd polynomial below |x| = 0.625 (where 1 - 2/(e^2x + 1) would cancel), that
// expression above; both computed and selected, so it vectorises. About 2 ulp.
static inline float tanh_approx(float x) {
  const float a = std::fabs(x), z = x * x;
  float p = -5.70498872745e-3f;
  p = p * z + 2.06390887954e-2f;
  p = p * z - 5.37397155531e-2f;
  p = p * z + 1.33314422036e-1f;
  p = p * z - 3.33332819422e-1f;
  const float small = x + x * z * p;
  const float big = 1.0f - 2.0f / (exp_approx(2.0f * a) + 1.0f);
  return a < 0.625f ? small : (x < 0.0f ? -big : big);
}

template <class F>
static void map1(float* out, const float* x, int64_t n, F f) {
  parallel_range(n, n > kParallelGrain, [&](int64_t begin, int64_t end) {
    #pragma omp simd
    for (int64_t i = begin; i < end; i++) out[i] = f(x[i]);
  });
}

template <class F>
static void map2(float* out, const float* a, const float* b, int64_t n, F f) {
  parallel_range(n, n > kParallelGrain, [&](int64_t begin, int64_t end) {
    #pragma omp simd
    for (int64_t i = begin; i < end; i++) out[i] = f(a[i], b[i]);
  });
}

void unary_forward(float* out, const float* x, int64_t n, int op, float a, float b) {
  switch (op) {
    case kNeg: return map1(out, x, n, [](float v) { return -v; });
    case kExp: return map1(out, x, n, [](float v) { return exp_approx(v); });
    case kLog: return map1(out, x, n, [](float v) { return std::log(v); });
    case kSqrt: return map1(out, x, n, [](float v) { return std::sqrt(v); });
    case kAbs: return map1(out, x, n, [](float v) { return std::fabs(v); });
    case kAddScalar: return map1(out, x, n, [a](float v) { return v + a; });
    case kMulScalar: return map1(out, x, n, [a](float v) { return v * a; });
    case kDivScalar: return map1(out, x, n, [a](float v) { return v / a; });
    case kRSub: return map1(out, x, n, [a](float v) { return a - v; });
    case kRDiv: return map1(out, x, n, [a](float v) { return a / v; });
    case kPow: return map1(out, x, n, [a](float v) { return std::pow(v, a); });
    case kClamp: return map1(out, x, n, [a, b](float v) {
      float m = v < a ? a : v;  // min(max(x, a), b) as PyTorch; NaN stays NaN
      return m > b ? b : m;
    });
    case kRelu: return map1(out, x, n, [](float v) { return v < 0.0f ? 0.0f : v; });  // NaN stays NaN
    case kSigmoid: return map1(out, x, n, [](float v) { return 1.0f / (1.0f + exp_approx(-v)); });
    case kTanh: return map1(out, x, n, [](float v) { return tanh_approx(v); });
    case kGelu: return map1(out, x, n, [](float v) { return 0.5f * v * one_plus_erf(v * kSqrt1_2); });
    case kGeluTanh:  // 0.5 x (1 + tanh(u)) = x sigmoid(2u)
      return map1(out, x, n, [](float v) {
        return v / (1.0f + exp_approx(-2.0f * kSqrt2_Pi * (v + kGeluC * v * v * v)));
      });
    case kSilu: return map1(out, x, n, [](float v) { return v / (1.0f + exp_approx(-v)); });
  }
  throw Error("ERR_ARGUMENT", "unary: unknown op " + std::to_string(op));
}

void unary_backward(float* dx, const float* dy, const float* s, int64_t n, int op, float a, float b) {
  switch (op) {
    case kExp: return map2(dx, dy, s, n, [](float g, float y) { return g * y; });
    case kLog: return map2(dx, dy, s, n, [](float g, float x) { return g / x; });
    case kSqrt: return map2(dx, dy, s, n, [](float g, float y) { return g / (2.0f * y); });
    case kAbs:
      return map2(dx, dy, s, n, [](float g, float x) { return x > 0.0f ? g : (x < 0.0f ? -g : 0.0f * g); });
    case kRDiv: return map2(dx, dy, s, n, [a](float g, float x) { return -g * a / (x * x); });
    case kPow:
      return map2(dx, dy, s, n, [a](float g, float x) { return a == 0.0f ? 0.0f : g * a * std::pow(x, a - 1.0f); });
    case kClamp: return map2(dx, dy, s, n, [a, b](float g, float x) { return x >= a && x <= b ? g : 0.0f; });
    case kRelu: return map2(dx, dy, s, n, [](float g, float x) { return x > 0.0f ? g : 0.0f; });
    case kSigmoid: return map2(dx, dy, s, n, [](float g, float y) { return g * y * (1.0f - y); });
    case kTanh: return map2(dx, dy, s, n, [](float g, float y) { return g * (1.0f - y * y); });
    case kGelu:
      return map2(dx, dy, s, n, [](float g, float x) {
        float cdf = 0.5f * one_plus_erf(x * kSqrt1_2);
        float pdf = kInvSqrt2Pi * exp_approx(-0.5f * x * x);
        return g * (cdf + x * pdf);
      });
    case kGeluTanh:
      return map2(dx, dy, s, n, [](float g, float x) {
        // with s = sigmoid(2u) = (1 + tanh(u)) / 2: d/dx = s + 2 x s (1 - s) du/dx
        float x2 = x * x;
        float s = 1.0f / (1.0f + exp_approx(-2.0f * kSqrt2_Pi * (x + kGeluC * x2 * x)));
        float du = kSqrt2_Pi * (1.0f + 3.0f * kGeluC * x2);
        return g * (s + 2.0f * x * s * (1.0f - s) * du);
      });
    case kSilu:
      return map2(dx, dy, s, n, [](float g, float x) {
        float sg = 1.0f / (1.0f + exp_approx(-x));
        return g * sg * (1.0f + x * (1.0f - sg));
      });
  }
  throw Error("ERR_ARGUMENT", "unaryBackward: op " + std::to_string(op) + " has no backward kernel");
}

// --- binary (broadcasting) ----------------------------------------------------------------------

template <class F>
static void binary_loop(float* out, const float* a, const float* b, const Layout& l, F f) {
  for_each_row(l, [&](const int64_t* off, int64_t n, const int64_t* st) {
    float* o = out + off[0];
    const float* pa = a + off[1];
    const float* pb = b + off[2];
    if (st[0] == 1 && st[1] == 1 && st[2] == 1) {
      #pragma omp simd
      for (int64_t i = 0; i < n; i++) o[i] = f(pa[i], pb[i]);
    } else if (st[0] == 1 && st[1] == 1 && st[2] == 0) {
      const float vb = *pb;
      #pragma omp simd
      for (int64_t i = 0; i < n; i++) o[i] = f(pa[i], vb);
    } else if (st[0] == 1 && st[1] == 0 && st[2] == 1) {
      const float va = *pa;
      #pragma omp simd
      for (int64_t i = 0; i < n; i++) o[i] = f(va, pb[i]);
    } else {
      for (int64_t i = 0; i < n; i++) o[i * st[0]] = f(pa[i * st[1]], pb[i * st[2]]);
    }
  });
}

void binary_forward(float* out, const float* a, const float* b, const Layout& l, int op) {
  switch (op) {
    case kAdd: return binary_loop(out, a, b, l, [](float x, float y) { return x + y; });
    case kSub: return binary_loop(out, a, b, l, [](float x, float y) { return x - y; });
    case kMul: return binary_loop(out, a, b, l, [](float x, float y) { return x * y; });
    case kDiv: return binary_loop(out, a, b, l, [](float x, float y) { return x / y; });
  }
  throw Error("ERR_ARGUMENT", "binary: unknown op " + std::to_string(op));
}

template <class T, class F>
static void compare_loop(uint8_t* out, const T* a, const T* b, const Layout& l, F f) {
  for_each_row(l, [&](const int64_t* off, int64_t n, const int64_t* st) {
    uint8_t* o = out + off[0];
    const T* pa = a + off[1];
    const T* pb = b + off[2];
    if (st[0] == 1 && st[1] == 1 && st[2] == 1) {
      #pragma omp simd
      for (int64_t i = 0; i < n; i++) o[i] = f(pa[i], pb[i]);
    } else {
      for (int64_t i = 0; i < n; i++) o[i * st[0]] = f(pa[i * st[1]], pb[i * st[2]]);
    }
  });
}

template <class T>
static void compare_t(uint8_t* out, const T* a, const T* b, const Layout& l, int op) {
  switch (op) {
    case kEq: return compare_loop(out, a, b, l, [](T x, T y) { return (uint8_t)(x == y); });
    case kNe: return compare_loop(out, a, b, l, [](T x, T y) { return (uint8_t)(x != y); });
    case kLt: return compare_loop(out, a, b, l, [](T x, T y) { return (uint8_t)(x < y); });
    case kLe: return compare_loop(out, a, b, l, [](T x, T y) { return (uint8_t)(x <= y); });
    case kGt: return compare_loop(out, a, b, l, [](T x, T y) { return (uint8_t)(x > y); });
    case kGe: return compare_loop(out, a, b, l, [](T x, T y) { return (uint8_t)(x >= y); });
  }
  throw Error("ERR_ARGUMENT", "compare: unknown op " + std::to_string(op));
}

void compare_forward(uint8_t* out, const float* a, const float* b, const Layout& l, int op) {
  compare_t(out, a, b, l, op);
}
void compare_forward(uint8_t* out, const int32_t* a, const int32_t* b, const Layout& l, int op) {
  compare_t(out, a, b, l, op);
}

void where_forward(float* out, const uint8_t* cond, const float* a, const float* b, const Layout& l) {
  for_each_row(l, [&](const int64_t* off, int64_t n, const int64_t* st) {
    float* o = out + off[0];
    const uint8_t* c = cond + off[1];
    const float* pa = a + off[2];
    const float* pb = b + off[3];
    for (int64_t i = 0; i < n; i++) o[i * st[0]] = c[i * st[1]] ? pa[i * st[2]] : pb[i * st[3]];
  });
}

// --- casts --------------------------------------------------------------------------------------

static int32_t float_to_int32(float v) {
  // Defined for every input (a plain cast is undefined out of range), the same on CUDA.
  if (!(v > -2147483904.0f && v < 2147483648.0f)) return std::numeric_limits<int32_t>::min();
  return static_cast<int32_t>(v);
}

template <class To, class From, class F>
static void cast_loop(void* out, const void* x, int64_t n, F f) {
  To* o = static_cast<To*>(out);
  const From* in = static_cast<const From*>(x);
  parallel_range(n, n > kParallelGrain, [&](int64_t begin, int64_t end) {
    #pragma omp simd
    for (int64_t i = begin; i < end; i++) o[i] = f(in[i]);
  });
}

void cast(void* out, const void* x, int64_t n, int from, int to) {
  switch (from * 3 + to) {
    case 0 * 3 + 1: return cast_loop<int32_t, float>(out, x, n, [](float v) { return float_to_int32(v); });
    case 0 * 3 + 2: return cast_loop<uint8_t, float>(out, x, n, [](float v) { return (uint8_t)(v != 0.0f); });
    case 1 * 3 + 0: return cast_loop<float, int32_t>(out, x, n, [](int32_t v) { return (float)v; });
    case 1 * 3 + 2: return cast_loop<uint8_t, int32_t>(out, x, n, [](int32_t v) { return (uint8_t)(v != 0); });
    case 2 * 3 + 0: return cast_loop<float, uint8_t>(out, x, n, [](uint8_t v) { return v ? 1.0f : 0.0f; });
    case 2 * 3 + 1: return cast_loop<int32_t, uint8_t>(out, x, n, [](uint8_t v) { return (int32_t)(v != 0); });
  }
  throw Error("ERR_DTYPE", "cast: unsupported dtype pair");
}

}  // namespace cpu
}  // namespace atento
