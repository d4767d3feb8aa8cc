// dropout.h — host launcher of the CUDA dropout kernel (dropout.cu); same name and arguments
// as native/cpu/dropout.h, whose hash it shares, so both devices draw the same mask.
#pragma once

#include <cstdint>

namespace atento::cuda {

void dropout_forward(float* out, const float* x, int64_t n, uint64_t seed, uint32_t threshold, float scale);

}  // namespace atento::cuda
