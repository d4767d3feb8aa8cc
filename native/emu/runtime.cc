// runtime.cc — the emulator's stand-in CUDA runtime (runtime.h) and its settings (control.h).
//
// Device memory is plain malloc, tracked in a map from address to size so copies, memsets and
// frees can be checked against what cudaMalloc handed out, and so set_memory_limit can make
// cudaMalloc fail. Everything runs synchronously; streams and events are small handles.
// Errors follow CUDA's per-host-thread "last error" model (thread_local state below).
#include <chrono>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <unordered_map>

#include "internal.h"

struct CUstream_st {
  unsigned flags;
};
struct CUevent_st {
  std::chrono::steady_clock::time_point time;
  bool recorded;
};

namespace atento::emu {
namespace detail {
namespace {

constexpr size_t kDefaultGlobalMem = size_t(16) << 30;  // reported when there is no limit

// ---- settings from the environment -------------------------------------------------------

void read_environment(Config& c) {
  if (const char* v = std::getenv("ATENTO_EMU_ORDER")) {
    const std::string s(v);
    const std::string name = s.substr(0, s.find(':'));
    if (name == "forward") c.order = Order::Forward;
    else if (name == "reverse") c.order = Order::Reverse;
    else if (name == "shuffle") c.order = Order::Shuffle;
    else std::fprintf(stderr, "atento emulator: ignoring ATENTO_EMU_ORDER=%s\n", v);
    const size_t colon = s.find(':');
    if (colon != std::string::npos) c.seed = std::strtoull(s.c_str() + colon + 1, nullptr, 0);
  }
  if (const char* v = std::getenv("ATENTO_EMU_POISON")) c.poison = std::strcmp(v, "0") != 0;
  if (const char* v = std::getenv("ATENTO_EMU_MEMORY_LIMIT"))
    c.memory_limit = std::strtoull(v, nullptr, 0);
  if (const char* v = std::getenv("ATENTO_EMU_DEVICE_ERROR")) {
    const std::string s(v);
    if (s == "no_device") c.device_error = cudaErrorNoDevice;
    else if (s == "insufficient_driver") c.device_error = cudaErrorInsufficientDriver;
  }
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__) || defined(ATENTO_EMU_ASAN) || \
    defined(ATENTO_EMU_TSAN)
  c.stack_bytes = 256 * 1024;  // sanitizers make frames larger
#endif
  if (const char* v = std::getenv("ATENTO_EMU_STACK_KB")) {
    const unsigned long long kb = std::strtoull(v, nullptr, 0);
    if (kb >= 16) c.stack_bytes = kb * 1024;
  }
}

// ---- errors (per host thread, like CUDA) -------------------------------------------------

thread_local cudaError_t t_last = cudaSuccess;   // cudaGetLastError
thread_local cudaError_t t_async = cudaSuccess;  // a failed kernel, for the next synchronize
thread_local std::string t_message;              // detail of the latest recorded error
thread_local cudaError_t t_message_code = cudaSuccess;

const char* generic_message(cudaError_t e) {
  switch (e) {
    case cudaSuccess: return "no error";
    case cudaErrorInvalidValue: return "invalid argument";
    case cudaErrorMemoryAllocation: return "out of memory";
    case cudaErrorInitializationError: return "initialization error";
    case cudaErrorInvalidConfiguration: return "invalid configuration argument";
    case cudaErrorInvalidDevicePointer: return "invalid device pointer";
    case cudaErrorInvalidMemcpyDirection: return "invalid copy direction for memcpy";
    case cudaErrorInsufficientDriver:
      return "CUDA driver version is insufficient for CUDA runtime version";
    case cudaErrorNoDevice: return "no CUDA-capable device is detected";
    case cudaErrorInvalidDevice: return "invalid device ordinal";
    case cudaErrorInvalidResourceHandle: return "invalid resource handle";
    case cudaErrorNotReady: return "device not ready";
    case cudaErrorLaunchOutOfResources: return "too many resources requested for launch";
    case cudaErrorLaunchFailure: return "unspecified launch failure";
    default: return "unknown error";
  }
}

// ---- device memory -----------------------------------------------------------------------

std::mutex g_mem_mutex;
std::map<uintptr_t, size_t> g_allocs;  // address -> size, of live cudaMalloc blocks
size_t g_in_use = 0;
std::set<CUstream_st*> g_streams;
std::unordered_map<const void*, size_t> g_max_dynamic_shared;

// Is [p, p + n) inside one cudaMalloc block? (Caller holds g_mem_mutex.)
bool is_device(const void* p, size_t n) {
  const uintptr_t a = reinterpret_cast<uintptr_t>(p);
  auto it = g_allocs.upper_bound(a);
  if (it == g_allocs.begin()) return false;
  --it;
  return a >= it->first && a - it->first + n <= it->second;
}

cudaError_t device_status() {
  const cudaError_t e = config().device_error;
  if (e == cudaSuccess) return cudaSuccess;
  return record_error(e, "the emulated device is disabled (ATENTO_EMU_DEVICE_ERROR or "
                         "set_device_error)");
}

cudaError_t check_copy(const char* fn, void* dst, const void* src, size_t bytes,
                       cudaMemcpyKind kind) {
  if (bytes == 0) return cudaSuccess;
  if (!dst || !src) return record_error(cudaErrorInvalidValue, format("%s: null pointer", fn));
  if (kind < cudaMemcpyHostToHost || kind > cudaMemcpyDefault)
    return record_error(cudaErrorInvalidMemcpyDirection, format("%s: kind %d", fn, int(kind)));
  const bool dst_dev = kind == cudaMemcpyHostToDevice || kind == cudaMemcpyDeviceToDevice;
  const bool src_dev = kind == cudaMemcpyDeviceToHost || kind == cudaMemcpyDeviceToDevice;
  std::lock_guard<std::mutex> lock(g_mem_mutex);
  const char* outside = "%s: %s %p (+%zu bytes) is not inside a cudaMalloc block";
  if (dst_dev && !is_device(dst, bytes))
    return record_error(cudaErrorInvalidValue, format(outside, fn, "destination", dst, bytes));
  if (src_dev && !is_device(src, bytes))
    return record_error(cudaErrorInvalidValue, format(outside, fn, "source", src, bytes));
  return cudaSuccess;
}

bool known_stream(cudaStream_t s) {
  if (!s) return true;
  std::lock_guard<std::mutex> lock(g_mem_mutex);
  return g_streams.count(s) != 0;
}

// A failed kernel surfaces at the next synchronize, once.
cudaError_t take_async_error() {
  const cudaError_t e = t_async;
  t_async = cudaSuccess;
  if (e != cudaSuccess && t_last == e) t_last = cudaSuccess;
  return e;
}

}  // namespace

Config& config() {
  static Config c;
  static std::once_flag once;
  std::call_once(once, [] { read_environment(c); });
  return c;
}

std::string format(const char* fmt, ...) {
  char buf[1024];
  va_list args;
  va_start(args, fmt);
  std::vsnprintf(buf, sizeof buf, fmt, args);
  va_end(args);
  return buf;
}

cudaError_t record_error(cudaError_t code, const std::string& message) {
  t_last = code;
  t_message_code = code;
  t_message = std::string(generic_message(code)) + " (atento CUDA emulator: " + message + ")";
  return code;
}

void record_kernel_failure(const std::string& message) {
  record_error(cudaErrorLaunchFailure, message);
  t_async = cudaErrorLaunchFailure;
}

size_t max_dynamic_shared(const void* kernel) {
  std::lock_guard<std::mutex> lock(g_mem_mutex);
  auto it = g_max_dynamic_shared.find(kernel);
  return it == g_max_dynamic_shared.end() ? 0 : it->second;
}

}  // namespace detail

