// elementwise.cu — CUDA elementwise kernels; CPU twins in native/cpu/elementwise.cc.
//
// axpy_kernel:            y[i] += alpha * x[i]; one thread per element, grid-stride loop.
// unary_kernel<F>:        out[i] = F(x[i]) for x [n]; F is a small functor holding the op's
//                         scalars (one instantiation per op), grid-stride loop.
// unary_backward_kernel<F>: dx[i] = F(dy[i], saved[i]), saved = x or y as in the CPU table.
// binary_dense_kernel<F>: out[i] = F(a[i], b[i]) when the coalesced layout is one dense dim.
// binary_kernel<F>:       general broadcast: each thread turns its output index into
//                         coordinates of the coalesced Layout (<= kMaxDims dims, loops fully
//                         unrolled so the Layout stays in parameter space) and reads a and b
//                         through their strides (0 on broadcast dims).
// compare_{float,int}_kernel<F>: out (bool) = F(a, b), the same general indexing as binary_kernel.
// where_kernel:           out = cond ? a : b, the same general indexing with four operands.
// cast_kernel<C>:         out[i] = C(x[i]) for the six dtype pairs.
#include "launch.cuh"

#include <string>

#include "../common.h"
#include "device.h"
#include "elementwise.h"
#include "shape.h"

namespace atento::cuda {

static unsigned grid_for(int64_t n, int block) {
  int64_t blocks = (n + block - 1) / block;
  return (unsigned)(blocks < 65535 ? (blocks > 0 ? blocks : 1) : 65535);
}
constexpr int kBlock = 256;

#define ATENTO_GRID_STRIDE(i, n) \
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < (n); i += (int64_t)gridDim.x * blockDim.x)

__global__ void axpy_kernel(float* y, const float* x, float alpha, int64_t n) {
  ATENTO_GRID_STRIDE(i, n) y[i] += alpha * x[i];
}

void axpy(float* y, const float* x, float alpha, int64_t n) {
  if (n <= 0) return;
  ATENTO_LAUNCH(axpy_kernel, grid_for(n, kBlock), kBlock, 0, stream(), y, x, alpha, n);
}

// --- unary --------------------------------------------------------------------------------------

constexpr float kSqrt1_2 = 0.70710678118654752440f;
constexpr float kInvSqrt2Pi = 0.39894228040143267794f;
constexpr float kSqrt2_Pi = 0.79788456080286535588f;
constexpr float kGeluC = 0.044715f;

struct NegF { float a, b; __device__ float operator()(float v) const { return -v; } };
struct ExpF { float a, b; __device__ float operator()(float v) const { return expf(v); } };
struct LogF { float a, b; __device__ float operator()(float v) const { return logf(v); } };
struct SqrtF { float a, b; __device__ float operator()(float v) const { return sqrtf(v); } };
struct AbsF { float a, b; __device__ float operator()(float v) const { return fabsf(v); } };
struct AddSF { float a, b; __device__ float operator()(float v) const { return v + a; } };
struct MulSF { float a, b; __device__ float operator()(float v) const { return v * a; } };
struct DivSF { float a, b; __device__ float operator()(float v) const { return v / a; } };
struct RSubF { float a, b; __device__ float operator()(float v) const { return a - v; } };
struct RDivF { float a, b; __device__ float operator()(float v) const { return a / v; } };
struct PowF { float a, b; __device__ float operator()(float v) const { return powf(v, a); } };
struct ClampF {
  float a, b;
  __device__ float operator()(float v) const {
    float m = v < a ? a : v;  // min(max(x, a), b) as PyTorch; NaN stays NaN
    return m > b ? b : m;
  }
};
struct ReluF { float a, b; __device__ float operator()(float v) const { return v < 0.0f ? 0.0f : v; } };
struct SigmoidF { float a, b; __device__ float operator()(float v) const { return 1.0f / (1.0f + expf(-v)); } };
struct TanhF { float a, b; __device__ float operator()(float v) const { return tanhf(v); } };
struct GeluF {
  float a, b;
  // 1 + erf(y) = erfc(-y): no cancellation for y << 0 (matches the cpu's erfc-based form)
  __device__ float operator()(float v) const { return 0.5f * v * erfcf(-v * kSqrt1_2); }
};
struct GeluTanhF {
  float a, b;
  __device__ float operator()(float v) const { return 0.5f * v * (1.0f + tanhf(kSqrt2_Pi * (v + kGeluC * v * v * v))); }
};
struct SiluF { float a, b; __device__ float operator()(float v) const { return v / (1.0f + expf(-v)); } };

template <class F>
__global__ void unary_kernel(float* out, const float* x, int64_t n, F f) {
  ATENTO_GRID_STRIDE(i, n) out[i] = f(x[i]);
}

