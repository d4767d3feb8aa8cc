// lstm.cc — LSTM sequence forward and backward on the CPU (see lstm.h for shapes and formulas).
// CUDA twin: native/cuda/lstm.cu, same structure and function names.
//
// Forward:  gates[T*B,4H] = x[T*B,I] wIh^T                   one GEMM for all steps
//           per t: gates_t += h_{t-1} wHh^T                   GEMM [B,H] x [H,4H], beta = 1
//                  (RecurrentGemm: oneDNN matmul with wHh packed once per call)
//                  lstm_forward_pointwise: bias, activations, c_t, h_t; gates_t keeps i,f,g,o
// Backward: per t from T-1 down: lstm_backward_pointwise: dGates_t from dh, dc, the saved gates
//                                and c_t, c_{t-1}; dc becomes dL/dc_{t-1}
//                                dh = dGates_t wHh            GEMM [B,4H] x [4H,H]
//           dX   = dGates wIh                                 one GEMM [T*B,4H] x [4H,I]
//           dWih = dGates^T x                                 one GEMM [4H,T*B] x [T*B,I]
//           dWhh = dGates_{1..T-1}^T out_{0..T-2} + dGates_0^T h0      two GEMMs
//           (both computed transposed, dW^T = X^T dGates, then transposed into place: faster)
//           dbIh = dbHh = column sums of dGates
// The pointwise passes use branch-free sigmoid/tanh (Cephes polynomials, within a few ulps of
// libm) so that the compiler vectorises them; the GEMMs are oneDNN's sgemm (gemm.h), except the
// per-step ones (RecurrentGemm below).
#include "lstm.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "../common.h"
#include "gemm.h"
#include "parallel.h"

#ifdef ATENTO_WITH_ONEDNN
#include <oneapi/dnnl/dnnl.hpp>

#include "signal_guard.h"
#endif

namespace atento::cpu {

namespace {

// The per-step GEMM with the recurrent weight: C_t [M,N] = A_t [M,K] op(W) (+ C_t when
// `accumulate`), one W for every step. op(W) is W^T for W [N,K] (`transW`), else W [K,N].
// With oneDNN: a matmul primitive whose weights are reordered once into its packed layout;
// sgemm would repack W on every step, and the packed primitive measured 15-45% faster at
// B = 64, H = 512..1024. Short sequences (and builds without oneDNN) use sgemm.
class RecurrentGemm {
 public:
  RecurrentGemm(const float* W, bool transW, int64_t M, int64_t N, int64_t K, bool accumulate, int64_t steps)
      : W_(W), transW_(transW), M_(M), N_(N), K_(K), beta_(accumulate ? 1.0f : 0.0f) {
#ifdef ATENTO_WITH_ONEDNN
    if (steps < 4) return;  // packing would not pay for itself
    const SignalGuard no_signals;  // see signal_guard.h
    try {
      using namespace dnnl;
      using tag = memory::format_tag;
      static engine* eng = new engine(engine::kind::cpu, 0);  // never destroyed: no static destructors
      const auto f32 = memory::data_type::f32;
      primitive_attr attr;
      if (accumulate) {
        post_ops po;
        po.append_sum(1.0f);
        attr.set_post_ops(po);
      }
      pd_ = matmul::primitive_desc(matmul::desc(memory::desc({M, K}, f32, tag::ab), memory::desc({K, N}, f32, tag::any),
                                                memory::desc({M, N}, f32, tag::ab)),
                                   attr, *eng);
      prim_ = matmul(pd_);
      stream_ = stream(*eng);
      packed_ = memory(pd_.weights_desc(), *eng);
      memory user(memory::desc({K, N}, f32, transW ? tag::ba : tag::ab), *eng, const_cast<float*>(W));
      reorder(user, packed_).execute(stream_, user, packed_);
      stream_.wait();
      packed_ok_ = true;
    } catch (const dnnl::error&) {
      packed_ok_ = false;  // an unsupported configuration: sgemm below
    }
#else
    (void)steps;
#endif
  }

  void run(const float* A, float* C) {
#ifdef ATENTO_WITH_ONEDNN
    if (packed_ok_) {
      const SignalGuard no_signals;
      try {
        dnnl::memory a(pd_.src_desc(), pd_.get_engine(), const_cast<float*>(A)), c(pd_.dst_desc(), pd_.get_engine(), C);
        prim_.execute(stream_, {{DNNL_ARG_SRC, a}, {DNNL_ARG_WEIGHTS, packed_}, {DNNL_ARG_DST, c}});
        stream_.wait();
      } catch (const dnnl::error& e) {
        throw Error("ERR_INTERNAL", std::string("lstm: oneDNN matmul failed: ") + e.what());
      }
      return;
    }
#endif
    sgemm(false, transW_, M_, N_, K_, 1.0f, A, K_, W_, transW_ ? K_ : N_, beta_, C, N_);
  }

