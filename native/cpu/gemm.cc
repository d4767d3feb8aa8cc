// gemm.cc — CPU SGEMM: oneDNN when the build has it, else a built-in blocked kernel.
//
// The built-in kernel copies op(A) and op(B) into row-major panels, then runs an i-k-j loop
// over 64-row blocks of C in parallel; the innermost loop is a contiguous axpy that the compiler
// vectorises. It is the fallback, not the fast path: oneDNN is ~5x faster on AVX-512.
#include "gemm.h"

#include <algorithm>
#include <vector>

#include "../common.h"
#include "parallel.h"

#ifdef ATENTO_WITH_ONEDNN
#include <oneapi/dnnl/dnnl.h>

#include "signal_guard.h"
#endif

namespace atento::cpu {

static inline float at(const float* X, bool trans, int64_t ld, int64_t r, int64_t c) {
  return trans ? X[c * ld + r] : X[r * ld + c];
}

void sgemm_ref(bool transA, bool transB, int64_t M, int64_t N, int64_t K, float alpha,
               const float* A, int64_t lda, const float* B, int64_t ldb, float beta, float* C,
               int64_t ldc) {
  for (int64_t i = 0; i < M; i++)
    for (int64_t j = 0; j < N; j++) {
      double acc = 0;
      for (int64_t k = 0; k < K; k++) acc += (double)at(A, transA, lda, i, k) * at(B, transB, ldb, k, j);
      float prev = beta == 0.0f ? 0.0f : beta * C[i * ldc + j];
      C[i * ldc + j] = (float)(alpha * acc) + prev;
    }
}

[[maybe_unused]] static void sgemm_builtin(bool transA, bool transB, int64_t M, int64_t N, int64_t K, float alpha,
                          const float* A, int64_t lda, const float* B, int64_t ldb, float beta,
                          float* C, int64_t ldc) {
  // Panels: a is op(A) as [M,K], b is op(B) as [K,N], both dense row-major.
  std::vector<float> a, b;
  const float* pa = A;
  int64_t sa = lda;
  if (transA) {
    a.resize(M * K);
    for (int64_t i = 0; i < M; i++)
      for (int64_t k = 0; k < K; k++) a[i * K + k] = A[k * lda + i];
    pa = a.data();
    sa = K;
  }
  const float* pb = B;
  int64_t sb = ldb;
  if (transB) {
    b.resize(K * N);
    for (int64_t k = 0; k < K; k++)
      for (int64_t j = 0; j < N; j++) b[k * N + j] = B[j * ldb + k];
    pb = b.data();
    sb = N;
  }
  #pragma omp parallel for schedule(static) if (M * N * K > kParallelGrain)
  for (int64_t i = 0; i < M; i++) {
    float* c = C + i * ldc;
    for (int64_t j = 0; j < N; j++) c[j] = beta == 0.0f ? 0.0f : beta * c[j];
    for (int64_t k = 0; k < K; k++) {
      const float s = alpha * pa[i * sa + k];
      const float* brow = pb + k * sb;
      for (int64_t j = 0; j < N; j++) c[j] += s * brow[j];
    }
  }
}

void sgemm(bool transA, bool transB, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
           int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  if (M == 0 || N == 0) return;
  if (K == 0) {  // C = beta * C
    for (int64_t i = 0; i < M; i++)
      for (int64_t j = 0; j < N; j++) C[i * ldc + j] = beta == 0.0f ? 0.0f : beta * C[i * ldc + j];
    return;
  }
#ifdef ATENTO_WITH_ONEDNN
  const SignalGuard no_signals;  // see signal_guard.h
  dnnl_status_t st = dnnl_sgemm(transA ? 'T' : 'N', transB ? 'T' : 'N', M, N, K, alpha, A, lda, B,
                                ldb, beta, C, ldc);
  if (st != dnnl_success) throw Error("ERR_INTERNAL", "dnnl_sgemm failed with status " + std::to_string((int)st));
#else
  sgemm_builtin(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
#endif
}

void sgemm_strided_batched(bool transA, bool transB, int64_t M, int64_t N, int64_t K, float alpha,
                           const float* A, int64_t lda, int64_t strideA, const float* B, int64_t ldb,
                           int64_t strideB, float beta, float* C, int64_t ldc, int64_t strideC,
                           int64_t batch) {
  // Small matrices: one GEMM per thread beats a parallel GEMM per matrix.
  const bool small = M * N * K < (1 << 18) && batch > 1;
  if (small) {
#ifdef ATENTO_WITH_ONEDNN
    const SignalGuard no_signals;  // see signal_guard.h
#endif
    #pragma omp parallel for schedule(static) if (batch * M * N * K > kParallelGrain)
    for (int64_t i = 0; i < batch; i++) {
#ifdef ATENTO_WITH_ONEDNN
      // dnnl_sgemm runs single-threaded when called from inside a parallel region.
      dnnl_sgemm(transA ? 'T' : 'N', transB ? 'T' : 'N', M, N, K, alpha, A + i * strideA, lda,
                 B + i * strideB, ldb, beta, C + i * strideC, ldc);
#else
      sgemm_builtin(transA, transB, M, N, K, alpha, A + i * strideA, lda, B + i * strideB, ldb, beta,
                    C + i * strideC, ldc);
#endif
    }
    return;
  }
  for (int64_t i = 0; i < batch; i++)
    sgemm(transA, transB, M, N, K, alpha, A + i * strideA, lda, B + i * strideB, ldb, beta,
          C + i * strideC, ldc);
}

const char* blas_name() {
#ifdef ATENTO_WITH_ONEDNN
  return "onednn";
#else
  return "builtin";
#endif
}

}  // namespace atento::cpu
