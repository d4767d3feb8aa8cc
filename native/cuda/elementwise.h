// elementwise.h — host launchers of the CUDA elementwise kernels (elementwise.cu). Same names
// and arguments as native/cpu/elementwise.h; pointers are device memory; work goes on the
// atento stream.
#pragma once

#include <cstdint>

namespace atento::cuda {

void axpy(float* y, const float* x, float alpha, int64_t n);

}  // namespace atento::cuda
