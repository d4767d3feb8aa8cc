// emu_test.cc — self-tests of the CUDA emulator (native/emu), run by scripts/test-emu.sh.
// The kernels live in sample_kernels.cu, which also compiles with nvcc.
//
//   emu_test             every correct kernel in four thread orders (forward, reverse, two
//                        shuffles) against CPU references, then the buggy kernels, each of
//                        which must be caught, then the stand-in runtime API
//   emu_test race        a kernel with a missing barrier that never changes the output
//                        (run under TSan: the race must be reported)
//   emu_test race-fixed  the same kernel with the barrier (TSan must stay quiet)
//   emu_test race-gemm   the tiled GEMM without its second barrier (TSan must report)
//   emu_test race-warp   a shared-memory warp tree sum without __syncwarp (TSan must report)
//   emu_test oob         a kernel that reads one float past a device buffer (ASan must report)
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "../../native/emu/half.h"
#include "check.h"
#include "sample_kernels.h"

using namespace emu_test;
using atento::emu::Order;

namespace {

struct OrderCase {
  Order order;
  uint64_t seed;
  const char* name;
};
const OrderCase kOrders[] = {{Order::Forward, 1, "forward"},
                             {Order::Reverse, 1, "reverse"},
                             {Order::Shuffle, 1, "shuffle:1"},
                             {Order::Shuffle, 2, "shuffle:2"}};

std::vector<float> cpu_gemm(const std::vector<float>& A, const std::vector<float>& B, int M, int N,
                            int K) {
  std::vector<float> C(size_t(M) * N);
  for (int i = 0; i < M; ++i)
    for (int j = 0; j < N; ++j) {
      double acc = 0;
      for (int k = 0; k < K; ++k) acc += double(A[size_t(i) * K + k]) * B[size_t(k) * N + j];
      C[size_t(i) * N + j] = static_cast<float>(acc);
    }
  return C;
}

bool launch_ok(const char* what) {
  const cudaError_t e = cudaGetLastError();
  if (e != cudaSuccess) std::printf("  %s: %s\n", what, cudaGetErrorString(e));
  return e == cudaSuccess;
}

// ---- correct kernels ---------------------------------------------------------------------

double gemm_ms = 0;  // of the latest big run

// Sanitizers slow the emulator 10-30x: they get a smaller "big" GEMM.
#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
constexpr int kBig = 64;
#else
constexpr int kBig = 256;
#endif

void test_gemm(int M, int N, int K) {
  const auto A = random_floats(size_t(M) * K, 1), B = random_floats(size_t(K) * N, 2);
  Buffer<float> dA(A), dB(B), dC(size_t(M) * N);
  Timer timer;
  sample_gemm(dA.get(), dB.get(), dC.get(), M, N, K, nullptr);
  cudaDeviceSynchronize();
  if (M == kBig) gemm_ms = timer.ms();
  CHECK(launch_ok("gemm"), "gemm %dx%dx%d launch", M, N, K);
  const double err = max_rel_error(dC.download(), cpu_gemm(A, B, M, N, K));
  CHECK(err < 1e-4, "gemm %dx%dx%d error %g", M, N, K, err);
}

void test_block_sum() {
  const int n = 10000, blocks = 5, threads = 256;
  const auto x = random_floats(n, 3);
  Buffer<float> dx(x), dp(blocks);
  sample_block_sum(dx.get(), dp.get(), n, blocks, threads, nullptr);
  CHECK(launch_ok("block_sum"), "block_sum launch");
  double want = 0, got = 0;
  for (float v : x) want += v;
  for (float v : dp.download()) got += v;
  CHECK(std::abs(got - want) < 1e-3, "block sum %f, want %f", got, want);
}

void test_warp_vote() {
  const int n = 250;  // the last warp is only partly in range
  std::vector<float> x(n);
  for (int i = 0; i < n; ++i) x[i] = (i % 3 == 0 || i >= 224) ? 1.0f : -1.0f;
  const int warps = 8;
  Buffer<float> dx(x);
  Buffer<unsigned> ballots(warps);
  Buffer<int> pop(warps), first(warps), anyall(2 * warps);
  sample_warp_vote(dx.get(), ballots.get(), pop.get(), first.get(), anyall.get(), n, nullptr);
  CHECK(launch_ok("warp_vote"), "warp_vote launch");
  const auto b = ballots.download();
  const auto p = pop.download(), f = first.download(), aa = anyall.download();
  for (int w = 0; w < warps; ++w) {
    unsigned want = 0;
    for (int l = 0; l < 32; ++l) {
      const int i = w * 32 + l;
      if (i < n && x[i] > 0) want |= 1u << l;
    }
    CHECK(b[w] == want, "warp %d ballot %08x, want %08x", w, b[w], want);
    CHECK(p[w] == __builtin_popcount(want), "warp %d popc %d", w, p[w]);
    CHECK(f[w] == __builtin_ffs(static_cast<int>(want)), "warp %d ffs %d", w, f[w]);
    CHECK(aa[2 * w] == (want != 0) && aa[2 * w + 1] == (want == ~0u), "warp %d any/all %d %d", w,
          aa[2 * w], aa[2 * w + 1]);
  }
}

void test_histogram() {
  const int n = 5000, nbins = 37;
  std::vector<int> x(n);
  for (int i = 0; i < n; ++i) x[i] = (i * 7919) % 101;
  Buffer<int> dx(x);
  Buffer<unsigned> bins(nbins);
  Buffer<float> total(1);
  bins.fill_zero();
  total.fill_zero();
  sample_histogram(dx.get(), n, bins.get(), nbins, total.get(), nullptr);
  CHECK(launch_ok("histogram"), "histogram launch");
  std::vector<unsigned> want(nbins);
  double want_total = 0;
  for (int v : x) ++want[v % nbins], want_total += v;
  CHECK(bins.download() == want, "histogram bins differ");
  CHECK(total.download()[0] == static_cast<float>(want_total), "histogram total %f", total.download()[0]);
}

void test_reverse_blocks() {
  const int n = 1000, threads = 128;
  const auto x = random_floats(n, 4);
  Buffer<float> dx(x), dy(n);
  sample_reverse_blocks(dx.get(), dy.get(), n, threads, nullptr);
  CHECK(launch_ok("reverse_blocks"), "reverse_blocks launch");
  const auto y = dy.download();
  bool ok = true;
  for (int i = 0; i < n; ++i) {
    const int b = i / threads, t = i % threads, src = b * threads + (threads - 1 - t);
    const float want = src < n ? x[src] : 0.0f;
    ok = ok && y[i] == want;
  }
  CHECK(ok, "dynamic shared memory reverse differs");
}

void test_softmax_and_rms_norm() {
  const int rows = 13, cols = 200;
  const auto x = random_floats(size_t(rows) * cols, 5);
  Buffer<float> dx(x), dy(x.size()), dz(x.size());
  sample_softmax_rows(dx.get(), dy.get(), rows, cols, nullptr);
  sample_rms_norm_rows(dx.get(), dz.get(), rows, cols, 1e-5f, nullptr);
  CHECK(launch_ok("softmax/rms_norm"), "softmax/rms_norm launch");
  std::vector<float> soft(x.size()), rms(x.size());
  for (int r = 0; r < rows; ++r) {
    const float* xr = &x[size_t(r) * cols];
    const float m = *std::max_element(xr, xr + cols);
    double s = 0, ss = 0;
    for (int c = 0; c < cols; ++c) s += std::exp(double(xr[c]) - m), ss += double(xr[c]) * xr[c];
    for (int c = 0; c < cols; ++c) {
      soft[size_t(r) * cols + c] = static_cast<float>(std::exp(double(xr[c]) - m) / s);
      rms[size_t(r) * cols + c] = static_cast<float>(xr[c] / std::sqrt(ss / cols + 1e-5));
    }
  }
  CHECK(max_rel_error(dy.download(), soft) < 1e-5, "softmax error %g", max_rel_error(dy.download(), soft));
  CHECK(max_rel_error(dz.download(), rms) < 1e-5, "rms norm error %g", max_rel_error(dz.download(), rms));
}

void test_warp_scan() {
  const int n = 300;
  std::vector<int> x(n);
  for (int i = 0; i < n; ++i) x[i] = i % 5 - 2;
  Buffer<int> dx(x), dy(n);
  sample_warp_scan(dx.get(), dy.get(), n, nullptr);
  CHECK(launch_ok("warp_scan"), "warp_scan launch");
  std::vector<int> want(n);
  for (int i = 0; i < n; ++i) want[i] = x[i] + (i % 32 ? want[i - 1] : 0);
  CHECK(dy.download() == want, "warp scan differs");
}

void test_warp_tree_sum() {
  const int blocks = 3;
  const auto x = random_floats(32 * blocks, 16);
  Buffer<float> dx(x), dy(blocks);
  sample_warp_tree_sum(dx.get(), dy.get(), blocks, true, nullptr);
  CHECK(launch_ok("warp_tree_sum"), "warp_tree_sum launch");
  const auto y = dy.download();
  for (int b = 0; b < blocks; ++b) {
    double want = 0;
    for (int l = 0; l < 32; ++l) want += x[b * 32 + l];
    CHECK(std::abs(y[b] - want) < 1e-5, "warp tree sum %f, want %f", y[b], want);
  }
}

void test_atomics() {
  const int n = 1000;
  std::vector<int> x(n);
  for (int i = 0; i < n; ++i) x[i] = (i * 37) % 2001 - 1000;
  Buffer<int> dx(x), mx(std::vector<int>{-2147483647}), mn(std::vector<int>{2147483647}),
      pos(std::vector<int>{0});
  Buffer<unsigned> counter(std::vector<unsigned>{0});
  Buffer<float> last(1);
  sample_atomics(dx.get(), n, mx.get(), mn.get(), counter.get(), last.get(), pos.get(), nullptr);
  CHECK(launch_ok("atomics"), "atomics launch");
  int positives = 0;
  for (int v : x) positives += v > 0;
  CHECK(mx.download()[0] == *std::max_element(x.begin(), x.end()), "atomicMax %d", mx.download()[0]);
  CHECK(mn.download()[0] == *std::min_element(x.begin(), x.end()), "atomicMin %d", mn.download()[0]);
  CHECK(counter.download()[0] == unsigned(n), "atomicCAS counter %u", counter.download()[0]);
  const float l = last.download()[0];
  CHECK(l >= 0 && l < n && l == std::floor(l), "atomicExch left %f", l);
  CHECK(pos.download()[0] == positives, "__syncthreads_count total %d, want %d", pos.download()[0], positives);
}

void test_big_shared() {
  const int floats = 20000;  // 80,000 bytes: needs cudaFuncSetAttribute
  Buffer<float> y(floats);
  sample_big_shared(y.get(), floats, true, nullptr);
  CHECK(launch_ok("big_shared"), "big_shared launch");
  const auto v = y.download();
  CHECK(v[0] == floats - 1 && v[floats - 1] == 0, "big shared %f %f", v[0], v[floats - 1]);
}

template <class T>
void test_wmma(const char* name, void (*run)(const void*, const void*, float*, int, int, int, void*),
               double tolerance) {
  const int M = 32, N = 48, K = 64;
  const auto A = random_floats(size_t(M) * K, 6), B = random_floats(size_t(K) * N, 7);
  std::vector<T> a(A.begin(), A.end()), b(B.begin(), B.end());
  std::vector<float> Ar(a.begin(), a.end()), Br(b.begin(), b.end());  // inputs as rounded
  Buffer<T> da(a), db(b);
  Buffer<float> dc(size_t(M) * N);
  run(da.get(), db.get(), dc.get(), M, N, K, nullptr);
  CHECK(launch_ok(name), "%s launch", name);
  const double err = max_rel_error(dc.download(), cpu_gemm(Ar, Br, M, N, K));
  CHECK(err < tolerance, "%s error %g", name, err);
}

void run_tf32(const void* A, const void* B, float* C, int M, int N, int K, void* s) {
  sample_wmma_tf32(static_cast<const float*>(A), static_cast<const float*>(B), C, M, N, K, s);
}

void run_correct_kernels() {
  for (const OrderCase& o : kOrders) {
    atento::emu::set_order(o.order, o.seed);
    const int before = failures();
    Timer timer;
    test_gemm(kBig, kBig, kBig);
    const double gemm_big = gemm_ms;
    test_gemm(37, 50, 29);
    test_block_sum();
    test_warp_vote();
    test_histogram();
    test_reverse_blocks();
    test_softmax_and_rms_norm();
    test_warp_scan();
    test_warp_tree_sum();
    test_atomics();
    test_big_shared();
    sample_no_arguments(96, nullptr);
    CHECK(launch_ok("no_arguments"), "kernel without arguments");
    test_wmma<float>("wmma tf32", run_tf32, 2e-3);  // tf32 truncation
    test_wmma<__half>("wmma half", sample_wmma_half, 1e-5);
    test_wmma<__nv_bfloat16>("wmma bf16", sample_wmma_bf16, 1e-5);
    std::printf("  %-4s correct kernels, %-9s order: gemm %dx%dx%d %.0f ms, all %.0f ms\n",
                failures() == before ? "ok" : "FAIL", o.name, kBig, kBig, kBig, gemm_big, timer.ms());
  }
  atento::emu::set_order(Order::Forward);
}

// ---- buggy kernels -----------------------------------------------------------------------

void test_missing_barrier_caught_by_order() {
#if defined(__SANITIZE_THREAD__)
  std::printf("  skip GEMM missing a __syncthreads (TSan build: `emu_test race-gemm` covers it)\n");
  return;
#endif
  const int M = 64, N = 64, K = 64;
  const auto A = random_floats(size_t(M) * K, 8), B = random_floats(size_t(K) * N, 9);
  const auto want = cpu_gemm(A, B, M, N, K);
  Buffer<float> dA(A), dB(B), dC(size_t(M) * N);
  std::string caught;
  for (const OrderCase& o : kOrders) {
    atento::emu::set_order(o.order, o.seed);
    sample_gemm_missing_barrier(dA.get(), dB.get(), dC.get(), M, N, K, nullptr);
    CHECK(launch_ok("gemm_missing_barrier"), "launch");
    if (max_rel_error(dC.download(), want) > 1e-3) caught += std::string(" ") + o.name;
  }
  atento::emu::set_order(Order::Forward);
  CHECK(!caught.empty(), "a GEMM missing its second __syncthreads gave the right answer in every order");
  std::printf("  %-4s GEMM missing a __syncthreads gives wrong results in order(s):%s\n",
              caught.empty() ? "FAIL" : "ok", caught.c_str());
}

void test_benign_race_invisible_to_orders() {
#if defined(__SANITIZE_THREAD__)
  std::printf("  skip benign missing barrier in every order (TSan build: `emu_test race` covers it)\n");
  return;
#endif
  const int n = 512, threads = 256;
  const auto x = random_floats(n, 10);
  std::vector<float> want(n);
  for (int i = 0; i < n; ++i) want[i] = x[(i / threads) * threads + (i % threads + 1) % threads];
  Buffer<float> dx(x), dy(n);
  bool same = true;
  for (const OrderCase& o : kOrders) {
    atento::emu::set_order(o.order, o.seed);
    sample_rotate_benign_race(dx.get(), dy.get(), n, threads, false, nullptr);
    same = same && launch_ok("rotate") && dy.download() == want;
  }
  atento::emu::set_order(Order::Forward);
  CHECK(same, "the benign race changed the output");
  std::printf("  %-4s benign missing barrier leaves the output unchanged in every order (TSan's job)\n",
              same ? "ok" : "FAIL");
}

// Runs a buggy launch and checks the error it leaves.
void expect_error(const char* name, void (*launch)(float*), cudaError_t code, const char* text) {
  Buffer<float> x(2048);
  x.fill_zero();
  launch(x.get());
  const bool ok = error_is(code, text);
  CHECK(ok, "%s: expected %s containing \"%s\"", name, cudaGetErrorName(code), text);
  if (ok) std::printf("  ok   %s reported: %s\n", name, atento::emu::last_error_message());
}

void test_reported_errors() {
  expect_error("early exit before a barrier", [](float* x) { sample_early_exit_barrier(x, nullptr); },
               cudaErrorLaunchFailure, "reached by only 32 of 128 threads; threads 32..127 exited");
  expect_error("divergent barriers", [](float* x) { sample_divergent_barrier(x, nullptr); },
               cudaErrorLaunchFailure, "threads wait at different barriers");
  expect_error("shuffle with an exited lane", [](float* x) { sample_shuffle_missing_lane(x, nullptr); },
               cudaErrorLaunchFailure, "but lane 7 (thread (7,0,0)) never arrives: it exited");
  expect_error("shuffle with a lane at a barrier",
               [](float* x) { sample_shuffle_lane_at_barrier(x, nullptr); }, cudaErrorLaunchFailure,
               "never arrives: it waits at __syncthreads()");
  expect_error("too many threads", [](float* x) { sample_too_many_threads(x, nullptr); },
               cudaErrorInvalidConfiguration, "has 2048 threads; at most 1024");
  expect_error("48+ KiB dynamic shared memory without opt-in",
               [](float* x) { sample_big_shared(x, 13000, false, nullptr); }, cudaErrorInvalidValue,
               "must first allow it with cudaFuncSetAttribute");
  expect_error("more than 227 KiB dynamic shared memory",
               [](float* x) { sample_big_shared(x, 60000, false, nullptr); }, cudaErrorInvalidValue,
               "the device allows at most 232448");
  expect_error("misaligned wmma pointer",
               [](float* x) { sample_wmma_misaligned(x, x + 256, x + 512, nullptr); },
               cudaErrorLaunchFailure, "not 32-byte aligned");

  // A failed kernel is also reported by the next synchronize, once.
  Buffer<float> x(128);
  sample_divergent_barrier(x.get(), nullptr);
  CHECK(cudaDeviceSynchronize() == cudaErrorLaunchFailure, "synchronize after a failed kernel");
  CHECK(cudaGetLastError() == cudaSuccess, "the failure is reported once");
  // The emulator recovers: the next kernel runs normally.
  test_gemm(48, 48, 48);
}

// ---- the stand-in runtime ----------------------------------------------------------------

void test_runtime() {
  const int before = failures();
  int count = -1;
  CHECK(cudaGetDeviceCount(&count) == cudaSuccess && count == 1, "device count %d", count);
  cudaDeviceProp p;
  CHECK(cudaGetDeviceProperties(&p, 0) == cudaSuccess, "properties");
  CHECK(std::strcmp(p.name, "atento CUDA emulator") == 0 && p.major == 9 && p.minor == 0 &&
            p.warpSize == 32 && p.maxThreadsPerBlock == 1024 &&
            p.sharedMemPerBlockOptin == 227 * 1024,
        "properties %s %d.%d", p.name, p.major, p.minor);

  atento::emu::set_device_error(cudaErrorInsufficientDriver);
  CHECK(cudaGetDeviceCount(&count) == cudaErrorInsufficientDriver && count == 0, "no driver");
  atento::emu::set_device_error(cudaSuccess);
  cudaGetLastError();

  atento::emu::set_memory_limit(1 << 20);
  void *a = nullptr, *b = nullptr;
  CHECK(cudaMalloc(&a, 1 << 19) == cudaSuccess, "malloc under the limit");
  CHECK(cudaMalloc(&b, 1 << 20) == cudaErrorMemoryAllocation && !b, "malloc over the limit");
  CHECK(error_is(cudaErrorMemoryAllocation, "set_memory_limit"), "OOM message");
  size_t free_bytes = 0, total = 0;
  cudaMemGetInfo(&free_bytes, &total);
  CHECK(total == (1 << 20) && free_bytes == (1 << 19), "mem info %zu of %zu", free_bytes, total);
  CHECK(reinterpret_cast<uintptr_t>(a) % 256 == 0, "cudaMalloc alignment");
  cudaFree(a);
  atento::emu::set_memory_limit(0);

  float host[4] = {};
  Buffer<float> d(4);
  CHECK(cudaMemcpy(host, host, sizeof host, cudaMemcpyHostToDevice) == cudaErrorInvalidValue,
        "copy to a host pointer as device");
  CHECK(error_is(cudaErrorInvalidValue, "not inside a cudaMalloc block"), "copy message");
  CHECK(cudaMemcpy(host, d.get() + 2, sizeof host, cudaMemcpyDeviceToHost) == cudaErrorInvalidValue,
        "copy past the end of a device buffer");
  CHECK(cudaFree(host) == cudaErrorInvalidValue, "free of a host pointer");
  cudaGetLastError();
  CHECK(std::isnan(d.download()[0]), "fresh device memory is poisoned (NaN)");

  cudaStream_t s;
  CHECK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking) == cudaSuccess, "stream");
  cudaEvent_t e0, e1;
  cudaEventCreate(&e0);
  cudaEventCreate(&e1);
  cudaEventRecord(e0, s);
  Buffer<float> x(random_floats(4096, 11)), partial(4);
  atento::emu::reset_counters();
  sample_block_sum(x.get(), partial.get(), 4096, 4, 128, s);
  const atento::emu::Counters c = atento::emu::counters();
  cudaEventRecord(e1, s);
  float ms = -1;
  CHECK(cudaEventElapsedTime(&ms, e0, e1) == cudaSuccess && ms >= 0, "event time %f", ms);
  CHECK(cudaStreamSynchronize(s) == cudaSuccess && cudaStreamDestroy(s) == cudaSuccess, "stream sync");
  cudaEventDestroy(e0);
  cudaEventDestroy(e1);
  CHECK(c.launches == 1 && c.blocks == 4 && c.threads == 512 && c.barriers == 4 &&
            c.warp_ops == 4 * (4 * 5 + 5),
        "counters: %llu launches %llu blocks %llu threads %llu barriers %llu warp ops",
        (unsigned long long)c.launches, (unsigned long long)c.blocks, (unsigned long long)c.threads,
        (unsigned long long)c.barriers, (unsigned long long)c.warp_ops);
  std::printf("  %-4s stand-in runtime (devices, memory limit, copy checks, streams, events, counters)\n",
              failures() == before ? "ok" : "FAIL");
}

