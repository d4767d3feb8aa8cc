// reduce.h — CPU reductions over one block of dims, seen as x [outer, R, inner] -> [outer, inner]
// (reducing several separate blocks of dims is done one block at a time by the caller).
#pragma once

#include <cstdint>

namespace atento::cpu {

// out[o, i] = scale * sum_r x[o, r, i]  (accumulated in double; R = 0 gives 0 * scale)
void reduce_sum(float* out, const float* x, int64_t outer, int64_t R, int64_t inner, float scale);

// values[o, i] = max_r x[o, r, i] (min when is_min), indices[o, i] = the first r attaining it;
// NaN counts as the extreme (the first NaN wins), as in PyTorch. values or indices may be null.
// Needs R >= 1.
void reduce_max(float* values, int32_t* indices, const float* x, int64_t outer, int64_t R, int64_t inner,
                bool is_min);

// dx[o, r, i] = (r == indices[o, i]) ? dy[o, i] : 0   (backward of reduce_max)
void reduce_max_backward(float* dx, const float* dy, const int32_t* indices, int64_t outer, int64_t R,
                         int64_t inner);

}  // namespace atento::cpu
