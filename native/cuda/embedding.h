// embedding.h — host launchers of the CUDA embedding kernels (embedding.cu); same names,
// arguments and shapes as native/cpu/embedding.h. Device pointers; ids already checked.
#pragma once

#include <cstdint>

namespace atento::cuda {

void embedding_forward(float* out, const int32_t* ids, const float* weight, int64_t N, int64_t C);
void embedding_backward(float* dweight, const float* dout, const int32_t* ids, int64_t N, int64_t V, int64_t C,
                        int64_t padding_idx);

}  // namespace atento::cuda