// Launches from several host threads at once are serialised and each sees its own errors.
void test_host_threads() {
  const int before = failures();
  auto work = [](int seed) {
    const int n = 48;
    const auto A = random_floats(n * n, seed), B = random_floats(n * n, seed + 1);
    const auto want = cpu_gemm(A, B, n, n, n);
    Buffer<float> dA(A), dB(B), dC(n * n);
    for (int r = 0; r < 3; ++r) {
      sample_gemm(dA.get(), dB.get(), dC.get(), n, n, n, nullptr);
      CHECK(launch_ok("gemm on a host thread"), "gemm on a host thread");
      CHECK(max_rel_error(dC.download(), want) < 1e-4, "gemm on a host thread differs");
    }
  };
  std::thread t1(work, 20), t2(work, 30);
  t1.join();
  t2.join();
  std::printf("  %-4s launches from two host threads at once\n", failures() == before ? "ok" : "FAIL");
}

int run_all() {
  Timer timer;
  run_correct_kernels();
  test_missing_barrier_caught_by_order();
  test_benign_race_invisible_to_orders();
  test_reported_errors();
  test_runtime();
  test_host_threads();
  CHECK(atento::emu::device_bytes_in_use() == 0, "leaked %zu device bytes",
        atento::emu::device_bytes_in_use());
  std::printf("emu_test: %d checks, %d failed, %.0f ms\n", checks().load(), failures().load(),
              timer.ms());
  return failures() == 0 ? 0 : 1;
}

