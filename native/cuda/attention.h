// attention.h — host launchers of the fused scaled-dot-product attention kernels (attention.cu).
// Same names, arguments and shapes as native/cpu/attention.h; pointers are device memory
// (mask_strides is a host array of 4 values); work goes on the atento stream.
//
//   q [B,H,Tq,D], k [B,H,Tk,D], v [B,H,Tk,Dv] -> out [B,H,Tq,Dv], lse [B,H,Tq]
//   mask: optional additive float, element (b,h,i,j) at b*ms[0] + h*ms[1] + i*ms[2] + j*ms[3]
// D and Dv up to 128 (ERR_NOT_IMPLEMENTED above); any B, H, Tq, Tk. Both directions are
// deterministic (no atomics: dK/dV and dQ come from separate kernels).
#pragma once

#include <cstdint>

namespace atento::cuda {

void attention_forward(float* out, float* lse, const float* q, const float* k, const float* v,
                       const float* mask, const int64_t* mask_strides, int64_t B, int64_t H,
                       int64_t Tq, int64_t Tk, int64_t D, int64_t Dv, float scale, bool causal);
// The forward with both tile products on tensor cores (nvcuda::wmma, TF32 operands: 10 mantissa
// bits; float32 accumulation and softmax): opt-in (F.scaledDotProductAttention's precision 'tf32',
// at.backends.cuda.matmul.allowTf32). Same shapes, outputs and masking rules as attention_forward;
// values agree with it to about 1e-3 relative. Runs attention_forward on devices below compute
// capability 8.0. No CPU twin: the cpu device takes the option and computes in float32.
void attention_forward_tf32(float* out, float* lse, const float* q, const float* k, const float* v,
                            const float* mask, const int64_t* mask_strides, int64_t B, int64_t H,
                            int64_t Tq, int64_t Tk, int64_t D, int64_t Dv, float scale, bool causal);
void attention_backward(float* dq, float* dk, float* dv, const float* dout, const float* q,
                        const float* k, const float* v, const float* out, const float* lse,
                        const float* mask, const int64_t* mask_strides, int64_t B, int64_t H,
                        int64_t Tq, int64_t Tk, int64_t D, int64_t Dv, float scale, bool causal);

}  // namespace atento::cuda
