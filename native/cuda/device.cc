// device.cc — the CUDA device behind device.h: probing, the caching allocator, copies, the
// stream, and cuBLAS loaded with dlopen.
//
// Compiled by the host compiler against the CUDA runtime (linked statically), or, with
// ATENTO_CUDA_EMULATE, against the emulator's stand-in runtime (native/emu). In the emulated
// flavour cuBLAS is a table of CPU functions with cuBLAS's column-major semantics, so the
// row-major translation below is exercised by the same tests.
#include "device.h"

#ifdef ATENTO_CUDA_EMULATE
#include "launch.cuh"
#include "../cpu/gemm.h"
#else
#include <cuda_runtime.h>
#include <dlfcn.h>
#endif

#include <map>
#include <mutex>

#include "../common.h"

namespace atento::cuda {

// --- probing -----------------------------------------------------------------------------------

struct State {
  bool probed = false;
  bool ok = false;
  std::string error;
  std::vector<DeviceInfo> devices;
  cudaStream_t stream = nullptr;
};

static std::mutex g_mutex;  // guards State and the allocator; bindings may run on several threads

static State& state() {
  static State* s = new State();  // never destroyed: no static destructors at unload
  std::lock_guard<std::mutex> lock(g_mutex);
  if (s->probed) return *s;
  s->probed = true;
  int count = 0;
  cudaError_t err = cudaGetDeviceCount(&count);
  if (err != cudaSuccess) {
    s->error = std::string("cudaGetDeviceCount: ") + cudaGetErrorString(err);
    cudaGetLastError();  // clear the sticky error
    return *s;
  }
  if (count == 0) {
    s->error = "no CUDA device found";
    return *s;
  }
  for (int i = 0; i < count; i++) {
    cudaDeviceProp p;
    if (cudaGetDeviceProperties(&p, i) != cudaSuccess) continue;
    s->devices.push_back({i, p.name, p.major, p.minor, (size_t)p.totalGlobalMem, p.multiProcessorCount});
  }
  if ((err = cudaSetDevice(0)) != cudaSuccess ||
      (err = cudaStreamCreateWithFlags(&s->stream, cudaStreamNonBlocking)) != cudaSuccess) {
    s->error = std::string("CUDA initialisation: ") + cudaGetErrorString(err);
    s->devices.clear();
    return *s;
  }
  s->ok = true;
  return *s;
}

bool available() { return state().ok; }
const std::string& init_error() { return state().error; }
const std::vector<DeviceInfo>& devices() { return state().devices; }
void* stream() { return state().stream; }

bool emulated() {
#ifdef ATENTO_CUDA_EMULATE
  return true;
#else
  return false;
#endif
}

static void require() {
  if (!available()) throw Error("ERR_DEVICE", "CUDA is not available: " + init_error());
}

static void check(cudaError_t err, const char* what) {
  if (err == cudaSuccess) return;
  cudaGetLastError();
  if (err == cudaErrorMemoryAllocation)
    throw Error("ERR_OOM", std::string(what) + ": CUDA out of memory");
  throw Error("ERR_CUDA", std::string(what) + ": " + cudaGetErrorString(err));
}

void check_launch(const char* what) { check(cudaGetLastError(), what); }

// --- caching allocator -----------------------------------------------------------------------
// Sizes are rounded up to a class (512 B steps below 1 MiB, 1 MiB steps above); freed blocks
// wait in a per-class free list and are handed out again. cudaMalloc runs only on a miss.

static std::multimap<size_t, void*>& free_blocks() {
  static auto* m = new std::multimap<size_t, void*>();
  return *m;
}
static size_t g_in_use = 0, g_cached = 0;

static size_t size_class(size_t bytes) {
  const size_t small = 512, large = 1 << 20;
  if (bytes == 0) bytes = 1;
  return bytes < large ? (bytes + small - 1) / small * small : (bytes + large - 1) / large * large;
}

void* alloc(size_t bytes) {
  require();
  const size_t sz = size_class(bytes);
  {
    std::lock_guard<std::mutex> lock(g_mutex);
    auto& fb = free_blocks();
    auto it = fb.find(sz);
    if (it != fb.end()) {
      void* p = it->second;
      fb.erase(it);
      g_cached -= sz;
      g_in_use += sz;
      return p;
    }
  }
  void* p = nullptr;
  cudaError_t err = cudaMalloc(&p, sz);
  if (err == cudaErrorMemoryAllocation) {  // give the cache back and try once more
    cudaGetLastError();
    empty_cache();
    err = cudaMalloc(&p, sz);
  }
  check(err, "cudaMalloc");
  std::lock_guard<std::mutex> lock(g_mutex);
  g_in_use += sz;
  return p;
}

void release(void* ptr, size_t bytes) {
  if (!ptr) return;
  const size_t sz = size_class(bytes);
  std::lock_guard<std::mutex> lock(g_mutex);
  free_blocks().emplace(sz, ptr);
  g_in_use -= sz;
  g_cached += sz;
}

void empty_cache() {
  std::multimap<size_t, void*> blocks;
  {
    std::lock_guard<std::mutex> lock(g_mutex);
    blocks.swap(free_blocks());
    g_cached = 0;
  }
  if (!blocks.empty()) cudaStreamSynchronize(state().stream);
  for (auto& [sz, p] : blocks) cudaFree(p);
}

size_t bytes_in_use() { std::lock_guard<std::mutex> lock(g_mutex); return g_in_use; }
size_t bytes_cached() { std::lock_guard<std::mutex> lock(g_mutex); return g_cached; }

// --- copies ----------------------------------------------------------------------------------

void copy_to_device(void* dst, const void* src, size_t bytes) {
  require();
  if (!bytes) return;
  check(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, state().stream), "copy to device");
  check(cudaStreamSynchronize(state().stream), "copy to device");  // src is pageable JS memory
}

