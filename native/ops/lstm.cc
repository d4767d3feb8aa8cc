// lstm.cc — bindings of the LSTM sequence op, forward and backward (native/cpu|cuda/lstm.*).
// One call runs the whole sequence (the time loop is in C++); the cell is the case T = 1.
// Shapes and formulas: native/cpu/lstm.h. The workspace `ws` holds, back to back,
// gates [T,B,4H] (activated i, f, g, o of every step) and cs [T,B,H] (c_t of every step).
#include "../cpu/lstm.h"
#include "../napi_util.h"
#ifdef ATENTO_WITH_CUDA
#include "../cuda/device.h"
#include "../cuda/lstm.h"
#endif

namespace atento {

namespace {

struct Dims {
  int64_t T, B, I, H;
};

Dims read_dims(Args& a, int first) {
  Dims d{a.int64(first), a.int64(first + 1), a.int64(first + 2), a.int64(first + 3)};
  check(d.T >= 1 && d.B >= 1 && d.I >= 1 && d.H >= 1, "ERR_SHAPE",
        [&] { return std::string(a.op()) + ": T, B, I and H must be at least 1"; });
  // Every element count below (at most T*B*5H, 4H*max(I,H)) must be exact in int64.
  const double biggest = (double)d.T * d.B * 5 * d.H + 4.0 * d.H * ((double)d.I + d.H) + (double)d.T * d.B * d.I;
  check(biggest < 9007199254740992.0, "ERR_SHAPE", [&] { return std::string(a.op()) + ": sizes too large"; });
  return d;
}

}  // namespace

// lstmForward(out, hN|null, cN|null, ws, x, h0|null, c0|null, wIh, wHh, bIh|null, bHh|null, T, B, I, H)
ATENTO_EXPORT(lstmForward) {
  Args a(info, "lstm");
  const auto [T, B, I, H] = read_dims(a, 11);
  const int64_t G = 4 * H;
  float* out = a.f32(0, T * B * H);
  float* hN = a.f32_opt(1, B * H);
  float* cN = a.f32_opt(2, B * H);
  float* ws = a.f32(3, T * B * (G + H));
  const float* x = a.f32(4, T * B * I);
  const float* h0 = a.f32_opt(5, B * H);
  const float* c0 = a.f32_opt(6, B * H);
  const float* wIh = a.f32(7, G * I);
  const float* wHh = a.f32(8, G * H);
  const float* bIh = a.f32_opt(9, G);
  const float* bHh = a.f32_opt(10, G);
  float* gates = ws;
  float* cs = ws + T * B * G;
  ATENTO_DISPATCH(a.device(), lstm_forward(out, hN, cN, gates, cs, x, h0, c0, wIh, wHh, bIh, bHh, T, B, I, H));
  return info.Env().Undefined();
}

// lstmBackward(dX|null, dWih|null, dWhh|null, dbIh|null, dbHh|null, dh, dc, dGates, dOut|null,
//              ws, out, x, h0|null, c0|null, wIh, wHh, T, B, I, H)
// dh, dc [B,H]: dL/dhN, dL/dcN in; dL/dh0, dL/dc0 out. dGates [T,B,4H]: scratch.
ATENTO_EXPORT(lstmBackward) {
  Args a(info, "lstm");
  const auto [T, B, I, H] = read_dims(a, 16);
  const int64_t G = 4 * H;
  float* dX = a.f32_opt(0, T * B * I);
  float* dWih = a.f32_opt(1, G * I);
  float* dWhh = a.f32_opt(2, G * H);
  float* dbIh = a.f32_opt(3, G);
  float* dbHh = a.f32_opt(4, G);
  float* dh = a.f32(5, B * H);
  float* dc = a.f32(6, B * H);
  float* dGates = a.f32(7, T * B * G);
  const float* dOut = a.f32_opt(8, T * B * H);
  const float* ws = a.f32(9, T * B * (G + H));
  const float* out = a.f32(10, T * B * H);
  const float* x = a.f32(11, T * B * I);
  const float* h0 = a.f32_opt(12, B * H);
  const float* c0 = a.f32_opt(13, B * H);
  const float* wIh = a.f32(14, G * I);
  const float* wHh = a.f32(15, G * H);
  const float* gates = ws;
  const float* cs = ws + T * B * G;
  ATENTO_DISPATCH(a.device(), lstm_backward(dX, dWih, dWhh, dbIh, dbHh, dh, dc, dGates, dOut, gates, cs, out, x,
                                            h0, c0, wIh, wHh, T, B, I, H));
  return info.Env().Undefined();
}

}  // namespace atento
