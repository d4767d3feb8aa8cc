// device_buffer.h — DeviceBuffer: a JS object that owns one CUDA allocation.
//
// Created by native.deviceAlloc(bytes, dtype). free() returns the memory to the caching
// allocator and is safe to call twice; the finalizer calls the same routine, so a buffer the
// program forgets is freed by the garbage collector. Every allocation is reported to V8 with
// AdjustExternalMemory so the GC feels device-memory pressure. A freed wrapper can take a new
// allocation (reuse()), so a training loop recycles wrapper objects instead of leaving one per
// tensor for the garbage collector, whose native finalizers Node runs only between event-loop
// turns (a synchronous loop would otherwise pile them up). Objects are type-tagged: a
// foreign object passed where a DeviceBuffer is expected is an error, never a crash.
#pragma once

#include <napi.h>

#include "napi_util.h"

namespace atento {

class DeviceBuffer : public Napi::ObjectWrap<DeviceBuffer> {
 public:
  static Napi::Function Define(Napi::Env env);
  // The DeviceBuffer behind `v`, or nullptr when `v` is not one.
  static DeviceBuffer* Unwrap(const Napi::Value& v);

  explicit DeviceBuffer(const Napi::CallbackInfo& info);
  ~DeviceBuffer() override;

  void* data() const { return data_; }
  size_t bytes() const { return bytes_; }
  Dtype dtype() const { return dtype_; }
  bool freed() const { return freed_; }

 private:
  Napi::Value Free(const Napi::CallbackInfo& info);
  Napi::Value Reuse(const Napi::CallbackInfo& info);
  void allocate(Napi::Env env, double bytes, int dtype);
  Napi::Value GetBytes(const Napi::CallbackInfo& info);
  void release();

  void* data_ = nullptr;
  size_t bytes_ = 0;
  Dtype dtype_ = Dtype::Float32;
  bool freed_ = true;
  napi_env env_ = nullptr;
};

}  // namespace atento