void copy_to_host(void* dst, const void* src, size_t bytes) {
  require();
  if (!bytes) return;
  check(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, state().stream), "copy to host");
  check(cudaStreamSynchronize(state().stream), "copy to host");
}

void copy_device(void* dst, const void* src, size_t bytes) {
  require();
  if (!bytes) return;
  check(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, state().stream), "device copy");
}

void memset_zero(void* dst, size_t bytes) {
  require();
  if (!bytes) return;
  check(cudaMemsetAsync(dst, 0, bytes, state().stream), "memset");
}

void synchronize() {
  require();
  check(cudaStreamSynchronize(state().stream), "synchronize");
}

// --- cuBLAS, loaded at run time ----------------------------------------------------------------
// Only the few entry points atento uses, declared here with cuBLAS's C types spelled out, so no
// cuBLAS header or library is needed at build time.

using cublasHandle = void*;
enum { CUBLAS_OP_N = 0, CUBLAS_OP_T = 1 };
enum { CUBLAS_DEFAULT_MATH = 0, CUBLAS_TF32_TENSOR_OP_MATH = 3 };

struct Blas {
  bool probed = false;
  bool ok = false;
  std::string error;
  cublasHandle handle = nullptr;
  int (*create)(cublasHandle*) = nullptr;
  int (*setStream)(cublasHandle, cudaStream_t) = nullptr;
  int (*setMathMode)(cublasHandle, int) = nullptr;
  int (*sgemmStridedBatched)(cublasHandle, int, int, int, int, int, const float*, const float*, int,
                             long long, const float*, int, long long, const float*, float*, int,
                             long long, int) = nullptr;
};

#ifdef ATENTO_CUDA_EMULATE
// cuBLAS semantics (column-major) on the CPU: a column-major X[m,n] is the row-major X^T[n,m],
// so C = op(A) op(B) column-major is C^T = op(B)^T op(A)^T row-major.
static int emu_sgemm_strided_batched(cublasHandle, int ta, int tb, int m, int n, int k, const float* alpha,
                                     const float* A, int lda, long long sA, const float* B, int ldb,
                                     long long sB, const float* beta, float* C, int ldc, long long sC,
                                     int batch) {
  cpu::sgemm_strided_batched(tb == CUBLAS_OP_T, ta == CUBLAS_OP_T, n, m, k, *alpha, B, ldb, sB, A, lda, sA,
                             *beta, C, ldc, sC, batch);
  return 0;
}
static int emu_create(cublasHandle* h) { *h = reinterpret_cast<cublasHandle>(1); return 0; }
static int emu_set_stream(cublasHandle, cudaStream_t) { return 0; }
static int emu_set_math_mode(cublasHandle, int) { return 0; }
#endif

