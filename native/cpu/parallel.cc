// parallel.cc — thread count of the shared OpenMP pool (see parallel.h).
#include "parallel.h"

#include <thread>

#ifdef _OPENMP
#include <omp.h>
#endif

namespace atento::cpu {

int num_threads() {
#ifdef _OPENMP
  return omp_get_max_threads();
#else
  return 1;
#endif
}

void set_num_threads(int n) {
  if (n <= 0) n = static_cast<int>(std::thread::hardware_concurrency());
  if (n <= 0) n = 1;
#ifdef _OPENMP
  omp_set_num_threads(n);
#endif
}

}  // namespace atento::cpu
