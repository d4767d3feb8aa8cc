// parallel.h — the CPU thread pool.
//
// atento's CPU kernels and oneDNN share one pool: the OpenMP runtime (Debian's oneDNN is built
// on OpenMP). Kernels parallelise with `#pragma omp parallel for`, as llm.c's CPU reference does,
// so one thread count (ATENTO_NUM_THREADS, default: the machine's cores) governs everything and
// nothing oversubscribes. Builds without OpenMP run the same loops on one thread.
#pragma once

#include <cstdint>

namespace atento::cpu {

int num_threads();               // threads a parallel region uses
void set_num_threads(int n);     // n <= 0 means "the machine's cores"

// Enough work per thread that forking the pool pays for itself (rough, in float ops).
constexpr int64_t kParallelGrain = 1 << 14;

}  // namespace atento::cpu
