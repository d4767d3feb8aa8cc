// optim.h — host launchers of the CUDA optimizer kernels (optim.cu). Same names, arguments and
// formulas as native/cpu/optim.h; tensor pointers are device memory, work goes on the atento
// stream. grad_norms writes host memory: it reads back once for the whole list of tensors.
#pragma once

#include <cstdint>

namespace atento::cuda {

// p, m, v, vmax (nullable: amsgrad off) [n] in place; g [n].
void adam_step(float* p, const float* g, float* m, float* v, float* vmax, int64_t n, float beta1,
               float beta2, float one_minus_beta1, float one_minus_beta2, float eps, float param_scale,
               float grad_decay, float step_size, float bias_correction2_sqrt);

// p, buf (nullable when momentum == 0) [n] in place; g [n].
void sgd_step(float* p, const float* g, float* buf, int64_t n, float lr, float momentum,
              float dampening, float weight_decay, bool nesterov, bool first_step);

// out[k] (host) = sum x^2 | max |x| | sum |x|^p of device tensor xs[k] [ns[k]], k < count.
void grad_norms(double* out, const float* const* xs, const int64_t* ns, int64_t count, double norm_type);

// x[i] *= coef, i < n.
void grad_scale(float* x, int64_t n, float coef);

}  // namespace atento::cuda
