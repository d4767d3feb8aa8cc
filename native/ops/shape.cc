// shape.cc — binding of the strided copy (native/cpu|cuda/shape.*), the kernel behind
// transpose, permute, expand, narrow, cat and split.
#include "../cpu/shape.h"
#include "../napi_util.h"
#ifdef ATENTO_WITH_CUDA
#include "../cuda/device.h"
#include "../cuda/shape.h"
#endif

namespace atento {

// stridedCopy(dst, src, shape, dstStrides, dstOffset, srcStrides, srcOffset): for every index
// i of `shape`, dst[dstOffset + i . dstStrides] = src[srcOffset + i . srcStrides] (strides in
// elements, >= 0). dst and src have the same dtype; both extents are checked against the
// buffers. A destination stride of 0 on a dim of size > 1 (racing writes) is refused.
ATENTO_EXPORT(stridedCopy) {
  Args a(info, "stridedCopy");
  Buffer dst = a.buffer(0), src = a.buffer(1);
  check(dst.dtype == src.dtype, "ERR_DTYPE",
        [&] { return std::string("stridedCopy: ") + dtype_name(src.dtype) + " into " + dtype_name(dst.dtype); });
  std::vector<int64_t> shape = a.int64s(2), ds = a.int64s(3), ss = a.int64s(5);
  int64_t doff = a.int64(4), soff = a.int64(6);
  check(ds.size() == shape.size() && ss.size() == shape.size(), "ERR_ARGUMENT",
        "stridedCopy: one stride per dim is needed");
  for (size_t d = 0; d < shape.size(); d++)
    check(shape[d] <= 1 || ds[d] > 0, "ERR_ARGUMENT", "stridedCopy: destination stride 0 on a broadcast dim");
  Layout l = make_layout(shape, {ds, ss}, {doff, soff});
  const int64_t es = (int64_t)dtype_size(dst.dtype);
  check(layout_extent(l, 0) * es <= (int64_t)dst.bytes && layout_extent(l, 1) * es <= (int64_t)src.bytes, "ERR_SHAPE",
        "stridedCopy: the copy reaches past the end of a buffer");
  ATENTO_DISPATCH(a.device(), strided_copy(dst.data, src.data, l, (int)es));
  return info.Env().Undefined();
}

}  // namespace atento
