// optim.h — CPU optimizer kernels: fused, in-place parameter updates and gradient norms.
// Same names and arguments as native/cuda/optim.h (there the pointers are device memory).
//
// Every step kernel updates one parameter tensor of n elements in one pass; p, g and the state
// buffers are flat arrays of n floats. Scalars that depend on the step count (bias corrections,
// decay factors) are computed by the caller in double and passed in, so the kernels hold no
// state of their own.
#pragma once

#include <cstdint>

namespace atento::cpu {

// Adam / AdamW, PyTorch 1.13 order (torch/optim/adam.py, adamw.py, single-tensor path):
//   p *= param_scale                     AdamW: 1 - lr*wd (decoupled decay); Adam: 1
//   g' = g + grad_decay * p               Adam: wd (L2 into the gradient); AdamW: 0
//   m = beta1 m + one_minus_beta1 g'
//   v = beta2 v + one_minus_beta2 g'^2
//   vmax = max(vmax, v)                   only when vmax != nullptr (amsgrad)
//   p -= step_size * m / (sqrt(v or vmax) / bias_correction2_sqrt + eps)
// with step_size = lr / (1 - beta1^t), bias_correction2_sqrt = sqrt(1 - beta2^t).
// p, m, v, vmax: [n] updated in place; g: [n].
void adam_step(float* p, const float* g, float* m, float* v, float* vmax, int64_t n, float beta1,
               float beta2, float one_minus_beta1, float one_minus_beta2, float eps, float param_scale,
               float grad_decay, float step_size, float bias_correction2_sqrt);

// SGD with momentum, dampening, Nesterov and weight decay, PyTorch 1.13 (torch/optim/sgd.py):
//   d = g + weight_decay p
//   momentum != 0:  buf = first_step ? d : momentum buf + (1 - dampening) d
//                   d = nesterov ? d + momentum buf : buf
//   p -= lr d
// p, buf: [n] in place (buf unused and may be null when momentum == 0); g: [n].
void sgd_step(float* p, const float* g, float* buf, int64_t n, float lr, float momentum,
              float dampening, float weight_decay, bool nesterov, bool first_step);

// Per-tensor pieces of a global gradient norm over `count` tensors xs[k] of ns[k] floats:
//   norm_type == 2:   out[k] = sum x^2
//   norm_type == inf: out[k] = max |x|      (0 for an empty tensor)
//   otherwise:        out[k] = sum |x|^norm_type
// The caller combines them: (sum_k out[k])^(1/p), or max_k out[k]. out is host memory.
void grad_norms(double* out, const float* const* xs, const int64_t* ns, int64_t count, double norm_type);

// x[i] *= coef, i < n (clipping gradients in place).
void grad_scale(float* x, int64_t n, float coef);

}  // namespace atento::cpu