// ---- control.h ---------------------------------------------------------------------------

void set_order(Order order, uint64_t seed) {
  detail::config().order = order;
  detail::config().seed = seed;
}
Order order() { return detail::config().order; }
const char* order_name(Order order) {
  switch (order) {
    case Order::Forward: return "forward";
    case Order::Reverse: return "reverse";
    default: return "shuffle";
  }
}
void set_poison(bool on) { detail::config().poison = on; }
void set_memory_limit(size_t bytes) { detail::config().memory_limit = bytes; }
void set_device_error(cudaError_t error) { detail::config().device_error = error; }
size_t device_bytes_in_use() {
  std::lock_guard<std::mutex> lock(detail::g_mem_mutex);
  return detail::g_in_use;
}
const char* last_error_message() { return detail::t_message.c_str(); }

}  // namespace atento::emu

// ---- runtime.h ---------------------------------------------------------------------------

using atento::emu::detail::config;
using atento::emu::detail::format;
using atento::emu::detail::record_error;
namespace emu_rt = atento::emu::detail;

cudaError_t cudaGetDeviceCount(int* count) {
  if (!count) return record_error(cudaErrorInvalidValue, "cudaGetDeviceCount: null pointer");
  *count = 0;
  if (cudaError_t e = emu_rt::device_status()) return e;
  *count = 1;
  return cudaSuccess;
}

