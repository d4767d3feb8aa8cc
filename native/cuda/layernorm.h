// layernorm.h — layer normalisation on the GPU: host launchers of native/cuda/layernorm.cu.
// Same names, arguments and shapes as native/cpu/layernorm.h (device pointers):
//   x, out, dx, dout (N, C); w, b, dw, db (C); mean, rstd (N). w, b, dx, dw, db may be null.
#pragma once

#include <cstdint>

namespace atento::cuda {

void layernorm_forward(float* out, float* mean, float* rstd, const float* x, const float* w, const float* b,
                       int64_t N, int64_t C, float eps);
void layernorm_backward(float* dx, float* dw, float* db, const float* dout, const float* x, const float* w,
                        const float* mean, const float* rstd, int64_t N, int64_t C);

}  // namespace atento::cuda
