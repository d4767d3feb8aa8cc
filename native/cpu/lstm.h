// lstm.h — LSTM, one layer, one direction, on the CPU: the whole sequence forward and backward
// (lstm.cc). Same function names and arguments as native/cuda/lstm.h.
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
// The cell (torch.nn.LSTMCell) is the sequence with T = 1.
#pragma once

#include <cstdint>

namespace atento::cpu {

// Forward over the whole sequence: one GEMM projects every step's input ([T*B,I] x [I,4H]), then
// per step one GEMM adds h_{t-1} wHh^T and one fused pointwise pass makes the gates, c_t and h_t.
void lstm_forward(float* out, float* hN, float* cN, float* gates, float* cs, const float* x,
                  const float* h0, const float* c0, const float* wIh, const float* wHh,
                  const float* bIh, const float* bHh, int64_t T, int64_t B, int64_t I, int64_t H);

// Backward through time. In: dOut [T,B,H] (null: out got no gradient), dh and dc [B,H] hold
// dL/dhN and dL/dcN (zeros when none); out: dh and dc hold dL/dh0 and dL/dc0.
// dGates [T,B,4H] is scratch: the gradients of the pre-activation gates of every step.
// dX [T,B,I], dWih [4H,I], dWhh [4H,H], dbIh [4H], dbHh [4H] are written, not accumulated;
// each may be null when not wanted. gates, cs and out are what lstm_forward left.
// Per step in reverse one fused pointwise pass makes dGates_t, one GEMM dh = dGates_t wHh; after
// the loop dX = dGates wIh, dWih = dGates^T x and dWhh = dGates^T [h0; out[0..T-2]] are one GEMM
// each over all steps, and the biases' gradients are the column sums of dGates.
void lstm_backward(float* dX, float* dWih, float* dWhh, float* dbIh, float* dbHh, float* dh,
                   float* dc, float* dGates, const float* dOut, const float* gates,
                   const float* cs, const float* out, const float* x, const float* h0,
                   const float* c0, const float* wIh, const float* wHh, int64_t T, int64_t B,
                   int64_t I, int64_t H);

}  // namespace atento::cpu