cudaError_t cudaGetDeviceProperties(cudaDeviceProp* p, int device) {
  if (cudaError_t e = emu_rt::device_status()) return e;
  if (!p) return record_error(cudaErrorInvalidValue, "cudaGetDeviceProperties: null pointer");
  if (device != 0) return record_error(cudaErrorInvalidDevice, format("device %d", device));
  std::memset(p, 0, sizeof *p);
  std::snprintf(p->name, sizeof p->name, "atento CUDA emulator");
  const size_t limit = config().memory_limit;
  p->totalGlobalMem = limit ? limit : emu_rt::kDefaultGlobalMem;
  p->sharedMemPerBlock = 48 * 1024;
  p->sharedMemPerBlockOptin = 227 * 1024;
  p->sharedMemPerMultiprocessor = 228 * 1024;
  p->totalConstMem = 64 * 1024;
  p->regsPerBlock = 65536;
  p->warpSize = 32;
  p->maxThreadsPerBlock = 1024;
  p->maxThreadsDim[0] = 1024;
  p->maxThreadsDim[1] = 1024;
  p->maxThreadsDim[2] = 64;
  p->maxGridSize[0] = 0x7fffffff;
  p->maxGridSize[1] = 65535;
  p->maxGridSize[2] = 65535;
  p->major = 9;
  p->minor = 0;
  p->multiProcessorCount = 4;  // small, so grid-stride loops take several steps in tests
  p->maxThreadsPerMultiProcessor = 2048;
  p->l2CacheSize = 50 << 20;
  p->integrated = 0;
  p->concurrentKernels = 1;
  return cudaSuccess;
}

cudaError_t cudaSetDevice(int device) {
  if (cudaError_t e = emu_rt::device_status()) return e;
  if (device != 0) return record_error(cudaErrorInvalidDevice, format("device %d", device));
  return cudaSuccess;
}

cudaError_t cudaGetDevice(int* device) {
  if (!device) return record_error(cudaErrorInvalidValue, "cudaGetDevice: null pointer");
  *device = 0;
  return emu_rt::device_status();
}

cudaError_t cudaDeviceSynchronize() { return emu_rt::take_async_error(); }
cudaError_t cudaDeviceReset() { return cudaSuccess; }

cudaError_t cudaDriverGetVersion(int* version) {
  if (!version) return record_error(cudaErrorInvalidValue, "cudaDriverGetVersion: null pointer");
  *version = config().device_error == cudaErrorInsufficientDriver ? 0 : 13000;
  return cudaSuccess;
}

cudaError_t cudaRuntimeGetVersion(int* version) {
  if (!version) return record_error(cudaErrorInvalidValue, "cudaRuntimeGetVersion: null pointer");
  *version = 13000;
  return cudaSuccess;
}

// ---- streams and events ------------------------------------------------------------------

cudaError_t cudaStreamCreate(cudaStream_t* stream) { return cudaStreamCreateWithFlags(stream, 0); }

cudaError_t cudaStreamCreateWithFlags(cudaStream_t* stream, unsigned int flags) {
  if (cudaError_t e = emu_rt::device_status()) return e;
  if (!stream) return record_error(cudaErrorInvalidValue, "cudaStreamCreate: null pointer");
  *stream = new CUstream_st{flags};
  std::lock_guard<std::mutex> lock(emu_rt::g_mem_mutex);
  emu_rt::g_streams.insert(*stream);
  return cudaSuccess;
}

cudaError_t cudaStreamDestroy(cudaStream_t stream) {
  std::lock_guard<std::mutex> lock(emu_rt::g_mem_mutex);
  if (!stream || !emu_rt::g_streams.erase(stream))
    return record_error(cudaErrorInvalidResourceHandle, "cudaStreamDestroy: unknown stream");
  delete stream;
  return cudaSuccess;
}

cudaError_t cudaStreamSynchronize(cudaStream_t stream) {
  if (!emu_rt::known_stream(stream))
    return record_error(cudaErrorInvalidResourceHandle, "cudaStreamSynchronize: unknown stream");
  return emu_rt::take_async_error();
}

cudaError_t cudaStreamQuery(cudaStream_t stream) {
  if (!emu_rt::known_stream(stream))
    return record_error(cudaErrorInvalidResourceHandle, "cudaStreamQuery: unknown stream");
  return cudaSuccess;
}

cudaError_t cudaEventCreate(cudaEvent_t* event) { return cudaEventCreateWithFlags(event, 0); }

