// attention.cc — bindings of fused scaled-dot-product attention (native/cpu/attention.h,
// native/cuda/attention.h). Every size the kernels rely on is checked against the buffers here,
// the mask's extent included (from its broadcast strides), so a bad call from JS is an
// ERR_SHAPE / ERR_DTYPE / ERR_DEVICE / ERR_ARGUMENT, never an out-of-bounds access.
#include <algorithm>
#include <string>
#include <utility>

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
  check(s.size() == 4, "ERR_ARGUMENT", [&] { return std::string(a.op()) + ": maskStrides must hold 4 integers"; });
  int i = strides_at + 1;
  d.B = a.int64(i++), d.H = a.int64(i++), d.Tq = a.int64(i++), d.Tk = a.int64(i++);
  d.D = a.int64(i++), d.Dv = a.int64(i++);
  d.scale = (float)a.number(i++);
  d.causal = a.flag(i++);
  check(d.B >= 0 && d.H >= 0 && d.Tq >= 0 && d.Tk >= 0 && d.D >= 0 && d.Dv >= 0, "ERR_SHAPE",
        [&] { return std::string(a.op()) + ": negative size"; });
  const int64_t sizes[4] = {d.B, d.H, d.Tq, d.Tk};
  d.mask_extent = 1;
  for (int k = 0; k < 4; k++) {
    check(s[k] >= 0, "ERR_SHAPE", [&] { return std::string(a.op()) + ": negative mask stride"; });
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

// The optional operand layout (cpu only; see cpu/attention.h): 16 integers, {off, sb, sh, st} of
// q, k, v and out in that order, at argument `at`. Each operand's last row must lie inside its
// buffer (elements: q, k, v, o); the written ones (`written`: q, k, v and/or o) must not reach
// one row from two (b, h, t), which would race. Returns false when the argument is absent.
bool read_layout(Args& a, int at, const Dims& d, const int64_t elems[4], const bool written[4],
                 cpu::AttentionLayout& layout) {
  if (a.absent(at)) return false;
  check(a.device() == Device::CPU, "ERR_NOT_IMPLEMENTED",
        [&] {
          return std::string(a.op()) + ": operand layouts are a cpu feature; give dense [B,H,T,D] tensors on cuda";
        });
  std::vector<int64_t> v = a.int64s(at);
  check(v.size() == 16, "ERR_ARGUMENT", [&] { return std::string(a.op()) + ": the layout must hold 16 integers"; });
  cpu::AttentionStrides* ops[4] = {&layout.q, &layout.k, &layout.v, &layout.o};
  const int64_t T[4] = {d.Tq, d.Tk, d.Tk, d.Tq}, W[4] = {d.D, d.D, d.Dv, d.Dv};  // rows, row width
  const char* names[4] = {"q", "k", "v", "out"};
  for (int k = 0; k < 4; k++) {
    cpu::AttentionStrides& s = *ops[k];
    s = {v[4 * k], v[4 * k + 1], v[4 * k + 2], v[4 * k + 3]};
    const auto what = [&] { return std::string(a.op()) + ": layout of " + names[k]; };
    check(s.off >= 0 && s.sb >= 0 && s.sh >= 0 && s.st >= 0, "ERR_SHAPE",
          [&] { return what() + " has a negative entry"; });
    if (d.B == 0 || d.H == 0 || T[k] == 0 || W[k] == 0) continue;
    const int64_t last = add(add(add(s.off, mul(d.B - 1, s.sb)), mul(d.H - 1, s.sh)), mul(T[k] - 1, s.st));
    check(add(last, W[k]) <= elems[k], "ERR_SHAPE", [&] { return what() + " reaches past the end of its buffer"; });
    if (!written[k]) continue;
    // Rows of W[k] values at b*sb + h*sh + t*st never overlap when, by increasing stride, each
    // stride spans all rows of the smaller ones (sizes 1 impose nothing).
    std::pair<int64_t, int64_t> dims[3] = {{s.st, T[k]}, {s.sh, d.H}, {s.sb, d.B}};
    std::sort(dims, dims + 3);
    int64_t span = W[k];
    for (auto [stride, n] : dims) {
      if (n == 1) continue;
      check(stride >= span, "ERR_SHAPE", [&] { return what() + " makes rows overlap"; });
      span = mul(stride, n);
    }
  }
  return true;
}

}  // namespace

