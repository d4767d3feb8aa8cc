// optim.cu — CUDA optimizer kernels; CPU twins in native/cpu/optim.cc, formulas in optim.h.
//
// adam_step_kernel, sgd_step_kernel: one thread per element with a grid-stride loop; p, g and
//   the state buffers are flat [n]. Step-dependent scalars (bias corrections, 1 - lr*wd) come
//   from the host, computed in double.
// grad_norm_partial_kernel: x [n] -> partial [gridDim.x]; each thread folds its grid-stride
//   elements (x^2, |x| or |x|^p), then a warp-shuffle + shared-memory block reduction writes
//   one value per block. grid <= kNormBlocks, so a tensor's partials fit one row of a
//   [count, kNormBlocks] scratch buffer (zeroed first: 0 is the identity of both sum and max).
// grad_norm_finalize_kernel: partial [count, kNormBlocks] -> out [count]; block k reduces row k.
//   grad_norms launches the partial kernel once per tensor, the finalize kernel once, and
//   reads back the `count` results once for the whole list.
// grad_scale_kernel: x [n] *= coef, grid-stride.
#include "launch.cuh"
#include "optim.h"
#include "device.h"

#include <cmath>
#include <vector>

namespace atento::cuda {

constexpr int kBlock = 256;        // threads per block, every kernel here
constexpr int kNormBlocks = 512;   // most blocks one tensor's norm uses (one scratch row)

enum NormMode : int { kSumSquares = 0, kMaxAbs = 1, kSumPow = 2 };

static unsigned grid_for(int64_t n, int block) {
  int64_t blocks = (n + block - 1) / block;
  return (unsigned)(blocks < 65535 ? (blocks > 0 ? blocks : 1) : 65535);
}

__global__ void adam_step_kernel(float* p, const float* g, float* m, float* v, float* vmax, int64_t n,
                                 float beta1, float beta2, float one_minus_beta1, float one_minus_beta2,
                                 float eps, float param_scale, float grad_decay, float step_size,
                                 float bias_correction2_sqrt) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x) {
    float pi = p[i], gi = g[i];
    if (param_scale != 1.0f) pi *= param_scale;     // AdamW: decoupled weight decay first
    if (grad_decay != 0.0f) gi += grad_decay * pi;  // Adam: L2 penalty into the gradient
    float mi = beta1 * m[i] + one_minus_beta1 * gi;
    float vi = beta2 * v[i] + one_minus_beta2 * gi * gi;
    m[i] = mi;
    v[i] = vi;
    if (vmax) {                                     // amsgrad: torch.maximum (NaN wins)
      float vm = vmax[i];
      vi = (vi > vm || vi != vi) ? vi : vm;
      vmax[i] = vi;
    }
    float denom = sqrtf(vi) / bias_correction2_sqrt + eps;
    p[i] = pi - step_size * (mi / denom);
  }
}

__global__ void sgd_step_kernel(float* p, const float* g, float* buf, int64_t n, float lr, float momentum,
                                float one_minus_dampening, float weight_decay, bool nesterov, bool first_step) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x) {
    float d = g[i];
    if (weight_decay != 0.0f) d += weight_decay * p[i];
    if (momentum != 0.0f) {
      float b = first_step ? d : momentum * buf[i] + one_minus_dampening * d;
      buf[i] = b;
      d = nesterov ? d + momentum * b : b;
    }
    p[i] -= lr * d;
  }
}

// max that keeps a NaN once seen (like torch.max); fmaxf would drop it.
__device__ __forceinline__ float nan_max(float acc, float x) { return (x > acc || x != x) ? x : acc; }

__device__ __forceinline__ float norm_combine(float a, float b, int mode) {
  return mode == kMaxAbs ? nan_max(a, b) : a + b;
}

// The block's combined value of v (valid in thread 0). blockDim.x is a multiple of 32.
__device__ float norm_block_reduce(float v, int mode) {
  __shared__ float warp_vals[32];
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  for (int o = 16; o > 0; o >>= 1) v = norm_combine(v, __shfl_xor_sync(0xffffffffu, v, o), mode);
  if (lane == 0) warp_vals[warp] = v;
  __syncthreads();
  if (warp == 0) {
    v = lane < (int)(blockDim.x >> 5) ? warp_vals[lane] : 0.0f;
    for (int o = 16; o > 0; o >>= 1) v = norm_combine(v, __shfl_xor_sync(0xffffffffu, v, o), mode);
  }
  return v;
}

