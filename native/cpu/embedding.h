// embedding.h — CPU embedding lookup (gather) and its backward (scatter-add). Also the engine
// of indexSelect over dim 0. ids must already be checked to lie in [0, V) (the binding does).
#pragma once

#include <cstdint>

namespace atento::cpu {

// out [N, C] = weight [V, C] rows ids [N]
void embedding_forward(float* out, const int32_t* ids, const float* weight, int64_t N, int64_t C);

// dweight [V, C] += dout [N, C] row n into row ids[n], skipping ids[n] == padding_idx (-1: none).
void embedding_backward(float* dweight, const float* dout, const int32_t* ids, int64_t N, int64_t V, int64_t C,
                        int64_t padding_idx);

}  // namespace atento::cpu
