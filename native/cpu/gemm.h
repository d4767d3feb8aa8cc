// gemm.h — single-precision matrix multiply on the CPU.
//
// Row-major, like C arrays: C[M,N] = alpha * op(A)[M,K] * op(B)[K,N] + beta * C.
// op(X) is X or X^T; lda/ldb/ldc are the row strides of A, B, C as stored.
// Backed by oneDNN's dnnl_sgemm when the build found oneDNN, else by a blocked,
// OpenMP-parallel built-in kernel (gemm_builtin.cc). blas_name() says which.
#pragma once

#include <cstdint>

namespace atento::cpu {

void sgemm(bool transA, bool transB, int64_t M, int64_t N, int64_t K, float alpha,
           const float* A, int64_t lda, const float* B, int64_t ldb, float beta, float* C,
           int64_t ldc);

// `batch` independent GEMMs; matrix i of X starts at X + i * strideX (strideX may be 0 to
// broadcast one matrix over the batch).
void sgemm_strided_batched(bool transA, bool transB, int64_t M, int64_t N, int64_t K,
                           float alpha, const float* A, int64_t lda, int64_t strideA,
                           const float* B, int64_t ldb, int64_t strideB, float beta, float* C,
                           int64_t ldc, int64_t strideC, int64_t batch);

// The reference: three loops, double accumulation. The yardstick for tests.
void sgemm_ref(bool transA, bool transB, int64_t M, int64_t N, int64_t K, float alpha,
               const float* A, int64_t lda, const float* B, int64_t ldb, float beta, float* C,
               int64_t ldc);

const char* blas_name();  // "onednn" or "builtin"

}  // namespace atento::cpu
