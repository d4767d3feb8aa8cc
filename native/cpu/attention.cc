// attention.cc — fused scaled-dot-product attention on the CPU (see attention.h for the shapes).
//
// Reference (attention_forward_ref / attention_backward_ref): for each (b, h, query i) the whole
// row of Tk scores in double, softmax, weighted sum; the backward recomputes the row
// (P, dP = dO V^T, dS = P (dP - rowsum(P dP))) and accumulates dQ, dK, dV. One (b, h) per
// OpenMP task; obviously correct, the yardstick of the tests.
//
// Fast path, FlashAttention-2 style, never holding more than a tile of scores (BQ x BKF in the
// forward, BQ x BK in the backward):
//   forward, parallel over (b, h, query tile of BQ rows):
//     for each key tile of BKF keys (causal: tiles wholly above the diagonal are skipped)
//       S = Q_i K_j^T                              [BQ,BKF]  tile GEMM
//       s = scale S + mask; m' = max(m, rowmax s); p = exp(s - m'); l = l e^(m-m') + rowsum p
//       O = O e^(m-m') + P V_j                      [BQ,Dv]   tile GEMM
//     out = O / l, lse = m + log l  (l = 0: a fully masked row: out 0, lse -inf)
//   backward: Di = rowsum(dO * O) per head; for each (key tile j, query tile i):
//       P = exp(scale Q_i K_j^T + mask - lse_i); dP = dO_i V_j^T; dS = scale P (dP - Di)
//       dV_j += P^T dO_i;  dK_j += dS^T Q_i;  dQ_i += dS K_j
//     With enough heads (B*H >= 2 threads) each thread owns whole heads: no two threads touch
//     one dQ/dK/dV row. With few heads: one pass parallel over (b, h, key tile) for dK, dV, then
//     one over (b, h, query tile) for dQ (recomputing P and dS): still race-free.
//   Causal tiles on the diagonal compute only their lower triangle, per block of rows (Tri).
//
// Tile GEMMs are register-blocked micro-kernels on GCC/Clang vector types (16 floats with
// AVX-512, 8 with AVX, 4 otherwise): a block of MR rows x up to 4 vectors of C stays in
// registers while k runs; B rows are contiguous. K^T and V^T are packed once per (b, h) so every
// product reads contiguous rows; operands whose row length is not a multiple of the vector are
// copied with zero padding. exp is a vectorised Cephes polynomial (about 1 ulp), exp(-inf) = 0.
// Measured on the dev machine (AVX-512, 1 thread): oneDNN's sgemm per tile instead of these
// kernels made the forward 40% slower at B=12 H=4 T=64 D=32 and 15% slower at B=8 H=6 T=256
// D=64 (call overhead on small tiles, no causal triangle), although it needs no K^T.
// Operand layouts (attention.h, AttentionLayout): every row is addressed through the operand's
// strides: tiles read rows in place (K^T, V^T and rows that need padding are packed from them),
// and dQ, dK, dV accumulate in place unless their rows need padding.
#include "attention.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "aligned.h"
#include "parallel.h"
#include "vec.h"

#if defined(__AVX__)
#include <immintrin.h>
#endif
#ifdef _OPENMP
#include <omp.h>
#endif

