// shape.cu — CUDA strided copy; CPU twin in native/cpu/shape.cc.
//
// strided_copy_kernel<T>: dst[op 0] = src[op 1] over a coalesced Layout (<= kMaxDims dims);
// one thread per element (grid-stride), each turning its linear index into the two operands'
// offsets. T is uint32_t (float32/int32) or uint8_t (bool). A copy that coalesces to one dense
// dim uses the device memcpy instead.
#include "launch.cuh"

#include "device.h"
#include "shape.h"

namespace atento::cuda {

static unsigned grid_for(int64_t n, int block) {
  int64_t blocks = (n + block - 1) / block;
  return (unsigned)(blocks < 65535 ? (blocks > 0 ? blocks : 1) : 65535);
}

template <class T>
__global__ void strided_copy_kernel(T* dst, const T* src, Layout l, int64_t n) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x) {
    int64_t off[2];
    layout_offsets<2>(l, i, off);
    dst[off[0]] = src[off[1]];
  }
}

template <class T>
static void launch_copy(void* dst, const void* src, const Layout& l) {
  int64_t n = layout_numel(l);
  if (n <= 0) return;
  if (l.ndim == 1 && l.stride[0][0] == 1 && l.stride[1][0] == 1) {
    copy_device(static_cast<T*>(dst) + l.offset[0], static_cast<const T*>(src) + l.offset[1], n * sizeof(T));
    return;
  }
  ATENTO_LAUNCH(strided_copy_kernel<T>, grid_for(n, 256), 256, 0, stream(), static_cast<T*>(dst),
                static_cast<const T*>(src), l, n);
}

void strided_copy(void* dst, const void* src, const Layout& l, int elem_bytes) {
  if (elem_bytes == 4) launch_copy<uint32_t>(dst, src, l);
  else launch_copy<uint8_t>(dst, src, l);
}

}  // namespace atento::cuda
