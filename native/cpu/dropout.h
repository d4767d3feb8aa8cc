// dropout.h — dropout with a counter-based random mask, and the hash both devices share.
//
// Element i is kept iff dropout_bits(seed, i) >= threshold, where dropout_bits is the top 24
// bits of a splitmix64-style hash of (seed, i) and threshold = round(p * 2^24). The mask depends
// only on (seed, i): the same on CPU and CUDA, for any thread count or launch shape, and the
// backward regenerates it from the seed instead of storing it.
#pragma once

#include <cstdint>

#if defined(__CUDACC__)
#define ATENTO_HOST_DEVICE __host__ __device__
#else
#define ATENTO_HOST_DEVICE
#endif

namespace atento {

ATENTO_HOST_DEVICE inline uint64_t dropout_mix(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// The key of a seed, computed once per call: the stream of element i is key + (i+1)*golden.
ATENTO_HOST_DEVICE inline uint64_t dropout_key(uint64_t seed) { return dropout_mix(seed + 0x9E3779B97F4A7C15ull); }

// 24 uniform random bits for element i.
ATENTO_HOST_DEVICE inline uint32_t dropout_bits(uint64_t key, uint64_t i) {
  return (uint32_t)(dropout_mix(key + (i + 1) * 0x9E3779B97F4A7C15ull) >> 40);
}

namespace cpu {

// out[i] = keep(i) ? x[i] * scale : 0, i < n, with keep(i) = dropout_bits(key(seed), i) >= threshold.
// The backward is the same call on the output gradient.
void dropout_forward(float* out, const float* x, int64_t n, uint64_t seed, uint32_t threshold, float scale);

}  // namespace cpu
}  // namespace atento