namespace atento::cpu {

namespace {

constexpr float kNegInf = -std::numeric_limits<float>::infinity();

#if defined(__AVX512F__)
constexpr int VL = 16;
#elif defined(__AVX__)
constexpr int VL = 8;
#else
constexpr int VL = 4;
#endif
typedef float vf __attribute__((vector_size(VL * sizeof(float))));
typedef int32_t vi __attribute__((vector_size(VL * sizeof(float))));

// Micro-kernel block: MR rows x NV vectors of C (AVX-512: 6 x 4 x 16 = 24 of 32 registers).
constexpr int kMR = VL == 16 ? 6 : 4;
constexpr int kNV = VL == 16 ? 4 : 2;
// Tile sizes (queries x keys); multiples of kNV * VL. The forward takes keys 256 at a time (up
// to T = 256 one tile: the online softmax never rescales O): B=8 H=6 T=256 D=64 forward, 2
// threads, 7-10% faster than with 64 (causal and not; throwaway A/B of the two builds, interleaved
// runs). 128-query or 128-key tiles in the backward measured no faster.
constexpr int64_t kBQ = 64;
constexpr int64_t kBK = 64;
constexpr int64_t kBKF = 256;  // the forward's key tiles (a multiple of kBK)

// Unaligned vector loads and stores through a 4-byte-aligned copy of the type (a vector type may
// alias its element type); memcpy compiled to byte-granular vmovdqu8.
typedef float vf_unaligned __attribute__((vector_size(VL * sizeof(float)), aligned(4)));
inline vf loadu(const float* p) { return *reinterpret_cast<const vf_unaligned*>(p); }
inline void storeu(float* p, vf x) { *reinterpret_cast<vf_unaligned*>(p) = x; }
inline vf splat(float x) { return vf{} + x; }
inline vf select(vi m, vf a, vf b) { return (vf)(((vi)a & m) | ((vi)b & ~m)); }

// exp(x) = 2^n e^r with n = round(x log2 e), |r| <= ln2 / 2, e^r by Cephes' expf polynomial.
// x below -87.34 (e^x under FLT_MIN, and -inf) gives exactly 0. The arguments here are scores
// minus their row's max or log-sum-exp, so at most ~0. With AVX-512 it is vec.h's vexp (the same
// function on vscalefps, 14 instructions instead of ~25); the version below serves 8 and 4 lanes.
#if defined(__AVX512F__)
inline vf vexp(vf x) { return ::atento::cpu::vexp(x); }
#else
inline vf vexp(vf x) {
  const vi under = x < splat(-87.33654f);
  x = select(x > splat(88.0f), splat(88.0f), x);
  x = select(under, splat(-87.33654f), x);
  vf fx = x * 1.44269504088896341f;
  fx = (fx + 12582912.0f) - 12582912.0f;  // round to nearest integer (|fx| < 2^22)
  vf r = x - fx * 0.693359375f;
  r = r - fx * -2.12194440e-4f;
  vf y = splat(1.9875691500e-4f);
  y = y * r + 1.3981999507e-3f;
  y = y * r + 8.3334519073e-3f;
  y = y * r + 4.1665795894e-2f;
  y = y * r + 1.6666665459e-1f;
  y = y * r + 5.0000001201e-1f;
  y = y * (r * r) + r + 1.0f;
  const vi n = __builtin_convertvector(fx, vi);
  const vf pow2n = (vf)((n + 127) << 23);
  y = y * pow2n;
  return (vf)((vi)y & ~under);
}
#endif

// Horizontal max and sum as trees of halves (4 dependent steps at VL = 16, not 15). With AVX-512,
// vec.h's; else the same with __builtin_shufflevector (a memcpy of the halves took the vector's
// address, and an accumulator passed in lived on the stack through the whole loop before it).
// Lane-wise max of two GCC vectors by masks.
template <class V>
inline V vmax(V a, V b) {
  const auto gt = a > b;
  using I = decltype(gt);
  return (V)(((I)a & gt) | ((I)b & ~gt));
}
#if defined(__AVX512F__)
inline float hmax(vf x) { return vhmax(x); }
inline float hsum(vf x) { return vsum(x); }
#else
typedef float f4 __attribute__((vector_size(4 * sizeof(float))));
inline f4 fold(vf x, bool max) {
#if defined(__AVX__)
  const f4 lo = __builtin_shufflevector(x, x, 0, 1, 2, 3), hi = __builtin_shufflevector(x, x, 4, 5, 6, 7);
  return max ? vmax(lo, hi) : lo + hi;
#else
  (void)max;
  return x;
#endif
}
inline float hmax(vf x) {
  const f4 m = fold(x, true);
  const float e = m[0] > m[1] ? m[0] : m[1], f = m[2] > m[3] ? m[2] : m[3];
  return e > f ? e : f;
}
inline float hsum(vf x) {
  const f4 m = fold(x, false);
  return (m[0] + m[1]) + (m[2] + m[3]);
}
#endif

inline int64_t round_up(int64_t x, int64_t m) { return (x + m - 1) / m * m; }
inline int64_t cdiv(int64_t x, int64_t m) { return (x + m - 1) / m; }

// ---- tile GEMM --------------------------------------------------------------------------------
// C[M, N] (+)= A[M, K] B[K, N]. B rows are contiguous (ldb) and readable up to N, a multiple of
// VL; A(r, k) = A[r*lda + k], or A[k*lda + r] when TA (A stored transposed).
template <int MR, int NV, bool TA>
inline void micro_kernel(float* C, int64_t ldc, const float* A, int64_t lda, const float* B,
                         int64_t ldb, int64_t K, bool acc) {
  vf c[MR][NV];
#pragma GCC unroll 8
  for (int r = 0; r < MR; r++)
#pragma GCC unroll 4
    for (int n = 0; n < NV; n++) c[r][n] = acc ? loadu(C + r * ldc + n * VL) : vf{};
  for (int64_t k = 0; k < K; k++) {
    const float* b = B + k * ldb;
    vf bv[NV];
#pragma GCC unroll 4
    for (int n = 0; n < NV; n++) bv[n] = loadu(b + n * VL);
#pragma GCC unroll 8
    for (int r = 0; r < MR; r++) {
      const float a = TA ? A[k * lda + r] : A[r * lda + k];
#pragma GCC unroll 4
      for (int n = 0; n < NV; n++) c[r][n] += a * bv[n];
    }
  }
#pragma GCC unroll 8
  for (int r = 0; r < MR; r++)
#pragma GCC unroll 4
    for (int n = 0; n < NV; n++) storeu(C + r * ldc + n * VL, c[r][n]);
}

template <int MR, bool TA>
inline void micro_rows(int nv, float* C, int64_t ldc, const float* A, int64_t lda, const float* B,
                       int64_t ldb, int64_t K, bool acc) {
  switch (nv) {
    case 1: micro_kernel<MR, 1, TA>(C, ldc, A, lda, B, ldb, K, acc); break;
    case 2: micro_kernel<MR, 2, TA>(C, ldc, A, lda, B, ldb, K, acc); break;
    case 3: if constexpr (kNV >= 3) micro_kernel<MR, 3, TA>(C, ldc, A, lda, B, ldb, K, acc); break;
    default: if constexpr (kNV >= 4) micro_kernel<MR, 4, TA>(C, ldc, A, lda, B, ldb, K, acc); break;
  }
}

// Causal tiles on the diagonal need only part of each product; `Tri` says which part, for a
// block of rows [r, r + mr) of C, with `off` the diagonal's offset:
//   NEnd    columns n < off + r + mr           (S = Q K^T, dP = dO V^T: keys past the last query)
//   KEnd    k < off + r + mr                   (O += P V, dQ += dS K: k runs over keys)
//   KBegin  k >= off + r                       (dV += P^T dO, dK += dS^T Q: k runs over queries)
// Columns skipped under NEnd are left unwritten: the caller masks them. Under KEnd/KBegin a block
// of rows with no k in range is skipped when accumulating (acc) and set to zeros otherwise.
enum class Tri { None, NEnd, KEnd, KBegin };

template <bool TA>
void tile_gemm(float* C, int64_t ldc, const float* A, int64_t lda, const float* B, int64_t ldb,
               int64_t M, int64_t N, int64_t K, bool acc, Tri tri = Tri::None, int64_t off = 0) {
  for (int64_t n0 = 0; n0 < N; n0 += kNV * VL) {
    const int nv = (int)std::min<int64_t>(kNV, (N - n0) / VL);
    for (int64_t r = 0; r < M; r += kMR) {
      const int64_t mr = std::min<int64_t>(kMR, M - r);
      int nvb = nv;
      int64_t kb = 0, ke = K;
      if (tri == Tri::NEnd) {
        const int64_t lim = off + r + mr - n0;
        if (lim <= 0) continue;
        nvb = (int)std::min<int64_t>(nv, cdiv(lim, VL));
      } else if (tri == Tri::KEnd) {
        ke = std::clamp<int64_t>(off + r + mr, 0, K);
      } else if (tri == Tri::KBegin) {
        kb = std::clamp<int64_t>(off + r, 0, K);
      }
      if (acc && kb >= ke) continue;
      float* c = C + r * ldc + n0;
      const float* a = (TA ? A + r : A + r * lda) + (TA ? kb * lda : kb);
      const float* b = B + n0 + kb * ldb;
      if (mr == kMR) {
        micro_rows<kMR, TA>(nvb, c, ldc, a, lda, b, ldb, ke - kb, acc);
        continue;
      }
      switch (mr) {  // the last, partial block of rows
        case 1: micro_rows<1, TA>(nvb, c, ldc, a, lda, b, ldb, ke - kb, acc); break;
        case 2: micro_rows<2, TA>(nvb, c, ldc, a, lda, b, ldb, ke - kb, acc); break;
        case 3: micro_rows<3, TA>(nvb, c, ldc, a, lda, b, ldb, ke - kb, acc); break;
        case 4: if constexpr (kMR > 4) micro_rows<4, TA>(nvb, c, ldc, a, lda, b, ldb, ke - kb, acc); break;
        default: if constexpr (kMR > 5) micro_rows<5, TA>(nvb, c, ldc, a, lda, b, ldb, ke - kb, acc); break;
      }
    }
  }
}

// ---- packing ------------------------------------------------------------------------------------
// dst[c][t] = src[t][c] for t < T, c < C (src rows lds apart); columns t in [T, ldt) are zero.
// 8 x 8 blocks are transposed in registers with AVX shuffles (a plain strided loop was a quarter
// of the forward's time at T = 256, D = 64); the ragged edges element by element.
#if defined(__AVX__)
inline void transpose8x8(float* dst, int64_t ldd, const float* src, int64_t lds) {
  __m256 r0 = _mm256_loadu_ps(src), r1 = _mm256_loadu_ps(src + lds), r2 = _mm256_loadu_ps(src + 2 * lds),
         r3 = _mm256_loadu_ps(src + 3 * lds), r4 = _mm256_loadu_ps(src + 4 * lds), r5 = _mm256_loadu_ps(src + 5 * lds),
         r6 = _mm256_loadu_ps(src + 6 * lds), r7 = _mm256_loadu_ps(src + 7 * lds);
  const __m256 t0 = _mm256_unpacklo_ps(r0, r1), t1 = _mm256_unpackhi_ps(r0, r1), t2 = _mm256_unpacklo_ps(r2, r3),
               t3 = _mm256_unpackhi_ps(r2, r3), t4 = _mm256_unpacklo_ps(r4, r5), t5 = _mm256_unpackhi_ps(r4, r5),
               t6 = _mm256_unpacklo_ps(r6, r7), t7 = _mm256_unpackhi_ps(r6, r7);
  const __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xEE),
               u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xEE),
               u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xEE),
               u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xEE);
  _mm256_storeu_ps(dst, _mm256_permute2f128_ps(u0, u4, 0x20));
  _mm256_storeu_ps(dst + ldd, _mm256_permute2f128_ps(u1, u5, 0x20));
  _mm256_storeu_ps(dst + 2 * ldd, _mm256_permute2f128_ps(u2, u6, 0x20));
  _mm256_storeu_ps(dst + 3 * ldd, _mm256_permute2f128_ps(u3, u7, 0x20));
  _mm256_storeu_ps(dst + 4 * ldd, _mm256_permute2f128_ps(u0, u4, 0x31));
  _mm256_storeu_ps(dst + 5 * ldd, _mm256_permute2f128_ps(u1, u5, 0x31));
  _mm256_storeu_ps(dst + 6 * ldd, _mm256_permute2f128_ps(u2, u6, 0x31));
  _mm256_storeu_ps(dst + 7 * ldd, _mm256_permute2f128_ps(u3, u7, 0x31));
}
#endif