// attentionForward(out, lse, q, k, v, mask|null, maskStrides[4], B, H, Tq, Tk, D, Dv, scale, causal
//                  [, tf32[, layout]])
// out [B,H,Tq,Dv], lse [B,H,Tq]; mask additive float32, element (b,h,i,j) at
// b*ms[0] + h*ms[1] + i*ms[2] + j*ms[3]. tf32 (default false): on cuda, the tensor-core kernel
// (cuda::attention_forward_tf32); the cpu device ignores it. layout (cpu only, 16 integers): where
// the rows of q, k, v and out are (cpu/attention.h); q, k, v, out may then be larger buffers, and
// q, k, v one buffer (a packed projection).
ATENTO_EXPORT(attentionForward) {
  Args a(info, "scaledDotProductAttention");
  Dims d = read_dims(a, 6);
  const bool tf32 = !a.absent(15) && a.flag(15);
  cpu::AttentionLayout layout;
  const bool strided = !a.absent(16);
  if (strided) {
    auto n = [&](int i) { return (int64_t)(a.buffer(i).bytes / sizeof(float)); };  // dtypes are checked below
    const int64_t elems[4] = {n(2), n(3), n(4), n(0)};
    const bool written[4] = {false, false, false, true};
    read_layout(a, 16, d, elems, written, layout);
  }
  float* out = a.f32(0, strided ? 0 : d.o);
  float* lse = a.f32(1, d.l);
  const float* q = a.f32(2, strided ? 0 : d.q);
  const float* k = a.f32(3, strided ? 0 : d.k);
  const float* v = a.f32(4, strided ? 0 : d.v);
  const float* mask = a.f32_opt(5, d.mask_extent);
  if (strided) {
    cpu::attention_forward(out, lse, q, k, v, mask, d.ms, d.B, d.H, d.Tq, d.Tk, d.D, d.Dv, d.scale, d.causal,
                           &layout);
    return info.Env().Undefined();
  }
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
//                   B, H, Tq, Tk, D, Dv, scale, causal[, layout])
// layout (cpu only): as attentionForward's; dq, dk, dv have the layouts of q, k, v and dout that of
// out, so every pair must fit both of its buffers.
ATENTO_EXPORT(attentionBackward) {
  Args a(info, "scaledDotProductAttention backward");
  Dims d = read_dims(a, 10);
  cpu::AttentionLayout layout;
  const bool strided = !a.absent(19);
  if (strided) {
    auto n = [&](int i) { return (int64_t)(a.buffer(i).bytes / sizeof(float)); };  // dtypes are checked below
    const int64_t elems[4] = {std::min(n(0), n(4)), std::min(n(1), n(5)), std::min(n(2), n(6)), std::min(n(3), n(7))};
    const bool written[4] = {true, true, true, false};
    read_layout(a, 19, d, elems, written, layout);
  }
  float* dq = a.f32(0, strided ? 0 : d.q);
  float* dk = a.f32(1, strided ? 0 : d.k);
  float* dv = a.f32(2, strided ? 0 : d.v);
  const float* dout = a.f32(3, strided ? 0 : d.o);
  const float* q = a.f32(4, strided ? 0 : d.q);
  const float* k = a.f32(5, strided ? 0 : d.k);
  const float* v = a.f32(6, strided ? 0 : d.v);
  const float* out = a.f32(7, strided ? 0 : d.o);
  const float* lse = a.f32(8, d.l);
  const float* mask = a.f32_opt(9, d.mask_extent);
  if (strided) {
    cpu::attention_backward(dq, dk, dv, dout, q, k, v, out, lse, mask, d.ms, d.B, d.H, d.Tq, d.Tk, d.D, d.Dv, d.scale,
                            d.causal, &layout);
    return info.Env().Undefined();
  }
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
