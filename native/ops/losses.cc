// losses.cc — bindings of the loss kernels (native/cpu|cuda/losses.*): cross-entropy, MSE,
// BCE with logits. reduction: 0 'none', 1 'mean', 2 'sum'; `out` holds n values for 'none'
// (N for cross-entropy), else 1.
//
// Cross-entropy targets are validated on the host before any kernel runs (ERR_INDEX): on cpu in
// place, on cuda after copying the N int32 targets to the host (this waits for the stream; the
// copy is N * 4 bytes). The backward kernels never index out of bounds even with unchecked
// targets (a target outside [0, C) matches no class), so the backward does not copy again.
#include <vector>

#include "../cpu/losses.h"
#include "../napi_util.h"
#ifdef ATENTO_WITH_CUDA
#include "../cuda/device.h"
#include "../cuda/losses.h"
#endif

namespace atento {

static int reduction_arg(Args& a, int i) {
  int64_t r = a.int64(i);
  check(r >= 0 && r <= 2, "ERR_ARGUMENT",
        [&] { return std::string(a.op()) + ": reduction must be 0 (none), 1 (mean) or 2 (sum)"; });
  return (int)r;
}

static int32_t ignore_index_arg(Args& a, int i) {
  int64_t v = a.int64(i);
  check(v >= INT32_MIN && v <= INT32_MAX, "ERR_ARGUMENT",
        [&] { return std::string(a.op()) + ": ignoreIndex must fit in int32"; });
  return (int32_t)v;
}

static float smoothing_arg(Args& a, int i) {
  double s = a.number(i);
  check(s >= 0.0 && s <= 1.0, "ERR_ARGUMENT",
        [&] { return std::string(a.op()) + ": labelSmoothing must be in [0, 1]"; });
  return (float)s;
}

// Throws ERR_INDEX for a target outside [0, C) that is not ignoreIndex (targets on either device).
static void validate_targets(const Args& a, const int32_t* target, int64_t N, int64_t C, int32_t ignore_index) {
  if (a.device() == Device::CPU) {
    cpu::cross_entropy_check_targets(target, N, C, ignore_index);
    return;
  }
#ifdef ATENTO_WITH_CUDA
  std::vector<int32_t> host((size_t)N);
  if (N) cuda::copy_to_host(host.data(), target, (size_t)N * sizeof(int32_t));
  cpu::cross_entropy_check_targets(host.data(), N, C, ignore_index);
#endif
}

// crossEntropyForward(out, lse, count, logits, target, N, C, ignoreIndex, labelSmoothing, reduction)
ATENTO_EXPORT(crossEntropyForward) {
  Args a(info, "crossEntropy");
  int64_t N = a.int64(5), C = a.int64(6);
  check(N >= 0 && C >= 1, "ERR_SHAPE", "crossEntropy: needs N >= 0 rows of C >= 1 classes");
  int32_t ignore_index = ignore_index_arg(a, 7);
  float smoothing = smoothing_arg(a, 8);
  int reduction = reduction_arg(a, 9);
  float* out = a.f32(0, reduction == 0 ? N : 1);
  float* lse = a.f32(1, N);
  float* count = a.f32(2, 1);
  const float* logits = a.f32(3, N * C);
  const int32_t* target = a.i32(4, N);
  validate_targets(a, target, N, C, ignore_index);
  ATENTO_DISPATCH(a.device(), cross_entropy_forward(out, lse, count, logits, target, N, C, ignore_index, smoothing,
                                                    reduction));
  return info.Env().Undefined();
}

// crossEntropyBackward(dlogits, dout, logits, lse, count, target, N, C, ignoreIndex, labelSmoothing, reduction)
ATENTO_EXPORT(crossEntropyBackward) {
  Args a(info, "crossEntropy backward");
  int64_t N = a.int64(6), C = a.int64(7);
  check(N >= 0 && C >= 1, "ERR_SHAPE", "crossEntropy backward: needs N >= 0 rows of C >= 1 classes");
  int32_t ignore_index = ignore_index_arg(a, 8);
  float smoothing = smoothing_arg(a, 9);
  int reduction = reduction_arg(a, 10);
  float* dlogits = a.f32(0, N * C);
  const float* dout = a.f32(1, reduction == 0 ? N : 1);
  const float* logits = a.f32(2, N * C);
  const float* lse = a.f32(3, N);
  const float* count = a.f32(4, 1);
  const int32_t* target = a.i32(5, N);
  ATENTO_DISPATCH(a.device(), cross_entropy_backward(dlogits, dout, logits, lse, count, target, N, C, ignore_index,
                                                     smoothing, reduction));
  return info.Env().Undefined();
}

// The plain references (cpu only), same arguments: the yardstick of the tests.
ATENTO_EXPORT(crossEntropyForwardRef) {
  Args a(info, "crossEntropyForwardRef");
  int64_t N = a.int64(5), C = a.int64(6);
  check(N >= 0 && C >= 1, "ERR_SHAPE", "crossEntropyForwardRef: bad size");
  int32_t ignore_index = ignore_index_arg(a, 7);
  float smoothing = smoothing_arg(a, 8);
  int reduction = reduction_arg(a, 9);
  float* out = a.f32(0, reduction == 0 ? N : 1);
  float* lse = a.f32(1, N);
  float* count = a.f32(2, 1);
  const float* logits = a.f32(3, N * C);
  const int32_t* target = a.i32(4, N);
  check(a.device() == Device::CPU, "ERR_DEVICE", "crossEntropyForwardRef: cpu only");
  cpu::cross_entropy_check_targets(target, N, C, ignore_index);
  cpu::cross_entropy_forward_ref(out, lse, count, logits, target, N, C, ignore_index, smoothing, reduction);
  return info.Env().Undefined();
}

ATENTO_EXPORT(crossEntropyBackwardRef) {
  Args a(info, "crossEntropyBackwardRef");
  int64_t N = a.int64(6), C = a.int64(7);
  check(N >= 0 && C >= 1, "ERR_SHAPE", "crossEntropyBackwardRef: bad size");
  int32_t ignore_index = ignore_index_arg(a, 8);
  float smoothing = smoothing_arg(a, 9);
  int reduction = reduction_arg(a, 10);
  float* dlogits = a.f32(0, N * C);
  const float* dout = a.f32(1, reduction == 0 ? N : 1);
  const float* logits = a.f32(2, N * C);
  const float* lse = a.f32(3, N);
  const float* count = a.f32(4, 1);
  const int32_t* target = a.i32(5, N);
  check(a.device() == Device::CPU, "ERR_DEVICE", "crossEntropyBackwardRef: cpu only");
  cpu::cross_entropy_check_targets(target, N, C, ignore_index);
  cpu::cross_entropy_backward_ref(dlogits, dout, logits, lse, count, target, N, C, ignore_index, smoothing, reduction);
  return info.Env().Undefined();
}

// mseForward(out, input, target, n, reduction)
ATENTO_EXPORT(mseForward) {
  Args a(info, "mseLoss");
  int64_t n = a.int64(3);
  check(n >= 0, "ERR_SHAPE", "mseLoss: negative size");
  int reduction = reduction_arg(a, 4);
  float* out = a.f32(0, reduction == 0 ? n : 1);
  const float* input = a.f32(1, n);
  const float* target = a.f32(2, n);
  ATENTO_DISPATCH(a.device(), mse_forward(out, input, target, n, reduction));
  return info.Env().Undefined();
}

// mseBackward(dinput|null, dtarget|null, dout, input, target, n, reduction)
ATENTO_EXPORT(mseBackward) {
  Args a(info, "mseLoss backward");
  int64_t n = a.int64(5);
  check(n >= 0, "ERR_SHAPE", "mseLoss backward: negative size");
  int reduction = reduction_arg(a, 6);
  float* dinput = a.f32_opt(0, n);
  float* dtarget = a.f32_opt(1, n);
  const float* dout = a.f32(2, reduction == 0 ? n : 1);
  const float* input = a.f32(3, n);
  const float* target = a.f32(4, n);
  ATENTO_DISPATCH(a.device(), mse_backward(dinput, dtarget, dout, input, target, n, reduction));
  return info.Env().Undefined();
}

static void check_pos_weight(const char* op, int64_t n, int64_t C) {
  check(n >= 0 && C >= 1 && n % C == 0, "ERR_SHAPE",
        [&] {
          return std::string(op) + ": posWeight length must divide the number of elements (it broadcasts over the last dim)";
        });
}

// bceWithLogitsForward(out, input, target, posWeight|null, n, C, reduction)
ATENTO_EXPORT(bceWithLogitsForward) {
  Args a(info, "binaryCrossEntropyWithLogits");
  int64_t n = a.int64(4), C = a.int64(5);
  check_pos_weight("binaryCrossEntropyWithLogits", n, C);
  int reduction = reduction_arg(a, 6);
  float* out = a.f32(0, reduction == 0 ? n : 1);
  const float* input = a.f32(1, n);
  const float* target = a.f32(2, n);
  const float* pos_weight = a.f32_opt(3, C);
  ATENTO_DISPATCH(a.device(), bce_with_logits_forward(out, input, target, pos_weight, n, C, reduction));
  return info.Env().Undefined();
}

// bceWithLogitsBackward(dinput|null, dtarget|null, dout, input, target, posWeight|null, n, C, reduction)
ATENTO_EXPORT(bceWithLogitsBackward) {
  Args a(info, "binaryCrossEntropyWithLogits backward");
  int64_t n = a.int64(6), C = a.int64(7);
  check_pos_weight("binaryCrossEntropyWithLogits backward", n, C);
  int reduction = reduction_arg(a, 8);
  float* dinput = a.f32_opt(0, n);
  float* dtarget = a.f32_opt(1, n);
  const float* dout = a.f32(2, reduction == 0 ? n : 1);
  const float* input = a.f32(3, n);
  const float* target = a.f32(4, n);
  const float* pos_weight = a.f32_opt(5, C);
  ATENTO_DISPATCH(a.device(), bce_with_logits_backward(dinput, dtarget, dout, input, target, pos_weight, n, C,
                                                       reduction));
  return info.Env().Undefined();
}

}  // namespace atento
