// dropout.cc — binding of the dropout kernel (native/cpu|cuda/dropout.*).
#include "../cpu/dropout.h"
#include "../napi_util.h"
#ifdef ATENTO_WITH_CUDA
#include "../cuda/device.h"
#include "../cuda/dropout.h"
#endif

namespace atento {

// dropout(out, x, n, seed, threshold, scale): out[i] = keep(seed, i) ? x[i] * scale : 0 with
// keep iff the element's 24 hash bits >= threshold (0..2^24). Forward on x, backward on dy
// with the same seed.
ATENTO_EXPORT(dropout) {
  Args a(info, "dropout");
  int64_t n = a.int64(2), seed = a.int64(3), threshold = a.int64(4);
  check(n >= 0, "ERR_SHAPE", "dropout: negative size");
  check(seed >= 0, "ERR_ARGUMENT", "dropout: the seed must be a non-negative integer");
  check(threshold >= 0 && threshold <= (1 << 24), "ERR_ARGUMENT", "dropout: threshold out of range");
  float scale = (float)a.number(5);
  float* out = a.f32(0, n);
  const float* x = a.f32(1, n);
  ATENTO_DISPATCH(a.device(), dropout_forward(out, x, n, (uint64_t)seed, (uint32_t)threshold, scale));
  return info.Env().Undefined();
}

}  // namespace atento
