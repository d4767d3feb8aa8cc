// softmax.h — softmax and log-softmax over one dimension on the CPU, forward and backward.
//
// Shapes: x, out, dx, dout are (outer, C, inner), contiguous; the op normalises over C, so
// element (o, c, j) lives at ((o * C) + c) * inner + j. inner == 1 (the last dim) is the fast
// case. `log` selects log-softmax.
//   softmax:     out = exp(x - max) / sum exp(x - max)
//                dx  = out * (dout - sum(dout * out))
//   log-softmax: out = x - max - log(sum exp(x - max))
//                dx  = dout - exp(out) * sum(dout)
// A row of all -inf gives NaN (like PyTorch); -inf entries in a row with a finite entry give
// exactly 0 (softmax) / -inf (log-softmax).
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>

namespace atento::cpu {

void softmax_forward(float* out, const float* x, int64_t outer, int64_t C, int64_t inner, bool log);
void softmax_backward(float* dx, const float* dout, const float* out, int64_t outer, int64_t C,
                      int64_t inner, bool log);

// The references: plain loops, double accumulation. The yardstick for tests.
void softmax_forward_ref(float* out, const float* x, int64_t outer, int64_t C, int64_t inner, bool log);
void softmax_backward_ref(float* dx, const float* dout, const float* out, int64_t outer, int64_t C,
                          int64_t inner, bool log);

// out[i] = exp(x[i]) (log: log(x[i])) by the vectorised functions the softmax, cross-entropy and
// attention kernels use (vec.h: vexp / vlog on 16 values at a time, exp_simd / std::log for the
// rest), for the tests of those functions.
void exp_vectorised(float* out, const float* x, int64_t n);
void log_vectorised(float* out, const float* x, int64_t n);

}  // namespace atento::cpu
