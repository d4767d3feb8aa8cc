// control.h — knobs and counters of the CUDA emulator, for tests (namespace atento::emu).
//
// Environment variables, read once at the first launch or allocation (the setters below
// override them):
//   ATENTO_EMU_ORDER=forward|reverse|shuffle[:seed]   order of threads between barriers and of
//                                                     blocks in a grid (default forward)
//   ATENTO_EMU_POISON=0|1          fill cudaMalloc memory and dynamic shared memory with 0xFF
//                                  bytes (NaN as float) so unwritten reads show (default 1)
//   ATENTO_EMU_MEMORY_LIMIT=bytes  cudaMalloc fails beyond this many live bytes (default none)
//   ATENTO_EMU_DEVICE_ERROR=no_device|insufficient_driver   pretend there is no usable GPU
//   ATENTO_EMU_STACK_KB=n          stack per emulated thread (default 64; 256 under sanitizers)
#pragma once

#include <cstddef>
#include <cstdint>

#include "runtime.h"

namespace atento::emu {

// Order in which the emulator runs the threads of a block between two barriers (and the
// blocks of a grid). A kernel whose output depends on it is missing a __syncthreads.
enum class Order { Forward, Reverse, Shuffle };
void set_order(Order order, uint64_t seed = 1);
Order order();
const char* order_name(Order order);

void set_poison(bool on);
void set_memory_limit(size_t bytes);      // 0: no limit
size_t device_bytes_in_use();             // live cudaMalloc bytes (leak checks)
void set_device_error(cudaError_t error);  // cudaSuccess: the emulated device is usable

// The detailed message of the latest error on this host thread ("" if none yet).
const char* last_error_message();

struct Counters {
  uint64_t launches = 0;   // kernels that started running
  uint64_t blocks = 0;     // blocks run to completion
  uint64_t threads = 0;    // emulated CUDA threads run to completion
  uint64_t barriers = 0;   // block-wide barriers released
  uint64_t warp_ops = 0;   // warp collectives completed (shuffles, votes, __syncwarp, wmma)
  uint64_t switches = 0;   // fiber switches into emulated threads
};
Counters counters();
void reset_counters();

}  // namespace atento::emu