void pack_transposed(float* dst, int64_t ldt, const float* src, int64_t lds, int64_t T, int64_t C) {
  int64_t t8 = 0, c8 = 0;
#if defined(__AVX__)
  t8 = T / 8 * 8;
  c8 = C / 8 * 8;
  for (int64_t t0 = 0; t0 < t8; t0 += 8)
    for (int64_t c0 = 0; c0 < c8; c0 += 8) transpose8x8(dst + c0 * ldt + t0, ldt, src + t0 * lds + c0, lds);
#endif
  for (int64_t c = 0; c < C; c++) {
    float* d = dst + c * ldt;
    for (int64_t t = c < c8 ? t8 : 0; t < T; t++) d[t] = src[t * lds + c];
    for (int64_t t = T; t < ldt; t++) d[t] = 0.0f;
  }
}
// dst[t][0..C) = src[t][0..C) (src rows lds apart), dst[t][C..CP) = 0.
void pack_padded(float* dst, int64_t CP, const float* src, int64_t lds, int64_t T, int64_t C) {
  for (int64_t t = 0; t < T; t++) {
    std::memcpy(dst + t * CP, src + t * lds, C * sizeof(float));
    for (int64_t c = C; c < CP; c++) dst[t * CP + c] = 0.0f;
  }
}
// Rows of length C (lds apart) readable as whole vectors, i.e. up to CP = round_up(C, VL): the
// source itself (ld = lds) when C == CP, else a copy padded with zeros in `buf` (ld = CP).
const float* padded_rows(AlignedVec& buf, int64_t& ld, const float* src, int64_t lds, int64_t T, int64_t C,
                         int64_t CP) {
  ld = C == CP ? lds : CP;
  if (C == CP) return src;
  buf.resize(T * CP);
  pack_padded(buf.data(), CP, src, lds, T, C);
  return buf.data();
}

struct Problem {
  int64_t B, H, Tq, Tk, D, Dv;
  float scale;
  bool causal;
  const float* mask;
  int64_t ms[4];
  int64_t DP, DvP, TkP;  // D, Dv rounded up to VL; Tk rounded up to kBK
  AttentionLayout L;     // where the rows of q (dq), k (dk), v (dv), out (dout) are

