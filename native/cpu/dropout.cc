// dropout.cc — CPU dropout (see dropout.h): one flat parallel loop over x [n]; each element
// hashes its own index, so the result does not depend on how the loop is split.
#include "dropout.h"

#include "parallel.h"

namespace atento::cpu {

void dropout_forward(float* out, const float* x, int64_t n, uint64_t seed, uint32_t threshold, float scale) {
  const uint64_t key = dropout_key(seed);
  parallel_range(n, n > kParallelGrain / 4, [&](int64_t begin, int64_t end) {
    #pragma omp simd
    for (int64_t i = begin; i < end; i++) out[i] = dropout_bits(key, (uint64_t)i) >= threshold ? x[i] * scale : 0.0f;
  });
}

}  // namespace atento::cpu
