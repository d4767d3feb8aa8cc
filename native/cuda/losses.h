// losses.h — cross-entropy, MSE and BCE-with-logits on the GPU: host launchers of
// native/cuda/losses.cu. Same names, arguments, shapes and formulas as native/cpu/losses.h
// (device pointers; reduction 0 none, 1 mean, 2 sum). Cross-entropy targets must have been
// validated on the host first (native/ops/losses.cc copies them there).
#pragma once

#include <cstdint>

namespace atento::cuda {

void cross_entropy_forward(float* out, float* lse, float* count, const float* logits, const int32_t* target,
                           int64_t N, int64_t C, int32_t ignore_index, float smoothing, int reduction);
void cross_entropy_backward(float* dlogits, const float* dout, const float* logits, const float* lse,
                            const float* count, const int32_t* target, int64_t N, int64_t C, int32_t ignore_index,
                            float smoothing, int reduction);

void mse_forward(float* out, const float* input, const float* target, int64_t n, int reduction);
void mse_backward(float* dinput, float* dtarget, const float* dout, const float* input, const float* target,
                  int64_t n, int reduction);

void bce_with_logits_forward(float* out, const float* input, const float* target, const float* pos_weight,
                             int64_t n, int64_t C, int reduction);
void bce_with_logits_backward(float* dinput, float* dtarget, const float* dout, const float* input,
                              const float* target, const float* pos_weight, int64_t n, int64_t C, int reduction);

}  // namespace atento::cuda