  Problem(const float* mask_, const int64_t* strides, int64_t B_, int64_t H_, int64_t Tq_,
          int64_t Tk_, int64_t D_, int64_t Dv_, float scale_, bool causal_,
          const AttentionLayout* layout = nullptr)
      : B(B_), H(H_), Tq(Tq_), Tk(Tk_), D(D_), Dv(Dv_), scale(scale_), causal(causal_), mask(mask_) {
    for (int d = 0; d < 4; d++) ms[d] = mask_ ? strides[d] : 0;
    DP = round_up(D, VL);
    DvP = round_up(Dv, VL);
    TkP = round_up(Tk, kBK);
    L = layout ? *layout
               : AttentionLayout{{0, H * Tq * D, Tq * D, D}, {0, H * Tk * D, Tk * D, D},
                                 {0, H * Tk * Dv, Tk * Dv, Dv}, {0, H * Tq * Dv, Tq * Dv, Dv}};
  }
  // Offset of row 0 of head bh in an operand of layout s.
  int64_t at(const AttentionStrides& s, int64_t bh) const { return s.off + (bh / H) * s.sb + (bh % H) * s.sh; }
  // The mask row of query i in head bh (nullptr without a mask); key j at [j * ms[3]].
  const float* mask_row(int64_t bh, int64_t i) const {
    return mask ? mask + (bh / H) * ms[0] + (bh % H) * ms[1] + i * ms[2] : nullptr;
  }
  // Keys [j0, j0 + valid) of query i are visible in a tile of bk keys.
  int64_t visible(int64_t i, int64_t j0, int64_t bk) const {
    return causal ? std::clamp<int64_t>(i - j0 + 1, 0, bk) : bk;
  }
  // Key tiles of bk keys [0, end) that query rows [i0, i0 + bq) can see.
  int64_t key_tiles(int64_t i0, int64_t bq, int64_t bk = kBK) const {
    return cdiv(causal ? std::min(Tk, i0 + bq) : Tk, bk);
  }
};

// Lane numbers 0, 1, ..., VL - 1.
inline vi lane_iota() {
  vi x;
  for (int l = 0; l < VL; l++) x[l] = l;
  return x;
}

// s[0, width): raw <q_i, k_j> for keys j0.. -> scale * s + mask for visible keys [0, valid),
// -inf after (width a multiple of VL; valid <= Tk - j0). Returns the largest (-inf if none).
// Whole vectors throughout: the ragged end of `valid` is a lane mask, not a scalar loop (rows
// of a causal tile all end at a different key).
inline float scale_and_mask(float* s, int64_t width, int64_t valid, float scale, const float* mrow,
                            int64_t msk, int64_t j0) {
  const vf ninf = splat(kNegInf);
  vf mx = ninf;
  int64_t c = 0;
  for (; c < valid; c += VL) {
    vf x = loadu(s + c) * scale;
    if (mrow) {
      if (msk == 1 && c + VL <= valid) {
        x += loadu(mrow + j0 + c);
      } else {  // a broadcast or strided key dimension, or the last keys: gather
        float t[VL];
        for (int l = 0; l < VL; l++) t[l] = c + l < valid ? mrow[(j0 + c + l) * msk] : 0.0f;
        x += loadu(t);
      }
    }
    if (c + VL > valid) x = select(lane_iota() < (vi{} + (int32_t)(valid - c)), x, ninf);
    storeu(s + c, x);
    mx = select(x > mx, x, mx);
  }
  for (; c < width; c += VL) storeu(s + c, ninf);
  return hmax(mx);
}

// Without a mask, the row passes fold the scale into the exp (the only pass that writes the row):
// max_visible gives the largest raw score of keys [0, valid), and keep_visible zeroes the lanes of
// a vector past `valid`. scale_and_mask's pass stored the scaled row and the next one read it
// back. With the faster exp and horizontal sums: B=8 H=6 T=256 D=64 full attention fwd + bwd,
// 2 threads, 21.7-24.1 -> 20.3-23.0 ms (a throwaway A/B of the two builds, 3 alternations;
// `npm run bench -- ops attention` times the current one). The tile GEMMs are ~65% of the time.
inline float max_visible(const float* s, int64_t valid) {
  vf mx = splat(kNegInf);
  for (int64_t c = 0; c < valid; c += VL) {
    vf x = loadu(s + c);
    if (c + VL > valid) x = select(lane_iota() < (vi{} + (int32_t)(valid - c)), x, splat(kNegInf));
    mx = select(x > mx, x, mx);
  }
  return hmax(mx);
}
inline vf keep_visible(vf x, int64_t c, int64_t valid) {
  return c + VL > valid ? select(lane_iota() < (vi{} + (int32_t)(valid - c)), x, vf{}) : x;
}

// ---- forward ------------------------------------------------------------------------------------
// The forward goes through a query tile kMR rows (one micro-kernel block) at a time: their scores
// against a key tile (kMR x BKF, 6 KB), the online softmax on those rows, then their P V, while
// the rows are still in L1 (the whole 64-row tile's scores, 64 KB, went through L2), and a
// causal block of rows skips the keys past its own last query. Measured gain small: forward 1-2%
// at B=8 H=6 T=256 D=64 and B=12 H=4 T=64 D=32, 2 threads (throwaway A/B, interleaved runs).
struct ForwardScratch {
  AlignedVec kt, vp, S, O;
  int64_t bh = -1;
  explicit ForwardScratch(const Problem& p) : kt(p.D * p.TkP), S(kMR * kBKF), O(kMR * p.DvP) {}
};

