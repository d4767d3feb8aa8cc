// layernorm.cc — bindings of the layer-norm kernels (native/cpu|cuda/layernorm.*).
// x is (N, C): N rows normalised over C; w, b (C); mean, rstd (N).
#include "../cpu/layernorm.h"
#include "../napi_util.h"
#ifdef ATENTO_WITH_CUDA
#include "../cuda/device.h"
#include "../cuda/layernorm.h"
#endif

namespace atento {

static void check_sizes(const char* op, int64_t N, int64_t C) {
  check(N >= 0 && C >= 0, "ERR_SHAPE", [&] { return std::string(op) + ": negative size"; });
}

static void need_cpu(const Args& a) {
  check(a.device() == Device::CPU, "ERR_DEVICE",
        [&] { return std::string(a.op()) + ": the reference kernels run on cpu only"; });
}

// layerNormForward(out, mean, rstd, x, w|null, b|null, N, C, eps)
ATENTO_EXPORT(layerNormForward) {
  Args a(info, "layerNorm");
  int64_t N = a.int64(6), C = a.int64(7);
  check_sizes("layerNorm", N, C);
  float eps = (float)a.number(8);
  float* out = a.f32(0, N * C);
  float* mean = a.f32(1, N);
  float* rstd = a.f32(2, N);
  const float* x = a.f32(3, N * C);
  const float* w = a.f32_opt(4, C);
  const float* b = a.f32_opt(5, C);
  ATENTO_DISPATCH(a.device(), layernorm_forward(out, mean, rstd, x, w, b, N, C, eps));
  return info.Env().Undefined();
}

// layerNormBackward(dx|null, dw|null, db|null, dout, x, w|null, mean, rstd, N, C)
ATENTO_EXPORT(layerNormBackward) {
  Args a(info, "layerNorm backward");
  int64_t N = a.int64(8), C = a.int64(9);
  check_sizes("layerNorm backward", N, C);
  float* dx = a.f32_opt(0, N * C);
  float* dw = a.f32_opt(1, C);
  float* db = a.f32_opt(2, C);
  const float* dout = a.f32(3, N * C);
  const float* x = a.f32(4, N * C);
  const float* w = a.f32_opt(5, C);
  const float* mean = a.f32(6, N);
  const float* rstd = a.f32(7, N);
  ATENTO_DISPATCH(a.device(), layernorm_backward(dx, dw, db, dout, x, w, mean, rstd, N, C));
  return info.Env().Undefined();
}

// The plain references (cpu only), same arguments: the yardstick of the tests.
ATENTO_EXPORT(layerNormForwardRef) {
  Args a(info, "layerNormForwardRef");
  int64_t N = a.int64(6), C = a.int64(7);
  check_sizes("layerNormForwardRef", N, C);
  float eps = (float)a.number(8);
  float* out = a.f32(0, N * C);
  float* mean = a.f32(1, N);
  float* rstd = a.f32(2, N);
  const float* x = a.f32(3, N * C);
  const float* w = a.f32_opt(4, C);
  const float* b = a.f32_opt(5, C);
  need_cpu(a);
  cpu::layernorm_forward_ref(out, mean, rstd, x, w, b, N, C, eps);
  return info.Env().Undefined();
}

ATENTO_EXPORT(layerNormBackwardRef) {
  Args a(info, "layerNormBackwardRef");
  int64_t N = a.int64(8), C = a.int64(9);
  check_sizes("layerNormBackwardRef", N, C);
  float* dx = a.f32_opt(0, N * C);
  float* dw = a.f32_opt(1, C);
  float* db = a.f32_opt(2, C);
  const float* dout = a.f32(3, N * C);
  const float* x = a.f32(4, N * C);
  const float* w = a.f32_opt(5, C);
  const float* mean = a.f32(6, N);
  const float* rstd = a.f32(7, N);
  need_cpu(a);
  cpu::layernorm_backward_ref(dx, dw, db, dout, x, w, mean, rstd, N, C);
  return info.Env().Undefined();
}

}  // namespace atento
