// optim.cc — CPU optimizer kernels (see optim.h for the formulas and shapes).
//
// Each step kernel is one OpenMP-parallel pass over the parameter: read p, g and the state,
// write p and the state. Norm sums accumulate in double; the max norm is exact in float.
#include "optim.h"

#include <cmath>
#include <vector>

#include "parallel.h"

namespace atento::cpu {

// One loop per amsgrad setting, so that no memory access sits under a branch. (GCC still keeps
// sqrt scalar under its default -fmath-errno; the loop is bound by memory traffic, 28 bytes per
// element, on any machine with more than a couple of cores.)
template <bool kAmsgrad>
static void adam_loop(float* p, const float* g, float* m, float* v, float* vmax, int64_t n, float beta1,
                      float beta2, float one_minus_beta1, float one_minus_beta2, float eps, float param_scale,
                      float grad_decay, float step_size, float bias_correction2_sqrt) {
  // p, g, m, v, vmax are [n]
  parallel_range(n, n > kParallelGrain, [&](int64_t begin, int64_t end) {
    #pragma omp simd
    for (int64_t i = begin; i < end; i++) {
      float pi = p[i], gi = g[i];
      pi = param_scale != 1.0f ? pi * param_scale : pi;      // AdamW: decoupled weight decay first
      gi = grad_decay != 0.0f ? gi + grad_decay * pi : gi;   // Adam: L2 penalty into the gradient
      float mi = beta1 * m[i] + one_minus_beta1 * gi;
      float vi = beta2 * v[i] + one_minus_beta2 * gi * gi;
      m[i] = mi;
      v[i] = vi;
      if constexpr (kAmsgrad) {                              // torch.maximum: NaN wins
        float vm = vmax[i];
        vi = (vi > vm || vi != vi) ? vi : vm;
        vmax[i] = vi;
      }
      float denom = std::sqrt(vi) / bias_correction2_sqrt + eps;
      p[i] = pi - step_size * (mi / denom);
    }
  });
}

void adam_step(float* p, const float* g, float* m, float* v, float* vmax, int64_t n, float beta1,
               float beta2, float one_minus_beta1, float one_minus_beta2, float eps, float param_scale,
               float grad_decay, float step_size, float bias_correction2_sqrt) {
  auto loop = vmax ? adam_loop<true> : adam_loop<false>;
  loop(p, g, m, v, vmax, n, beta1, beta2, one_minus_beta1, one_minus_beta2, eps, param_scale, grad_decay, step_size,
       bias_correction2_sqrt);
}

void sgd_step(float* p, const float* g, float* buf, int64_t n, float lr, float momentum,
              float dampening, float weight_decay, bool nesterov, bool first_step) {
  // p, g, buf are [n]
  const float one_minus_dampening = 1.0f - dampening;
  parallel_range(n, n > kParallelGrain, [&](int64_t begin, int64_t end) {
    #pragma omp simd
    for (int64_t i = begin; i < end; i++) {
      float d = g[i];
      if (weight_decay != 0.0f) d += weight_decay * p[i];
      if (momentum != 0.0f) {
        float b = first_step ? d : momentum * buf[i] + one_minus_dampening * d;
        buf[i] = b;
        d = nesterov ? d + momentum * b : b;
      }
      p[i] -= lr * d;
    }
  });
}

// The norm of one piece of a tensor, on this thread: max |x| (NaN if any x is NaN, like torch.max;
// a plain max plus a NaN flag vectorises) or sum |x|^p.
static double norm_range(const float* x, int64_t n, double norm_type) {
  if (std::isinf(norm_type)) {
    float mx = 0.0f;
    int nan_seen = 0;
    #pragma omp simd reduction(max : mx) reduction(| : nan_seen)
    for (int64_t i = 0; i < n; i++) {
      float a = std::fabs(x[i]);
      mx = a > mx ? a : mx;
      nan_seen |= a != a;
    }
    return nan_seen ? std::nan("") : (double)mx;
  }
  double sum = 0;
  if (norm_type == 2.0) {
    #pragma omp simd reduction(+ : sum)
    for (int64_t i = 0; i < n; i++) sum += (double)x[i] * (double)x[i];
  } else {
    for (int64_t i = 0; i < n; i++) sum += std::pow(std::fabs((double)x[i]), norm_type);
  }
  return sum;
}

// x [n] in pieces of kParallelGrain, reduced in parallel when there are several and combined in
// order, so the result does not depend on the number of threads.
static double norm_piece(const float* x, int64_t n, double norm_type) {
  const int64_t pieces = (n + kParallelGrain - 1) / kParallelGrain;
  std::vector<double> part(pieces);
  parallel_for(pieces, pieces > 1, [&](int64_t k) {
    part[k] = norm_range(x + k * kParallelGrain, std::min(kParallelGrain, n - k * kParallelGrain), norm_type);
  });
  double r = 0;
  for (double v : part) {
    if (std::isinf(norm_type)) r = (v != v || r != r) ? std::nan("") : std::max(r, v);
    else r += v;
  }
  return r;
}

void grad_norms(double* out, const float* const* xs, const int64_t* ns, int64_t count, double norm_type) {
  for (int64_t k = 0; k < count; k++) out[k] = ns[k] > 0 ? norm_piece(xs[k], ns[k], norm_type) : 0.0;
}

void grad_scale(float* x, int64_t n, float coef) {
  // x is [n]
  parallel_range(n, n > kParallelGrain, [&](int64_t begin, int64_t end) {
    #pragma omp simd
    for (int64_t i = begin; i < end; i++) x[i] *= coef;
  });
}

}  // namespace atento::cpu
