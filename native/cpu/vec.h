// vec.h — 16-lane float vectors (GCC/Clang vector extensions) and a vectorised exp, for the CPU
// kernel files only (softmax.cc, losses.cc, layernorm.cc, ...), which are compiled with -march.
//
// The bindings never include this: they are compiled without -march, and 64-byte vector types
// there would change the ABI. Everything here has internal linkage (static), so no copy crosses
// translation units. Kernels accumulate in VecF registers rather than with `#pragma omp simd
// reduction`, whose per-lane arrays GCC 12 sets up on the stack (a memset per loop).
#pragma once
#include <cstdint>
#include <cstring>

namespace atento::cpu {

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

// Unaligned loads and stores through a 4-byte-aligned copy of the type (GCC and Clang let a vector
// type alias its element type). memcpy compiled to byte-granular vmovdqu8 stores here, which
// made a store-heavy loop (layernorm's backward) markedly slower than vmovups.
typedef float VecFUnaligned __attribute__((vector_size(64), aligned(4)));
static inline VecF vload(const float* p) { return *reinterpret_cast<const VecFUnaligned*>(p); }
static inline void vstore(float* p, const VecF& v) { *reinterpret_cast<VecFUnaligned*>(p) = v; }
static inline VecF vsplat(float f) { return VecF{} + f; }
static inline VecF vmax(const VecF& a, const VecF& b) { return a > b ? a : b; }  // NaN in a is dropped, as in the scalar loops
// Row kernels (softmax, layernorm, ...) ask for the next row's cache lines before working on the
// current one, and for the lines they will write with intent to write (prefetchw): a row is read
// in a burst and then computed on, and without the hint the memory sat idle during the compute
// and each store waited for its line to be fetched (softmax backward at 12288x256: 1.7 -> 1.15 ms).
static inline void prefetch_row(const float* p, int64_t n) {
  for (int64_t i = 0; i < n; i += kLanes) __builtin_prefetch(p + i);
}
static inline void prefetch_row_for_write(float* p, int64_t n) {
  for (int64_t i = 0; i < n; i += kLanes) __builtin_prefetch(p + i, 1);
}

// Horizontal sum and max as a tree: lanes j and j + 8 first, then j and j + 4, ... — by halving
// the vector with __builtin_shufflevector (register extracts). Copying the lanes out with memcpy
// took the accumulator's address, which kept it on the stack through the whole loop before it:
// a load and a store per iteration (layernorm 768x128 backward, 1 thread: 83-89 -> 61-69 us).
typedef float Vec8F __attribute__((vector_size(32)));
typedef float Vec4F __attribute__((vector_size(16)));
static inline Vec4F vfold_sum(const VecF& v) {
  const Vec8F a = __builtin_shufflevector(v, v, 0, 1, 2, 3, 4, 5, 6, 7);
  const Vec8F b = __builtin_shufflevector(v, v, 8, 9, 10, 11, 12, 13, 14, 15);
  const Vec8F s = a + b;
  return __builtin_shufflevector(s, s, 0, 1, 2, 3) + __builtin_shufflevector(s, s, 4, 5, 6, 7);
}
static inline float vsum(const VecF& v) {
  const Vec4F e = vfold_sum(v);
  return (e[0] + e[2]) + (e[1] + e[3]);
}
static inline float vhmax(const VecF& v) {
  const Vec8F a = __builtin_shufflevector(v, v, 0, 1, 2, 3, 4, 5, 6, 7);
  const Vec8F b = __builtin_shufflevector(v, v, 8, 9, 10, 11, 12, 13, 14, 15);
  const Vec8F m = b > a ? b : a;
  const Vec4F c = __builtin_shufflevector(m, m, 0, 1, 2, 3), d = __builtin_shufflevector(m, m, 4, 5, 6, 7);
  const Vec4F e = d > c ? d : c;
  const float m0 = e[2] > e[0] ? e[2] : e[0], m1 = e[3] > e[1] ? e[3] : e[1];
  return m1 > m0 ? m1 : m0;
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
  yb &= ~mask_of(x < lo);                         // 0 below lo (-inf too); NaN compares false and
                                                  // stays the NaN the polynomial made of it
  const U big = mask_of(x > hi);
  yb = (yb & ~big) | (0x7f800000u & big);         // +inf above hi
  F out;
  std::memcpy(&out, &yb, sizeof out);
  return out;
}
}  // namespace detail

static inline float exp_simd(float x) { return detail::exp_impl(x); }
static inline VecF vexp(const VecF& x) { return detail::exp_impl(x); }


}  // namespace atento::cpu
