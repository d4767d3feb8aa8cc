// attention.h — fused scaled-dot-product attention on the CPU, forward and backward.
// CUDA twins with the same names and arguments: native/cuda/attention.h.
//
// Shapes (all dense row-major float32):
//   q [B,H,Tq,D], k [B,H,Tk,D], v [B,H,Tk,Dv]  ->  out [B,H,Tq,Dv], lse [B,H,Tq]
//   s[i,j] = scale * <q_i, k_j> + mask(b,h,i,j), minus infinity where isCausal and j > i
//   p = softmax_j(s), out_i = sum_j p[i,j] v_j, lse_i = log(sum_j exp(s[i,j])) (natural log)
// mask is optional (nullptr): an additive float mask (may hold -inf) whose element (b,h,i,j)
// sits at mask[b*ms[0] + h*ms[1] + i*ms[2] + j*ms[3]], ms = mask_strides (4 values, 0 on
// broadcast dims). A row with every key masked gives out = 0, lse = -inf, and no gradient.
//
// The backward takes dout [B,H,Tq,Dv] plus the forward's out and lse and writes
// dq [B,H,Tq,D], dk [B,H,Tk,D], dv [B,H,Tk,Dv] (every element; no accumulation into them).
#pragma once

#include <cstdint>

namespace atento::cpu {

// Fast path: flash-style tiles over keys with an online softmax (see attention.cc).
void attention_forward(float* out, float* lse, const float* q, const float* k, const float* v,
                       const float* mask, const int64_t* mask_strides, int64_t B, int64_t H,
                       int64_t Tq, int64_t Tk, int64_t D, int64_t Dv, float scale, bool causal);
void attention_backward(float* dq, float* dk, float* dv, const float* dout, const float* q,
                        const float* k, const float* v, const float* out, const float* lse,
                        const float* mask, const int64_t* mask_strides, int64_t B, int64_t H,
                        int64_t Tq, int64_t Tk, int64_t D, int64_t Dv, float scale, bool causal);

// The reference: plain loops over one row of scores at a time, double accumulation.
void attention_forward_ref(float* out, float* lse, const float* q, const float* k,
                           const float* v, const float* mask, const int64_t* mask_strides,
                           int64_t B, int64_t H, int64_t Tq, int64_t Tk, int64_t D, int64_t Dv,
                           float scale, bool causal);
void attention_backward_ref(float* dq, float* dk, float* dv, const float* dout, const float* q,
                            const float* k, const float* v, const float* out, const float* lse,
                            const float* mask, const int64_t* mask_strides, int64_t B,
                            int64_t H, int64_t Tq, int64_t Tk, int64_t D, int64_t Dv,
                            float scale, bool causal);

}  // namespace atento::cpu