__global__ void grad_norm_partial_kernel(float* partial, const float* x, int64_t n, int mode, float norm_type) {
  // x is [n]; partial is [gridDim.x]
  float acc = 0.0f;
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x) {
    float a = x[i];
    if (mode == kSumSquares) acc += a * a;
    else if (mode == kMaxAbs) acc = nan_max(acc, fabsf(a));
    else acc += powf(fabsf(a), norm_type);
  }
  acc = norm_block_reduce(acc, mode);
  if (threadIdx.x == 0) partial[blockIdx.x] = acc;
}

__global__ void grad_norm_finalize_kernel(float* out, const float* partial, int mode) {
  // partial is [gridDim.x, kNormBlocks]; out is [gridDim.x]
  const float* row = partial + (int64_t)blockIdx.x * kNormBlocks;
  float acc = 0.0f;
  for (int i = threadIdx.x; i < kNormBlocks; i += blockDim.x) acc = norm_combine(acc, row[i], mode);
  acc = norm_block_reduce(acc, mode);
  if (threadIdx.x == 0) out[blockIdx.x] = acc;
}

__global__ void grad_scale_kernel(float* x, int64_t n, float coef) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
    x[i] *= coef;
}

void adam_step(float* p, const float* g, float* m, float* v, float* vmax, int64_t n, float beta1,
               float beta2, float one_minus_beta1, float one_minus_beta2, float eps, float param_scale,
               float grad_decay, float step_size, float bias_correction2_sqrt) {
  if (n <= 0) return;
  ATENTO_LAUNCH(adam_step_kernel, grid_for(n, kBlock), kBlock, 0, stream(), p, g, m, v, vmax, n, beta1, beta2,
                one_minus_beta1, one_minus_beta2, eps, param_scale, grad_decay, step_size, bias_correction2_sqrt);
}

void sgd_step(float* p, const float* g, float* buf, int64_t n, float lr, float momentum,
              float dampening, float weight_decay, bool nesterov, bool first_step) {
  if (n <= 0) return;
  ATENTO_LAUNCH(sgd_step_kernel, grid_for(n, kBlock), kBlock, 0, stream(), p, g, buf, n, lr, momentum,
                1.0f - dampening, weight_decay, nesterov, first_step);
}

namespace {
// Scratch device memory from the caching allocator, returned on scope exit.
struct Scratch {
  void* ptr;
  size_t bytes;
  explicit Scratch(size_t b) : ptr(alloc(b)), bytes(b) {}
  ~Scratch() { release(ptr, bytes); }
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;
};
}  // namespace

void grad_norms(double* out, const float* const* xs, const int64_t* ns, int64_t count, double norm_type) {
  if (count <= 0) return;
  const int mode = norm_type == 2.0 ? kSumSquares : (std::isinf(norm_type) ? kMaxAbs : kSumPow);
  // [count, kNormBlocks] partials, then [count] results
  const size_t partial_floats = (size_t)count * kNormBlocks;
  Scratch scratch((partial_floats + (size_t)count) * sizeof(float));
  float* partial = static_cast<float*>(scratch.ptr);
  float* results = partial + partial_floats;
  memset_zero(partial, partial_floats * sizeof(float));
  for (int64_t k = 0; k < count; k++) {
    if (ns[k] <= 0) continue;
    int64_t blocks = (ns[k] + kBlock - 1) / kBlock;
    unsigned grid = (unsigned)(blocks < kNormBlocks ? blocks : kNormBlocks);
    ATENTO_LAUNCH(grad_norm_partial_kernel, grid, kBlock, 0, stream(), partial + (size_t)k * kNormBlocks, xs[k],
                  ns[k], mode, (float)norm_type);
  }
  ATENTO_LAUNCH(grad_norm_finalize_kernel, (unsigned)count, kBlock, 0, stream(), results, partial, mode);
  check_launch("grad_norms");
  std::vector<float> host((size_t)count);
  copy_to_host(host.data(), results, (size_t)count * sizeof(float));  // the one readback
  for (int64_t k = 0; k < count; k++) out[k] = host[k];
}

void grad_scale(float* x, int64_t n, float coef) {
  if (n <= 0) return;
  ATENTO_LAUNCH(grad_scale_kernel, grid_for(n, kBlock), kBlock, 0, stream(), x, n, coef);
}

}  // namespace atento::cuda
