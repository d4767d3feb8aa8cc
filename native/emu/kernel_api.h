// kernel_api.h — what CUDA kernel code sees under the emulator: qualifiers, dim3 and vector
// types, the built-in index variables, barriers, warp intrinsics, atomics and math
// intrinsics, under their CUDA names, as plain C++.
//
// How it maps:
//   __global__, __device__, __host__  nothing: kernels are ordinary functions.
//   __shared__                         `static`: blocks run one at a time, so one copy serves
//                                      the block that is running (one launch at a time).
//   threadIdx, blockIdx, blockDim, gridDim   globals the scheduler sets before it resumes a
//                                      thread (every emulated thread is a fiber on one OS thread).
//   __syncthreads, warp collectives    calls into the scheduler (emu.cc), which suspends the
//                                      fiber until its block or warp partners arrive. Each takes
//                                      hidden trailing arguments __builtin_FILE()/__builtin_LINE()
//                                      so errors name the source line.
//   atomics                            __atomic builtins (relaxed), so TSan sees them as atomic.
#pragma once

#include <math.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <type_traits>

// ---- qualifiers --------------------------------------------------------------------------
#define __global__
#define __device__
#define __host__
#define __constant__
#define __shared__ static
#define __forceinline__ inline __attribute__((always_inline))
#define __noinline__ __attribute__((noinline))
#define __launch_bounds__(...)
#define __grid_constant__
#define __align__(n) __attribute__((aligned(n)))

// ---- dim3 and vector types ---------------------------------------------------------------
struct uint3 {
  unsigned int x, y, z;
};
struct dim3 {
  unsigned int x, y, z;
  constexpr dim3(unsigned int vx = 1, unsigned int vy = 1, unsigned int vz = 1)
      : x(vx), y(vy), z(vz) {}
  constexpr dim3(uint3 v) : x(v.x), y(v.y), z(v.z) {}
  constexpr operator uint3() const { return uint3{x, y, z}; }
};

struct __align__(8) float2 { float x, y; };
struct float3 { float x, y, z; };
struct __align__(16) float4 { float x, y, z, w; };
struct __align__(8) int2 { int x, y; };
struct int3 { int x, y, z; };
struct __align__(16) int4 { int x, y, z, w; };
struct __align__(8) uint2 { unsigned int x, y; };
struct __align__(16) uint4 { unsigned int x, y, z, w; };
struct __align__(16) double2 { double x, y; };

inline float2 make_float2(float x, float y) { return float2{x, y}; }
inline float3 make_float3(float x, float y, float z) { return float3{x, y, z}; }
inline float4 make_float4(float x, float y, float z, float w) { return float4{x, y, z, w}; }
inline int2 make_int2(int x, int y) { return int2{x, y}; }
inline int3 make_int3(int x, int y, int z) { return int3{x, y, z}; }
inline int4 make_int4(int x, int y, int z, int w) { return int4{x, y, z, w}; }
inline uint2 make_uint2(unsigned x, unsigned y) { return uint2{x, y}; }
inline uint3 make_uint3(unsigned x, unsigned y, unsigned z) { return uint3{x, y, z}; }
inline uint4 make_uint4(unsigned x, unsigned y, unsigned z, unsigned w) {
  return uint4{x, y, z, w};
}
inline double2 make_double2(double x, double y) { return double2{x, y}; }

// ---- built-in variables ------------------------------------------------------------------
inline uint3 threadIdx;  // of the emulated thread now running
inline uint3 blockIdx;
inline dim3 blockDim;
inline dim3 gridDim;
inline constexpr int warpSize = 32;

// ---- scheduler entry points (emu.cc) -----------------------------------------------------
namespace atento::emu {

// Where a barrier or collective was called from, for error messages.
struct Site {
  const char* what;
  const char* file;
  int line;
};

enum class WarpOp : uint8_t { Shfl, ShflUp, ShflDown, ShflXor, Ballot, Any, All, Sync, Custom };
enum class BarrierOp : uint8_t { Plain, Count, And, Or };

// A Custom warp collective: once every lane in `mask` has arrived, the last one to arrive
// calls fn(lane_data, mask), where lane_data[l] is what lane l passed (nullptr for others).
using WarpFn = void (*)(void* const* lane_data, unsigned mask);

int barrier(Site site, BarrierOp op, int predicate);
uint64_t warp_collective(Site site, WarpOp op, unsigned mask, uint64_t value, int arg, int width);
void warp_custom(Site site, unsigned mask, void* lane_data, WarpFn fn);
unsigned active_mask();
unsigned lane_id();
void* dynamic_shared();
// Stop the running kernel with cudaErrorLaunchFailure and `message` (never returns when
// called from a kernel; records the error and returns when called from host code).
void kernel_fail(Site site, const char* message);

template <class T>
uint64_t to_bits(T v) {
  static_assert(sizeof(T) <= 8 && std::is_trivially_copyable<T>::value,
                "warp shuffles move values of at most 8 bytes");
  uint64_t bits = 0;
  std::memcpy(&bits, &v, sizeof(T));
  return bits;
}
template <class T>
T from_bits(uint64_t bits) {
  T v;
  std::memcpy(&v, &bits, sizeof(T));
  return v;
}

}  // namespace atento::emu

