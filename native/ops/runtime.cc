// runtime.cc — bindings for what is not an op: device memory, copies between devices, the
// thread count, and the build/runtime report behind at.info().
#include <cstdint>
#include <cstring>

#include "../addon.h"
#include "../cpu/gemm.h"
#include "../cpu/parallel.h"
#include "../napi_util.h"
#ifdef ATENTO_WITH_CUDA
#include "../cuda/device.h"
#endif

namespace atento {

// deviceAlloc(bytes, dtypeIndex) -> DeviceBuffer (0 float32, 1 int32, 2 bool)
ATENTO_EXPORT(deviceAlloc) {
  Args a(info, "deviceAlloc");
  double bytes = a.number(0);
  int64_t dtype = a.int64(1);
  return instance(info.Env()).deviceBuffer.New({Napi::Number::New(info.Env(), bytes),
                                                Napi::Number::New(info.Env(), (double)dtype)});
}

// copyBuffer(dst, src, bytes): any direction between cpu and cuda buffers.
ATENTO_EXPORT(copyBuffer) {
  Buffer dst = read_buffer(info[0], "copy destination");
  Buffer src = read_buffer(info[1], "copy source");
  Args a(info, "copyBuffer");
  int64_t bytes = a.int64(2);
  check(bytes >= 0 && (size_t)bytes <= dst.bytes && (size_t)bytes <= src.bytes, "ERR_SHAPE",
        [&] { return "copyBuffer: " + std::to_string(bytes) + " bytes do not fit the buffers"; });
  if (bytes == 0) return info.Env().Undefined();
  if (dst.device == Device::CPU && src.device == Device::CPU) {
    std::memmove(dst.data, src.data, bytes);
    return info.Env().Undefined();
  }
#ifdef ATENTO_WITH_CUDA
  if (dst.device == Device::CUDA && src.device == Device::CUDA) cuda::copy_device(dst.data, src.data, bytes);
  else if (dst.device == Device::CUDA) cuda::copy_to_device(dst.data, src.data, bytes);
  else cuda::copy_to_host(dst.data, src.data, bytes);
  return info.Env().Undefined();
#else
  throw Error("ERR_DEVICE", "this build of atento has no CUDA support");
#endif
}

// hostAlignOffset(arrayBuffer | typedArray) -> bytes from its data's start to the next 64-byte
// boundary (0: aligned). V8's ArrayBuffers are 16-byte aligned (large ones sit 16 bytes into a
// malloc'd page), and a 64-byte vector load from such an address straddles two cache lines:
// lib/tensor.ts allocates 64 spare bytes and views the array from this offset, so every AVX-512
// load and store of a kernel row touches one line (tests check tensors with a typed array).
ATENTO_EXPORT(hostAlignOffset) {
  const void* data = nullptr;
  if (info.Length() >= 1 && info[0].IsArrayBuffer()) {
    data = info[0].As<Napi::ArrayBuffer>().Data();
  } else if (info.Length() >= 1 && info[0].IsTypedArray()) {
    const auto t = info[0].As<Napi::TypedArray>();
    data = static_cast<const char*>(t.ArrayBuffer().Data()) + t.ByteOffset();
  } else {
    throw Error("ERR_ARGUMENT", "hostAlignOffset: an ArrayBuffer or a typed array is needed");
  }
  const auto addr = reinterpret_cast<uintptr_t>(data);
  return Napi::Number::New(info.Env(), (double)((64 - addr % 64) % 64));
}

// zeroBuffer(buf): every byte to 0, on its device.
ATENTO_EXPORT(zeroBuffer) {
  Buffer b = read_buffer(info[0], "zeroBuffer");
  if (b.device == Device::CPU) {
    if (b.bytes) std::memset(b.data, 0, b.bytes);
    return info.Env().Undefined();
  }
#ifdef ATENTO_WITH_CUDA
  cuda::memset_zero(b.data, b.bytes);
#endif
  return info.Env().Undefined();
}

ATENTO_EXPORT(setNumThreads) {
  Args a(info, "setNumThreads");
  cpu::set_num_threads((int)a.int64(0));
  return Napi::Number::New(info.Env(), cpu::num_threads());
}

ATENTO_EXPORT(synchronize) {
#ifdef ATENTO_WITH_CUDA
  if (cuda::available()) cuda::synchronize();
#endif
  return info.Env().Undefined();
}

ATENTO_EXPORT(cudaMemory) {
  Napi::Object o = Napi::Object::New(info.Env());
#ifdef ATENTO_WITH_CUDA
  o.Set("inUse", (double)cuda::bytes_in_use());
  o.Set("cached", (double)cuda::bytes_cached());
#else
  o.Set("inUse", 0);
  o.Set("cached", 0);
#endif
  return o;
}

ATENTO_EXPORT(emptyCache) {
#ifdef ATENTO_WITH_CUDA
  if (cuda::available()) cuda::empty_cache();
#endif
  return info.Env().Undefined();
}

ATENTO_EXPORT(setTf32) {
  Args a(info, "setTf32");
  bool on = a.flag(0);
#ifdef ATENTO_WITH_CUDA
  if (cuda::available() && cuda::blas_available()) cuda::set_tf32(on);
#endif
  (void)on;
  return info.Env().Undefined();
}

// buildInfo() -> { cpu: {blas, threads, openmp}, cuda: {compiled, emulated, archs, devices, error, blas, blasError} }
ATENTO_EXPORT(buildInfo) {
  Napi::Env env = info.Env();
  Napi::Object cpuInfo = Napi::Object::New(env);
  cpuInfo.Set("blas", cpu::blas_name());
  cpuInfo.Set("threads", cpu::num_threads());
#ifdef _OPENMP
  cpuInfo.Set("openmp", true);
#else
  cpuInfo.Set("openmp", false);
#endif
  Napi::Object c = Napi::Object::New(env);
  Napi::Array archs = Napi::Array::New(env);
  Napi::Array devs = Napi::Array::New(env);
#ifdef ATENTO_WITH_CUDA
  c.Set("compiled", true);
  c.Set("emulated", cuda::emulated());
  auto list = cuda::compiled_archs();
  for (size_t i = 0; i < list.size(); i++) archs.Set((uint32_t)i, list[i]);
  bool ok = cuda::available();
  const auto& d = cuda::devices();
  for (size_t i = 0; i < d.size(); i++) {
    Napi::Object o = Napi::Object::New(env);
    o.Set("index", d[i].index);
    o.Set("name", d[i].name);
    o.Set("computeCapability", std::to_string(d[i].major) + "." + std::to_string(d[i].minor));
    o.Set("totalMemory", (double)d[i].totalMemory);
    o.Set("multiProcessors", d[i].multiProcessors);
    devs.Set((uint32_t)i, o);
  }
  c.Set("error", ok ? env.Null() : Napi::String::New(env, cuda::init_error()));
  bool blasOk = ok && cuda::blas_available();
  c.Set("blas", blasOk ? Napi::String::New(env, "cublas") : env.Null());
  c.Set("blasError", !ok ? env.Null() : blasOk ? env.Null() : Napi::String::New(env, cuda::blas_error()));
#else
  c.Set("compiled", false);
  c.Set("emulated", false);
  c.Set("error", "this build of atento has no CUDA support");
  c.Set("blas", env.Null());
  c.Set("blasError", env.Null());
#endif
  c.Set("archs", archs);
  c.Set("devices", devs);
  Napi::Object out = Napi::Object::New(env);
  out.Set("cpu", cpuInfo);
  out.Set("cuda", c);
  return out;
}

}  // namespace atento
