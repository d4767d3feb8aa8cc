// optim.cc — CPU optimizer kernels (see optim.h for the formulas and shapes).
//
// Each step kernel is one OpenMP-parallel pass over the parameter: read p, g and the state,
// write p and the state. Norms accumulate in double per thread.
#include "optim.h"

#include <cmath>
#include <vector>

#include "parallel.h"

namespace atento::cpu {

void adam_step(float* p, const float* g, float* m, float* v, float* vmax, int64_t n, float beta1,
               float beta2, float one_minus_beta1, float one_minus_beta2, float eps, float param_scale,
               float grad_decay, float step_size, float bias_correction2_sqrt) {
  // p, g, m, v, vmax are [n]
  #pragma omp parallel for schedule(static) if (n > kParallelGrain)
  for (int64_t i = 0; i < n; i++) {
    float pi = p[i], gi = g[i];
    if (param_scale != 1.0f) pi *= param_scale;       // AdamW: decoupled weight decay first
    if (grad_decay != 0.0f) gi += grad_decay * pi;    // Adam: L2 penalty into the gradient
    float mi = beta1 * m[i] + one_minus_beta1 * gi;
    float vi = beta2 * v[i] + one_minus_beta2 * gi * gi;
    m[i] = mi;
    v[i] = vi;
    if (vmax) {                                       // amsgrad: torch.maximum (NaN wins)
      float vm = vmax[i];
      vi = vmax[i] = (vi > vm || vi != vi) ? vi : vm;
    }
    float denom = std::sqrt(vi) / bias_correction2_sqrt + eps;
    p[i] = pi - step_size * (mi / denom);
  }
}

void sgd_step(float* p, const float* g, float* buf, int64_t n, float lr, float momentum,
              float dampening, float weight_decay, bool nesterov, bool first_step) {
  // p, g, buf are [n]
  const float one_minus_dampening = 1.0f - dampening;
  #pragma omp parallel for schedule(static) if (n > kParallelGrain)
  for (int64_t i = 0; i < n; i++) {
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

// max that keeps a NaN once seen (like torch.max): NaN > x and x > NaN are both false.
static inline double nan_max(double acc, double x) { return (x > acc || x != x) ? x : acc; }

static double norm_piece(const float* x, int64_t n, double norm_type) {
  // x is [n]
  if (std::isinf(norm_type)) {
    double result = 0;
    #pragma omp parallel if (n > kParallelGrain)
    {
      double local = 0;
      #pragma omp for schedule(static) nowait
      for (int64_t i = 0; i < n; i++) local = nan_max(local, std::fabs((double)x[i]));
      #pragma omp critical
      result = (result != result) ? result : nan_max(result, local);
    }
    return result;
  }
  double sum = 0;
  if (norm_type == 2.0) {
    #pragma omp parallel for reduction(+ : sum) schedule(static) if (n > kParallelGrain)
    for (int64_t i = 0; i < n; i++) sum += (double)x[i] * (double)x[i];
  } else {
    #pragma omp parallel for reduction(+ : sum) schedule(static) if (n > kParallelGrain)
    for (int64_t i = 0; i < n; i++) sum += std::pow(std::fabs((double)x[i]), norm_type);
  }
  return sum;
}

void grad_norms(double* out, const float* const* xs, const int64_t* ns, int64_t count, double norm_type) {
  for (int64_t k = 0; k < count; k++) out[k] = ns[k] > 0 ? norm_piece(xs[k], ns[k], norm_type) : 0.0;
}

void grad_scale(float* x, int64_t n, float coef) {
  // x is [n]
  #pragma omp parallel for simd schedule(static) if (n > kParallelGrain)
  for (int64_t i = 0; i < n; i++) x[i] *= coef;
}

}  // namespace atento::cpu
