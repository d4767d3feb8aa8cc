// attention.cc — bindings of fused scaled-dot-product attention (native/cpu/attention.h,
// native/cuda/attention.h). Every size the kernels rely on is checked against the buffers here,
// the mask's extent included (from its broadcast strides), so a bad call from JS is an
// ERR_SHAPE / ERR_DTYPE / ERR_DEVICE / ERR_ARGUMENT, never an out-of-bounds access.
#include <string>

#include "../cpu/attention.h"
#include "../napi_util.h"
#ifdef ATENTO_WITH_CUDA
#include "../cuda/attention.h"
#include "../cuda/device.h"
#endif

namespace atento {

namespace {

// a * b, or ERR_SHAPE when it overflows (sizes come from JS and may be absurd).
int64_t mul(int64_t a, int64_t b) {
  int64_t r;
  if (__builtin_mul_overflow(a, b, &r)) throw Error("ERR_SHAPE", "scaledDotProductAttention: sizes overflow");
  return r;
}
int64_t add(int64_t a, int64_t b) {
  int64_t r;
  if (__builtin_add_overflow(a, b, &r)) throw Error("ERR_SHAPE", "scaledDotProductAttention: sizes overflow");
  return r;
}

// The scalar arguments shared by every entry point: mask strides, then
// B, H, Tq, Tk, D, Dv, scale, causal.
struct Dims {
  int64_t ms[4];
  int64_t B, H, Tq, Tk, D, Dv;
  float scale;
  bool causal;
  int64_t mask_extent;  // elements a mask with these strides must hold
  int64_t q, k, v, o, l;  // element counts of q, k, v, out, lse
};

Dims read_dims(Args& a, int strides_at) {
  Dims d{};
  std::vector<int64_t> s = a.int64s(strides_at);
  check(s.size() == 4, "ERR_ARGUMENT", std::string(a.op()) + ": maskStrides must hold 4 integers");
  int i = strides_at + 1;
  d.B = a.int64(i++), d.H = a.int64(i++), d.Tq = a.int64(i++), d.Tk = a.int64(i++);
  d.D = a.int64(i++), d.Dv = a.int64(i++);
  d.scale = (float)a.number(i++);
  d.causal = a.flag(i++);
  check(d.B >= 0 && d.H >= 0 && d.Tq >= 0 && d.Tk >= 0 && d.D >= 0 && d.Dv >= 0, "ERR_SHAPE",
        std::string(a.op()) + ": negative size");
  const int64_t sizes[4] = {d.B, d.H, d.Tq, d.Tk};
  d.mask_extent = 1;
  for (int k = 0; k < 4; k++) {
    check(s[k] >= 0, "ERR_SHAPE", std::string(a.op()) + ": negative mask stride");
    d.ms[k] = s[k];
    if (sizes[k] == 0) d.mask_extent = 0;
  }
  if (d.mask_extent)
    for (int k = 0; k < 4; k++) d.mask_extent = add(d.mask_extent, mul(sizes[k] - 1, s[k]));
  const int64_t bh = mul(d.B, d.H);
  d.q = mul(mul(bh, d.Tq), d.D);
  d.k = mul(mul(bh, d.Tk), d.D);
  d.v = mul(mul(bh, d.Tk), d.Dv);
  d.o = mul(mul(bh, d.Tq), d.Dv);
  d.l = mul(bh, d.Tq);
  return d;
}

}  // namespace

// attentionForward(out, lse, q, k, v, mask|null, maskStrides[4], B, H, Tq, Tk, D, Dv, scale, causal
//                  [, tf32])
// out [B,H,Tq,Dv], lse [B,H,Tq]; mask additive float32, element (b,h,i,j) at
// b*ms[0] + h*ms[1] + i*ms[2] + j*ms[3]. tf32 (default false): on cuda, the tensor-core kernel
// (cuda::attention_forward_tf32); the cpu device ignores it.
ATENTO_EXPORT(attentionForward) {
  Args a(info, "scaledDotProductAttention");
  Dims d = read_dims(a, 6);
  const bool tf32 = !a.absent(15) && a.flag(15);
  float* out = a.f32(0, d.o);
  float* lse = a.f32(1, d.l);
  const float* q = a.f32(2, d.q);
  const float* k = a.f32(3, d.k);
  const float* v = a.f32(4, d.v);
  const float* mask = a.f32_opt(5, d.mask_extent);
#ifdef ATENTO_WITH_CUDA
  if (tf32 && a.device() == Device::CUDA) {
    cuda::attention_forward_tf32(out, lse, q, k, v, mask, d.ms, d.B, d.H, d.Tq, d.Tk, d.D, d.Dv, d.scale,
                                 d.causal);
    cuda::check_launch("attention_forward_tf32");
    return info.Env().Undefined();
  }
#endif
  (void)tf32;
  ATENTO_DISPATCH(a.device(), attention_forward(out, lse, q, k, v, mask, d.ms, d.B, d.H, d.Tq, d.Tk,
                                                d.D, d.Dv, d.scale, d.causal));
  return info.Env().Undefined();
}

// attentionBackward(dq, dk, dv, dout, q, k, v, out, lse, mask|null, maskStrides[4],
//                   B, H, Tq, Tk, D, Dv, scale, causal)
ATENTO_EXPORT(attentionBackward) {
  Args a(info, "scaledDotProductAttention backward");
  Dims d = read_dims(a, 10);
  float* dq = a.f32(0, d.q);
  float* dk = a.f32(1, d.k);
  float* dv = a.f32(2, d.v);
  const float* dout = a.f32(3, d.o);
  const float* q = a.f32(4, d.q);
  const float* k = a.f32(5, d.k);
  const float* v = a.f32(6, d.v);
  const float* out = a.f32(7, d.o);
  const float* lse = a.f32(8, d.l);
  const float* mask = a.f32_opt(9, d.mask_extent);
  ATENTO_DISPATCH(a.device(), attention_backward(dq, dk, dv, dout, q, k, v, out, lse, mask, d.ms, d.B,
                                                 d.H, d.Tq, d.Tk, d.D, d.Dv, d.scale, d.causal));
  return info.Env().Undefined();
}

// attentionForwardRef / attentionBackwardRef: the CPU reference kernels (tests), same arguments.
ATENTO_EXPORT(attentionForwardRef) {
  Args a(info, "scaledDotProductAttention reference");
  Dims d = read_dims(a, 6);
  float* out = a.f32(0, d.o);
  float* lse = a.f32(1, d.l);
  const float* q = a.f32(2, d.q);
  const float* k = a.f32(3, d.k);
  const float* v = a.f32(4, d.v);
  const float* mask = a.f32_opt(5, d.mask_extent);
  check(a.device() == Device::CPU, "ERR_DEVICE", "attentionForwardRef: cpu buffers only");
  cpu::attention_forward_ref(out, lse, q, k, v, mask, d.ms, d.B, d.H, d.Tq, d.Tk, d.D, d.Dv, d.scale,
                             d.causal);
  return info.Env().Undefined();
}

ATENTO_EXPORT(attentionBackwardRef) {
  Args a(info, "scaledDotProductAttention reference backward");
  Dims d = read_dims(a, 10);
  float* dq = a.f32(0, d.q);
  float* dk = a.f32(1, d.k);
  float* dv = a.f32(2, d.v);
  const float* dout = a.f32(3, d.o);
  const float* q = a.f32(4, d.q);
  const float* k = a.f32(5, d.k);
  const float* v = a.f32(6, d.v);
  const float* out = a.f32(7, d.o);
  const float* lse = a.f32(8, d.l);
  const float* mask = a.f32_opt(9, d.mask_extent);
  check(a.device() == Device::CPU, "ERR_DEVICE", "attentionBackwardRef: cpu buffers only");
  cpu::attention_backward_ref(dq, dk, dv, dout, q, k, v, out, lse, mask, d.ms, d.B, d.H, d.Tq, d.Tk,
                              d.D, d.Dv, d.scale, d.causal);
  return info.Env().Undefined();
}

}  // namespace atento
