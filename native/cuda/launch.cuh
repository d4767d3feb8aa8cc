// launch.cuh — the only CUDA-specific include of a kernel file (native/cuda/<family>.cu).
//
// A kernel file compiles two ways from the same source:
//   nvcc                                   real CUDA: <cuda_runtime.h>, <mma.h>, fp16/bf16
//   g++ -x c++ -DATENTO_CUDA_EMULATE       against the CPU emulator in native/emu (tests)
// so kernel files follow three rules:
//   - launch with ATENTO_LAUNCH(kernel, grid, block, smemBytes, stream, args...), never <<<>>>;
//   - take dynamic shared memory with ATENTO_DYNAMIC_SHARED(type, name), never extern __shared__;
//   - use only the CUDA names the emulator provides (native/emu/kernel_api.h lists them:
//     barriers, warp shuffles/votes, atomics, fast-math and bit intrinsics, vector types,
//     __half/__nv_bfloat16, nvcuda::wmma). Inline PTX needs a named wrapper here with an
//     emulated twin.
// ATENTO_CUDA_ARCH is the compute capability being compiled for (e.g. 800), 0 in nvcc's host
// pass, and 900 in the emulator (it emulates an sm_90-like device). `#pragma unroll` is fine;
// emulated builds add -Wno-unknown-pragmas.
#pragma once

#ifdef ATENTO_CUDA_EMULATE

#include "../emu/emu.h"

#define ATENTO_LAUNCH(kernel, grid, block, smemBytes, stream, ...)                           \
  ::atento::emu::launcher(#kernel, kernel, grid, block, smemBytes, (cudaStream_t)(stream))( \
      __VA_ARGS__)

#define ATENTO_DYNAMIC_SHARED(type, name) \
  type* name = reinterpret_cast<type*>(::atento::emu::dynamic_shared())

#define ATENTO_CUDA_ARCH 900

#else  // real CUDA

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>
#include <mma.h>

#define ATENTO_LAUNCH(kernel, grid, block, smemBytes, stream, ...) \
  kernel<<<grid, block, smemBytes, (cudaStream_t)(stream)>>>(__VA_ARGS__)

// One 16-byte aligned dynamic shared array per kernel, viewed as `type`.
#define ATENTO_DYNAMIC_SHARED(type, name)                                  \
  extern __shared__ __align__(16) unsigned char atento_dynamic_shared_[]; \
  type* name = reinterpret_cast<type*>(atento_dynamic_shared_)

#ifdef __CUDA_ARCH__
#define ATENTO_CUDA_ARCH __CUDA_ARCH__
#else
#define ATENTO_CUDA_ARCH 0
#endif

#endif  // ATENTO_CUDA_EMULATE