void forward_tile(const Problem& p, ForwardScratch& w, float* out, float* lse, const float* q,
                  const float* k, const float* v, int64_t bh, int64_t i0) {
  const int64_t Tq = p.Tq, Tk = p.Tk, D = p.D, Dv = p.Dv, DvP = p.DvP, TkP = p.TkP;
  const float* Q = q + p.at(p.L.q, bh);
  const int64_t ldq = p.L.q.st;
  if (w.bh != bh) {  // K^T [D][TkP] and V rows padded to DvP, once per head
    pack_transposed(w.kt.data(), TkP, k + p.at(p.L.k, bh), p.L.k.st, Tk, D);
    w.bh = bh;
    if (Dv != DvP) {
      w.vp.resize(Tk * DvP);
      pack_padded(w.vp.data(), DvP, v + p.at(p.L.v, bh), p.L.v.st, Tk, Dv);
    }
  }
  const float* Vp = Dv == DvP ? v + p.at(p.L.v, bh) : w.vp.data();
  const int64_t ldv = Dv == DvP ? p.L.v.st : DvP;
  const int64_t bq = std::min(kBQ, Tq - i0);
  const bool plain = !p.mask && p.scale > 0.0f;
  const Tri tri_n = p.causal ? Tri::NEnd : Tri::None, tri_k = p.causal ? Tri::KEnd : Tri::None;
  float* S = w.S.data();
  float* O = w.O.data();
  for (int64_t r0 = 0; r0 < bq; r0 += kMR) {  // rows i0 + r0 .. i0 + r0 + mr
    const int64_t mr = std::min<int64_t>(kMR, bq - r0), ib = i0 + r0;
    float m[kMR], l[kMR];
    std::fill(m, m + mr, kNegInf);
    std::fill(l, l + mr, 0.0f);
    std::fill(O, O + mr * DvP, 0.0f);
    const int64_t ntiles = p.key_tiles(ib, mr, kBKF);
    for (int64_t jt = 0; jt < ntiles; jt++) {
      const int64_t j0 = jt * kBKF, bk = std::min(kBKF, Tk - j0);
      // Score columns [0, width) are computed and written: the tile's keys rounded up to whole
      // vectors, and causal only up to the last row's key (the product P V reads no further).
      const int64_t width = p.causal ? std::min(round_up(bk, VL), round_up(ib + mr - j0, VL)) : round_up(bk, VL);
      tile_gemm<false>(S, kBKF, Q + ib * ldq, ldq, w.kt.data() + j0, TkP, mr, width, D, false, tri_n, ib - j0);
      for (int64_t r = 0; r < mr; r++) {
        const int64_t i = ib + r;
        float* s = S + r * kBKF;
        const int64_t valid = p.visible(i, j0, bk);
        // plain: scores still raw, scaled inside the exp (the max of scaled ones is scale * the max)
        const float mx = plain ? p.scale * max_visible(s, valid)
                               : scale_and_mask(s, width, valid, p.scale, p.mask_row(bh, i), p.ms[3], j0);
        const float m_old = m[r];
        const float m_new = std::max(m_old, mx);
        if (m_new == kNegInf) {  // nothing visible yet: P row 0, O and l stay 0
          std::fill(s, s + width, 0.0f);
          continue;
        }
        vf sum = vf{};
        int64_t c = 0;
        if (plain) {
          for (; c < valid; c += VL) {
            const vf e = keep_visible(vexp(loadu(s + c) * p.scale - m_new), c, valid);
            storeu(s + c, e);
            sum += e;
          }
        } else {
          for (; c < valid; c += VL) {
            const vf e = vexp(loadu(s + c) - m_new);
            storeu(s + c, e);
            sum += e;
          }
        }
        for (; c < width; c += VL) storeu(s + c, vf{});  // hidden keys: P = 0
        const float alpha = m_old == kNegInf ? 0.0f : std::exp(m_old - m_new);
        l[r] = l[r] * alpha + hsum(sum);
        m[r] = m_new;
        if (alpha != 1.0f && m_old != kNegInf) {  // (an empty row of O needs no rescale)
          float* o = O + r * DvP;
          for (int64_t c = 0; c < DvP; c++) o[c] *= alpha;
        }
      }
      tile_gemm<false>(O, DvP, S, kBKF, Vp + j0 * ldv, ldv, mr, DvP, bk, true, tri_k, ib - j0);
    }
    for (int64_t r = 0; r < mr; r++) {
      const int64_t i = ib + r;
      const float inv = l[r] > 0.0f ? 1.0f / l[r] : 0.0f;
      float* o = out + p.at(p.L.o, bh) + i * p.L.o.st;
      for (int64_t c = 0; c < Dv; c++) o[c] = O[r * DvP + c] * inv;
      lse[bh * Tq + i] = l[r] > 0.0f ? m[r] + std::log(l[r]) : kNegInf;
    }
  }
}

// ---- backward -----------------------------------------------------------------------------------
struct BackwardScratch {
  AlignedVec kt, vt, kp_buf, qp_buf, dop_buf, di, S, dP, dK, dV, dQ;
  const float *Qp = nullptr, *Kp = nullptr, *dOp = nullptr;
  int64_t ldqp = 0, ldkp = 0, ldop = 0;  // their row strides
  int64_t bh = -1;
  explicit BackwardScratch(const Problem& p)
      : kt(p.D * p.TkP), vt(p.Dv * p.TkP), di(p.Tq), S(kBQ * kBK), dP(kBQ * kBK) {}
};

struct BackwardArgs {
  float *dq, *dk, *dv;
  const float *dout, *q, *k, *v, *out, *lse;
};

