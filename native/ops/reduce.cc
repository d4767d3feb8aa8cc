// reduce.cc — bindings of the reductions (native/cpu|cuda/reduce.*). x is [outer, R, inner].
#include "../cpu/reduce.h"
#include "../napi_util.h"
#ifdef ATENTO_WITH_CUDA
#include "../cuda/device.h"
#include "../cuda/reduce.h"
#endif

namespace atento {

static void check_dims(const char* op, int64_t outer, int64_t R, int64_t inner) {
  check(outer >= 0 && R >= 0 && inner >= 0, "ERR_SHAPE", [&] { return std::string(op) + ": negative size"; });
}

// reduceSum(out, x, outer, R, inner, scale): out [outer, inner] = scale * sum over R.
ATENTO_EXPORT(reduceSum) {
  Args a(info, "sum");
  int64_t outer = a.int64(2), R = a.int64(3), inner = a.int64(4);
  check_dims("sum", outer, R, inner);
  float scale = (float)a.number(5);
  float* out = a.f32(0, outer * inner);
  const float* x = a.f32(1, outer * R * inner);
  ATENTO_DISPATCH(a.device(), reduce_sum(out, x, outer, R, inner, scale));
  return info.Env().Undefined();
}

// reduceMax(values|null, indices|null, x, outer, R, inner, isMin): max (or min) over R and the
// first index attaining it (int32). R must be >= 1 (the max of nothing is undefined).
ATENTO_EXPORT(reduceMax) {
  Args a(info, "max");
  int64_t outer = a.int64(3), R = a.int64(4), inner = a.int64(5);
  bool is_min = a.flag(6);
  check_dims("max", outer, R, inner);
  check(R >= 1 || outer * inner == 0, "ERR_SHAPE", "max: cannot reduce an empty dim");
  check(R <= 2147483647, "ERR_SHAPE", "max: the reduced dim is too long for int32 indices");
  float* values = a.f32_opt(0, outer * inner);
  int32_t* indices = a.i32_opt(1, outer * inner);
  const float* x = a.f32(2, outer * R * inner);
  ATENTO_DISPATCH(a.device(), reduce_max(values, indices, x, outer, R, inner, is_min));
  return info.Env().Undefined();
}

// reduceMaxBackward(dx, dy, indices, outer, R, inner): dx [outer, R, inner] holds dy at the
// saved index of each (o, i) and 0 elsewhere. Indices outside [0, R) only leave zeros.
ATENTO_EXPORT(reduceMaxBackward) {
  Args a(info, "max backward");
  int64_t outer = a.int64(3), R = a.int64(4), inner = a.int64(5);
  check_dims("max backward", outer, R, inner);
  float* dx = a.f32(0, outer * R * inner);
  const float* dy = a.f32(1, outer * inner);
  const int32_t* idx = a.i32(2, outer * inner);
  ATENTO_DISPATCH(a.device(), reduce_max_backward(dx, dy, idx, outer, R, inner));
  return info.Env().Undefined();
}

}  // namespace atento
