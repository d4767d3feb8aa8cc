// softmax.cc — bindings of the softmax / log-softmax kernels (native/cpu|cuda/softmax.*).
// x, out, dx, dout are (outer, C, inner), normalised over C.
#include "../cpu/softmax.h"
#include "../napi_util.h"
#ifdef ATENTO_WITH_CUDA
#include "../cuda/device.h"
#include "../cuda/softmax.h"
#endif

namespace atento {

static int64_t slab(const char* op, int64_t outer, int64_t C, int64_t inner) {
  check(outer >= 0 && C >= 0 && inner >= 0, "ERR_SHAPE", [&] { return std::string(op) + ": negative size"; });
  return outer * C * inner;
}

// softmaxForward(out, x, outer, C, inner, log)
ATENTO_EXPORT(softmaxForward) {
  Args a(info, "softmax");
  int64_t outer = a.int64(2), C = a.int64(3), inner = a.int64(4);
  bool log = a.flag(5);
  int64_t n = slab("softmax", outer, C, inner);
  float* out = a.f32(0, n);
  const float* x = a.f32(1, n);
  ATENTO_DISPATCH(a.device(), softmax_forward(out, x, outer, C, inner, log));
  return info.Env().Undefined();
}

// softmaxBackward(dx, dout, out, outer, C, inner, log)
ATENTO_EXPORT(softmaxBackward) {
  Args a(info, "softmax backward");
  int64_t outer = a.int64(3), C = a.int64(4), inner = a.int64(5);
  bool log = a.flag(6);
  int64_t n = slab("softmax backward", outer, C, inner);
  float* dx = a.f32(0, n);
  const float* dout = a.f32(1, n);
  const float* out = a.f32(2, n);
  ATENTO_DISPATCH(a.device(), softmax_backward(dx, dout, out, outer, C, inner, log));
  return info.Env().Undefined();
}

// The plain references (cpu only), same arguments: the yardstick of the tests.
ATENTO_EXPORT(softmaxForwardRef) {
  Args a(info, "softmaxForwardRef");
  int64_t outer = a.int64(2), C = a.int64(3), inner = a.int64(4);
  bool log = a.flag(5);
  int64_t n = slab("softmaxForwardRef", outer, C, inner);
  float* out = a.f32(0, n);
  const float* x = a.f32(1, n);
  check(a.device() == Device::CPU, "ERR_DEVICE", "softmaxForwardRef: cpu only");
  cpu::softmax_forward_ref(out, x, outer, C, inner, log);
  return info.Env().Undefined();
}

ATENTO_EXPORT(softmaxBackwardRef) {
  Args a(info, "softmaxBackwardRef");
  int64_t outer = a.int64(3), C = a.int64(4), inner = a.int64(5);
  bool log = a.flag(6);
  int64_t n = slab("softmaxBackwardRef", outer, C, inner);
  float* dx = a.f32(0, n);
  const float* dout = a.f32(1, n);
  const float* out = a.f32(2, n);
  check(a.device() == Device::CPU, "ERR_DEVICE", "softmaxBackwardRef: cpu only");
  cpu::softmax_backward_ref(dx, dout, out, outer, C, inner, log);
  return info.Env().Undefined();
}

// vecMathForTest(fn, out, x, n): the kernels' vectorised exp or log (fn 'exp' | 'log';
// cpu::exp_vectorised / log_vectorised), cpu only, for tests.
ATENTO_EXPORT(vecMathForTest) {
  if (info.Length() < 1 || !info[0].IsString()) throw Error("ERR_ARGUMENT", "vecMathForTest: fn must be a string");
  const std::string fn = info[0].As<Napi::String>().Utf8Value();
  check(fn == "exp" || fn == "log", "ERR_ARGUMENT", "vecMathForTest: fn must be 'exp' or 'log'");
  Args a(info, "vecMathForTest");
  const int64_t n = a.int64(3);
  check(n >= 0, "ERR_SHAPE", "vecMathForTest: negative size");
  float* out = a.f32(1, n);
  const float* x = a.f32(2, n);
  check(a.device() == Device::CPU, "ERR_DEVICE", "vecMathForTest: cpu only");
  (fn == "exp" ? cpu::exp_vectorised : cpu::log_vectorised)(out, x, n);
  return info.Env().Undefined();
}

}  // namespace atento