// Per head: K^T, V^T, rows of K, Q, dO padded to the vector length where needed, and
// Di = rowsum(dO * O) of its queries.
void backward_pack(const Problem& p, BackwardScratch& w, const BackwardArgs& a, int64_t bh) {
  if (w.bh == bh) return;
  const int64_t Tq = p.Tq, Tk = p.Tk, D = p.D, Dv = p.Dv;
  const int64_t kb = p.at(p.L.k, bh), vb = p.at(p.L.v, bh), ob = p.at(p.L.o, bh), os = p.L.o.st;
  pack_transposed(w.kt.data(), p.TkP, a.k + kb, p.L.k.st, Tk, D);
  pack_transposed(w.vt.data(), p.TkP, a.v + vb, p.L.v.st, Tk, Dv);
  w.Kp = padded_rows(w.kp_buf, w.ldkp, a.k + kb, p.L.k.st, Tk, D, p.DP);
  w.Qp = padded_rows(w.qp_buf, w.ldqp, a.q + p.at(p.L.q, bh), p.L.q.st, Tq, D, p.DP);
  w.dOp = padded_rows(w.dop_buf, w.ldop, a.dout + ob, os, Tq, Dv, p.DvP);
  for (int64_t i = 0; i < Tq; i++) {
    const float *x = a.dout + ob + i * os, *y = a.out + ob + i * os;
    vf acc = vf{};
    int64_t c = 0;
    for (; c + VL <= Dv; c += VL) acc += loadu(x + c) * loadu(y + c);
    float sum = hsum(acc);
    for (; c < Dv; c++) sum += x[c] * y[c];
    w.di[i] = sum;
  }
  w.bh = bh;
}

// An accumulator for an output whose rows of `cols` floats are `ostride` apart, written as rows of
// `width` floats (cols rounded up to a multiple of VL), `ld` apart. It is the output itself (ld =
// ostride) when no padding is needed, else scratch (ld = width) copied out by finish().
// `zero`: start from zeros; without it the first product into it must write every row (acc false).
struct Acc {
  float* ptr;
  int64_t ld;
  float* out;  // where finish() copies to (nullptr: ptr is the output)
  int64_t cols, ostride;
  Acc(float* out_, int64_t cols_, int64_t ostride_, int64_t width, AlignedVec& scratch, int64_t rows, bool zero)
      : ptr(out_), ld(ostride_), out(nullptr), cols(cols_), ostride(ostride_) {
    if (width != cols_) {
      scratch.resize(rows * width);
      ptr = scratch.data();
      ld = width;
      out = out_;
      if (zero) std::fill(ptr, ptr + rows * ld, 0.0f);
    } else if (zero && ostride_ == cols_) {
      std::fill(ptr, ptr + rows * cols_, 0.0f);
    } else if (zero) {  // rows of whole vectors (width == cols), stored inline: the empty asm keeps
                        // GCC from making each row a memset call (9216 of them per backward at
                        // GPT's shapes: 10% of it)
      for (int64_t r = 0; r < rows; r++)
        for (int64_t c = 0; c < cols_; c += VL) {
          storeu(ptr + r * ld + c, vf{});
          __asm__ __volatile__("" ::: "memory");
        }
    }
  }
  void finish(int64_t rows) const {
    if (out)
      for (int64_t r = 0; r < rows; r++) std::memcpy(out + r * ostride, ptr + r * ld, cols * sizeof(float));
  }
};

// One (query tile i0, key tile j0) block of head bh: adds its share of dK, dV (rows of the key
// tile) and dQ (rows of the query tile) to the accumulators given (null: not wanted), or writes
// it where set_kv / set_q says this block is the first. dS carries the scale, so dK = dS^T Q and
// dQ = dS K need none afterwards.
void backward_block(const Problem& p, BackwardScratch& w, const BackwardArgs& a, int64_t bh,
                    int64_t i0, int64_t j0, const Acc* dK, const Acc* dV, float* dQ, int64_t ldq,
                    bool set_kv = false, bool set_q = false) {
  const int64_t Tq = p.Tq, Tk = p.Tk, D = p.D, Dv = p.Dv, DP = p.DP, DvP = p.DvP, TkP = p.TkP;
  const int64_t bq = std::min(kBQ, Tq - i0), bk = std::min(kBK, Tk - j0);
  float* S = w.S.data();
  float* dP = w.dP.data();
  // Causal diagonal tiles: only the part of each product on or below the diagonal.
  const Tri tri_n = p.causal ? Tri::NEnd : Tri::None, tri_ke = p.causal ? Tri::KEnd : Tri::None,
            tri_kb = p.causal ? Tri::KBegin : Tri::None;
  const int64_t qs = p.L.q.st, os = p.L.o.st;
  tile_gemm<false>(S, kBK, a.q + p.at(p.L.q, bh) + i0 * qs, qs, w.kt.data() + j0, TkP, bq, kBK, D, false, tri_n, i0 - j0);
  tile_gemm<false>(dP, kBK, a.dout + p.at(p.L.o, bh) + i0 * os, os, w.vt.data() + j0, TkP, bq, kBK, Dv, false, tri_n,
                   i0 - j0);
  for (int64_t r = 0; r < bq; r++) {
    const int64_t i = i0 + r;
    float* s = S + r * kBK;
    float* ds = dP + r * kBK;
    const float L = a.lse[bh * Tq + i];
    if (L == kNegInf) {  // a fully masked row: P = 0, dS = 0
      std::fill(s, s + kBK, 0.0f);
      std::fill(ds, ds + kBK, 0.0f);
      continue;
    }
    const int64_t valid = p.visible(i, j0, bk);
    if (p.mask) scale_and_mask(s, kBK, valid, p.scale, p.mask_row(bh, i), p.ms[3], j0);
    const float di = w.di[i];
    int64_t c = 0;
    for (; c < valid; c += VL) {
      // without a mask the scores are still raw (see max_visible)
      const vf pv = p.mask ? vexp(loadu(s + c) - L) : keep_visible(vexp(loadu(s + c) * p.scale - L), c, valid);
      storeu(s + c, pv);
      // past `valid` dP may not have been computed (Tri::NEnd): dS = 0 wherever P = 0
      storeu(ds + c, select(pv == 0.0f, vf{}, pv * (loadu(ds + c) - di) * p.scale));
    }
    for (; c < kBK; c += VL) {  // hidden keys
      storeu(s + c, vf{});
      storeu(ds + c, vf{});
    }
  }
  if (dV) tile_gemm<true>(dV->ptr, dV->ld, S, kBK, w.dOp + i0 * w.ldop, w.ldop, bk, DvP, bq, !set_kv, tri_kb, j0 - i0);
  if (dK) tile_gemm<true>(dK->ptr, dK->ld, dP, kBK, w.Qp + i0 * w.ldqp, w.ldqp, bk, DP, bq, !set_kv, tri_kb, j0 - i0);
  if (dQ) tile_gemm<false>(dQ, ldq, dP, kBK, w.Kp + j0 * w.ldkp, w.ldkp, bq, DP, bk, !set_q, tri_ke, i0 - j0);
}

