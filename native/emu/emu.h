// emu.h — the CUDA emulator, everything a kernel file or host code compiled with
// -DATENTO_CUDA_EMULATE needs (native/cuda/launch.cuh includes it). See README.md.
//
//   kernel_api.h  what kernels see: qualifiers, built-ins, barriers, warp ops, atomics, math
//   half.h        __half, __nv_bfloat16
//   wmma.h        nvcuda::wmma fragments and warp matrix ops
//   runtime.h     cudaMalloc, cudaMemcpy, streams, errors, ... (runtime.cc)
//   control.h     atento::emu::set_order and friends, counters
//
// This file adds the launch: launcher(name, kernel, grid, block, smem, stream)(args...) copies
// the arguments once, as CUDA does, and hands emu.cc a type-erased body that every emulated
// thread runs (each thread gets its own copy of the parameters).
#pragma once

#include <cstddef>
#include <tuple>
#include <type_traits>
#include <utility>

#include "control.h"
#include "half.h"
#include "kernel_api.h"
#include "runtime.h"
#include "wmma.h"

namespace atento::emu {

struct LaunchInfo {
  const char* name;  // the kernel expression as written at the launch
  const void* kernel;
  dim3 grid, block;
  size_t smem_bytes;
  cudaStream_t stream;
  void (*body)(void*);  // runs the kernel once, as the current emulated thread
  void* ctx;
};

// Runs the whole grid before returning; failures go to cudaGetLastError (emu.cc).
void launch(const LaunchInfo& info);

template <class... Params>
class Launcher {
 public:
  Launcher(const char* name, void (*kernel)(Params...), dim3 grid, dim3 block, size_t smem,
           cudaStream_t stream)
      : info_{name, reinterpret_cast<const void*>(kernel), grid, block, smem, stream, nullptr,
              nullptr},
        kernel_(kernel) {}

  template <class... Args>
  void operator()(Args&&... args) const {
    static_assert(sizeof...(Args) == sizeof...(Params),
                  "kernel launched with the wrong number of arguments");
    Bound bound{kernel_, Tuple(std::forward<Args>(args)...)};
    LaunchInfo info = info_;
    info.body = &run;
    info.ctx = &bound;
    launch(info);
  }

 private:
  using Tuple = std::tuple<std::decay_t<Params>...>;
  struct Bound {
    void (*kernel)(Params...);
    Tuple params;
  };
  static void run(void* ctx) {
    Bound* b = static_cast<Bound*>(ctx);
    std::apply(b->kernel, b->params);  // by-value parameters: each thread gets copies
  }

  LaunchInfo info_;
  void (*kernel_)(Params...);
};

template <class... Params>
Launcher<Params...> launcher(const char* name, void (*kernel)(Params...), dim3 grid, dim3 block,
                             size_t smem, cudaStream_t stream) {
  return Launcher<Params...>(name, kernel, grid, block, smem, stream);
}

}  // namespace atento::emu
