// layernorm.h — layer normalisation on the CPU, forward and backward (PyTorch's formulas).
//
// Shapes: x, out, dx, dout are (N, C): N rows, each normalised over its C values (C is the
// product of normalizedShape). w, b, dw, db are (C); mean, rstd are (N).
//   mean = sum(x) / C,  var = sum((x - mean)^2) / C (biased),  rstd = 1 / sqrt(var + eps)
//   out  = (x - mean) * rstd * w + b          (w, b may be null: no affine transform)
// Backward, with xhat = (x - mean) * rstd and dn = dout * w:
//   dx = rstd * (dn - mean(dn) - xhat * mean(dn * xhat))
//   dw = sum over rows of dout * xhat,  db = sum over rows of dout
// dx, dw, db are overwritten; any of them may be null (not wanted). w null means w = 1.
#pragma once

#include <cstdint>

namespace atento::cpu {

void layernorm_forward(float* out, float* mean, float* rstd, const float* x, const float* w, const float* b,
                       int64_t N, int64_t C, float eps);
void layernorm_backward(float* dx, float* dw, float* db, const float* dout, const float* x, const float* w,
                        const float* mean, const float* rstd, int64_t N, int64_t C);

// The references: plain loops, double accumulation. The yardstick for tests.
void layernorm_forward_ref(float* out, float* mean, float* rstd, const float* x, const float* w, const float* b,
                           int64_t N, int64_t C, float eps);
void layernorm_backward_ref(float* dx, float* dw, float* db, const float* dout, const float* x, const float* w,
                            const float* mean, const float* rstd, int64_t N, int64_t C);

}  // namespace atento::cpu