// Modes for the sanitizer builds: the program itself succeeds; the sanitizer must object.
int run_race(bool fixed) {
  const int n = 256;
  Buffer<float> x(random_floats(n, 12)), y(n);
  sample_rotate_benign_race(x.get(), y.get(), n, n, fixed, nullptr);
  return launch_ok("rotate") ? 0 : 1;
}

int run_race_gemm() {
  const int n = 32;
  Buffer<float> a(random_floats(n * n, 14)), b(random_floats(n * n, 15)), c(n * n);
  sample_gemm_missing_barrier(a.get(), b.get(), c.get(), n, n, n, nullptr);
  return launch_ok("gemm_missing_barrier") ? 0 : 1;
}

int run_race_warp() {
  Buffer<float> x(random_floats(32, 17)), y(1);
  sample_warp_tree_sum(x.get(), y.get(), 1, false, nullptr);
  return launch_ok("warp_tree_sum") ? 0 : 1;
}

int run_oob() {
  const int n = 100;
  Buffer<float> x(random_floats(n, 13)), y(n);
  sample_oob_read(x.get(), y.get(), n, nullptr);
  return launch_ok("oob_read") ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  const std::string mode = argc > 1 ? argv[1] : "all";
  if (mode == "race") return run_race(false);
  if (mode == "race-fixed") return run_race(true);
  if (mode == "race-gemm") return run_race_gemm();
  if (mode == "race-warp") return run_race_warp();
  if (mode == "oob") return run_oob();
  if (mode == "all") return run_all();
  std::fprintf(stderr, "usage: emu_test [all|race|race-fixed|race-gemm|race-warp|oob]\n");
  return 2;
}
