// check.h — a minimal test harness for the emulator self-tests: CHECK records a failure with
// its source line and carries on; Buffer<T> is a device allocation filled from / read into a
// std::vector; Timer measures wall time.
#pragma once

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "../../native/emu/control.h"
#include "../../native/emu/runtime.h"

namespace emu_test {

inline std::atomic<int>& failures() {  // atomic: tests may run on several host threads
  static std::atomic<int> n{0};
  return n;
}
inline std::atomic<int>& checks() {
  static std::atomic<int> n{0};
  return n;
}

#define CHECK(cond, ...)                                           \
  do {                                                             \
    ++::emu_test::checks();                                        \
    if (!(cond)) {                                                 \
      ++::emu_test::failures();                                    \
      std::printf("  FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond); \
      std::printf(__VA_ARGS__);                                    \
      std::printf("\n");                                           \
    }                                                              \
  } while (0)

// The last CUDA error is `code` and its message contains `text`; clears the error.
inline bool error_is(cudaError_t code, const char* text) {
  const cudaError_t e = cudaGetLastError();
  const char* msg = cudaGetErrorString(e);
  const bool ok = e == code && std::strstr(msg, text) != nullptr;
  if (!ok) std::printf("  got %s: %s\n", cudaGetErrorName(e), msg);
  return ok;
}

template <class T>
class Buffer {
 public:
  explicit Buffer(size_t n) : n_(n) { cudaMalloc(reinterpret_cast<void**>(&p_), n * sizeof(T)); }
  explicit Buffer(const std::vector<T>& host) : Buffer(host.size()) { upload(host); }
  ~Buffer() { cudaFree(p_); }
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;

  T* get() const { return p_; }
  void upload(const std::vector<T>& host) {
    cudaMemcpy(p_, host.data(), host.size() * sizeof(T), cudaMemcpyHostToDevice);
  }
  void fill_zero() { cudaMemset(p_, 0, n_ * sizeof(T)); }
  std::vector<T> download() const {
    std::vector<T> host(n_);
    cudaMemcpy(host.data(), p_, n_ * sizeof(T), cudaMemcpyDeviceToHost);
    return host;
  }

 private:
  T* p_ = nullptr;
  size_t n_;
};

class Timer {
 public:
  double ms() const {
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start_)
        .count();
  }

 private:
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
};

// Largest |a - b| / (1 + |b|).
inline double max_rel_error(const std::vector<float>& a, const std::vector<float>& b) {
  double worst = a.size() == b.size() ? 0.0 : 1e30;
  for (size_t i = 0; i < a.size() && i < b.size(); ++i) {
    const double d = std::abs(double(a[i]) - double(b[i])) / (1.0 + std::abs(double(b[i])));
    if (std::isnan(d)) return INFINITY;
    if (d > worst) worst = d;
  }
  return worst;
}

// Deterministic values in [-1, 1).
inline std::vector<float> random_floats(size_t n, unsigned seed) {
  std::vector<float> v(n);
  unsigned s = seed * 2654435761u + 1;
  for (float& x : v) {
    s = s * 1664525u + 1013904223u;
    x = static_cast<float>(s >> 8) / static_cast<float>(1 << 23) - 1.0f;
  }
  return v;
}

}  // namespace emu_test
