// shape.cu — CUDA strided copy; CPU twin in native/cpu/shape.cc.
//
// strided_copy_kernel<T>: dst[op 0] = src[op 1] over a coalesced Layout (<= kMaxDims dims);
// one thread per element (grid-stride), each turning its linear index into the two operands'
// offsets. T is uint32_t (float32/int32) or uint8_t (bool). A copy that coalesces to one dense
// dim uses the device memcpy instead; a batched 2-D transpose uses transpose_tiled_kernel<T>
// (32x32 shared-memory tiles, coalesced on both sides).
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

// Batched 2-D transpose (dst dense along the last dim, src dense along the one before): a 32x32
// tile goes through shared memory so that both the loads and the stores are coalesced. Block
// 32x8; blockIdx.x/y pick the column/row tile, blockIdx.z (grid-stride) the outer index.
template <class T>
__global__ void transpose_tiled_kernel(T* dst, const T* src, Layout l, int64_t outer, int64_t rows, int64_t cols) {
  __shared__ T tile[32][33];
  const int nd = l.ndim;
  const int64_t drs = l.stride[0][nd - 2], scs = l.stride[1][nd - 1];
  const int64_t r0 = (int64_t)blockIdx.y * 32, c0 = (int64_t)blockIdx.x * 32;
  for (int64_t o = blockIdx.z; o < outer; o += gridDim.z) {
    int64_t od = l.offset[0], os = l.offset[1], rem = o;
    #pragma unroll
    for (int d = kMaxDims - 3; d >= 0; d--) {
      if (d < nd - 2) {
        int64_t c = rem % l.size[d];
        rem /= l.size[d];
        od += c * l.stride[0][d];
        os += c * l.stride[1][d];
      }
    }
    for (int k = threadIdx.y; k < 32; k += blockDim.y) {  // tile[k][x] = src(r0 + x, c0 + k)
      int64_t r = r0 + threadIdx.x, c = c0 + k;
      if (r < rows && c < cols) tile[k][threadIdx.x] = src[os + r + c * scs];
    }
    __syncthreads();
    for (int k = threadIdx.y; k < 32; k += blockDim.y) {  // dst(r0 + k, c0 + x) = tile[x][k]
      int64_t r = r0 + k, c = c0 + threadIdx.x;
      if (r < rows && c < cols) dst[od + r * drs + c] = tile[threadIdx.x][k];
    }
    __syncthreads();  // the tile is reused for the next outer index
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
  const int nd = l.ndim;
  if (nd >= 2 && l.stride[0][nd - 1] == 1 && l.stride[1][nd - 2] == 1 && l.stride[1][nd - 1] != 1) {
    const int64_t rows = l.size[nd - 2], cols = l.size[nd - 1], outer = n / (rows * cols);
    const int64_t tr = (rows + 31) / 32, tc = (cols + 31) / 32;
    if (tr <= 65535 && tc <= 2147483647) {
      dim3 grid((unsigned)tc, (unsigned)tr, (unsigned)(outer < 65535 ? outer : 65535));
      ATENTO_LAUNCH(transpose_tiled_kernel<T>, grid, dim3(32, 8), 0, stream(), static_cast<T*>(dst),
                    static_cast<const T*>(src), l, outer, rows, cols);
      return;
    }
  }
  ATENTO_LAUNCH(strided_copy_kernel<T>, grid_for(n, 256), 256, 0, stream(), static_cast<T*>(dst),
                static_cast<const T*>(src), l, n);
}

void strided_copy(void* dst, const void* src, const Layout& l, int elem_bytes) {
  if (elem_bytes == 4) launch_copy<uint32_t>(dst, src, l);
  else launch_copy<uint8_t>(dst, src, l);
}

}  // namespace atento::cuda
