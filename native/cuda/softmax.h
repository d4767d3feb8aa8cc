// softmax.h — softmax / log-softmax on the GPU: host launchers of native/cuda/softmax.cu.
// Same names, arguments and shapes as native/cpu/softmax.h (device pointers):
//   x, out, dx, dout (outer, C, inner), normalised over C; `log` selects log-softmax.
#pragma once

#include <cstdint>

namespace atento::cuda {

void softmax_forward(float* out, const float* x, int64_t outer, int64_t C, int64_t inner, bool log);
void softmax_backward(float* dx, const float* dout, const float* out, int64_t outer, int64_t C, int64_t inner,
                      bool log);

}  // namespace atento::cuda
