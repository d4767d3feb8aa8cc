// embedding.cc — bindings of the embedding kernels (native/cpu|cuda/embedding.*), also used by
// indexSelect over dim 0.
//
// Every id is checked to lie in [0, V) before a kernel reads it (ERR_INDEX). On cpu the ids are
// scanned in place; on cuda they are copied to the host and scanned there (ids are small next to
// the embeddings; the copy waits for the stream).
#include <vector>

#include "../cpu/embedding.h"
#include "../napi_util.h"
#ifdef ATENTO_WITH_CUDA
#include "../cuda/device.h"
#include "../cuda/embedding.h"
#endif

namespace atento {

static void check_ids(const char* op, Device dev, const int32_t* ids, int64_t N, int64_t V) {
  const int32_t* host = ids;
  std::vector<int32_t> copy;
#ifdef ATENTO_WITH_CUDA
  if (dev == Device::CUDA && N > 0) {
    copy.resize(N);
    cuda::copy_to_host(copy.data(), ids, N * sizeof(int32_t));
    host = copy.data();
  }
#endif
  for (int64_t n = 0; n < N; n++) {
    if (host[n] < 0 || host[n] >= V)
      throw Error("ERR_INDEX", std::string(op) + ": index " + std::to_string(host[n]) + " at position " +
                                   std::to_string(n) + " is out of range for " + std::to_string(V) + " rows");
  }
}

// embeddingForward(out, ids, weight, N, V, C): out [N, C] = weight [V, C] rows ids [N].
ATENTO_EXPORT(embeddingForward) {
  Args a(info, "embedding");
  int64_t N = a.int64(3), V = a.int64(4), C = a.int64(5);
  check(N >= 0 && V >= 0 && C >= 0, "ERR_SHAPE", "embedding: negative size");
  float* out = a.f32(0, N * C);
  const int32_t* ids = a.i32(1, N);
  const float* w = a.f32(2, V * C);
  check_ids("embedding", a.device(), ids, N, V);
  ATENTO_DISPATCH(a.device(), embedding_forward(out, ids, w, N, C));
  return info.Env().Undefined();
}

// embeddingBackward(dweight, dout, ids, N, V, C, paddingIdx): dweight [V, C] += dout [N, C]
// scattered by ids; rows equal to paddingIdx (-1: none) get nothing.
ATENTO_EXPORT(embeddingBackward) {
  Args a(info, "embedding backward");
  int64_t N = a.int64(3), V = a.int64(4), C = a.int64(5), pad = a.int64(6);
  check(N >= 0 && V >= 0 && C >= 0, "ERR_SHAPE", "embedding backward: negative size");
  float* dw = a.f32(0, V * C);
  const float* dout = a.f32(1, N * C);
  const int32_t* ids = a.i32(2, N);
  check_ids("embedding backward", a.device(), ids, N, V);
  ATENTO_DISPATCH(a.device(), embedding_backward(dw, dout, ids, N, V, C, pad));
  return info.Env().Undefined();
}

}  // namespace atento
