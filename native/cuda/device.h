// device.h — the CUDA device as the rest of atento sees it. Plain C++: no CUDA types here,
// so bindings compile without CUDA headers.
//
// Implemented by device.cc (compiled against the real CUDA runtime, linked statically, or
// against the emulator's stand-in runtime in the ATENTO_CUDA_EMULATE flavour). In a CPU-only
// build none of this is compiled and ATENTO_WITH_CUDA is not defined.
//
// All work goes on one stream per process. Errors throw atento::Error (ERR_CUDA, ERR_OOM).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace atento::cuda {

struct DeviceInfo {
  int index;
  std::string name;
  int major, minor;          // compute capability
  size_t totalMemory;        // bytes
  int multiProcessors;
};

// First call probes the driver once; later calls return the cached answer.
bool available();                    // a usable device exists
const std::string& init_error();     // why not, when !available()
const std::vector<DeviceInfo>& devices();
bool emulated();                     // this is the CPU emulator, not a GPU

// Caching allocator: freed blocks are kept per size class and reused; cudaMalloc only on a miss
// (and after an OOM, the cache is emptied and the allocation retried once).
void* alloc(size_t bytes);
void release(void* ptr, size_t bytes);
void empty_cache();
size_t bytes_in_use();
size_t bytes_cached();

// Copies on the stream. Host-side copies wait for the stream to finish.
void copy_to_device(void* dst, const void* src, size_t bytes);
void copy_to_host(void* dst, const void* src, size_t bytes);
void copy_device(void* dst, const void* src, size_t bytes);
void memset_zero(void* dst, size_t bytes);
void synchronize();

// Checks the last launch; throws ERR_CUDA with the kernel's name on failure.
void check_launch(const char* what);

// The stream every kernel is launched on, as an opaque pointer (cudaStream_t underneath).
void* stream();

// cuBLAS, loaded at run time (libcublas.so.13, then .12). Row-major conventions as cpu::sgemm.
bool blas_available();
const std::string& blas_error();
void sgemm_strided_batched(bool transA, bool transB, int64_t M, int64_t N, int64_t K,
                           float alpha, const float* A, int64_t lda, int64_t strideA,
                           const float* B, int64_t ldb, int64_t strideB, float beta, float* C,
                           int64_t ldc, int64_t strideC, int64_t batch);
void set_tf32(bool on);  // tensor-op math for sgemm (opt-in)

// The architectures this binary carries kernels for, e.g. {"sm_75", ..., "compute_90"}.
std::vector<std::string> compiled_archs();

}  // namespace atento::cuda