template <class F>
static void launch_unary(float* out, const float* x, int64_t n, float a, float b) {
  ATENTO_LAUNCH(unary_kernel<F>, grid_for(n, kBlock), kBlock, 0, stream(), out, x, n, F{a, b});
}

void unary_forward(float* out, const float* x, int64_t n, int op, float a, float b) {
  if (n <= 0) return;
  switch (op) {
    case kNeg: return launch_unary<NegF>(out, x, n, a, b);
    case kExp: return launch_unary<ExpF>(out, x, n, a, b);
    case kLog: return launch_unary<LogF>(out, x, n, a, b);
    case kSqrt: return launch_unary<SqrtF>(out, x, n, a, b);
    case kAbs: return launch_unary<AbsF>(out, x, n, a, b);
    case kAddScalar: return launch_unary<AddSF>(out, x, n, a, b);
    case kMulScalar: return launch_unary<MulSF>(out, x, n, a, b);
    case kDivScalar: return launch_unary<DivSF>(out, x, n, a, b);
    case kRSub: return launch_unary<RSubF>(out, x, n, a, b);
    case kRDiv: return launch_unary<RDivF>(out, x, n, a, b);
    case kPow: return launch_unary<PowF>(out, x, n, a, b);
    case kClamp: return launch_unary<ClampF>(out, x, n, a, b);
    case kRelu: return launch_unary<ReluF>(out, x, n, a, b);
    case kSigmoid: return launch_unary<SigmoidF>(out, x, n, a, b);
    case kTanh: return launch_unary<TanhF>(out, x, n, a, b);
    case kGelu: return launch_unary<GeluF>(out, x, n, a, b);
    case kGeluTanh: return launch_unary<GeluTanhF>(out, x, n, a, b);
    case kSilu: return launch_unary<SiluF>(out, x, n, a, b);
  }
  throw Error("ERR_ARGUMENT", "unary: unknown op " + std::to_string(op));
}

// Backward functors: (g = dy, s = saved x or y) -> dx.
struct ExpB { float a, b; __device__ float operator()(float g, float y) const { return g * y; } };
struct LogB { float a, b; __device__ float operator()(float g, float x) const { return g / x; } };
struct SqrtB { float a, b; __device__ float operator()(float g, float y) const { return g / (2.0f * y); } };
struct AbsB {
  float a, b;
  __device__ float operator()(float g, float x) const { return x > 0.0f ? g : (x < 0.0f ? -g : 0.0f * g); }
};
struct RDivB { float a, b; __device__ float operator()(float g, float x) const { return -g * a / (x * x); } };
struct PowB {
  float a, b;
  __device__ float operator()(float g, float x) const { return a == 0.0f ? 0.0f : g * a * powf(x, a - 1.0f); }
};
struct ClampB { float a, b; __device__ float operator()(float g, float x) const { return x >= a && x <= b ? g : 0.0f; } };
struct ReluB { float a, b; __device__ float operator()(float g, float x) const { return x > 0.0f ? g : 0.0f; } };
struct SigmoidB { float a, b; __device__ float operator()(float g, float y) const { return g * y * (1.0f - y); } };
struct TanhB { float a, b; __device__ float operator()(float g, float y) const { return g * (1.0f - y * y); } };
struct GeluB {
  float a, b;
  __device__ float operator()(float g, float x) const {
    float cdf = 0.5f * erfcf(-x * kSqrt1_2);
    float pdf = kInvSqrt2Pi * expf(-0.5f * x * x);
    return g * (cdf + x * pdf);
  }
};
struct GeluTanhB {
  float a, b;
  __device__ float operator()(float g, float x) const {
    float x2 = x * x;
    float t = tanhf(kSqrt2_Pi * (x + kGeluC * x2 * x));
    float du = kSqrt2_Pi * (1.0f + 3.0f * kGeluC * x2);
    return g * (0.5f * (1.0f + t) + 0.5f * x * (1.0f - t * t) * du);
  }
};
struct SiluB {
  float a, b;
  __device__ float operator()(float g, float x) const {
    float sg = 1.0f / (1.0f + expf(-x));
    return g * sg * (1.0f + x * (1.0f - sg));
  }
};

template <class F>
__global__ void unary_backward_kernel(float* dx, const float* dy, const float* s, int64_t n, F f) {
  ATENTO_GRID_STRIDE(i, n) dx[i] = f(dy[i], s[i]);
}

template <class F>
static void launch_unary_backward(float* dx, const float* dy, const float* s, int64_t n, float a, float b) {
  ATENTO_LAUNCH(unary_backward_kernel<F>, grid_for(n, kBlock), kBlock, 0, stream(), dx, dy, s, n, F{a, b});
}

