// reduce.cc — CPU reductions (see reduce.h).
//
// x is [outer, R, inner]. inner == 1 (reducing the last dims): one row of R per output, summed
// with a vectorised double accumulator; rows in parallel, or, for a few long rows, each row
// split across the threads. inner > 1: for each (o, block of up to 256 inner indices) a double
// accumulator array swept over r, so reads stay contiguous; the (o, block) tasks in parallel.
// reduce_max keeps (value, first index) per output the same two ways.
#include "reduce.h"

#include <algorithm>
#include <cmath>

#include "parallel.h"

namespace atento::cpu {

constexpr int64_t kInnerBlock = 256;

void reduce_sum(float* out, const float* x, int64_t outer, int64_t R, int64_t inner, float scale) {
  if (outer == 0 || inner == 0) return;
  if (inner == 1) {
    if (outer >= num_threads() || R * outer <= kParallelGrain) {
      parallel_for(outer, R * outer > kParallelGrain, [&](int64_t o) {
        const float* row = x + o * R;
        double acc = 0;
        #pragma omp simd reduction(+ : acc)
        for (int64_t r = 0; r < R; r++) acc += row[r];
        out[o] = (float)(acc * scale);
      });
    } else {
      for (int64_t o = 0; o < outer; o++) {
        const float* row = x + o * R;
        double acc = 0;
        #pragma omp parallel for simd schedule(static) reduction(+ : acc)
        for (int64_t r = 0; r < R; r++) acc += row[r];
        out[o] = (float)(acc * scale);
      }
    }
    return;
  }
  const int64_t blocks = (inner + kInnerBlock - 1) / kInnerBlock;
  parallel_for(outer * blocks, outer * R * inner > kParallelGrain, [&](int64_t t) {
    int64_t o = t / blocks, i0 = (t % blocks) * kInnerBlock, n = std::min(kInnerBlock, inner - i0);
    double acc[kInnerBlock];
    for (int64_t i = 0; i < n; i++) acc[i] = 0;
    for (int64_t r = 0; r < R; r++) {
      const float* row = x + (o * R + r) * inner + i0;
      #pragma omp simd
      for (int64_t i = 0; i < n; i++) acc[i] += row[i];
    }
    for (int64_t i = 0; i < n; i++) out[o * inner + i0 + i] = (float)(acc[i] * scale);
  });
}

// Whether v replaces the current extreme `best` (strictly better, or the first NaN).
static inline bool better(float v, float best, bool is_min) {
  if (std::isnan(best)) return false;
  if (std::isnan(v)) return true;
  return is_min ? v < best : v > best;
}

void reduce_max(float* values, int32_t* indices, const float* x, int64_t outer, int64_t R, int64_t inner,
                bool is_min) {
  if (outer == 0 || inner == 0 || R == 0) return;
  parallel_for(outer * inner, outer * R * inner > kParallelGrain, [&](int64_t t) {
    int64_t o = t / inner, i = t % inner;
    const float* p = x + o * R * inner + i;
    float best = p[0];
    int64_t arg = 0;
    for (int64_t r = 1; r < R; r++) {
      float v = p[r * inner];
      if (better(v, best, is_min)) {
        best = v;
        arg = r;
      }
    }
    if (values) values[t] = best;
    if (indices) indices[t] = (int32_t)arg;
  });
}

void reduce_max_backward(float* dx, const float* dy, const int32_t* indices, int64_t outer, int64_t R,
                         int64_t inner) {
  parallel_for(outer, outer * R * inner > kParallelGrain, [&](int64_t o) {
    for (int64_t r = 0; r < R; r++) {
      float* d = dx + (o * R + r) * inner;
      const float* g = dy + o * inner;
      const int32_t* idx = indices + o * inner;
      for (int64_t i = 0; i < inner; i++) d[i] = idx[i] == r ? g[i] : 0.0f;
    }
  });
}

}  // namespace atento::cpu
