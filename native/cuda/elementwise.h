// elementwise.h — host launchers of the CUDA elementwise kernels (elementwise.cu). Same names
// and arguments as native/cpu/elementwise.h (whose op codes and Layout they share); pointers
// are device memory; work goes on the atento stream.
#pragma once

#include <cstdint>

#include "../cpu/elementwise.h"

namespace atento::cuda {

void axpy(float* y, const float* x, float alpha, int64_t n);
void unary_forward(float* out, const float* x, int64_t n, int op, float a, float b);
void unary_backward(float* dx, const float* dy, const float* saved, int64_t n, int op, float a, float b);
void binary_forward(float* out, const float* a, const float* b, const Layout& l, int op);
void compare_forward(uint8_t* out, const float* a, const float* b, const Layout& l, int op);
void compare_forward(uint8_t* out, const int32_t* a, const int32_t* b, const Layout& l, int op);
void where_forward(float* out, const uint8_t* cond, const float* a, const float* b, const Layout& l);
void cast(void* out, const void* x, int64_t n, int from, int to);

}  // namespace atento::cuda
