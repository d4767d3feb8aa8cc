// vec.h — 16-lane float vectors (GCC/Clang vector extensions) and a vectorised exp and log, for the CPU
// kernel files only (softmax.cc, losses.cc, layernorm.cc, ...), which are compiled with -march.
//
// The bindings never include this: they are compiled without -march, and 64-byte vector types
// there would change the ABI. Everything here has internal linkage (static), so no copy crosses
// translation units. Kernels accumulate in VecF registers rather than with `#pragma omp simd
// reduction`, whose per-lane arrays GCC 12 sets up on the stack (a memset per loop).
#pragma once
#include <cmath>
#include <cstdint>
#include <cstring>
#if defined(__AVX512F__)
#include <immintrin.h>
#endif

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

#if defined(__AVX512F__)
// The same function in 14 instructions instead of ~21, with AVX-512's vscalefps: it multiplies by
// 2^n (n a float) with the exponent's overflow and underflow handled in hardware, so the integer
// arithmetic and the +inf blend go. The polynomial is the same, evaluated as 1 + r (1 + r P(r)).
// Same results as exp_impl to within 1 ulp, same special cases: 0 below lo (the mask is "not
// less than", true for NaN, so NaN stays NaN), +inf above hi (scalef overflows), NaN for NaN (min
// returns its second operand when either is NaN). The FP ports are what softmax, cross-entropy
// and attention wait on: exp of 196608 values from L2, 1 thread, 69 -> 49 us; softmax 3072x64
// forward, 2 threads, 79-80 -> 68-70 us (a throwaway harness alternating the two builds; `bash
// bench/norm-cpu.sh` times the current kernels).
static inline VecF vexp(const VecF& xv) {
  const __m512 x = (__m512)xv;
  // (maskz forms with every lane set: the plain ones use _mm512_undefined_ps, which GCC 12 flags
  // as maybe-uninitialized)
  const __mmask16 all = 0xffff;
  const __m512 v = _mm512_maskz_min_ps(all, _mm512_set1_ps(89.0f), x);
  const __mmask16 keep = _mm512_cmp_ps_mask(x, _mm512_set1_ps(-87.33654475f), _CMP_NLT_UQ);
  const __m512 n = _mm512_maskz_roundscale_ps(all, _mm512_mul_ps(v, _mm512_set1_ps(1.44269504088896341f)),
                                              _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), v);
  r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
  __m512 p = _mm512_fmadd_ps(r, _mm512_set1_ps(1.9875691500e-4f), _mm512_set1_ps(1.3981999507e-3f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073e-3f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894e-2f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459e-1f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201e-1f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
  return (VecF)_mm512_maskz_scalef_ps(keep, p, n);
}
#else
static inline VecF vexp(const VecF& x) { return detail::exp_impl(x); }
#endif

// log: Cephes' logf. x = m 2^e with m in [sqrt(1/2), sqrt(2)), log(x) = e ln2 + log(1 + f), f =
// m - 1, by f - f^2/2 + f^3 P(f) (P of degree 8). With AVX-512, e and m come from vgetexpps /
// vgetmantps, which also take care of denormal inputs and of negative or NaN x (NaN); log(+-0) =
// -inf and log(+inf) = +inf are set by a mask. Within 1 ulp of logf. Elsewhere lane by lane
// with std::log. The row kernels take one log per row, 16 rows at a time (a libm call per row
// was a fifth of crossEntropy's forward at C = 65).
#if defined(__AVX512F__)
static inline VecF vlog(const VecF& xv) {
  const __m512 x = (__m512)xv;
  const __mmask16 all = 0xffff;  // maskz forms: see vexp
  __m512 m = _mm512_maskz_getmant_ps(all, x, _MM_MANT_NORM_1_2, _MM_MANT_SIGN_nan);  // [1, 2)
  __m512 e = _mm512_maskz_getexp_ps(all, x);                                          // floor(log2 x)
  const __mmask16 big = _mm512_cmp_ps_mask(m, _mm512_set1_ps(1.41421356237f), _CMP_GT_OQ);
  m = _mm512_mask_mul_ps(m, big, m, _mm512_set1_ps(0.5f));                 // [sqrt(1/2), sqrt(2))
  e = _mm512_mask_add_ps(e, big, e, _mm512_set1_ps(1.0f));
  const __m512 f = _mm512_sub_ps(m, _mm512_set1_ps(1.0f)), z = _mm512_mul_ps(f, f);
  __m512 p = _mm512_fmadd_ps(f, _mm512_set1_ps(7.0376836292e-2f), _mm512_set1_ps(-1.1514610310e-1f));
  p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(1.1676998740e-1f));
  p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(-1.2420140846e-1f));
  p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(1.4249322787e-1f));
  p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(-1.6668057665e-1f));
  p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(2.0000714765e-1f));
  p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(-2.4999993993e-1f));
  p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(3.3333331174e-1f));
  __m512 y = _mm512_mul_ps(_mm512_mul_ps(p, f), z);                        // f^3 P(f)
  y = _mm512_fmadd_ps(e, _mm512_set1_ps(-2.12194440e-4f), y);             // ln2 in two parts
  y = _mm512_fnmadd_ps(z, _mm512_set1_ps(0.5f), y);
  const __m512 r = _mm512_fmadd_ps(e, _mm512_set1_ps(0.693359375f), _mm512_add_ps(f, y));
  // x = +-0 and +inf: e is -inf / +inf, and so is the log (above, inf - inf made NaN)
  const __mmask16 ends = _mm512_cmp_ps_mask(x, _mm512_setzero_ps(), _CMP_EQ_OQ) |
                        _mm512_cmp_ps_mask(x, _mm512_set1_ps(INFINITY), _CMP_EQ_OQ);
  return (VecF)_mm512_mask_mov_ps(r, ends, e);
}
#else
static inline VecF vlog(const VecF& x) {
  VecF y;
  for (int l = 0; l < kLanes; l++) y[l] = std::log(x[l]);
  return y;
}
#endif


}  // namespace atento::cpu
