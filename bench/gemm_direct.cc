// gemm_direct.cc — oneDNN's dnnl_sgemm called directly: the yardstick for atento's matmul.
// For each "MxKxN" argument: the median time of the three GEMMs of a matmul's forward and
// backward (C = A B, dA = dC B^T, dB = A^T dC), printed as "MxKxN seconds".
#include <oneapi/dnnl/dnnl.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <vector>

int main(int argc, char** argv) {
  for (int i = 1; i < argc; i++) {
    long M, K, N;
    if (sscanf(argv[i], "%ldx%ldx%ld", &M, &K, &N) != 3) return 1;
    std::vector<float> A(M * K, 0.5f), B(K * N, 0.25f), C(M * N), dC(M * N, 1.0f), dA(M * K), dB(K * N);
    auto step = [&] {
      dnnl_sgemm('N', 'N', M, N, K, 1.f, A.data(), K, B.data(), N, 0.f, C.data(), N);
      dnnl_sgemm('N', 'T', M, K, N, 1.f, dC.data(), N, B.data(), N, 0.f, dA.data(), K);
      dnnl_sgemm('T', 'N', K, N, M, 1.f, A.data(), K, dC.data(), N, 0.f, dB.data(), N);
    };
    for (int w = 0; w < 3; w++) step();
    std::vector<double> times;
    auto start = std::chrono::steady_clock::now();
    while (times.size() < 5 || std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() < 0.5) {
      auto t0 = std::chrono::steady_clock::now();
      step();
      times.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    }
    std::sort(times.begin(), times.end());
    printf("%ldx%ldx%ld %.9f\n", M, K, N, times[times.size() / 2]);
  }
  return 0;
}