#define ATENTO_EMU_SITE_ARGS const char *file_ = __builtin_FILE(), int line_ = __builtin_LINE()
#define ATENTO_EMU_SITE(name) (::atento::emu::Site{name, file_, line_})

// ---- barriers ----------------------------------------------------------------------------
inline void __syncthreads(ATENTO_EMU_SITE_ARGS) {
  ::atento::emu::barrier(ATENTO_EMU_SITE("__syncthreads()"), ::atento::emu::BarrierOp::Plain, 0);
}
inline int __syncthreads_count(int pred, ATENTO_EMU_SITE_ARGS) {
  return ::atento::emu::barrier(ATENTO_EMU_SITE("__syncthreads_count()"),
                                ::atento::emu::BarrierOp::Count, pred);
}
inline int __syncthreads_and(int pred, ATENTO_EMU_SITE_ARGS) {
  return ::atento::emu::barrier(ATENTO_EMU_SITE("__syncthreads_and()"),
                                ::atento::emu::BarrierOp::And, pred);
}
inline int __syncthreads_or(int pred, ATENTO_EMU_SITE_ARGS) {
  return ::atento::emu::barrier(ATENTO_EMU_SITE("__syncthreads_or()"),
                                ::atento::emu::BarrierOp::Or, pred);
}
inline void __threadfence() {}
inline void __threadfence_block() {}
inline void __threadfence_system() {}
inline void __trap(ATENTO_EMU_SITE_ARGS) {
  ::atento::emu::kernel_fail(ATENTO_EMU_SITE("__trap()"), "__trap() called");
}

// ---- warp intrinsics ---------------------------------------------------------------------
inline void __syncwarp(unsigned mask = 0xffffffffu, ATENTO_EMU_SITE_ARGS) {
  ::atento::emu::warp_collective(ATENTO_EMU_SITE("__syncwarp"), ::atento::emu::WarpOp::Sync,
                                 mask, 0, 0, warpSize);
}
inline unsigned __activemask() { return ::atento::emu::active_mask(); }

template <class T>
T __shfl_sync(unsigned mask, T var, int srcLane, int width = warpSize, ATENTO_EMU_SITE_ARGS) {
  using namespace ::atento::emu;
  return from_bits<T>(warp_collective(ATENTO_EMU_SITE("__shfl_sync"), WarpOp::Shfl, mask,
                                      to_bits(var), srcLane, width));
}
template <class T>
T __shfl_up_sync(unsigned mask, T var, unsigned delta, int width = warpSize,
                 ATENTO_EMU_SITE_ARGS) {
  using namespace ::atento::emu;
  return from_bits<T>(warp_collective(ATENTO_EMU_SITE("__shfl_up_sync"), WarpOp::ShflUp, mask,
                                      to_bits(var), static_cast<int>(delta), width));
}
template <class T>
T __shfl_down_sync(unsigned mask, T var, unsigned delta, int width = warpSize,
                   ATENTO_EMU_SITE_ARGS) {
  using namespace ::atento::emu;
  return from_bits<T>(warp_collective(ATENTO_EMU_SITE("__shfl_down_sync"), WarpOp::ShflDown,
                                      mask, to_bits(var), static_cast<int>(delta), width));
}
template <class T>
T __shfl_xor_sync(unsigned mask, T var, int laneMask, int width = warpSize,
                  ATENTO_EMU_SITE_ARGS) {
  using namespace ::atento::emu;
  return from_bits<T>(warp_collective(ATENTO_EMU_SITE("__shfl_xor_sync"), WarpOp::ShflXor, mask,
                                      to_bits(var), laneMask, width));
}
inline unsigned __ballot_sync(unsigned mask, int pred, ATENTO_EMU_SITE_ARGS) {
  return static_cast<unsigned>(::atento::emu::warp_collective(
      ATENTO_EMU_SITE("__ballot_sync"), ::atento::emu::WarpOp::Ballot, mask, pred != 0, 0,
      warpSize));
}
inline int __any_sync(unsigned mask, int pred, ATENTO_EMU_SITE_ARGS) {
  return static_cast<int>(::atento::emu::warp_collective(
      ATENTO_EMU_SITE("__any_sync"), ::atento::emu::WarpOp::Any, mask, pred != 0, 0, warpSize));
}
inline int __all_sync(unsigned mask, int pred, ATENTO_EMU_SITE_ARGS) {
  return static_cast<int>(::atento::emu::warp_collective(
      ATENTO_EMU_SITE("__all_sync"), ::atento::emu::WarpOp::All, mask, pred != 0, 0, warpSize));
}

