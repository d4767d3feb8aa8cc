// wmma.h — nvcuda::wmma for emulated kernels: warp-level matrix fragments and the
// load/mma/store operations on them, with the shapes atento uses (tf32 m16n16k8; half and
// bf16 m16n16k16; float accumulators), though any M/N/K works.
//
// A fragment is a plain array spread over the warp: lane l holds elements
// [l * num_elements, (l + 1) * num_elements) of the fragment's matrix in row-major order.
// (On a GPU the layout is unspecified and num_elements differs; kernels may only rely on
// element-wise operations over x[0..num_elements), which behave the same here.)
// load/store/mma are warp collectives: every lane of a full warp must call them together, or
// the emulator reports the lane that did not. mma_sync gathers the 32 lanes' pieces, computes
// D = A * B + C in float (tf32 inputs truncated to 10 mantissa bits, as the tensor cores do)
// and hands each lane its piece of D. Pointers must be 32-byte aligned and ldm a multiple of
// 16 bytes, as CUDA requires; violations stop the kernel with an error.
#pragma once

#include <cstdint>
#include <type_traits>

#include "half.h"
#include "kernel_api.h"

namespace nvcuda::wmma {

struct matrix_a {};
struct matrix_b {};
struct accumulator {};
struct row_major {};
struct col_major {};
enum layout_t { mem_row_major, mem_col_major };
namespace precision {
struct tf32 {};
}  // namespace precision

// Round a float to tf32 (10 mantissa bits), to nearest with ties away from zero (cvt.rna).
inline float __float_to_tf32(float f) {
  uint32_t x = ::atento::emu::float_bits(f);
  if ((x & 0x7f800000u) != 0x7f800000u) x = (x + 0x1000u) & 0xffffe000u;
  return ::atento::emu::bits_float(x);
}

namespace detail {

template <class Use, int M, int N, int K>
struct Shape;
template <int M, int N, int K>
struct Shape<matrix_a, M, N, K> {
  static constexpr int rows = M, cols = K;
};
template <int M, int N, int K>
struct Shape<matrix_b, M, N, K> {
  static constexpr int rows = K, cols = N;
};
template <int M, int N, int K>
struct Shape<accumulator, M, N, K> {
  static constexpr int rows = M, cols = N;
};

template <class T>
struct Storage {
  using type = T;
};
template <>
struct Storage<precision::tf32> {
  using type = float;
};

template <class T>
float to_float(T v) {
  return static_cast<float>(v);
}
inline float truncate_tf32(float f) {
  return ::atento::emu::bits_float(::atento::emu::float_bits(f) & 0xffffe000u);
}

inline void check_pointer(const void* p, unsigned ldm, unsigned elem_bytes, const char* what,
                          const char* file, int line) {
  using ::atento::emu::kernel_fail;
  if (reinterpret_cast<uintptr_t>(p) % 32 != 0)
    kernel_fail({what, file, line}, "wmma pointer is not 32-byte aligned");
  if ((ldm * elem_bytes) % 16 != 0)
    kernel_fail({what, file, line}, "wmma ldm is not a multiple of 16 bytes");
}

inline void warp_sync(const char* what, const char* file, int line) {
  ::atento::emu::warp_collective({what, file, line}, ::atento::emu::WarpOp::Sync, 0xffffffffu, 0,
                                 0, warpSize);
}

}  // namespace detail

template <class Use, int M, int N, int K, class T, class Layout = void>
class fragment {
 public:
  using element_type = typename detail::Storage<T>::type;
  static constexpr int rows = detail::Shape<Use, M, N, K>::rows;
  static constexpr int cols = detail::Shape<Use, M, N, K>::cols;
  static constexpr int num_elements = rows * cols / 32;
  static_assert(rows * cols % 32 == 0, "fragment size must be a multiple of the warp size");
  element_type x[num_elements];