cudaError_t cudaEventCreateWithFlags(cudaEvent_t* event, unsigned int) {
  if (!event) return record_error(cudaErrorInvalidValue, "cudaEventCreate: null pointer");
  *event = new CUevent_st{{}, false};
  return cudaSuccess;
}

cudaError_t cudaEventDestroy(cudaEvent_t event) {
  if (!event) return record_error(cudaErrorInvalidResourceHandle, "cudaEventDestroy: null event");
  delete event;
  return cudaSuccess;
}

cudaError_t cudaEventRecord(cudaEvent_t event, cudaStream_t stream) {
  if (!event || !emu_rt::known_stream(stream))
    return record_error(cudaErrorInvalidResourceHandle, "cudaEventRecord: unknown event or stream");
  event->time = std::chrono::steady_clock::now();
  event->recorded = true;
  return cudaSuccess;
}

cudaError_t cudaEventSynchronize(cudaEvent_t event) {
  if (!event)
    return record_error(cudaErrorInvalidResourceHandle, "cudaEventSynchronize: null event");
  return cudaSuccess;
}

cudaError_t cudaEventElapsedTime(float* ms, cudaEvent_t start, cudaEvent_t end) {
  if (!ms || !start || !end || !start->recorded || !end->recorded)
    return record_error(cudaErrorInvalidResourceHandle, "cudaEventElapsedTime: event not recorded");
  *ms = std::chrono::duration<float, std::milli>(end->time - start->time).count();
  return cudaSuccess;
}

// ---- memory ------------------------------------------------------------------------------

cudaError_t cudaMalloc(void** ptr, size_t bytes) {
  if (!ptr) return record_error(cudaErrorInvalidValue, "cudaMalloc: null pointer");
  *ptr = nullptr;
  if (cudaError_t e = emu_rt::device_status()) return e;
  if (bytes == 0) return cudaSuccess;
  {
    std::lock_guard<std::mutex> lock(emu_rt::g_mem_mutex);
    const size_t limit = config().memory_limit;
    if (limit && (bytes > limit || emu_rt::g_in_use > limit - bytes))
      return record_error(cudaErrorMemoryAllocation,
                          format("cudaMalloc(%zu): %zu of %zu bytes in use (set_memory_limit)",
                                 bytes, emu_rt::g_in_use, limit));
  }
  // 256-byte aligned like cudaMalloc; exact size, no padding, so ASan sees the real bounds.
  void* p = nullptr;
  if (posix_memalign(&p, 256, bytes) != 0) p = nullptr;
  if (!p)
    return record_error(cudaErrorMemoryAllocation, format("cudaMalloc(%zu): malloc failed", bytes));
  if (config().poison) std::memset(p, 0xff, bytes);  // uninitialised reads show as NaN
  std::lock_guard<std::mutex> lock(emu_rt::g_mem_mutex);
  emu_rt::g_allocs[reinterpret_cast<uintptr_t>(p)] = bytes;
  emu_rt::g_in_use += bytes;
  *ptr = p;
  return cudaSuccess;
}

cudaError_t cudaFree(void* ptr) {
  if (!ptr) return cudaSuccess;
  {
    std::lock_guard<std::mutex> lock(emu_rt::g_mem_mutex);
    auto it = emu_rt::g_allocs.find(reinterpret_cast<uintptr_t>(ptr));
    if (it == emu_rt::g_allocs.end())
      return record_error(cudaErrorInvalidValue,
                          format("cudaFree(%p): not a pointer from cudaMalloc", ptr));
    emu_rt::g_in_use -= it->second;
    emu_rt::g_allocs.erase(it);
  }
  std::free(ptr);
  return cudaSuccess;
}

cudaError_t cudaMallocHost(void** ptr, size_t bytes) {
  if (!ptr) return record_error(cudaErrorInvalidValue, "cudaMallocHost: null pointer");
  *ptr = std::malloc(bytes ? bytes : 1);
  return *ptr ? cudaSuccess : record_error(cudaErrorMemoryAllocation, "cudaMallocHost");
}

cudaError_t cudaFreeHost(void* ptr) {
  std::free(ptr);
  return cudaSuccess;
}

cudaError_t cudaMemcpy(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind) {
  if (cudaError_t e = emu_rt::check_copy("cudaMemcpy", dst, src, bytes, kind)) return e;
  if (bytes) std::memmove(dst, src, bytes);
  return cudaSuccess;
}

