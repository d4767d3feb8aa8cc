// fma_peak.cc — the machine's single-precision FMA peak per core, to judge how close a kernel's
// GFLOP/s come to it: 24 independent chains of 16-lane fused multiply-adds (AVX-512), more than
// the FMA units' latency x throughput, timed on one thread. Build and run: `bash bench/fma-peak.sh`.
#include <immintrin.h>

#include <chrono>
#include <cstdio>

int main() {
#if defined(__AVX512F__)
  constexpr int kChains = 24;
  __m512 acc[kChains];
  for (int i = 0; i < kChains; i++) acc[i] = _mm512_set1_ps(1.0f + i * 1e-7f);
  const __m512 a = _mm512_set1_ps(0.9999999f), b = _mm512_set1_ps(1e-7f);
  const long n = 100000000;
  for (int rep = 0; rep < 3; rep++) {
    const auto t0 = std::chrono::steady_clock::now();
    for (long i = 0; i < n; i++) {
#pragma GCC unroll 24
      for (int j = 0; j < kChains; j++) acc[j] = _mm512_fmadd_ps(acc[j], a, b);
    }
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    printf("%.2f G FMA instructions/s = %.1f GFLOP/s per core\n", n * kChains / s / 1e9, n * kChains * 32.0 / s / 1e9);
  }
  float sink = 0;
  for (int i = 0; i < kChains; i++) sink += _mm512_reduce_add_ps(acc[i]);
  return sink == 1.0f;
#else
  printf("fma_peak: built without AVX-512, nothing measured\n");
  return 0;
#endif
}
