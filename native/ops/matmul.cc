// matmul.cc — binding for batched GEMM, the engine of matmul and linear (forward and backward).
// CPU: oneDNN sgemm (native/cpu/gemm.cc); CUDA: cuBLAS strided-batched SGEMM (cuda/device.cc).
#include "../cpu/gemm.h"
#include "../napi_util.h"
#ifdef ATENTO_WITH_CUDA
#include "../cuda/device.h"
#endif

namespace atento {

// gemm(C, A, B, transA, transB, M, N, K, strideA, strideB, batch, alpha, beta[, offC, offA, offB])
// For i < batch: C_i[M,N] = alpha * op(A_i) op(B_i) + beta * C_i, all dense row-major;
// A_i = A + offA + i*strideA (stride 0 broadcasts one matrix), likewise B; C_i = C + offC + i*M*N.
ATENTO_EXPORT(gemm) {
  Args a(info, "matmul");
  bool transA = a.flag(3), transB = a.flag(4);
  int64_t M = a.int64(5), N = a.int64(6), K = a.int64(7);
  int64_t strideA = a.int64(8), strideB = a.int64(9), batch = a.int64(10);
  float alpha = (float)a.number(11), beta = (float)a.number(12);
  check(M >= 0 && N >= 0 && K >= 0 && batch >= 0 && strideA >= 0 && strideB >= 0, "ERR_SHAPE",
        "matmul: negative size");
  int64_t offC = a.absent(13) ? 0 : a.int64(13), offA = a.absent(14) ? 0 : a.int64(14),
          offB = a.absent(15) ? 0 : a.int64(15);
  check(offC >= 0 && offA >= 0 && offB >= 0, "ERR_SHAPE", "matmul: negative offset");
  auto extent = [&](int64_t off, int64_t stride, int64_t mat) { return batch == 0 ? 0 : off + (batch - 1) * stride + mat; };
  float* C = a.f32(0, extent(offC, M * N, M * N)) + offC;
  const float* A = a.f32(1, extent(offA, strideA, M * K)) + offA;
  const float* B = a.f32(2, extent(offB, strideB, K * N)) + offB;
  int64_t lda = transA ? M : K, ldb = transB ? K : N;
  ATENTO_DISPATCH(a.device(), sgemm_strided_batched(transA, transB, M, N, K, alpha, A, lda, strideA, B, ldb,
                                                    strideB, beta, C, N, M * N, batch));
  return info.Env().Undefined();
}

}  // namespace atento
