// elementwise.cc — CPU elementwise kernels (see elementwise.h).
#include "elementwise.h"

#include "parallel.h"

namespace atento::cpu {

void axpy(float* y, const float* x, float alpha, int64_t n) {
  #pragma omp parallel for simd schedule(static) if (n > kParallelGrain)
  for (int64_t i = 0; i < n; i++) y[i] += alpha * x[i];
}

}  // namespace atento::cpu
