// elementwise.h — CPU elementwise kernels: unary maps (math, scalar arithmetic, activations)
// and their backward, broadcasting binary ops, where, dtype casts, and axpy. The op codes are
// shared with the CUDA twins (native/cuda/elementwise.h) and lib/functional/elementwise.ts.
//
// Shapes: unary ops and casts work on n contiguous elements; binary ops and where on a
// broadcast Layout (native/cpu/shape.h) whose operand 0 is the dense output.
#pragma once

#include <cstdint>

#include "shape.h"

namespace atento {

// out = f(x; a, b). Must match UNARY in lib/functional/elementwise.ts.
enum UnaryOp : int {
  kNeg = 0,       // -x
  kExp = 1,       // exp(x)                 backward from y
  kLog = 2,       // log(x)                 backward from x
  kSqrt = 3,      // sqrt(x)                backward from y
  kAbs = 4,       // |x|                    backward from x
  kAddScalar = 5, // x + a
  kMulScalar = 6, // x * a
  kDivScalar = 7, // x / a
  kRSub = 8,      // a - x
  kRDiv = 9,      // a / x                  backward from x
  kPow = 10,      // x ^ a                  backward from x
  kClamp = 11,    // min(max(x, a), b)      backward from x (gradient where a <= x <= b)
  kRelu = 12,     // max(x, 0)              backward from x (0 at x = 0)
  kSigmoid = 13,  // 1 / (1 + exp(-x))      backward from y
  kTanh = 14,     // tanh(x)                backward from y
  kGelu = 15,     // x Phi(x) (erf)         backward from x
  kGeluTanh = 16, // tanh approximation     backward from x
  kSilu = 17,     // x sigmoid(x)           backward from x
  kUnaryOpCount = 18,
};
// Whether unary_backward takes the op's output (true) or input (false) as `saved`; ops without
// a backward kernel (linear ones) are differentiated with kMulScalar by the caller.
bool unary_backward_from_output(int op);
bool unary_has_backward(int op);

// out = a (op) b with broadcasting. Must match BINARY in lib/functional/elementwise.ts.
enum BinaryOp : int { kAdd = 0, kSub = 1, kMul = 2, kDiv = 3, kBinaryOpCount = 4 };

// out (bool) = a (op) b with broadcasting, a and b both float32 or both int32. Must match
// COMPARE in lib/functional/elementwise.ts. NaN compares unequal to everything (ne is true).
enum CompareOp : int { kEq = 0, kNe = 1, kLt = 2, kLe = 3, kGt = 4, kGe = 5, kCompareOpCount = 6 };

// dtype codes of cast (lib/tensor.ts order): 0 float32, 1 int32, 2 bool.

namespace cpu {

// y[i] += alpha * x[i], i < n  (gradient accumulation, in place)
void axpy(float* y, const float* x, float alpha, int64_t n);

// out[i] = op(x[i]; a, b), i < n. out may equal x.
void unary_forward(float* out, const float* x, int64_t n, int op, float a, float b);
// dx[i] = dy[i] * op'(x[i]) where saved is x or y = op(x) (unary_backward_from_output).
void unary_backward(float* dx, const float* dy, const float* saved, int64_t n, int op, float a, float b);

// out = a (op) b over l: operand 0 out (dense), 1 a, 2 b.
void binary_forward(float* out, const float* a, const float* b, const Layout& l, int op);

// out = a (op) b over l: operand 0 out (bool bytes, dense), 1 a, 2 b; float32 or int32 inputs.
void compare_forward(uint8_t* out, const float* a, const float* b, const Layout& l, int op);
void compare_forward(uint8_t* out, const int32_t* a, const int32_t* b, const Layout& l, int op);

// out = cond ? a : b over l: operand 0 out (dense), 1 cond (bool bytes), 2 a, 3 b.
void where_forward(float* out, const uint8_t* cond, const float* a, const float* b, const Layout& l);

// out[i] = (to) x[i], i < n; float -> int32 truncates toward zero (NaN and out-of-range give
// INT32_MIN on both devices, as x86 does), anything -> bool is (x != 0).
void cast(void* out, const void* x, int64_t n, int from, int to);

}  // namespace cpu
}  // namespace atento