// Query tiles whose rows can see key tile j0 (causal: those reaching down to j0).
inline int64_t first_query_tile(const Problem& p, int64_t j0) { return p.causal ? j0 / kBQ : 0; }

// Whether the first of the n blocks adding to a gradient writes it instead of adding to zeros (the
// T=256 D=64 backward zero-filled 9 MB first). The first block writes every row: without causal
// masking it covers them all, and with it the first one is a diagonal block, whose products write
// zeros where no term is in range (Tri, acc false).
inline bool first_block_sets(int64_t n) { return n > 0; }

// dK, dV of key tile jt of head bh; with dQ given (the head's dQ accumulator, row stride ldq),
// also the key tile's share of dQ (set_q: this key tile's share is the first).
void backward_key_tile(const Problem& p, BackwardScratch& w, const BackwardArgs& a, int64_t bh,
                       int64_t jt, float* dQ, int64_t ldq, bool set_q = false) {
  const int64_t j0 = jt * kBK, bk = std::min(kBK, p.Tk - j0);
  const int64_t nqt = cdiv(p.Tq, kBQ), it0 = first_query_tile(p, j0);
  const bool set = first_block_sets(nqt - it0);
  const Acc dK(a.dk + p.at(p.L.k, bh) + j0 * p.L.k.st, p.D, p.L.k.st, p.DP, w.dK, bk, !set);
  const Acc dV(a.dv + p.at(p.L.v, bh) + j0 * p.L.v.st, p.Dv, p.L.v.st, p.DvP, w.dV, bk, !set);
  for (int64_t it = it0; it < nqt; it++)
    backward_block(p, w, a, bh, it * kBQ, j0, &dK, &dV, dQ ? dQ + it * kBQ * ldq : nullptr, ldq, set && it == it0,
                   set_q);
  dK.finish(bk);
  dV.finish(bk);
}

}  // namespace

void attention_forward(float* out, float* lse, const float* q, const float* k, const float* v,
                       const float* mask, const int64_t* mask_strides, int64_t B, int64_t H,
                       int64_t Tq, int64_t Tk, int64_t D, int64_t Dv, float scale, bool causal,
                       const AttentionLayout* layout) {
  const Problem p(mask, mask_strides, B, H, Tq, Tk, D, Dv, scale, causal, layout);
  const int64_t BH = B * H, nqt = cdiv(Tq, kBQ);
  if (BH == 0 || Tq == 0) return;
  const bool parallel = BH * Tq * std::max<int64_t>(Tk, 1) * (D + Dv) > kParallelGrain;
  // Many heads: each thread takes a contiguous block of tasks (whole heads, mostly), so two
  // threads never write neighbouring heads at once: in packed layouts (GPT's y [B,T,H,D]) those
  // share cache lines, and handing out tasks in order made the forward 1.3x slower at B=12 H=4
  // T=64 D=32. Few heads: tasks handed out as threads free up (causal tiles differ in cost).
  const bool by_blocks = BH >= 2 * (parallel ? num_threads() : 1);
  #pragma omp parallel if (parallel)
  {
    ForwardScratch w(p);
    if (by_blocks) {
      #pragma omp for schedule(static)
      for (int64_t task = 0; task < BH * nqt; task++)
        forward_tile(p, w, out, lse, q, k, v, task / nqt, (task % nqt) * kBQ);
    } else {
      #pragma omp for schedule(dynamic)
      for (int64_t task = 0; task < BH * nqt; task++)
        forward_tile(p, w, out, lse, q, k, v, task / nqt, (task % nqt) * kBQ);
    }
  }
}

void attention_backward(float* dq, float* dk, float* dv, const float* dout, const float* q,
                        const float* k, const float* v, const float* out, const float* lse,
                        const float* mask, const int64_t* mask_strides, int64_t B, int64_t H,
                        int64_t Tq, int64_t Tk, int64_t D, int64_t Dv, float scale, bool causal,
                        const AttentionLayout* layout) {
  const Problem p(mask, mask_strides, B, H, Tq, Tk, D, Dv, scale, causal, layout);
  const int64_t BH = B * H, nqt = cdiv(Tq, kBQ), nkt = cdiv(Tk, kBK);
  if (BH == 0) return;
  const bool parallel = BH * std::max<int64_t>(Tq, 1) * std::max<int64_t>(Tk, 1) * (D + Dv) > kParallelGrain;
  const BackwardArgs a{dq, dk, dv, dout, q, k, v, out, lse};
  const int threads = parallel ? num_threads() : 1;
  if (threads == 1 || BH >= 2 * threads) {
    // Whole heads per thread: dQ accumulates over the key tiles of its head. Heads cost the same,
    // so each thread takes a contiguous block of them: threads never accumulate into neighbouring
    // heads at once (in packed layouts, GPT's dqkv [B,T,3,H,D], those share cache lines; handing
    // heads out in order made this 2x slower at B=12 H=4 T=64 D=32, 2 threads).
    #pragma omp parallel if (parallel)
    {
      BackwardScratch w(p);
      #pragma omp for schedule(static)
      for (int64_t bh = 0; bh < BH; bh++) {
        backward_pack(p, w, a, bh);
        const bool set = first_block_sets(nkt);
        const Acc dQ(dq + p.at(p.L.q, bh), D, p.L.q.st, p.DP, w.dQ, Tq, !set);
        for (int64_t jt = 0; jt < nkt; jt++) backward_key_tile(p, w, a, bh, jt, dQ.ptr, dQ.ld, set && jt == 0);
        dQ.finish(Tq);
      }
    }
    return;
  }
  // Few heads: dK, dV parallel over key tiles, then dQ parallel over query tiles.
  #pragma omp parallel
  {
    BackwardScratch w(p);
    #pragma omp for schedule(dynamic)
    for (int64_t task = 0; task < BH * nkt; task++) {
      const int64_t bh = task / nkt;
      backward_pack(p, w, a, bh);
      backward_key_tile(p, w, a, bh, task % nkt, nullptr, 0);
    }
    #pragma omp for schedule(dynamic)
    for (int64_t task = 0; task < BH * nqt; task++) {
      const int64_t bh = task / nqt, i0 = (task % nqt) * kBQ, bq = std::min(kBQ, Tq - i0);
      backward_pack(p, w, a, bh);
      const int64_t nk = p.key_tiles(i0, bq);
      const bool set = first_block_sets(nk);
      const Acc dQ(dq + p.at(p.L.q, bh) + i0 * p.L.q.st, D, p.L.q.st, p.DP, w.dQ, bq, !set);
      for (int64_t jt = 0; jt < nk; jt++)
        backward_block(p, w, a, bh, i0, jt * kBK, nullptr, nullptr, dQ.ptr, dQ.ld, false, set && jt == 0);
      dQ.finish(bq);
    }
  }
}