void unary_backward(float* dx, const float* dy, const float* s, int64_t n, int op, float a, float b) {
  if (n <= 0) return;
  switch (op) {
    case kExp: return launch_unary_backward<ExpB>(dx, dy, s, n, a, b);
    case kLog: return launch_unary_backward<LogB>(dx, dy, s, n, a, b);
    case kSqrt: return launch_unary_backward<SqrtB>(dx, dy, s, n, a, b);
    case kAbs: return launch_unary_backward<AbsB>(dx, dy, s, n, a, b);
    case kRDiv: return launch_unary_backward<RDivB>(dx, dy, s, n, a, b);
    case kPow: return launch_unary_backward<PowB>(dx, dy, s, n, a, b);
    case kClamp: return launch_unary_backward<ClampB>(dx, dy, s, n, a, b);
    case kRelu: return launch_unary_backward<ReluB>(dx, dy, s, n, a, b);
    case kSigmoid: return launch_unary_backward<SigmoidB>(dx, dy, s, n, a, b);
    case kTanh: return launch_unary_backward<TanhB>(dx, dy, s, n, a, b);
    case kGelu: return launch_unary_backward<GeluB>(dx, dy, s, n, a, b);
    case kGeluTanh: return launch_unary_backward<GeluTanhB>(dx, dy, s, n, a, b);
    case kSilu: return launch_unary_backward<SiluB>(dx, dy, s, n, a, b);
  }
  throw Error("ERR_ARGUMENT", "unaryBackward: op " + std::to_string(op) + " has no backward kernel");
}

// --- binary (broadcasting) ----------------------------------------------------------------------

struct AddF { __device__ float operator()(float x, float y) const { return x + y; } };
struct SubF { __device__ float operator()(float x, float y) const { return x - y; } };
struct MulF { __device__ float operator()(float x, float y) const { return x * y; } };
struct DivF { __device__ float operator()(float x, float y) const { return x / y; } };

template <class F>
__global__ void binary_dense_kernel(float* out, const float* a, const float* b, int64_t n, F f) {
  ATENTO_GRID_STRIDE(i, n) out[i] = f(a[i], b[i]);
}

template <class F>
__global__ void binary_kernel(float* out, const float* a, const float* b, Layout l, int64_t n, F f) {
  ATENTO_GRID_STRIDE(i, n) {
    int64_t off[3];
    layout_offsets<3>(l, i, off);
    out[off[0]] = f(a[off[1]], b[off[2]]);
  }
}

template <class F>
static void launch_binary(float* out, const float* a, const float* b, const Layout& l) {
  int64_t n = layout_numel(l);
  if (n <= 0) return;
  bool dense = l.ndim == 1 && l.stride[0][0] == 1 && l.stride[1][0] == 1 && l.stride[2][0] == 1;
  if (dense) {
    ATENTO_LAUNCH(binary_dense_kernel<F>, grid_for(n, kBlock), kBlock, 0, stream(), out + l.offset[0],
                  a + l.offset[1], b + l.offset[2], n, F{});
  } else {
    ATENTO_LAUNCH(binary_kernel<F>, grid_for(n, kBlock), kBlock, 0, stream(), out, a, b, l, n, F{});
  }
}

void binary_forward(float* out, const float* a, const float* b, const Layout& l, int op) {
  switch (op) {
    case kAdd: return launch_binary<AddF>(out, a, b, l);
    case kSub: return launch_binary<SubF>(out, a, b, l);
    case kMul: return launch_binary<MulF>(out, a, b, l);
    case kDiv: return launch_binary<DivF>(out, a, b, l);
  }
  throw Error("ERR_ARGUMENT", "binary: unknown op " + std::to_string(op));
}

template <class T> struct EqF { __device__ uint8_t operator()(T x, T y) const { return x == y; } };
template <class T> struct NeF { __device__ uint8_t operator()(T x, T y) const { return x != y; } };
template <class T> struct LtF { __device__ uint8_t operator()(T x, T y) const { return x < y; } };
template <class T> struct LeF { __device__ uint8_t operator()(T x, T y) const { return x <= y; } };
template <class T> struct GtF { __device__ uint8_t operator()(T x, T y) const { return x > y; } };
template <class T> struct GeF { __device__ uint8_t operator()(T x, T y) const { return x >= y; } };

// F is a comparison functor on one element type; compare_kernel<F> deduces it from F's call.
template <class T, class F>
__device__ __forceinline__ void compare_body(uint8_t* out, const T* a, const T* b, const Layout& l, int64_t n, F f) {
  ATENTO_GRID_STRIDE(i, n) {
    int64_t off[3];
    layout_offsets<3>(l, i, off);
    out[off[0]] = f(a[off[1]], b[off[2]]);
  }
}
template <class F>
__global__ void compare_float_kernel(uint8_t* out, const float* a, const float* b, Layout l, int64_t n, F f) {
  compare_body(out, a, b, l, n, f);
}
template <class F>
__global__ void compare_int_kernel(uint8_t* out, const int32_t* a, const int32_t* b, Layout l, int64_t n, F f) {
  compare_body(out, a, b, l, n, f);
}

