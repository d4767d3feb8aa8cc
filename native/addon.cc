// addon.cc — module initialisation: per-environment data, the exported functions registered by
// ATENTO_EXPORT in every binding file, and a few module-level functions (error class, info).
#include "addon.h"

#include "device_buffer.h"
#include "napi_util.h"

namespace atento {

InstanceData& instance(Napi::Env env) { return *env.GetInstanceData<InstanceData>(); }

// setErrorClass(AtentoError): JS hands its error class to C++ once, at load.
ATENTO_EXPORT(setErrorClass) {
  if (info.Length() < 1 || !info[0].IsFunction())
    throw Error("ERR_ARGUMENT", "setErrorClass(cls) needs a class");
  instance(info.Env()).errorClass = Napi::Persistent(info[0].As<Napi::Function>());
  return info.Env().Undefined();
}

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  auto* data = new InstanceData();
  env.SetInstanceData<InstanceData>(data);  // deleted by Node when this environment shuts down
  Napi::Function deviceBuffer = DeviceBuffer::Define(env);
  data->deviceBuffer = Napi::Persistent(deviceBuffer);
  exports.Set("DeviceBuffer", deviceBuffer);
  for (const auto& [name, fn] : registrations()) exports.Set(name, Napi::Function::New(env, fn, name));
  return exports;
}

}  // namespace atento

static Napi::Object InitModule(Napi::Env env, Napi::Object exports) { return atento::Init(env, exports); }
NODE_API_MODULE(atento, InitModule)