 private:
  const float* W_;
  bool transW_;
  int64_t M_, N_, K_;
  float beta_;
#ifdef ATENTO_WITH_ONEDNN
  bool packed_ok_ = false;
  dnnl::matmul::primitive_desc pd_;
  dnnl::matmul prim_;
  dnnl::stream stream_;
  dnnl::memory packed_;
#endif
};

// exp(x), x clamped to [-87, 88] (the result stays a normal float), about 2 ulp: Cody-Waite
// reduction x = n ln2 + r, Cephes' polynomial for e^r, then 2^n from exponent bits.
inline float exp_vec(float x) {
  x = std::min(std::max(x, -87.0f), 88.0f);
  // Round x/ln2 to the nearest integer n by adding 1.5*2^23: n lands in the low mantissa bits,
  // which also give n as an integer without a float->int conversion (both vectorise).
  const float shifted = x * 1.44269504088896341f + 12582912.0f;
  const float n = shifted - 12582912.0f;
  float r = x - n * 0.693359375f;
  r = r - n * -2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  const uint32_t ni = __builtin_bit_cast(uint32_t, shifted) - 0x4B400000u;
  return p * __builtin_bit_cast(float, (ni + 127u) << 23);
}

inline float sigmoid_vec(float x) { return 1.0f / (1.0f + exp_vec(-x)); }

// tanh: an odd polynomial below |x| = 0.625 (no cancellation near 0), 1 - 2/(e^{2|x|} + 1) above.
inline float tanh_vec(float x) {
  const float ax = std::fabs(x), s = x * x;
  const float small =
      ((((-5.70498872745e-3f * s + 2.06390887954e-2f) * s - 5.37397155531e-2f) * s + 1.33314422036e-1f) * s -
       3.33332819422e-1f) * s * ax + ax;
  const float big = 1.0f - 2.0f / (exp_vec(2.0f * ax) + 1.0f);
  return std::copysign(ax < 0.625f ? small : big, x);
}

// Parallelise a per-row pass only when rows x columns make enough work (~60 flops an element).
inline bool parallel_rows(int64_t B, int64_t H) { return B > 1 && B * H * 64 > kParallelGrain; }

// gates_t [B,4H]: pre-activations (without bias) in, activated i, f, g, o out.
// c_t, h_t [B,H] written; c_prev [B,H] (null: zeros); bias [4H] = bIh + bHh (null: none).
template <bool kBias, bool kCPrev>
void lstm_forward_pointwise(float* gates_t, float* c_t, float* h_t, const float* c_prev, const float* bias,
                            int64_t B, int64_t H) {
  parallel_for(B, parallel_rows(B, H), [&](int64_t b) {
    float* __restrict g = gates_t + b * 4 * H;
    float* __restrict c = c_t + b * H;
    float* __restrict h = h_t + b * H;
    const float* __restrict cp = kCPrev ? c_prev + b * H : nullptr;
    #pragma omp simd
    for (int64_t j = 0; j < H; j++) {
      float ai = g[j], af = g[H + j], ag = g[2 * H + j], ao = g[3 * H + j];
      if (kBias) {
        ai += bias[j];
        af += bias[H + j];
        ag += bias[2 * H + j];
        ao += bias[3 * H + j];
      }
      const float i = sigmoid_vec(ai), f = sigmoid_vec(af), gg = tanh_vec(ag), o = sigmoid_vec(ao);
      const float cn = kCPrev ? f * cp[j] + i * gg : i * gg;
      c[j] = cn;
      h[j] = o * tanh_vec(cn);
      g[j] = i;
      g[H + j] = f;
      g[2 * H + j] = gg;
      g[3 * H + j] = o;
    }
  });
}

// dGates_t [B,4H] (pre-activation gradients) from dh [B,H] (+ dOut_t [B,H] when kDOut), dc [B,H],
// the activated gates_t [B,4H], c_t and c_prev [B,H] (null: zeros). dc becomes dL/dc_{t-1}.
template <bool kDOut, bool kCPrev>
void lstm_backward_pointwise(float* dGates_t, float* dc, const float* dh, const float* dOut_t, const float* gates_t,
                             const float* c_t, const float* c_prev, int64_t B, int64_t H) {
  parallel_for(B, parallel_rows(B, H), [&](int64_t b) {
    float* __restrict dg = dGates_t + b * 4 * H;
    float* __restrict dcb = dc + b * H;
    const float* __restrict dhb = dh + b * H;
    const float* __restrict dob = kDOut ? dOut_t + b * H : nullptr;
    const float* __restrict g = gates_t + b * 4 * H;
    const float* __restrict c = c_t + b * H;
    const float* __restrict cp = kCPrev ? c_prev + b * H : nullptr;
    #pragma omp simd
    for (int64_t j = 0; j < H; j++) {
      const float i = g[j], f = g[H + j], gg = g[2 * H + j], o = g[3 * H + j];
      const float tc = tanh_vec(c[j]);
      const float dht = kDOut ? dhb[j] + dob[j] : dhb[j];
      const float dct = dcb[j] + dht * o * (1.0f - tc * tc);
      const float cprev = kCPrev ? cp[j] : 0.0f;
      dg[j] = dct * gg * i * (1.0f - i);
      dg[H + j] = dct * cprev * f * (1.0f - f);
      dg[2 * H + j] = dct * i * (1.0f - gg * gg);
      dg[3 * H + j] = dht * tc * o * (1.0f - o);
      dcb[j] = dct * f;
    }
  });
}

void forward_pointwise(float* gates_t, float* c_t, float* h_t, const float* c_prev, const float* bias, int64_t B,
                       int64_t H) {
  if (bias && c_prev) lstm_forward_pointwise<true, true>(gates_t, c_t, h_t, c_prev, bias, B, H);
  else if (bias) lstm_forward_pointwise<true, false>(gates_t, c_t, h_t, c_prev, bias, B, H);
  else if (c_prev) lstm_forward_pointwise<false, true>(gates_t, c_t, h_t, c_prev, bias, B, H);
  else lstm_forward_pointwise<false, false>(gates_t, c_t, h_t, c_prev, bias, B, H);
}

void backward_pointwise(float* dGates_t, float* dc, const float* dh, const float* dOut_t, const float* gates_t,
                        const float* c_t, const float* c_prev, int64_t B, int64_t H) {
  if (dOut_t && c_prev) lstm_backward_pointwise<true, true>(dGates_t, dc, dh, dOut_t, gates_t, c_t, c_prev, B, H);
  else if (dOut_t) lstm_backward_pointwise<true, false>(dGates_t, dc, dh, dOut_t, gates_t, c_t, c_prev, B, H);
  else if (c_prev) lstm_backward_pointwise<false, true>(dGates_t, dc, dh, dOut_t, gates_t, c_t, c_prev, B, H);
  else lstm_backward_pointwise<false, false>(dGates_t, dc, dh, dOut_t, gates_t, c_t, c_prev, B, H);
}

// db[G] = sum over R rows of d[R,G] (column sums), in blocks of 64 columns.
void column_sums(float* db, const float* d, int64_t R, int64_t G) {
  constexpr int64_t kBlock = 64;
  #pragma omp parallel for schedule(static) if (R * G > kParallelGrain)
  for (int64_t j0 = 0; j0 < G; j0 += kBlock) {
    const int64_t n = std::min(kBlock, G - j0);
    float acc[kBlock] = {};
    for (int64_t r = 0; r < R; r++) {
      const float* row = d + r * G + j0;
      #pragma omp simd
      for (int64_t j = 0; j < n; j++) acc[j] += row[j];
    }
    std::memcpy(db + j0, acc, n * sizeof(float));
  }
}

// dst [C,R] = src [R,C]^T, in 32 x 32 tiles.
void transpose(float* dst, const float* src, int64_t R, int64_t C) {
  constexpr int64_t kTile = 32;
  #pragma omp parallel for collapse(2) schedule(static) if (R * C > kParallelGrain)
  for (int64_t r0 = 0; r0 < R; r0 += kTile)
    for (int64_t c0 = 0; c0 < C; c0 += kTile)
      for (int64_t c = c0; c < std::min(c0 + kTile, C); c++)
        for (int64_t r = r0; r < std::min(r0 + kTile, R); r++) dst[c * R + r] = src[r * C + c];
}

}  // namespace

void lstm_forward(float* out, float* hN, float* cN, float* gates, float* cs, const float* x, const float* h0,
                  const float* c0, const float* wIh, const float* wHh, const float* bIh, const float* bHh,
                  int64_t T, int64_t B, int64_t I, int64_t H) {
  const int64_t G = 4 * H, BH = B * H, BG = B * G;
  std::vector<float> bias;
  if (bIh || bHh) {
    bias.assign(G, 0.0f);
    for (int64_t j = 0; j < G; j++) bias[j] = (bIh ? bIh[j] : 0.0f) + (bHh ? bHh[j] : 0.0f);
  }
  // gates [T*B,4H] = x [T*B,I] wIh^T
  sgemm(false, true, T * B, G, I, 1.0f, x, I, wIh, I, 0.0f, gates, G);
  RecurrentGemm recurrent(wHh, true, B, G, H, true, h0 ? T : T - 1);
  for (int64_t t = 0; t < T; t++) {
    float* g = gates + t * BG;
    const float* h_prev = t ? out + (t - 1) * BH : h0;
    const float* c_prev = t ? cs + (t - 1) * BH : c0;
    // gates_t [B,4H] += h_{t-1} [B,H] wHh^T (a zero h0 adds nothing)
    if (h_prev) recurrent.run(h_prev, g);
    forward_pointwise(g, cs + t * BH, out + t * BH, c_prev, bias.empty() ? nullptr : bias.data(), B, H);
  }
  if (hN) std::memcpy(hN, out + (T - 1) * BH, BH * sizeof(float));
  if (cN) std::memcpy(cN, cs + (T - 1) * BH, BH * sizeof(float));
}

void lstm_backward(float* dX, float* dWih, float* dWhh, float* dbIh, float* dbHh, float* dh, float* dc,
                   float* dGates, const float* dOut, const float* gates, const float* cs, const float* out,
                   const float* x, const float* h0, const float* c0, const float* wIh, const float* wHh,
                   int64_t T, int64_t B, int64_t I, int64_t H) {
  const int64_t G = 4 * H, BH = B * H, BG = B * G;
  RecurrentGemm recurrent(wHh, false, B, H, G, false, T);
  for (int64_t t = T - 1; t >= 0; t--) {
    float* dg = dGates + t * BG;
    const float* c_prev = t ? cs + (t - 1) * BH : c0;
    backward_pointwise(dg, dc, dh, dOut ? dOut + t * BH : nullptr, gates + t * BG, cs + t * BH, c_prev, B, H);
    // dh [B,H] = dGates_t [B,4H] wHh [4H,H]: dL/dh_{t-1} through the recurrence
    recurrent.run(dg, dh);
  }
  // dX [T*B,I] = dGates [T*B,4H] wIh [4H,I]
  if (dX) sgemm(false, false, T * B, I, G, 1.0f, dGates, G, wIh, I, 0.0f, dX, I);
  // The weight gradients are dW [4H,K'] = dGates^T [4H,T*B] X [T*B,K']. oneDNN's sgemm runs this
  // A^T B shape about 1.6x faster with the small side as M, so compute dW^T = X^T dGates [K',4H]
  // into scratch and transpose it into place (a copy of 4H*K' floats, small beside the GEMM).
  if (dWih || dWhh) {
    std::vector<float> dWt((size_t)(G * std::max(dWih ? I : 0, dWhh ? H : 0)));
    if (dWih) {
      // dWih^T [I,4H] = x^T [I,T*B] dGates [T*B,4H]
      sgemm(true, false, I, G, T * B, 1.0f, x, I, dGates, G, 0.0f, dWt.data(), G);
      transpose(dWih, dWt.data(), I, G);
    }
    if (dWhh) {
      // dWhh^T [H,4H] = sum_t h_{t-1}^T dGates_t: steps 1..T-1 read out_{0..T-2} (K = 0 writes
      // zeros), step 0 reads h0 (zeros when absent: nothing to add).
      sgemm(true, false, H, G, (T - 1) * B, 1.0f, out, H, dGates + BG, G, 0.0f, dWt.data(), G);
      if (h0) sgemm(true, false, H, G, B, 1.0f, h0, H, dGates, G, 1.0f, dWt.data(), G);
      transpose(dWhh, dWt.data(), H, G);
    }
  }
  if (dbIh || dbHh) {
    float* db = dbIh ? dbIh : dbHh;
    column_sums(db, dGates, T * B, G);
    if (dbIh && dbHh) std::memcpy(dbHh, dbIh, G * sizeof(float));
  }
}

}  // namespace atento::cpu
