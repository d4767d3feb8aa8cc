// optim.cc — bindings of the optimizer kernels (native/cpu|cuda/optim.*): fused Adam/AdamW and
// SGD steps on one parameter tensor, per-tensor gradient norm pieces for a list, in-place scale.
#include "../cpu/optim.h"

#include <cmath>
#include <string>
#include <vector>

#include "../napi_util.h"
#ifdef ATENTO_WITH_CUDA
#include "../cuda/device.h"
#include "../cuda/optim.h"
#endif

namespace atento {

// adamStep(p, g, m, v, vmax|null, n, beta1, beta2, oneMinusBeta1, oneMinusBeta2, eps, paramScale,
//          gradDecay, stepSize, biasCorrection2Sqrt): one Adam/AdamW step on p [n] in place.
ATENTO_EXPORT(adamStep) {
  Args a(info, "adamStep");
  int64_t n = a.int64(5);
  check(n >= 0, "ERR_SHAPE", "adamStep: negative size");
  float* p = a.f32(0, n);
  const float* g = a.f32(1, n);
  float* m = a.f32(2, n);
  float* v = a.f32(3, n);
  float* vmax = a.f32_opt(4, n);
  float beta1 = (float)a.number(6), beta2 = (float)a.number(7);
  float omb1 = (float)a.number(8), omb2 = (float)a.number(9), eps = (float)a.number(10);
  float param_scale = (float)a.number(11), grad_decay = (float)a.number(12);
  float step_size = (float)a.number(13), bc2_sqrt = (float)a.number(14);
  check(bc2_sqrt > 0.0f, "ERR_ARGUMENT", "adamStep: biasCorrection2Sqrt must be positive");
  ATENTO_DISPATCH(a.device(), adam_step(p, g, m, v, vmax, n, beta1, beta2, omb1, omb2, eps, param_scale,
                                        grad_decay, step_size, bc2_sqrt));
  return info.Env().Undefined();
}

// sgdStep(p, g, buf|null, n, lr, momentum, dampening, weightDecay, nesterov, firstStep):
// one SGD step on p [n] in place; buf (the momentum buffer) is needed when momentum != 0.
ATENTO_EXPORT(sgdStep) {
  Args a(info, "sgdStep");
  int64_t n = a.int64(3);
  check(n >= 0, "ERR_SHAPE", "sgdStep: negative size");
  float* p = a.f32(0, n);
  const float* g = a.f32(1, n);
  float* buf = a.f32_opt(2, n);
  float lr = (float)a.number(4), momentum = (float)a.number(5), dampening = (float)a.number(6);
  float weight_decay = (float)a.number(7);
  bool nesterov = a.flag(8), first_step = a.flag(9);
  check(momentum == 0.0f || buf, "ERR_ARGUMENT", "sgdStep: momentum needs a momentum buffer");
  ATENTO_DISPATCH(a.device(), sgd_step(p, g, buf, n, lr, momentum, dampening, weight_decay, nesterov, first_step));
  return info.Env().Undefined();
}

// gradNorms(bufs[], counts[], normType) -> number[]: for each float32 buffer k (counts[k]
// elements), sum x^2 (normType 2), max |x| (Infinity) or sum |x|^normType. All on one device;
// on cuda the whole list costs one readback.
ATENTO_EXPORT(gradNorms) {
  Args a(info, "gradNorms");
  check(info.Length() >= 3 && info[0].IsArray(), "ERR_ARGUMENT", "gradNorms: argument 0 must be an array of buffers");
  auto list = info[0].As<Napi::Array>();
  std::vector<int64_t> counts = a.int64s(1);
  double norm_type = a.number(2);
  check(norm_type > 0 && !std::isnan(norm_type), "ERR_ARGUMENT", "gradNorms: normType must be positive (or Infinity)");
  const size_t count = list.Length();
  check(counts.size() == count, "ERR_ARGUMENT", "gradNorms: one count per buffer");
  std::vector<const float*> xs(count);
  Device device = Device::None;
  for (size_t k = 0; k < count; k++) {
    std::string what = "gradNorms: buffer " + std::to_string(k);
    Buffer b = read_buffer(list.Get((uint32_t)k), what);
    check(b.dtype == Dtype::Float32, "ERR_DTYPE",
          [&] { return what + " must be float32, got " + dtype_name(b.dtype); });
    check(counts[k] >= 0 && b.bytes >= (size_t)counts[k] * sizeof(float), "ERR_SHAPE",
          [&] {
            return what + " holds " + std::to_string(b.bytes / sizeof(float)) + " elements, not " +
                   std::to_string(counts[k]);
          });
    check(device == Device::None || device == b.device, "ERR_DEVICE",
          [&] { return what + " is on another device than buffer 0"; });
    device = b.device;
    xs[k] = static_cast<const float*>(b.data);
  }
  std::vector<double> out(count, 0.0);
  if (count) ATENTO_DISPATCH(device, grad_norms(out.data(), xs.data(), counts.data(), (int64_t)count, norm_type));
  Napi::Array result = Napi::Array::New(info.Env(), count);
  for (size_t k = 0; k < count; k++) result.Set((uint32_t)k, Napi::Number::New(info.Env(), out[k]));
  return result;
}

// gradScale(x, n, coef): x [n] *= coef in place.
ATENTO_EXPORT(gradScale) {
  Args a(info, "gradScale");
  int64_t n = a.int64(1);
  check(n >= 0, "ERR_SHAPE", "gradScale: negative size");
  float* x = a.f32(0, n);
  float coef = (float)a.number(2);
  ATENTO_DISPATCH(a.device(), grad_scale(x, n, coef));
  return info.Env().Undefined();
}

}  // namespace atento
