// napi_util.h — the bindings' toolkit: reading arguments, checking buffers, dispatching to a
// device, and turning C++ failures into JS AtentoErrors.
//
// Every op binding has the same shape (see native/ops/matmul.cc for a complete one):
//
//   ATENTO_EXPORT(layerNormForward) {          // JS: native.layerNormForward(out, ..., eps)
//     Args a(info, "layerNorm");
//     int64_t N = a.int64(6), C = a.int64(7);
//     float* out = a.f32(0, N * C);            // checks dtype, size, device
//     ...
//     ATENTO_DISPATCH(a.device(), layernorm_forward(out, ...));
//     return info.Env().Undefined();
//   }
//
// Buffers are CPU TypedArrays or DeviceBuffer objects (CUDA memory). Args checks that every
// buffer has the dtype and at least the number of elements the kernel will touch, and that all
// buffers of one call live on one device, so a kernel never reads out of bounds even when the
// TS layer above it is bypassed.
#pragma once

#include <napi.h>

#include <functional>
#include <string>
#include <vector>

#include "common.h"

namespace atento {

enum class Device { None, CPU, CUDA };
enum class Dtype { Float32, Int32, Bool };

const char* dtype_name(Dtype d);
size_t dtype_size(Dtype d);

// A view of one buffer argument.
struct Buffer {
  void* data = nullptr;
  size_t bytes = 0;
  Dtype dtype = Dtype::Float32;
  Device device = Device::None;
  bool present() const { return device != Device::None; }
};

// Reads a buffer from a JS value: a Float32Array/Int32Array/Uint8Array (cpu) or a DeviceBuffer
// (cuda). Throws ERR_ARGUMENT for anything else, ERR_DISPOSED for a freed DeviceBuffer.
Buffer read_buffer(const Napi::Value& v, const std::string& what);

class Args {
 public:
  Args(const Napi::CallbackInfo& info, const char* op) : info_(info), op_(op) {}

  // Typed pointers to buffer arguments holding at least `count` elements.
  float* f32(int i, int64_t count) { return static_cast<float*>(need(i, count, Dtype::Float32).data); }
  int32_t* i32(int i, int64_t count) { return static_cast<int32_t*>(need(i, count, Dtype::Int32).data); }
  uint8_t* u8(int i, int64_t count) { return static_cast<uint8_t*>(need(i, count, Dtype::Bool).data); }
  // The same, or nullptr when the argument is null/undefined.
  float* f32_opt(int i, int64_t count) { return absent(i) ? nullptr : f32(i, count); }
  int32_t* i32_opt(int i, int64_t count) { return absent(i) ? nullptr : i32(i, count); }
  // Any buffer, unchecked size (for copies that check bytes themselves).
  Buffer buffer(int i);

  int64_t int64(int i);                // integral JS number
  double number(int i);                // finite or not, any JS number
  bool flag(int i);                    // JS boolean
  std::vector<int64_t> int64s(int i);  // array of integral numbers
  bool absent(int i) const { return i >= (int)info_.Length() || info_[i].IsNull() || info_[i].IsUndefined(); }

  // The device of the buffers read so far (throws ERR_ARGUMENT if none was read).
  Device device() const;
  const char* op() const { return op_; }

 private:
  Buffer need(int i, int64_t count, Dtype dtype);
  void note_device(Device d, int i);

  const Napi::CallbackInfo& info_;
  const char* op_;
  Device device_ = Device::None;
};

// Runs a kernel call on the device the buffers live on. In a build without CUDA no buffer can
// live on `cuda`, so the CUDA branch only throws.
#ifdef ATENTO_WITH_CUDA
#define ATENTO_DISPATCH(dev, call)                 \
  do {                                             \
    if ((dev) == ::atento::Device::CPU) {          \
      ::atento::cpu::call;                         \
    } else {                                       \
      ::atento::cuda::call;                        \
      ::atento::cuda::check_launch(#call);         \
    }                                              \
  } while (0)
#else
#define ATENTO_DISPATCH(dev, call)                                                      \
  do {                                                                                  \
    if ((dev) == ::atento::Device::CPU) {                                               \
      ::atento::cpu::call;                                                              \
    } else {                                                                            \
      throw ::atento::Error("ERR_DEVICE", "this build of atento has no CUDA support");  \
    }                                                                                   \
  } while (0)
#endif

// --- Exporting functions ---------------------------------------------------------------------
// ATENTO_EXPORT(name) { ... } defines a binding and registers it under `name` on the module's
// exports, from any .cc file, with no central list to edit. The body runs inside a guard that
// converts atento::Error / std::bad_alloc / std::exception into a thrown JS AtentoError.
using Binding = Napi::Value (*)(const Napi::CallbackInfo&);
struct Registration {
  Registration(const char* name, Binding fn);
};
Napi::Value guarded(const Napi::CallbackInfo& info, Binding body);

#define ATENTO_EXPORT(name)                                                                   \
  static Napi::Value name##_body(const Napi::CallbackInfo& info);                             \
  static Napi::Value name##_guarded(const Napi::CallbackInfo& info) {                         \
    return ::atento::guarded(info, name##_body);                                              \
  }                                                                                           \
  static ::atento::Registration name##_registration(#name, name##_guarded);                   \
  static Napi::Value name##_body(const Napi::CallbackInfo& info)

// Throws a JS AtentoError(code, message) into `env` (used by guarded and by async workers).
Napi::Error make_error(Napi::Env env, const char* code, const std::string& message);

// Registered bindings, for addon.cc.
const std::vector<std::pair<const char*, Binding>>& registrations();

}  // namespace atento
