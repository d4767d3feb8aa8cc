// reduce.h — host launchers of the CUDA reductions (reduce.cu); same names, arguments and
// shapes as native/cpu/reduce.h: x [outer, R, inner] -> [outer, inner]. Device pointers.
#pragma once

#include <cstdint>

namespace atento::cuda {

void reduce_sum(float* out, const float* x, int64_t outer, int64_t R, int64_t inner, float scale);
void reduce_max(float* values, int32_t* indices, const float* x, int64_t outer, int64_t R, int64_t inner,
                bool is_min);
void reduce_max_backward(float* dx, const float* dy, const int32_t* indices, int64_t outer, int64_t R,
                         int64_t inner);

}  // namespace atento::cuda
