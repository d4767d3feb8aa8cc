// shape.h — host launcher of the CUDA strided copy (shape.cu); same name and arguments as
// native/cpu/shape.h, whose Layout it shares. Pointers are device memory.
#pragma once

#include "../cpu/shape.h"

namespace atento::cuda {

void strided_copy(void* dst, const void* src, const Layout& l, int elem_bytes);

#ifdef ATENTO_LAUNCH  // in kernel files only (after launch.cuh)
// Element offsets of operands 0..K-1 for linear index `idx` of layout l. The loops are fully
// unrolled so the Layout is read from kernel parameter space with constant indices.
template <int K>
__device__ __forceinline__ void layout_offsets(const Layout& l, int64_t idx, int64_t* off) {
  #pragma unroll
  for (int k = 0; k < K; k++) off[k] = l.offset[k];
  #pragma unroll
  for (int d = kMaxDims - 1; d >= 0; d--) {
    if (d < l.ndim) {
      int64_t c = idx % l.size[d];
      idx /= l.size[d];
      #pragma unroll
      for (int k = 0; k < K; k++) off[k] += c * l.stride[k][d];
    }
  }
}
#endif

}  // namespace atento::cuda
