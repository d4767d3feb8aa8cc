// lstm.h — host launchers of the CUDA LSTM (lstm.cu). Same names, arguments and shapes as
// native/cpu/lstm.h; pointers are device memory; work goes on the atento stream.
//
// PyTorch layout and gate order (i, f, g, o):
//   gates = x wIh^T + bIh + h wHh^T + bHh;  i, f, o = sigmoid, g = tanh
//   c' = f c + i g;  h' = o tanh(c')
// Shapes (time-major, all dense row-major float32):
//   x [T,B,I], h0 [B,H], c0 [B,H] (null: zeros), wIh [4H,I], wHh [4H,H], bIh [4H], bHh [4H]
//   (null: no bias), out [T,B,H] (h_t for every t), hN [B,H], cN [B,H] (null: not wanted).
// Workspace kept from forward for backward:
//   gates [T,B,4H]  the activated gates i, f, g, o of every step
//   cs    [T,B,H]   c_t of every step
#pragma once

#include <cstdint>

namespace atento::cuda {

// Forward over the whole sequence: one cuBLAS GEMM projects every step's input, then per step
// one GEMM adds h_{t-1} wHh^T and lstm_forward_pointwise_kernel makes the gates, c_t and h_t.
void lstm_forward(float* out, float* hN, float* cN, float* gates, float* cs, const float* x,
                  const float* h0, const float* c0, const float* wIh, const float* wHh,
                  const float* bIh, const float* bHh, int64_t T, int64_t B, int64_t I, int64_t H);

// Backward through time (see native/cpu/lstm.h): dh, dc [B,H] hold dL/dhN, dL/dcN on entry and
// dL/dh0, dL/dc0 on return; dGates [T,B,4H] is scratch; dX, dWih, dWhh, dbIh, dbHh are written
// (each may be null). Per step lstm_backward_pointwise_kernel then one GEMM; after the loop one
// GEMM each for dX, dWih, dWhh and lstm_bias_backward_kernel for the biases.
void lstm_backward(float* dX, float* dWih, float* dWhh, float* dbIh, float* dbHh, float* dh,
                   float* dc, float* dGates, const float* dOut, const float* gates,
                   const float* cs, const float* out, const float* x, const float* h0,
                   const float* c0, const float* wIh, const float* wHh, int64_t T, int64_t B,
                   int64_t I, int64_t H);

}  // namespace atento::cuda