  // Row and column of this lane's element e in the fragment's matrix.
  static int row_of(int e) { return index_of(e) / cols; }
  static int col_of(int e) { return index_of(e) % cols; }
  static int index_of(int e) { return static_cast<int>(::atento::emu::lane_id()) * num_elements + e; }
};

template <class Use, int M, int N, int K, class T, class L, class V>
void fill_fragment(fragment<Use, M, N, K, T, L>& f, const V& v) {
  using E = typename fragment<Use, M, N, K, T, L>::element_type;
  for (int e = 0; e < f.num_elements; ++e) f.x[e] = static_cast<E>(v);
}

// matrix_a / matrix_b: the layout is part of the fragment type.
template <class Use, int M, int N, int K, class T, class L, class P>
void load_matrix_sync(fragment<Use, M, N, K, T, L>& f, const P* p, unsigned ldm,
                      ATENTO_EMU_SITE_ARGS) {
  static_assert(!std::is_same<L, void>::value, "accumulator loads take a layout_t argument");
  using F = fragment<Use, M, N, K, T, L>;
  detail::check_pointer(p, ldm, sizeof(P), "wmma::load_matrix_sync", file_, line_);
  const bool row = std::is_same<L, row_major>::value;
  for (int e = 0; e < F::num_elements; ++e) {
    const unsigned r = F::row_of(e), c = F::col_of(e);
    f.x[e] = static_cast<typename F::element_type>(row ? p[r * ldm + c] : p[c * ldm + r]);
  }
  detail::warp_sync("wmma::load_matrix_sync", file_, line_);
}

template <int M, int N, int K, class T>
void load_matrix_sync(fragment<accumulator, M, N, K, T>& f, const float* p, unsigned ldm,
                      layout_t layout, ATENTO_EMU_SITE_ARGS) {
  using F = fragment<accumulator, M, N, K, T>;
  detail::check_pointer(p, ldm, sizeof(float), "wmma::load_matrix_sync", file_, line_);
  for (int e = 0; e < F::num_elements; ++e) {
    const unsigned r = F::row_of(e), c = F::col_of(e);
    f.x[e] = layout == mem_row_major ? p[r * ldm + c] : p[c * ldm + r];
  }
  detail::warp_sync("wmma::load_matrix_sync", file_, line_);
}

template <int M, int N, int K, class T>
void store_matrix_sync(float* p, const fragment<accumulator, M, N, K, T>& f, unsigned ldm,
                       layout_t layout, ATENTO_EMU_SITE_ARGS) {
  using F = fragment<accumulator, M, N, K, T>;
  detail::check_pointer(p, ldm, sizeof(float), "wmma::store_matrix_sync", file_, line_);
  for (int e = 0; e < F::num_elements; ++e) {
    const unsigned r = F::row_of(e), c = F::col_of(e);
    (layout == mem_row_major ? p[r * ldm + c] : p[c * ldm + r]) = f.x[e];
  }
  detail::warp_sync("wmma::store_matrix_sync", file_, line_);
}

namespace detail {

// One lane's operands of an mma_sync, gathered by the lane that completes the collective.
template <class D, class A, class B, class C>
struct MmaArgs {
  D* d;
  const A* a;
  const B* b;
  const C* c;

  static void run(void* const* lanes, unsigned /*mask*/) {
    constexpr int M = A::rows, K = A::cols, N = B::cols;
    constexpr bool tf32 = std::is_same<typename A::element_type, float>::value;
    float a[M * K], b[K * N], c[M * N];
    for (int l = 0; l < 32; ++l) {
      const MmaArgs* m = static_cast<const MmaArgs*>(lanes[l]);
      for (int e = 0; e < A::num_elements; ++e) a[l * A::num_elements + e] = to_float(m->a->x[e]);
      for (int e = 0; e < B::num_elements; ++e) b[l * B::num_elements + e] = to_float(m->b->x[e]);
      for (int e = 0; e < C::num_elements; ++e) c[l * C::num_elements + e] = m->c->x[e];
    }
    if (tf32) {
      for (float& v : a) v = truncate_tf32(v);
      for (float& v : b) v = truncate_tf32(v);
    }
    for (int i = 0; i < M; ++i) {
      for (int j = 0; j < N; ++j) {
        float acc = c[i * N + j];
        for (int k = 0; k < K; ++k) acc += a[i * K + k] * b[k * N + j];
        c[i * N + j] = acc;
      }
    }
    for (int l = 0; l < 32; ++l) {
      const MmaArgs* m = static_cast<const MmaArgs*>(lanes[l]);
      for (int e = 0; e < D::num_elements; ++e) m->d->x[e] = c[l * D::num_elements + e];
    }
  }
};

}  // namespace detail

template <int M, int N, int K, class TA, class LA, class TB, class LB, class TC>
void mma_sync(fragment<accumulator, M, N, K, TC>& d, const fragment<matrix_a, M, N, K, TA, LA>& a,
              const fragment<matrix_b, M, N, K, TB, LB>& b,
              const fragment<accumulator, M, N, K, TC>& c, bool /*satf*/ = false,
              ATENTO_EMU_SITE_ARGS) {
  using Acc = fragment<accumulator, M, N, K, TC>;
  using Args = detail::MmaArgs<Acc, fragment<matrix_a, M, N, K, TA, LA>,
                               fragment<matrix_b, M, N, K, TB, LB>, Acc>;
  Args args{&d, &a, &b, &c};
  ::atento::emu::warp_custom({"wmma::mma_sync", file_, line_}, 0xffffffffu, &args, &Args::run);
}

}  // namespace nvcuda::wmma
