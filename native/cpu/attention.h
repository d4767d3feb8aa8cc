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
//
// CPU only: the fast path also takes an optional `layout` of the operands, so it can read q, k, v
// straight from a packed projection and write out / dq, dk, dv in place, without transposes (GPT:
// qkv [B,T,3,H,D] -> q, k, v, and out [B,T,H,D]). Row t of head (b, h) of an operand starts at
// off + b*sb + h*sh + t*st elements; its D (or Dv) values are contiguous. dq, dk, dv have the
// layouts of q, k, v; out and dout share `o`. Without a layout all are dense [B,H,T,*] as above.
#pragma once

#include <cstdint>

namespace atento::cpu {

struct AttentionStrides {
  int64_t off, sb, sh, st;
};
struct AttentionLayout {
  AttentionStrides q, k, v, o;
};

// Fast path: flash-style tiles over keys with an online softmax (see attention.cc).
void attention_forward(float* out, float* lse, const float* q, const float* k, const float* v,
                       const float* mask, const int64_t* mask_strides, int64_t B, int64_t H,
                       int64_t Tq, int64_t Tk, int64_t D, int64_t Dv, float scale, bool causal,
                       const AttentionLayout* layout = nullptr);
void attention_backward(float* dq, float* dk, float* dv, const float* dout, const float* q,
                        const float* k, const float* v, const float* out, const float* lse,
                        const float* mask, const int64_t* mask_strides, int64_t B, int64_t H,
                        int64_t Tq, int64_t Tk, int64_t D, int64_t Dv, float scale, bool causal,
                        const AttentionLayout* layout = nullptr);

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
