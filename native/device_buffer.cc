// device_buffer.cc — see device_buffer.h.
#include "device_buffer.h"

#include "addon.h"

#ifdef ATENTO_WITH_CUDA
#include "cuda/device.h"
#endif

namespace atento {

static const napi_type_tag kDeviceBufferTag = {0x6174656e746f4442ULL, 0x7566666572763031ULL};

Napi::Function DeviceBuffer::Define(Napi::Env env) {
  return DefineClass(env, "DeviceBuffer",
                     {InstanceMethod<&DeviceBuffer::Free>("free"), InstanceMethod<&DeviceBuffer::Reuse>("reuse"),
                      InstanceAccessor<&DeviceBuffer::GetBytes>("bytes")});
}

DeviceBuffer* DeviceBuffer::Unwrap(const Napi::Value& v) {
  if (!v.IsObject()) return nullptr;
  bool tagged = false;
  if (napi_check_object_type_tag(v.Env(), v, &kDeviceBufferTag, &tagged) != napi_ok || !tagged)
    return nullptr;
  return Napi::ObjectWrap<DeviceBuffer>::Unwrap(v.As<Napi::Object>());
}

// new DeviceBuffer(bytes, dtypeIndex) — called only by native.deviceAlloc.
DeviceBuffer::DeviceBuffer(const Napi::CallbackInfo& info) : Napi::ObjectWrap<DeviceBuffer>(info) {
  napi_type_tag_object(info.Env(), info.This(), &kDeviceBufferTag);
  env_ = info.Env();
  if (info.Length() < 2 || !info[0].IsNumber() || !info[1].IsNumber()) {
    Napi::TypeError::New(info.Env(), "DeviceBuffer(bytes, dtype)").ThrowAsJavaScriptException();
    return;
  }
  allocate(info.Env(), info[0].As<Napi::Number>().DoubleValue(), info[1].As<Napi::Number>().Int32Value());
}

// Takes a new allocation; the wrapper must be freed. Throws (as a pending JS exception) on error.
void DeviceBuffer::allocate(Napi::Env env, double bytes, int dtype) {
  if (!(bytes >= 0 && bytes <= 1e15) || dtype < 0 || dtype > 2) {
    make_error(env, "ERR_ARGUMENT", "DeviceBuffer: bad size or dtype").ThrowAsJavaScriptException();
    return;
  }
#ifdef ATENTO_WITH_CUDA
  try {
    data_ = cuda::alloc(static_cast<size_t>(bytes));
  } catch (const Error& e) {
    make_error(env, e.code(), e.what()).ThrowAsJavaScriptException();
    return;
  }
  bytes_ = static_cast<size_t>(bytes);
  dtype_ = static_cast<Dtype>(dtype);
  freed_ = false;
  Napi::MemoryManagement::AdjustExternalMemory(env, static_cast<int64_t>(bytes_));
#else
  make_error(env, "ERR_DEVICE", "this build of atento has no CUDA support").ThrowAsJavaScriptException();
#endif
}

// buf.reuse(bytes, dtypeIndex): a freed wrapper takes a new allocation and returns itself.
Napi::Value DeviceBuffer::Reuse(const Napi::CallbackInfo& info) {
  if (!freed_) {
    make_error(info.Env(), "ERR_INTERNAL", "DeviceBuffer.reuse: the buffer is still in use").ThrowAsJavaScriptException();
    return info.Env().Undefined();
  }
  if (info.Length() < 2 || !info[0].IsNumber() || !info[1].IsNumber()) {
    make_error(info.Env(), "ERR_ARGUMENT", "DeviceBuffer.reuse(bytes, dtype)").ThrowAsJavaScriptException();
    return info.Env().Undefined();
  }
  allocate(info.Env(), info[0].As<Napi::Number>().DoubleValue(), info[1].As<Napi::Number>().Int32Value());
  return info.This();
}

void DeviceBuffer::release() {
  if (freed_) return;
  freed_ = true;
#ifdef ATENTO_WITH_CUDA
  cuda::release(data_, bytes_);
#endif
  data_ = nullptr;
}

DeviceBuffer::~DeviceBuffer() {
  // The finalizer (the buffer was never freed explicitly): return the memory and take back the
  // external-memory report. No JS runs here.
  if (freed_) return;
  release();
  napi_adjust_external_memory(env_, -static_cast<int64_t>(bytes_), nullptr);
}

Napi::Value DeviceBuffer::Free(const Napi::CallbackInfo& info) {
  if (!freed_) {
    release();
    Napi::MemoryManagement::AdjustExternalMemory(info.Env(), -static_cast<int64_t>(bytes_));
  }
  return info.Env().Undefined();
}

Napi::Value DeviceBuffer::GetBytes(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(bytes_));
}

}  // namespace atento
