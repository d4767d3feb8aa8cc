// lstm_gemms.cc — is the LSTM sequence op GEMM-bound? Times atento's whole lstm_forward +
// lstm_backward (native/cpu/lstm.cc, no Node) next to the six GEMMs it is made of, each called
// alone through the same oneDNN entry points lstm.cc uses, at the ops benchmark's shapes
// (B=64, T=100, I=256, H=512 and 1024):
//   forward   gates = x wIh^T                 sgemm [TB,I] x [I,4H]
//             per step gates_t += h wHh^T      matmul primitive, wHh packed once, T calls [B,H] x [H,4H]
//   backward  per step dh = dGates_t wHh       matmul primitive, packed, T calls [B,4H] x [4H,H]
//             dX = dGates wIh                  sgemm [TB,4H] x [4H,I]
//             dWih^T = x^T dGates              sgemm [I,TB] x [TB,4H]
//             dWhh^T = h^T dGates              sgemm [H,TB] x [TB,4H]
// Their sum is what the op would cost if everything but the GEMMs were free. Build and run with
// `bash bench/lstm-gemms.sh` (OMP_NUM_THREADS threads, default 2, like the PyTorch comparison).
// Times are the best of 5 runs (the machine is shared; the minimum is the least disturbed run).
#include <oneapi/dnnl/dnnl.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <vector>

#include "cpu/lstm.h"

using namespace dnnl;

static double best_ms(const std::function<void()>& fn, int runs = 5) {
  fn();  // warm-up (and oneDNN's kernel generation)
  double best = 1e30;
  for (int r = 0; r < runs; r++) {
    const auto t0 = std::chrono::steady_clock::now();
    fn();
    best = std::min(best, std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  return best;
}

static std::vector<float> filled(int64_t n, float v) { return std::vector<float>(n, v); }

// C[M,N] = op(A) op(B) through dnnl_sgemm, row-major ('T': the operand is stored transposed).
static double sgemm_ms(char ta, char tb, int64_t M, int64_t N, int64_t K) {
  auto A = filled(M * K, 0.01f), B = filled(K * N, 0.02f), C = filled(M * N, 0.0f);
  return best_ms([&] {
    dnnl_sgemm(ta, tb, M, N, K, 1.0f, A.data(), ta == 'N' ? K : M, B.data(), tb == 'N' ? N : K, 0.0f, C.data(), N);
  });
}

// `steps` products C_t [M,N] (+)= A_t [M,K] W, W [K,N] reordered once into the matmul primitive's
// own layout (lstm.cc's RecurrentGemm; accumulate: the forward's beta = 1).
static double packed_ms(int64_t M, int64_t N, int64_t K, bool transW, bool accumulate, int steps) {
  static engine eng(engine::kind::cpu, 0);
  stream s(eng);
  const auto f32 = memory::data_type::f32;
  using tag = memory::format_tag;
  primitive_attr attr;
  if (accumulate) {
    post_ops po;
    po.append_sum(1.0f);
    attr.set_post_ops(po);
  }
  matmul::primitive_desc pd(matmul::desc(memory::desc({M, K}, f32, tag::ab), memory::desc({K, N}, f32, tag::any),
                                         memory::desc({M, N}, f32, tag::ab)),
                            attr, eng);
  matmul prim(pd);
  auto W = filled(K * N, 0.01f), A = filled(M * K * steps, 0.01f), C = filled(M * N * steps, 0.0f);
  memory packed(pd.weights_desc(), eng), user(memory::desc({K, N}, f32, transW ? tag::ba : tag::ab), eng, W.data());
  reorder(user, packed).execute(s, user, packed);
  s.wait();
  return best_ms([&] {
    for (int t = 0; t < steps; t++) {
      memory a(pd.src_desc(), eng, A.data() + t * M * K), c(pd.dst_desc(), eng, C.data() + t * M * N);
      prim.execute(s, {{DNNL_ARG_SRC, a}, {DNNL_ARG_WEIGHTS, packed}, {DNNL_ARG_DST, c}});
      s.wait();
    }
  });
}

static void lstm_case(int64_t B, int64_t T, int64_t I, int64_t H) {
  const int64_t G = 4 * H, TB = T * B;
  const double gemms[6] = {
      sgemm_ms('N', 'T', TB, G, I),        // x wIh^T
      packed_ms(B, G, H, true, true, T),   // h wHh^T per step
      packed_ms(B, H, G, false, false, T), // dGates_t wHh per step
      sgemm_ms('N', 'N', TB, I, G),        // dX
      sgemm_ms('T', 'N', I, G, TB),        // dWih^T
      sgemm_ms('T', 'N', H, G, TB),        // dWhh^T
  };
  double sum = 0;
  for (double g : gemms) sum += g;

  // The op itself, on random-ish inputs (values do not change the time).
  auto x = filled(TB * I, 0.1f), wIh = filled(G * I, 0.01f), wHh = filled(G * H, 0.01f), bIh = filled(G, 0.0f),
       bHh = filled(G, 0.0f), h0 = filled(B * H, 0.0f), c0 = filled(B * H, 0.0f);
  auto out = filled(TB * H, 0), hN = filled(B * H, 0), cN = filled(B * H, 0), gates = filled(TB * G, 0),
       cs = filled(TB * H, 0), dOut = filled(TB * H, 0.01f), dh = filled(B * H, 0), dc = filled(B * H, 0),
       dGates = filled(TB * G, 0), dX = filled(TB * I, 0), dWih = filled(G * I, 0), dWhh = filled(G * H, 0),
       dbIh = filled(G, 0), dbHh = filled(G, 0);
  const double op = best_ms([&] {
    atento::cpu::lstm_forward(out.data(), hN.data(), cN.data(), gates.data(), cs.data(), x.data(), h0.data(),
                              c0.data(), wIh.data(), wHh.data(), bIh.data(), bHh.data(), T, B, I, H);
    std::fill(dh.begin(), dh.end(), 0.0f);
    std::fill(dc.begin(), dc.end(), 0.0f);
    atento::cpu::lstm_backward(dX.data(), dWih.data(), dWhh.data(), dbIh.data(), dbHh.data(), dh.data(), dc.data(),
                               dGates.data(), dOut.data(), gates.data(), cs.data(), out.data(), x.data(), h0.data(),
                               c0.data(), wIh.data(), wHh.data(), T, B, I, H);
  });
  const double flops = 3.0 * 2.0 * TB * (I + H) * G;
  printf("| lstm B%ld T%ld I%ld H%ld | %7.1f | %7.1f | %7.1f | %7.1f | %7.1f | %7.1f | %8.1f | %8.1f | %5.2f | %6.0f |\n",
         (long)B, (long)T, (long)I, (long)H, gemms[0], gemms[1], gemms[2], gemms[3], gemms[4], gemms[5], sum, op,
         op / sum, flops / op / 1e6);
}

int main() {
  printf("threads %s, wall clock, best of 5 runs, ms\n", getenv("OMP_NUM_THREADS") ? getenv("OMP_NUM_THREADS") : "all");
  printf("| case | x wIh^T | h wHh^T x T | dG wHh x T | dX | dWih^T | dWhh^T | GEMMs sum | atento op | op / sum | op GFLOP/s |\n");
  printf("|---|---|---|---|---|---|---|---|---|---|---|\n");
  lstm_case(64, 100, 256, 512);
  lstm_case(64, 100, 256, 1024);
  return 0;
}
