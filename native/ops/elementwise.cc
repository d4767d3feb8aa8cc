// elementwise.cc — bindings of the elementwise kernels (native/cpu|cuda/elementwise.*).
#include "../cpu/elementwise.h"
#include "../napi_util.h"
#ifdef ATENTO_WITH_CUDA
#include "../cuda/device.h"
#include "../cuda/elementwise.h"
#endif

namespace atento {

// axpy(y, x, alpha, n): y += alpha * x in place.
ATENTO_EXPORT(axpy) {
  Args a(info, "axpy");
  int64_t n = a.int64(3);
  check(n >= 0, "ERR_SHAPE", "axpy: negative size");
  float* y = a.f32(0, n);
  const float* x = a.f32(1, n);
  float alpha = (float)a.number(2);
  ATENTO_DISPATCH(a.device(), axpy(y, x, alpha, n));
  return info.Env().Undefined();
}

}  // namespace atento
