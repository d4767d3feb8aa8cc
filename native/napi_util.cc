// napi_util.cc — see napi_util.h.
#include "napi_util.h"

#include <cmath>
#include <functional>
#include <new>

#include "addon.h"
#include "device_buffer.h"

namespace atento {

const char* dtype_name(Dtype d) {
  switch (d) {
    case Dtype::Float32: return "float32";
    case Dtype::Int32: return "int32";
    case Dtype::Bool: return "bool";
  }
  return "?";
}

size_t dtype_size(Dtype d) { return d == Dtype::Bool ? 1 : 4; }

static const char* device_name(Device d) { return d == Device::CUDA ? "cuda" : "cpu"; }

// The buffer behind v, or nullopt-like {data = nullptr, bytes = SIZE_MAX} when v is neither a
// typed array nor a DeviceBuffer. One napi_get_typedarray_info call gives type, length and the
// (offset) data pointer: node-addon-api's accessors made six N-API calls per buffer, a few
// microseconds per kernel call with six buffers. Error text is only built when there is an error.
static bool try_read_buffer(const Napi::Value& v, Buffer& b, const std::function<std::string()>& what) {
  bool is_typed = false;
  napi_env env = v.Env();
  if (napi_is_typedarray(env, v, &is_typed) == napi_ok && is_typed) {
    napi_typedarray_type type;
    size_t length = 0, offset = 0;
    void* data = nullptr;
    napi_value ab;
    if (napi_get_typedarray_info(env, v, &type, &length, &data, &ab, &offset) != napi_ok)
      throw Error("ERR_ARGUMENT", what() + ": cannot read the typed array");
    switch (type) {
      case napi_float32_array: b.dtype = Dtype::Float32; break;
      case napi_int32_array: b.dtype = Dtype::Int32; break;
      case napi_uint8_array: b.dtype = Dtype::Bool; break;
      default: throw Error("ERR_DTYPE", what() + ": unsupported typed array type");
    }
    b.bytes = length * dtype_size(b.dtype);
    b.data = b.bytes ? static_cast<uint8_t*>(data) : nullptr;
    b.device = Device::CPU;
    return true;
  }
  if (DeviceBuffer* db = DeviceBuffer::Unwrap(v)) {
    if (db->freed()) throw Error("ERR_DISPOSED", what() + ": the tensor's device memory was disposed");
    b.data = db->data();
    b.bytes = db->bytes();
    b.dtype = db->dtype();
    b.device = Device::CUDA;
    return true;
  }
  return false;
}

Buffer read_buffer(const Napi::Value& v, const std::string& what) {
  Buffer b;
  if (!try_read_buffer(v, b, [&] { return what; }))
    throw Error("ERR_ARGUMENT", what + ": expected a tensor buffer (TypedArray or DeviceBuffer)");
  return b;
}

Buffer Args::buffer(int i) {
  if (i >= (int)info_.Length())
    throw Error("ERR_ARGUMENT", std::string(op_) + ": missing argument " + std::to_string(i));
  Buffer b;
  const auto what = [&] { return std::string(op_) + " argument " + std::to_string(i); };
  if (!try_read_buffer(info_[i], b, what))
    throw Error("ERR_ARGUMENT", what() + ": expected a tensor buffer (TypedArray or DeviceBuffer)");
  note_device(b.device, i);
  return b;
}

Buffer Args::need(int i, int64_t count, Dtype dtype) {
  Buffer b = buffer(i);
  if (b.dtype != dtype)
    throw Error("ERR_DTYPE", std::string(op_) + ": argument " + std::to_string(i) + " must be " +
                                 dtype_name(dtype) + ", got " + dtype_name(b.dtype));
  if (count < 0 || b.bytes < static_cast<size_t>(count) * dtype_size(dtype))
    throw Error("ERR_SHAPE", std::string(op_) + ": argument " + std::to_string(i) + " holds " +
                                 std::to_string(b.bytes / dtype_size(dtype)) + " elements, the op needs " +
                                 std::to_string(count));
  return b;
}

void Args::note_device(Device d, int i) {
  if (device_ == Device::None) {
    device_ = d;
  } else if (device_ != d) {
    throw Error("ERR_DEVICE", std::string(op_) + ": argument " + std::to_string(i) + " is on " +
                                  device_name(d) + " but earlier arguments are on " + device_name(device_));
  }
}

Device Args::device() const {
  if (device_ == Device::None) throw Error("ERR_INTERNAL", std::string(op_) + ": no buffer argument");
  return device_;
}

int64_t Args::int64(int i) {
  double d = number(i);
  if (!std::isfinite(d) || d != std::floor(d) || std::fabs(d) > 9007199254740991.0)
    throw Error("ERR_ARGUMENT", std::string(op_) + ": argument " + std::to_string(i) + " must be an integer");
  return static_cast<int64_t>(d);
}

double Args::number(int i) {
  if (i >= (int)info_.Length() || !info_[i].IsNumber())
    throw Error("ERR_ARGUMENT", std::string(op_) + ": argument " + std::to_string(i) + " must be a number");
  return info_[i].As<Napi::Number>().DoubleValue();
}

bool Args::flag(int i) {
  if (i >= (int)info_.Length() || !info_[i].IsBoolean())
    throw Error("ERR_ARGUMENT", std::string(op_) + ": argument " + std::to_string(i) + " must be a boolean");
  return info_[i].As<Napi::Boolean>().Value();
}

std::vector<int64_t> Args::int64s(int i) {
  if (i >= (int)info_.Length() || !info_[i].IsArray())
    throw Error("ERR_ARGUMENT", std::string(op_) + ": argument " + std::to_string(i) + " must be an array");
  auto arr = info_[i].As<Napi::Array>();
  std::vector<int64_t> out(arr.Length());
  for (uint32_t k = 0; k < arr.Length(); k++) {
    Napi::Value v = arr.Get(k);
    double d = v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : NAN;
    if (!std::isfinite(d) || d != std::floor(d))
      throw Error("ERR_ARGUMENT", std::string(op_) + ": argument " + std::to_string(i) + " must hold integers");
    out[k] = static_cast<int64_t>(d);
  }
  return out;
}

// --- Registration and errors -------------------------------------------------------------------

static std::vector<std::pair<const char*, Binding>>& registry() {
  // Allocated once and never destroyed: no static destructor runs at unload.
  static auto* r = new std::vector<std::pair<const char*, Binding>>();
  return *r;
}

Registration::Registration(const char* name, Binding fn) { registry().emplace_back(name, fn); }

const std::vector<std::pair<const char*, Binding>>& registrations() { return registry(); }

Napi::Error make_error(Napi::Env env, const char* code, const std::string& message) {
  InstanceData* data = env.GetInstanceData<InstanceData>();
  if (data && !data->errorClass.IsEmpty()) {
    Napi::Object err = data->errorClass.New({Napi::String::New(env, message), Napi::String::New(env, code)});
    return Napi::Error(env, err);
  }
  Napi::Error err = Napi::Error::New(env, message);
  err.Set("code", Napi::String::New(env, code));
  return err;
}

Napi::Value guarded(const Napi::CallbackInfo& info, Binding body) {
  Napi::Env env = info.Env();
  try {
    return body(info);
  } catch (const Napi::Error&) {
    throw;  // already a JS exception
  } catch (const Error& e) {
    throw make_error(env, e.code(), e.what());
  } catch (const std::bad_alloc&) {
    throw make_error(env, "ERR_OOM", "out of host memory");
  } catch (const std::exception& e) {
    throw make_error(env, "ERR_INTERNAL", e.what());
  }
}

}  // namespace atento