cudaError_t cudaMemcpyAsync(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind,
                            cudaStream_t stream) {
  if (!emu_rt::known_stream(stream))
    return record_error(cudaErrorInvalidResourceHandle, "cudaMemcpyAsync: unknown stream");
  if (cudaError_t e = emu_rt::check_copy("cudaMemcpyAsync", dst, src, bytes, kind)) return e;
  if (bytes) std::memmove(dst, src, bytes);
  return cudaSuccess;
}

cudaError_t cudaMemset(void* ptr, int value, size_t bytes) {
  if (bytes == 0) return cudaSuccess;
  {
    std::lock_guard<std::mutex> lock(emu_rt::g_mem_mutex);
    if (!emu_rt::is_device(ptr, bytes))
      return record_error(cudaErrorInvalidValue,
                          format("cudaMemset: %p (+%zu bytes) is not inside a cudaMalloc block",
                                 ptr, bytes));
  }
  std::memset(ptr, value, bytes);
  return cudaSuccess;
}

cudaError_t cudaMemsetAsync(void* ptr, int value, size_t bytes, cudaStream_t stream) {
  if (!emu_rt::known_stream(stream))
    return record_error(cudaErrorInvalidResourceHandle, "cudaMemsetAsync: unknown stream");
  return cudaMemset(ptr, value, bytes);
}

cudaError_t cudaMemGetInfo(size_t* free_bytes, size_t* total_bytes) {
  if (!free_bytes || !total_bytes)
    return record_error(cudaErrorInvalidValue, "cudaMemGetInfo: null pointer");
  const size_t limit = config().memory_limit;
  const size_t total = limit ? limit : emu_rt::kDefaultGlobalMem;
  std::lock_guard<std::mutex> lock(emu_rt::g_mem_mutex);
  *total_bytes = total;
  *free_bytes = emu_rt::g_in_use < total ? total - emu_rt::g_in_use : 0;
  return cudaSuccess;
}

// ---- kernel attributes and errors --------------------------------------------------------

cudaError_t cudaFuncSetAttribute(const void* func, cudaFuncAttribute attr, int value) {
  if (!func) return record_error(cudaErrorInvalidValue, "cudaFuncSetAttribute: null kernel");
  if (attr == cudaFuncAttributePreferredSharedMemoryCarveout) {
    if (value >= -1 && value <= 100) return cudaSuccess;
    return record_error(cudaErrorInvalidValue, "cudaFuncSetAttribute: carveout out of range");
  }
  if (attr != cudaFuncAttributeMaxDynamicSharedMemorySize)
    return record_error(cudaErrorInvalidValue,
                        format("cudaFuncSetAttribute: attribute %d", int(attr)));
  if (value < 0 || value > 227 * 1024)
    return record_error(cudaErrorInvalidValue,
                        format("cudaFuncSetAttribute: %d bytes of dynamic shared memory; at most %d",
                               value, 227 * 1024));
  std::lock_guard<std::mutex> lock(emu_rt::g_mem_mutex);
  emu_rt::g_max_dynamic_shared[func] = static_cast<size_t>(value);
  return cudaSuccess;
}

cudaError_t cudaGetLastError() {
  const cudaError_t e = emu_rt::t_last;
  emu_rt::t_last = cudaSuccess;
  if (emu_rt::t_async == e) emu_rt::t_async = cudaSuccess;
  return e;
}

cudaError_t cudaPeekAtLastError() { return emu_rt::t_last; }

const char* cudaGetErrorString(cudaError_t error) {
  if (error != cudaSuccess && error == emu_rt::t_message_code) return emu_rt::t_message.c_str();
  return emu_rt::generic_message(error);
}

const char* cudaGetErrorName(cudaError_t error) {
  switch (error) {
#define NAME(e) \
  case e: return #e;
    NAME(cudaSuccess)
    NAME(cudaErrorInvalidValue)
    NAME(cudaErrorMemoryAllocation)
    NAME(cudaErrorInitializationError)
    NAME(cudaErrorInvalidConfiguration)
    NAME(cudaErrorInvalidDevicePointer)
    NAME(cudaErrorInvalidMemcpyDirection)
    NAME(cudaErrorInsufficientDriver)
    NAME(cudaErrorNoDevice)
    NAME(cudaErrorInvalidDevice)
    NAME(cudaErrorInvalidResourceHandle)
    NAME(cudaErrorNotReady)
    NAME(cudaErrorLaunchOutOfResources)
    NAME(cudaErrorLaunchFailure)
    NAME(cudaErrorUnknown)
#undef NAME
  }
  return "cudaErrorUnknown";
}