template <class F>
static void launch_compare(uint8_t* out, const float* a, const float* b, const Layout& l, int64_t n) {
  ATENTO_LAUNCH(compare_float_kernel<F>, grid_for(n, kBlock), kBlock, 0, stream(), out, a, b, l, n, F{});
}
template <class F>
static void launch_compare(uint8_t* out, const int32_t* a, const int32_t* b, const Layout& l, int64_t n) {
  ATENTO_LAUNCH(compare_int_kernel<F>, grid_for(n, kBlock), kBlock, 0, stream(), out, a, b, l, n, F{});
}

template <class T>
static void compare_t(uint8_t* out, const T* a, const T* b, const Layout& l, int op) {
  int64_t n = layout_numel(l);
  if (n <= 0) return;
  switch (op) {
    case kEq: return launch_compare<EqF<T>>(out, a, b, l, n);
    case kNe: return launch_compare<NeF<T>>(out, a, b, l, n);
    case kLt: return launch_compare<LtF<T>>(out, a, b, l, n);
    case kLe: return launch_compare<LeF<T>>(out, a, b, l, n);
    case kGt: return launch_compare<GtF<T>>(out, a, b, l, n);
    case kGe: return launch_compare<GeF<T>>(out, a, b, l, n);
  }
  throw Error("ERR_ARGUMENT", "compare: unknown op " + std::to_string(op));
}

void compare_forward(uint8_t* out, const float* a, const float* b, const Layout& l, int op) {
  compare_t(out, a, b, l, op);
}
void compare_forward(uint8_t* out, const int32_t* a, const int32_t* b, const Layout& l, int op) {
  compare_t(out, a, b, l, op);
}

__global__ void where_kernel(float* out, const uint8_t* cond, const float* a, const float* b, Layout l, int64_t n) {
  ATENTO_GRID_STRIDE(i, n) {
    int64_t off[4];
    layout_offsets<4>(l, i, off);
    out[off[0]] = cond[off[1]] ? a[off[2]] : b[off[3]];
  }
}

void where_forward(float* out, const uint8_t* cond, const float* a, const float* b, const Layout& l) {
  int64_t n = layout_numel(l);
  if (n <= 0) return;
  ATENTO_LAUNCH(where_kernel, grid_for(n, kBlock), kBlock, 0, stream(), out, cond, a, b, l, n);
}

// --- casts --------------------------------------------------------------------------------------

struct F2I {
  using In = float;
  using Out = int32_t;
  __device__ int32_t operator()(float v) const {
    // as the CPU: NaN and out-of-range give INT32_MIN
    return (v > -2147483904.0f && v < 2147483648.0f) ? (int32_t)v : (-2147483647 - 1);
  }
};
struct F2B { using In = float; using Out = uint8_t; __device__ uint8_t operator()(float v) const { return v != 0.0f; } };
struct I2F { using In = int32_t; using Out = float; __device__ float operator()(int32_t v) const { return (float)v; } };
struct I2B { using In = int32_t; using Out = uint8_t; __device__ uint8_t operator()(int32_t v) const { return v != 0; } };
struct B2F { using In = uint8_t; using Out = float; __device__ float operator()(uint8_t v) const { return v ? 1.0f : 0.0f; } };
struct B2I { using In = uint8_t; using Out = int32_t; __device__ int32_t operator()(uint8_t v) const { return v != 0; } };

template <class C>
__global__ void cast_kernel(typename C::Out* out, const typename C::In* x, int64_t n) {
  C c;
  ATENTO_GRID_STRIDE(i, n) out[i] = c(x[i]);
}

template <class C>
static void launch_cast(void* out, const void* x, int64_t n) {
  ATENTO_LAUNCH(cast_kernel<C>, grid_for(n, kBlock), kBlock, 0, stream(), static_cast<typename C::Out*>(out),
                static_cast<const typename C::In*>(x), n);
}

void cast(void* out, const void* x, int64_t n, int from, int to) {
  if (n <= 0) return;
  switch (from * 3 + to) {
    case 0 * 3 + 1: return launch_cast<F2I>(out, x, n);
    case 0 * 3 + 2: return launch_cast<F2B>(out, x, n);
    case 1 * 3 + 0: return launch_cast<I2F>(out, x, n);
    case 1 * 3 + 2: return launch_cast<I2B>(out, x, n);
    case 2 * 3 + 0: return launch_cast<B2F>(out, x, n);
    case 2 * 3 + 1: return launch_cast<B2I>(out, x, n);
  }
  throw Error("ERR_DTYPE", "cast: unsupported dtype pair");
}

}  // namespace atento::cuda
