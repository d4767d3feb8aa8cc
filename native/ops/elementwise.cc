// elementwise.cc — bindings of the elementwise kernels (native/cpu|cuda/elementwise.*).
#include "../cpu/elementwise.h"
#include "../napi_util.h"
#ifdef ATENTO_WITH_CUDA
#include "../cuda/device.h"
#include "../cuda/elementwise.h"
#endif

namespace atento {

static int64_t count_of(const std::vector<int64_t>& shape, const char* op) {
  int64_t n = 1;
  for (int64_t s : shape) {
    check(s >= 0, "ERR_SHAPE", [&] { return std::string(op) + ": negative size"; });
    n *= s;
  }
  return n;
}

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

// unary(out, x, n, op, a, b): out = op(x; a, b) elementwise (UnaryOp codes); out may be x.
ATENTO_EXPORT(unary) {
  Args a(info, "unary");
  int64_t n = a.int64(2);
  int op = (int)a.int64(3);
  check(n >= 0, "ERR_SHAPE", "unary: negative size");
  check(op >= 0 && op < kUnaryOpCount, "ERR_ARGUMENT", [&] { return "unary: unknown op " + std::to_string(op); });
  float* out = a.f32(0, n);
  const float* x = a.f32(1, n);
  float p = (float)a.number(4), q = (float)a.number(5);
  ATENTO_DISPATCH(a.device(), unary_forward(out, x, n, op, p, q));
  return info.Env().Undefined();
}

// unaryBackward(dx, dy, saved, n, op, a, b): dx = dy * op'(.) with saved = x, or y for the ops
// where unary_backward_from_output(op).
ATENTO_EXPORT(unaryBackward) {
  Args a(info, "unaryBackward");
  int64_t n = a.int64(3);
  int op = (int)a.int64(4);
  check(n >= 0, "ERR_SHAPE", "unaryBackward: negative size");
  check(op >= 0 && op < kUnaryOpCount && unary_has_backward(op), "ERR_ARGUMENT",
        [&] { return "unaryBackward: op " + std::to_string(op) + " has no backward kernel"; });
  float* dx = a.f32(0, n);
  const float* dy = a.f32(1, n);
  const float* s = a.f32(2, n);
  float p = (float)a.number(5), q = (float)a.number(6);
  ATENTO_DISPATCH(a.device(), unary_backward(dx, dy, s, n, op, p, q));
  return info.Env().Undefined();
}

// binary(out, a, b, op, outShape, aShape, bShape): out = a (op) b, broadcasting a and b (dense,
// shapes right-aligned) to outShape (BinaryOp codes).
ATENTO_EXPORT(binary) {
  Args a(info, "binary");
  int op = (int)a.int64(3);
  check(op >= 0 && op < kBinaryOpCount, "ERR_ARGUMENT", [&] { return "binary: unknown op " + std::to_string(op); });
  std::vector<int64_t> os = a.int64s(4), as = a.int64s(5), bs = a.int64s(6);
  Layout l = broadcast_layout("binary", os, {as, bs});
  float* out = a.f32(0, count_of(os, "binary"));
  const float* x = a.f32(1, count_of(as, "binary"));
  const float* y = a.f32(2, count_of(bs, "binary"));
  ATENTO_DISPATCH(a.device(), binary_forward(out, x, y, l, op));
  return info.Env().Undefined();
}

// compare(out, a, b, op, outShape, aShape, bShape): out (bool) = a (op) b with broadcasting
// (CompareOp codes); a and b both float32 or both int32.
ATENTO_EXPORT(compare) {
  Args a(info, "compare");
  int op = (int)a.int64(3);
  check(op >= 0 && op < kCompareOpCount, "ERR_ARGUMENT", [&] { return "compare: unknown op " + std::to_string(op); });
  std::vector<int64_t> os = a.int64s(4), as = a.int64s(5), bs = a.int64s(6);
  Layout l = broadcast_layout("compare", os, {as, bs});
  uint8_t* out = a.u8(0, count_of(os, "compare"));
  Buffer x = a.buffer(1);
  if (x.dtype == Dtype::Int32) {
    const int32_t* pa = a.i32(1, count_of(as, "compare"));
    const int32_t* pb = a.i32(2, count_of(bs, "compare"));
    ATENTO_DISPATCH(a.device(), compare_forward(out, pa, pb, l, op));
  } else {
    const float* pa = a.f32(1, count_of(as, "compare"));
    const float* pb = a.f32(2, count_of(bs, "compare"));
    ATENTO_DISPATCH(a.device(), compare_forward(out, pa, pb, l, op));
  }
  return info.Env().Undefined();
}

// where(out, cond, a, b, outShape, condShape, aShape, bShape): out = cond ? a : b, broadcasting.
ATENTO_EXPORT(where) {
  Args a(info, "where");
  std::vector<int64_t> os = a.int64s(4), cs = a.int64s(5), as = a.int64s(6), bs = a.int64s(7);
  Layout l = broadcast_layout("where", os, {cs, as, bs});
  float* out = a.f32(0, count_of(os, "where"));
  const uint8_t* c = a.u8(1, count_of(cs, "where"));
  const float* x = a.f32(2, count_of(as, "where"));
  const float* y = a.f32(3, count_of(bs, "where"));
  ATENTO_DISPATCH(a.device(), where_forward(out, c, x, y, l));
  return info.Env().Undefined();
}

// cast(out, x, n): out = x converted to out's dtype (float32, int32, bool; the two differ).
ATENTO_EXPORT(cast) {
  Args a(info, "cast");
  int64_t n = a.int64(2);
  check(n >= 0, "ERR_SHAPE", "cast: negative size");
  Buffer out = a.buffer(0), x = a.buffer(1);
  check(out.dtype != x.dtype, "ERR_DTYPE", "cast: source and destination have the same dtype");
  check(out.bytes >= (size_t)n * dtype_size(out.dtype) && x.bytes >= (size_t)n * dtype_size(x.dtype), "ERR_SHAPE",
        [&] { return "cast: buffers hold fewer than " + std::to_string(n) + " elements"; });
  ATENTO_DISPATCH(a.device(), cast(out.data, x.data, n, (int)x.dtype, (int)out.dtype));
  return info.Env().Undefined();
}

}  // namespace atento
