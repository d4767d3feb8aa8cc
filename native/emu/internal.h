// internal.h — shared between emu.cc (scheduler) and runtime.cc (stand-in CUDA runtime):
// the emulator's settings and how errors are recorded. Not for kernels or atento code.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>

#include "control.h"
#include "runtime.h"

namespace atento::emu::detail {

struct Config {
  std::atomic<Order> order{Order::Forward};
  std::atomic<uint64_t> seed{1};
  std::atomic<bool> poison{true};
  std::atomic<size_t> memory_limit{0};  // 0: none
  std::atomic<cudaError_t> device_error{cudaSuccess};
  std::atomic<size_t> stack_bytes{64 * 1024};
};
// Read from the environment on first use (see control.h for the variables).
Config& config();

// printf into a std::string.
std::string format(const char* fmt, ...) __attribute__((format(printf, 1, 2)));

// Record `code` as the calling host thread's last error, with a detailed message (returned
// by cudaGetErrorString(code) and last_error_message()). Returns code.
cudaError_t record_error(cudaError_t code, const std::string& message);
// A kernel failed while running: like record_error(cudaErrorLaunchFailure, ...), and the next
// stream/device synchronize reports it too.
void record_kernel_failure(const std::string& message);

// What cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, n) allowed
// (0 if never called).
size_t max_dynamic_shared(const void* kernel);

}  // namespace atento::emu::detail
