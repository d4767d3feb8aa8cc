// elementwise.h — CPU elementwise kernels. Shapes are flat element counts.
#pragma once

#include <cstdint>

namespace atento::cpu {

// y[i] += alpha * x[i], i < n  (gradient accumulation, in place)
void axpy(float* y, const float* x, float alpha, int64_t n);

}  // namespace atento::cpu
