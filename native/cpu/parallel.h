// parallel.h — the CPU thread pool.
//
// atento's CPU kernels and oneDNN share one pool: the OpenMP runtime (Debian's oneDNN is built
// on OpenMP). Kernels parallelise with `#pragma omp parallel for`, as llm.c's CPU reference does,
// or with parallel_range / parallel_for below (small sizes run serially), so one thread count
// (ATENTO_NUM_THREADS, default: the machine's cores) governs everything and nothing
// oversubscribes. Builds without OpenMP run the same loops on one thread.
#pragma once

#include <algorithm>
#include <cstdint>
#ifdef _OPENMP
#include <omp.h>
#endif

namespace atento::cpu {

int num_threads();               // threads a parallel region uses
void set_num_threads(int n);     // n <= 0 means "the machine's cores"

// Enough work per thread that forking the pool pays for itself (rough, in float ops).
constexpr int64_t kParallelGrain = 1 << 14;

// body(begin, end) over [0, n): one contiguous range per thread of the pool when `parallel` (like
// `omp for schedule(static)`), else the whole range once, on the calling thread. Small tensors
// must not enter `#pragma omp parallel ... if (false)`: libgomp still starts and ends a team of
// one, with a futex wake each time (~1 us, most of an op on a small tensor).
template <class Body>
inline void parallel_range(int64_t n, bool parallel, Body&& body) {
  if (n <= 0) return;
#ifdef _OPENMP
  if (parallel && n > 1) {
    #pragma omp parallel
    {
      const int64_t nt = omp_get_num_threads(), chunk = (n + nt - 1) / nt;
      const int64_t begin = std::min<int64_t>(n, omp_get_thread_num() * chunk), end = std::min(n, begin + chunk);
      if (begin < end) body(begin, end);
    }
    return;
  }
#endif
  (void)parallel;
  body(int64_t{0}, n);
}

// body(i) for every i in [0, n), split as parallel_range splits it.
template <class Body>
inline void parallel_for(int64_t n, bool parallel, Body&& body) {
  parallel_range(n, parallel, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; i++) body(i);
  });
}

}  // namespace atento::cpu
