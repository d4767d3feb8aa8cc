// aligned.h — std::vector storage on 64-byte boundaries, for kernel scratch buffers.
//
// A 64-byte vector load (AVX-512) from an address that is not a multiple of 64 straddles two
// cache lines; std::vector<float> gives 16-byte alignment. Scratch that kernels read row by row
// with full vectors (attention's packed K^T and tiles, layernorm's partial sums) uses AlignedVec.
#pragma once

#include <cstddef>
#include <new>
#include <vector>

namespace atento::cpu {

template <class T>
struct Aligned64 {
  using value_type = T;
  static constexpr std::align_val_t kAlign{64};
  Aligned64() = default;
  template <class U>
  Aligned64(const Aligned64<U>&) {}
  T* allocate(std::size_t n) { return static_cast<T*>(::operator new(n * sizeof(T), kAlign)); }
  void deallocate(T* p, std::size_t) { ::operator delete(p, kAlign); }
  template <class U>
  bool operator==(const Aligned64<U>&) const { return true; }
  template <class U>
  bool operator!=(const Aligned64<U>&) const { return false; }
};

using AlignedVec = std::vector<float, Aligned64<float>>;

}  // namespace atento::cpu