// ---- reference ----------------------------------------------------------------------------------
namespace {

// Scores of query i against every key, in double: scale <q_i, k_j> + mask, -inf if hidden.
// Returns the row maximum (-inf when every key is hidden).
double ref_scores(std::vector<double>& s, const Problem& p, const float* qi, const float* K,
                  int64_t bh, int64_t i) {
  const float* mrow = p.mask_row(bh, i);
  double mx = -std::numeric_limits<double>::infinity();
  for (int64_t j = 0; j < p.Tk; j++) {
    double dot = 0;
    for (int64_t d = 0; d < p.D; d++) dot += (double)qi[d] * K[j * p.D + d];
    double x = (double)p.scale * dot + (mrow ? (double)mrow[j * p.ms[3]] : 0.0);
    if (p.causal && j > i) x = -std::numeric_limits<double>::infinity();
    s[j] = x;
    mx = std::max(mx, x);
  }
  return mx;
}

// s -> softmax probabilities in place (all 0 for a fully masked row); returns the lse.
double ref_softmax(std::vector<double>& s, double mx) {
  if (mx == -std::numeric_limits<double>::infinity()) {
    std::fill(s.begin(), s.end(), 0.0);
    return mx;
  }
  double sum = 0;
  for (double& x : s) sum += (x = std::exp(x - mx));
  for (double& x : s) x /= sum;
  return mx + std::log(sum);
}

}  // namespace

void attention_forward_ref(float* out, float* lse, const float* q, const float* k,
                           const float* v, const float* mask, const int64_t* mask_strides,
                           int64_t B, int64_t H, int64_t Tq, int64_t Tk, int64_t D, int64_t Dv,
                           float scale, bool causal) {
  const Problem p(mask, mask_strides, B, H, Tq, Tk, D, Dv, scale, causal);
  #pragma omp parallel for schedule(dynamic)
  for (int64_t bh = 0; bh < B * H; bh++) {
    std::vector<double> s(Tk), o(Dv);
    const float* K = k + bh * Tk * D;
    const float* V = v + bh * Tk * Dv;
    for (int64_t i = 0; i < Tq; i++) {
      const double mx = ref_scores(s, p, q + (bh * Tq + i) * D, K, bh, i);
      lse[bh * Tq + i] = (float)ref_softmax(s, mx);
      std::fill(o.begin(), o.end(), 0.0);
      for (int64_t j = 0; j < Tk; j++)
        for (int64_t c = 0; c < Dv; c++) o[c] += s[j] * V[j * Dv + c];
      for (int64_t c = 0; c < Dv; c++) out[(bh * Tq + i) * Dv + c] = (float)o[c];
    }
  }
}

// Recomputes the softmax itself (out and lse are not read): an independent yardstick.
void attention_backward_ref(float* dq, float* dk, float* dv, const float* dout, const float* q,
                            const float* k, const float* v, const float* out, const float* lse,
                            const float* mask, const int64_t* mask_strides, int64_t B,
                            int64_t H, int64_t Tq, int64_t Tk, int64_t D, int64_t Dv,
                            float scale, bool causal) {
  const Problem p(mask, mask_strides, B, H, Tq, Tk, D, Dv, scale, causal);
  #pragma omp parallel for schedule(dynamic)
  for (int64_t bh = 0; bh < B * H; bh++) {
    std::vector<double> s(Tk), dp(Tk), gq(D), gk(Tk * D, 0.0), gv(Tk * Dv, 0.0);
    const float* Q = q + bh * Tq * D;
    const float* K = k + bh * Tk * D;
    const float* V = v + bh * Tk * Dv;
    const float* dO = dout + bh * Tq * Dv;
    for (int64_t i = 0; i < Tq; i++) {
      ref_softmax(s, ref_scores(s, p, Q + i * D, K, bh, i));
      double di = 0;  // sum_j P dP = <dO_i, out_i>
      for (int64_t j = 0; j < Tk; j++) {
        double x = 0;
        for (int64_t c = 0; c < Dv; c++) x += (double)dO[i * Dv + c] * V[j * Dv + c];
        dp[j] = x;
        di += s[j] * x;
      }
      std::fill(gq.begin(), gq.end(), 0.0);
      for (int64_t j = 0; j < Tk; j++) {
        for (int64_t c = 0; c < Dv; c++) gv[j * Dv + c] += s[j] * dO[i * Dv + c];
        const double ds = s[j] * (dp[j] - di) * scale;
        for (int64_t d = 0; d < D; d++) {
          gq[d] += ds * K[j * D + d];
          gk[j * D + d] += ds * Q[i * D + d];
        }
      }
      for (int64_t d = 0; d < D; d++) dq[(bh * Tq + i) * D + d] = (float)gq[d];
    }
    for (int64_t x = 0; x < Tk * D; x++) dk[bh * Tk * D + x] = (float)gk[x];
    for (int64_t x = 0; x < Tk * Dv; x++) dv[bh * Tk * Dv + x] = (float)gv[x];
  }
}

}  // namespace atento::cpu