// ---- atomics (relaxed, like CUDA's; __atomic builtins so TSan sees them) -----------------
namespace atento::emu {
template <class T, class F>
T atomic_update(T* p, F f) {  // *p = f(*p) atomically; returns the old value
  T old;
  __atomic_load(p, &old, __ATOMIC_RELAXED);
  T next = f(old);
  while (!__atomic_compare_exchange(p, &old, &next, false, __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
    next = f(old);
  }
  return old;
}
template <class T>
T atomic_fetch_add(T* p, T v) {
  if constexpr (std::is_floating_point<T>::value) {
    return atomic_update(p, [v](T old) { return old + v; });  // no fetch_add for floats
  } else {
    return __atomic_fetch_add(p, v, __ATOMIC_RELAXED);
  }
}
}  // namespace atento::emu

#define ATENTO_EMU_ATOMIC_INT(T)                                                               \
  inline T atomicAdd(T* p, T v) { return ::atento::emu::atomic_fetch_add(p, v); }             \
  inline T atomicSub(T* p, T v) { return __atomic_fetch_sub(p, v, __ATOMIC_RELAXED); }         \
  inline T atomicExch(T* p, T v) { return __atomic_exchange_n(p, v, __ATOMIC_RELAXED); }       \
  inline T atomicMin(T* p, T v) {                                                              \
    return ::atento::emu::atomic_update(p, [v](T o) { return v < o ? v : o; });                \
  }                                                                                            \
  inline T atomicMax(T* p, T v) {                                                              \
    return ::atento::emu::atomic_update(p, [v](T o) { return v > o ? v : o; });                \
  }                                                                                            \
  inline T atomicAnd(T* p, T v) { return __atomic_fetch_and(p, v, __ATOMIC_RELAXED); }         \
  inline T atomicOr(T* p, T v) { return __atomic_fetch_or(p, v, __ATOMIC_RELAXED); }           \
  inline T atomicXor(T* p, T v) { return __atomic_fetch_xor(p, v, __ATOMIC_RELAXED); }         \
  inline T atomicCAS(T* p, T compare, T v) {                                                   \
    __atomic_compare_exchange_n(p, &compare, v, false, __ATOMIC_RELAXED, __ATOMIC_RELAXED);    \
    return compare;                                                                            \
  }
ATENTO_EMU_ATOMIC_INT(int)
ATENTO_EMU_ATOMIC_INT(unsigned int)
ATENTO_EMU_ATOMIC_INT(unsigned long long)
#undef ATENTO_EMU_ATOMIC_INT
inline long long atomicMin(long long* p, long long v) {
  return ::atento::emu::atomic_update(p, [v](long long o) { return v < o ? v : o; });
}
inline long long atomicMax(long long* p, long long v) {
  return ::atento::emu::atomic_update(p, [v](long long o) { return v > o ? v : o; });
}
inline float atomicAdd(float* p, float v) { return ::atento::emu::atomic_fetch_add(p, v); }
inline double atomicAdd(double* p, double v) { return ::atento::emu::atomic_fetch_add(p, v); }
inline float atomicExch(float* p, float v) {
  float old;
  __atomic_exchange(p, &v, &old, __ATOMIC_RELAXED);
  return old;
}
inline unsigned atomicInc(unsigned* p, unsigned limit) {  // ((old >= limit) ? 0 : old + 1)
  return ::atento::emu::atomic_update(p, [limit](unsigned o) { return o >= limit ? 0u : o + 1; });
}
// ((old == 0 || old > limit) ? limit : old - 1)
inline unsigned atomicDec(unsigned* p, unsigned limit) {
  return ::atento::emu::atomic_update(
      p, [limit](unsigned o) { return (o == 0 || o > limit) ? limit : o - 1; });
}

// ---- math and bit intrinsics -------------------------------------------------------------
// The fast-math intrinsics compute the accurate result here; GPU results differ in the last
// bits, so tests compare with tolerances.
inline float __expf(float x) { return std::exp(x); }
inline float __logf(float x) { return std::log(x); }
inline float __sinf(float x) { return std::sin(x); }
inline float __cosf(float x) { return std::cos(x); }
inline float __tanf(float x) { return std::tan(x); }
inline float __powf(float x, float y) { return std::pow(x, y); }
inline float __fdividef(float x, float y) { return x / y; }
inline float __frcp_rn(float x) { return 1.0f / x; }
inline float __fsqrt_rn(float x) { return std::sqrt(x); }
inline float __fadd_rn(float x, float y) { return x + y; }
inline float __fmul_rn(float x, float y) { return x * y; }
inline float __fmaf_rn(float x, float y, float z) { return std::fma(x, y, z); }
inline float __saturatef(float x) { return x < 0.0f ? 0.0f : (x > 1.0f ? 1.0f : x); }
inline float rsqrtf(float x) { return 1.0f / std::sqrt(x); }
inline double rsqrt(double x) { return 1.0 / std::sqrt(x); }
inline float __frsqrt_rn(float x) { return 1.0f / std::sqrt(x); }

inline int __float_as_int(float x) {
  return ::atento::emu::from_bits<int>(::atento::emu::to_bits(x));
}
inline unsigned __float_as_uint(float x) {
  return ::atento::emu::from_bits<unsigned>(::atento::emu::to_bits(x));
}
inline float __int_as_float(int x) {
  return ::atento::emu::from_bits<float>(::atento::emu::to_bits(x));
}
inline float __uint_as_float(unsigned x) {
  return ::atento::emu::from_bits<float>(::atento::emu::to_bits(x));
}

inline int __popc(unsigned x) { return __builtin_popcount(x); }
inline int __popcll(unsigned long long x) { return __builtin_popcountll(x); }
inline int __ffs(int x) { return __builtin_ffs(x); }
inline int __ffsll(long long x) { return __builtin_ffsll(x); }
inline int __clz(int x) { return x == 0 ? 32 : __builtin_clz(static_cast<unsigned>(x)); }
inline int __clzll(long long x) {
  return x == 0 ? 64 : __builtin_clzll(static_cast<unsigned long long>(x));
}
inline unsigned __brev(unsigned x) {
  unsigned r = 0;
  for (int i = 0; i < 32; ++i) r |= ((x >> i) & 1u) << (31 - i);
  return r;
}

// Read-only cached loads are plain loads.
template <class T>
T __ldg(const T* p) {
  return *p;
}

// CUDA's global min/max overloads for device code (same set, mixed signedness included).
#define ATENTO_EMU_MINMAX(R, A, B)                      \
  inline R min(A a, B b) {                              \
    const R x = static_cast<R>(a), y = static_cast<R>(b); \
    return y < x ? y : x;                               \
  }                                                     \
  inline R max(A a, B b) {                              \
    const R x = static_cast<R>(a), y = static_cast<R>(b); \
    return x < y ? y : x;                               \
  }
ATENTO_EMU_MINMAX(int, int, int)
ATENTO_EMU_MINMAX(unsigned int, unsigned int, unsigned int)
ATENTO_EMU_MINMAX(unsigned int, int, unsigned int)
ATENTO_EMU_MINMAX(unsigned int, unsigned int, int)
ATENTO_EMU_MINMAX(long, long, long)
ATENTO_EMU_MINMAX(unsigned long, unsigned long, unsigned long)
ATENTO_EMU_MINMAX(unsigned long, long, unsigned long)
ATENTO_EMU_MINMAX(unsigned long, unsigned long, long)
ATENTO_EMU_MINMAX(long long, long long, long long)
ATENTO_EMU_MINMAX(unsigned long long, unsigned long long, unsigned long long)
ATENTO_EMU_MINMAX(unsigned long long, long long, unsigned long long)
ATENTO_EMU_MINMAX(unsigned long long, unsigned long long, long long)
#undef ATENTO_EMU_MINMAX
inline float min(float a, float b) { return fminf(a, b); }
inline float max(float a, float b) { return fmaxf(a, b); }
inline double min(double a, double b) { return fmin(a, b); }
inline double max(double a, double b) { return fmax(a, b); }
inline double min(float a, double b) { return fmin(a, b); }
inline double max(float a, double b) { return fmax(a, b); }
inline double min(double a, float b) { return fmin(a, b); }
inline double max(double a, float b) { return fmax(a, b); }
