// embedding.cc — CPU embedding (see embedding.h).
//
// forward: rows copied in parallel over n (out [N, C] <- weight [V, C]).
// backward: a scatter-add without races or atomics: thread t owns the weight rows v with
// v % T == t, scans all N ids and adds the rows it owns, in n order. Every row therefore sums
// its contributions in the same order whatever the thread count (bitwise deterministic).
#include "embedding.h"

#include <cstring>

#include "parallel.h"

#ifdef _OPENMP
#include <omp.h>
#endif

namespace atento::cpu {

void embedding_forward(float* out, const int32_t* ids, const float* weight, int64_t N, int64_t C) {
  parallel_for(N, N * C > kParallelGrain,
               [&](int64_t n) { std::memcpy(out + n * C, weight + (int64_t)ids[n] * C, C * sizeof(float)); });
}

void embedding_backward(float* dweight, const float* dout, const int32_t* ids, int64_t N, int64_t V, int64_t C,
                        int64_t padding_idx) {
  #pragma omp parallel if (N * C > kParallelGrain)
  {
#ifdef _OPENMP
    const int64_t T = omp_get_num_threads(), t = omp_get_thread_num();
#else
    const int64_t T = 1, t = 0;
#endif
    for (int64_t n = 0; n < N; n++) {
      int64_t v = ids[n];
      if (v % T != t || v == padding_idx) continue;
      float* dst = dweight + v * C;
      const float* src = dout + n * C;
      #pragma omp simd
      for (int64_t c = 0; c < C; c++) dst[c] += src[c];
    }
  }
}

}  // namespace atento::cpu