static Blas& blas() {
  static Blas* b = new Blas();
  std::lock_guard<std::mutex> lock(g_mutex);
  if (b->probed) return *b;
  b->probed = true;
#ifdef ATENTO_CUDA_EMULATE
  b->create = emu_create;
  b->setStream = emu_set_stream;
  b->setMathMode = emu_set_math_mode;
  b->sgemmStridedBatched = emu_sgemm_strided_batched;
#else
  void* lib = nullptr;
  for (const char* name : {"libcublas.so.13", "libcublas.so.12", "libcublas.so"})
    if ((lib = dlopen(name, RTLD_NOW | RTLD_LOCAL))) break;
  if (!lib) {
    b->error = "cuBLAS not found (tried libcublas.so.13, .12): install the CUDA toolkit's libcublas";
    return *b;
  }
  b->create = reinterpret_cast<decltype(b->create)>(dlsym(lib, "cublasCreate_v2"));
  b->setStream = reinterpret_cast<decltype(b->setStream)>(dlsym(lib, "cublasSetStream_v2"));
  b->setMathMode = reinterpret_cast<decltype(b->setMathMode)>(dlsym(lib, "cublasSetMathMode"));
  b->sgemmStridedBatched =
      reinterpret_cast<decltype(b->sgemmStridedBatched)>(dlsym(lib, "cublasSgemmStridedBatched"));
  if (!b->create || !b->setStream || !b->setMathMode || !b->sgemmStridedBatched) {
    b->error = "cuBLAS was found but lacks the expected entry points";
    return *b;
  }
#endif
  b->ok = true;
  return *b;
}

bool blas_available() { return blas().ok; }
const std::string& blas_error() { return blas().error; }

static Blas& ready_blas() {
  require();
  Blas& b = blas();
  if (!b.ok) throw Error("ERR_CUDA", b.error);
  if (!b.handle) {
    if (b.create(&b.handle) != 0) throw Error("ERR_CUDA", "cublasCreate failed");
    b.setStream(b.handle, state().stream);
  }
  return b;
}

void set_tf32(bool on) {
  Blas& b = ready_blas();
  b.setMathMode(b.handle, on ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_DEFAULT_MATH);
}

void sgemm_strided_batched(bool transA, bool transB, int64_t M, int64_t N, int64_t K, float alpha,
                           const float* A, int64_t lda, int64_t strideA, const float* B, int64_t ldb,
                           int64_t strideB, float beta, float* C, int64_t ldc, int64_t strideC,
                           int64_t batch) {
  if (M == 0 || N == 0 || batch == 0) return;
  const int64_t kMax = 2147483647;
  if (M > kMax || N > kMax || K > kMax || lda > kMax || ldb > kMax || ldc > kMax || batch > kMax)
    throw Error("ERR_SHAPE", "matmul: a dimension exceeds cuBLAS's 32-bit limit");
  Blas& b = ready_blas();
  // Row-major C = op(A) op(B) is column-major C^T = op(B)^T op(A)^T: swap the operands.
  int st = b.sgemmStridedBatched(b.handle, transB ? CUBLAS_OP_T : CUBLAS_OP_N, transA ? CUBLAS_OP_T : CUBLAS_OP_N,
                                 (int)N, (int)M, (int)K, &alpha, B, (int)ldb, strideB, A, (int)lda, strideA,
                                 &beta, C, (int)ldc, strideC, (int)batch);
  if (st != 0) throw Error("ERR_CUDA", "cublasSgemmStridedBatched failed with status " + std::to_string(st));
}

std::vector<std::string> compiled_archs() {
  std::vector<std::string> out;
  std::string s = ATENTO_CUDA_ARCHS, item;  // CMake's list, comma-separated, e.g. "75-real,80-real,120"
  for (size_t i = 0; i <= s.size(); i++) {
    if (i == s.size() || s[i] == ',') {
      if (!item.empty()) {
        auto dash = item.find('-');
        std::string num = item.substr(0, dash);
        if (num == "emulated") out.push_back(num);
        else if (dash != std::string::npos) out.push_back("sm_" + num);   // "-real": SASS only
        else { out.push_back("sm_" + num); out.push_back("compute_" + num); }  // SASS + PTX
      }
      item.clear();
    } else {
      item += s[i];
    }
  }
  return out;
}

}  // namespace atento::cuda
