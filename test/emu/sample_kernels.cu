// sample_kernels.cu — kernels that exercise every wrapper of native/cuda/launch.cuh, compiled
// two ways from this one source: by nvcc (scripts/test-emu.sh checks it builds for sm_80 with
// warnings as errors) and by g++ -DATENTO_CUDA_EMULATE, run by test/emu/emu_test.cc.
//
// Correct kernels: tiled GEMM, block sum (shuffles), warp votes, histogram (atomics), block
// reverse (dynamic shared memory), softmax and RMS norm (float4, fast math), warp scan,
// assorted atomics, big dynamic shared memory, WMMA GEMMs (tf32, half, bf16).
// Buggy kernels, each marked BUG: the emulator or a sanitizer must catch them.
#include "../../native/cuda/launch.cuh"

#include <type_traits>

#include "sample_kernels.h"

namespace {

constexpr unsigned kFull = 0xffffffffu;

// ---- correct kernels ---------------------------------------------------------------------

// C (M,N) = A (M,K) @ B (K,N). Block TILE x TILE, one C element per thread.
template <int TILE, bool kMissingBarrier>
__global__ void gemm_tiled_kernel(const float* __restrict__ A, const float* __restrict__ B,
                                  float* __restrict__ C, int M, int N, int K) {
  __shared__ float As[TILE][TILE];
  __shared__ float Bs[TILE][TILE + 1];
  const int tx = threadIdx.x, ty = threadIdx.y;
  const int row = blockIdx.y * TILE + ty, col = blockIdx.x * TILE + tx;
  float acc = 0.0f;
  for (int k0 = 0; k0 < K; k0 += TILE) {
    As[ty][tx] = (row < M && k0 + tx < K) ? A[row * K + k0 + tx] : 0.0f;
    Bs[ty][tx] = (k0 + ty < K && col < N) ? B[(k0 + ty) * N + col] : 0.0f;
    __syncthreads();
#pragma unroll
    for (int k = 0; k < TILE; ++k) acc = fmaf(As[ty][k], Bs[k][tx], acc);
    if (!kMissingBarrier) __syncthreads();  // BUG when missing: next tiles overwrite these
  }
  if (row < M && col < N) C[row * N + col] = acc;
}

// partial[b] = sum of x over a grid-stride share; warp sums by __shfl_xor_sync, then warp 0
// sums the warp sums by __shfl_down_sync. blockDim.x is a multiple of 32.
__global__ void block_sum_kernel(const float* __restrict__ x, float* __restrict__ partial, int n) {
  __shared__ float warp_sums[32];
  float v = 0.0f;
  for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x) v += x[i];
  for (int off = warpSize / 2; off > 0; off >>= 1) v += __shfl_xor_sync(kFull, v, off);
  const int lane = threadIdx.x % warpSize, warp = threadIdx.x / warpSize;
  if (lane == 0) warp_sums[warp] = v;
  __syncthreads();
  if (warp == 0) {
    v = lane < static_cast<int>(blockDim.x / warpSize) ? warp_sums[lane] : 0.0f;
    for (int off = warpSize / 2; off > 0; off >>= 1) v += __shfl_down_sync(kFull, v, off);
    if (lane == 0) partial[blockIdx.x] = v;
  }
}

// Per warp w: ballots[w] = bits of x > 0, popcounts[w], first_set[w] (__ffs),
// any_all[2w] = __any_sync, any_all[2w+1] = __all_sync.
__global__ void warp_vote_kernel(const float* __restrict__ x, unsigned* ballots, int* popcounts,
                                 int* first_set, int* any_all, int n) {
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  const int w = i / warpSize;
  const int p = i < n && x[i] > 0.0f;
  const unsigned b = __ballot_sync(__activemask(), p);
  const int any = __any_sync(kFull, p), all = __all_sync(kFull, p);
  __syncwarp();
  if (i % warpSize == 0) {
    ballots[w] = b;
    popcounts[w] = __popc(b);
    first_set[w] = __ffs(static_cast<int>(b));
    any_all[2 * w] = any;
    any_all[2 * w + 1] = all;
  }
}

// bins[v % nbins] += 1 for each x, through a shared-memory histogram; total += sum of x.
__global__ void histogram_kernel(const int* __restrict__ x, int n, unsigned* bins, int nbins,
                                 float* total) {
  __shared__ unsigned local[64];
  for (int b = threadIdx.x; b < nbins; b += blockDim.x) local[b] = 0;
  __syncthreads();
  for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x) {
    atomicAdd(&local[x[i] % nbins], 1u);
    atomicAdd(total, static_cast<float>(x[i]));
  }
  __syncthreads();
  for (int b = threadIdx.x; b < nbins; b += blockDim.x) atomicAdd(&bins[b], local[b]);
}

// Within each block of blockDim.x elements, y = x reversed; staged in dynamic shared memory.
__global__ void reverse_blocks_kernel(const float* __restrict__ x, float* __restrict__ y, int n) {
  ATENTO_DYNAMIC_SHARED(float, buf);
  const int t = threadIdx.x, i = blockIdx.x * blockDim.x + t;
  buf[t] = i < n ? x[i] : 0.0f;
  __syncthreads();
  const int j = blockIdx.x * blockDim.x + (blockDim.x - 1 - t);
  if (j < n) y[j] = buf[t];
}

// y (rows, cols) = softmax(x) along each row; one warp per row; cols a multiple of 4.
__global__ void softmax_rows_kernel(const float* __restrict__ x, float* __restrict__ y, int rows,
                                    int cols) {
  const int row = blockIdx.x * (blockDim.x / warpSize) + threadIdx.x / warpSize;
  const int lane = threadIdx.x % warpSize;
  if (row >= rows) return;  // the whole warp leaves together
  const float4* x4 = reinterpret_cast<const float4*>(x + static_cast<size_t>(row) * cols);
  float4* y4 = reinterpret_cast<float4*>(y + static_cast<size_t>(row) * cols);
  float m = -INFINITY;
  for (int c = lane; c < cols / 4; c += warpSize) {
    const float4 v = __ldg(&x4[c]);
    m = fmaxf(m, fmaxf(fmaxf(v.x, v.y), fmaxf(v.z, v.w)));
  }
  for (int off = warpSize / 2; off > 0; off >>= 1) m = fmaxf(m, __shfl_xor_sync(kFull, m, off));
  float s = 0.0f;
  for (int c = lane; c < cols / 4; c += warpSize) {
    const float4 v = __ldg(&x4[c]);
    s += __expf(v.x - m) + __expf(v.y - m) + __expf(v.z - m) + __expf(v.w - m);
  }
  for (int off = warpSize / 2; off > 0; off >>= 1) s += __shfl_down_sync(kFull, s, off);
  s = __shfl_sync(kFull, s, 0);
  const float inv = __fdividef(1.0f, s);
  for (int c = lane; c < cols / 4; c += warpSize) {
    const float4 v = __ldg(&x4[c]);
    y4[c] = make_float4(__expf(v.x - m) * inv, __expf(v.y - m) * inv, __expf(v.z - m) * inv,
                        __expf(v.w - m) * inv);
  }
}

// y = x * rsqrt(mean(x^2) + eps) per row; one warp per row.
__global__ void rms_norm_rows_kernel(const float* __restrict__ x, float* __restrict__ y, int rows,
                                     int cols, float eps) {
  const int row = blockIdx.x * (blockDim.x / warpSize) + threadIdx.x / warpSize;
  const int lane = threadIdx.x % warpSize;
  if (row >= rows) return;
  const float* xr = x + static_cast<size_t>(row) * cols;
  float ss = 0.0f;
  for (int c = lane; c < cols; c += warpSize) ss += xr[c] * xr[c];
  for (int off = warpSize / 2; off > 0; off >>= 1) ss += __shfl_xor_sync(kFull, ss, off);
  const float scale = rsqrtf(ss / static_cast<float>(cols) + eps);
  for (int c = lane; c < cols; c += warpSize) y[static_cast<size_t>(row) * cols + c] = xr[c] * scale;
}

// y = inclusive prefix sum of x within each warp of 32 elements (__shfl_up_sync).
__global__ void warp_scan_kernel(const int* __restrict__ x, int* __restrict__ y, int n) {
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  const int lane = threadIdx.x % warpSize;
  int v = i < n ? x[i] : 0;
  for (int off = 1; off < warpSize; off <<= 1) {
    const int u = __shfl_up_sync(kFull, v, off);
    if (lane >= off) v += u;
  }
  if (i < n) y[i] = v;
}

// max/min of x, a counter bumped by an atomicCAS loop, the last writer of atomicExch, and the
// number of positive x per block summed with __syncthreads_count.
__global__ void atomics_kernel(const int* __restrict__ x, int n, int* max_out, int* min_out,
                               unsigned* counter, float* last, int* positives) {
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  const int v = i < n ? x[i] : 0;
  if (i < n) {
    atomicMax(max_out, v);
    atomicMin(min_out, v);
    unsigned old = atomicAdd(counter, 0u), assumed;
    do {
      assumed = old;
      old = atomicCAS(counter, assumed, assumed + 1);
    } while (old != assumed);
    atomicExch(last, static_cast<float>(i));
  }
  __threadfence();
  const int count = __syncthreads_count(i < n && v > 0);
  if (threadIdx.x == 0) atomicAdd(positives, count);
}

// Fills `floats` floats of dynamic shared memory (> 48 KiB) and copies them out.
__global__ void big_shared_kernel(float* y, int floats) {
  ATENTO_DYNAMIC_SHARED(float, buf);
  for (int i = threadIdx.x; i < floats; i += blockDim.x) buf[i] = static_cast<float>(i);
  __syncthreads();
  for (int i = threadIdx.x; i < floats; i += blockDim.x) y[i] = buf[floats - 1 - i];
}

// C (M,N) = A (M,K) @ B (K,N) on tensor cores, one warp per 16x16 tile of C.
template <class In, int KSTEP>
__global__ void wmma_gemm_kernel(const In* __restrict__ A, const In* __restrict__ B,
                                 float* __restrict__ C, int M, int N, int K) {
#if ATENTO_CUDA_ARCH >= 800
  using namespace nvcuda;
  using Elem = typename std::conditional<std::is_same<In, float>::value, wmma::precision::tf32, In>::type;
  const int warp = (blockIdx.x * blockDim.x + threadIdx.x) / warpSize;
  const int tm = warp / (N / 16), tn = warp % (N / 16);
  if (tm >= M / 16) return;
  wmma::fragment<wmma::matrix_a, 16, 16, KSTEP, Elem, wmma::row_major> a;
  wmma::fragment<wmma::matrix_b, 16, 16, KSTEP, Elem, wmma::row_major> b;
  wmma::fragment<wmma::accumulator, 16, 16, KSTEP, float> acc;
  wmma::fill_fragment(acc, 0.0f);
  for (int k = 0; k < K; k += KSTEP) {
    wmma::load_matrix_sync(a, A + tm * 16 * K + k, K);
    wmma::load_matrix_sync(b, B + k * N + tn * 16, N);
    if (std::is_same<In, float>::value) {
      for (int e = 0; e < a.num_elements; ++e) a.x[e] = wmma::__float_to_tf32(a.x[e]);
      for (int e = 0; e < b.num_elements; ++e) b.x[e] = wmma::__float_to_tf32(b.x[e]);
    }
    wmma::mma_sync(acc, a, b, acc);
  }
  wmma::store_matrix_sync(C + tm * 16 * N + tn * 16, acc, N, wmma::mem_row_major);
#endif
}

// y[b] = sum of x over block b of 32 threads, by a tree in shared memory. Each step needs
// __syncwarp between its read and write and before the next step (BUG when !synced).
__global__ void warp_tree_sum_kernel(const float* __restrict__ x, float* __restrict__ y, bool synced) {
  __shared__ float s[32];
  const int lane = threadIdx.x;
  s[lane] = x[blockIdx.x * 32 + lane];
  __syncwarp();
  for (int off = 16; off > 0; off >>= 1) {
    const float v = lane < off ? s[lane + off] : 0.0f;
    if (synced) __syncwarp();
    if (lane < off) s[lane] += v;
    if (synced) __syncwarp();
  }
  if (lane == 0) y[blockIdx.x] = s[0];
}

// ---- buggy kernels -----------------------------------------------------------------------

// y = x rotated by one within each block. The second write of s[t] needs a barrier before it
// (BUG when !fixed): it races with the neighbour's read of s[t], but writes the value already
// there, so the output never changes; only ThreadSanitizer can see this one. (The last
// barrier makes the writer reach a barrier before the reader resumes from the first one.)
__global__ void rotate_kernel(const float* __restrict__ x, float* __restrict__ y, int n, bool fixed) {
  __shared__ float s[1024];
  const int t = threadIdx.x, i = blockIdx.x * blockDim.x + t;
  s[t] = i < n ? x[i] : 0.0f;
  __syncthreads();
  const float v = s[(t + 1) % blockDim.x];
  if (fixed) __syncthreads();
  s[t] = i < n ? x[i] : 0.0f;
  __syncthreads();
  if (i < n) y[i] = v;
}

// BUG: threads 32.. leave before the barrier that threads 0..31 wait at.
__global__ void early_exit_barrier_kernel(float* x) {
  if (threadIdx.x >= 32) return;
  x[threadIdx.x] = 1.0f;
  __syncthreads();
  x[threadIdx.x] += 1.0f;
}

// BUG: the two halves of the block wait at different barriers.
__global__ void divergent_barrier_kernel(float* x) {
  if (threadIdx.x < 64) {
    x[threadIdx.x] = 1.0f;
    __syncthreads();
  } else {
    __syncthreads();
    x[threadIdx.x] = 2.0f;
  }
}

// BUG: lane 7 leaves, but the shuffle's mask names it.
__global__ void shuffle_missing_lane_kernel(float* x) {
  float v = x[threadIdx.x];
  if (threadIdx.x % warpSize == 7) return;
  v += __shfl_xor_sync(kFull, v, 1);
  x[threadIdx.x] = v;
}

// BUG: lane 3 goes to a barrier while its warp shuffles without it.
__global__ void shuffle_lane_at_barrier_kernel(float* x) {
  float v = x[threadIdx.x];
  if (threadIdx.x % warpSize != 3) v += __shfl_down_sync(kFull, v, 1);
  __syncthreads();
  x[threadIdx.x] = v;
}

__global__ void fill_kernel(float* x) { x[blockIdx.x * blockDim.x + threadIdx.x] = 1.0f; }

// A kernel without parameters (ATENTO_LAUNCH with no arguments after the stream).
__global__ void count_kernel() {
  __shared__ int n;
  if (threadIdx.x == 0) n = 0;
  __syncthreads();
  atomicAdd(&n, 1);
  __syncthreads();
  if (threadIdx.x == 0 && n != static_cast<int>(blockDim.x)) __trap();
}

// y[i] = x[i] + x[i + 1]. BUG: reads x[n] for the last i.
__global__ void oob_read_kernel(const float* __restrict__ x, float* __restrict__ y, int n) {
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) y[i] = x[i] + x[i + 1];
}

}  // namespace

// ---- launchers ---------------------------------------------------------------------------

void sample_gemm(const float* A, const float* B, float* C, int M, int N, int K, void* stream) {
  const dim3 block(16, 16), grid((N + 15) / 16, (M + 15) / 16);
  ATENTO_LAUNCH((gemm_tiled_kernel<16, false>), grid, block, 0, stream, A, B, C, M, N, K);
}

void sample_gemm_missing_barrier(const float* A, const float* B, float* C, int M, int N, int K,
                                 void* stream) {
  const dim3 block(16, 16), grid((N + 15) / 16, (M + 15) / 16);
  ATENTO_LAUNCH((gemm_tiled_kernel<16, true>), grid, block, 0, stream, A, B, C, M, N, K);
}

void sample_block_sum(const float* x, float* partial, int n, int blocks, int threads, void* stream) {
  ATENTO_LAUNCH(block_sum_kernel, blocks, threads, 0, stream, x, partial, n);
}

void sample_warp_vote(const float* x, unsigned* ballots, int* popcounts, int* first_set,
                      int* any_all, int n, void* stream) {
  const int threads = 128, blocks = (n + threads - 1) / threads;
  ATENTO_LAUNCH(warp_vote_kernel, blocks, threads, 0, stream, x, ballots, popcounts, first_set,
                any_all, n);
}

void sample_histogram(const int* x, int n, unsigned* bins, int nbins, float* total, void* stream) {
  ATENTO_LAUNCH(histogram_kernel, 4, 128, 0, stream, x, n, bins, nbins, total);
}

void sample_reverse_blocks(const float* x, float* y, int n, int threads, void* stream) {
  const int blocks = (n + threads - 1) / threads;
  ATENTO_LAUNCH(reverse_blocks_kernel, blocks, threads, threads * sizeof(float), stream, x, y, n);
}

void sample_softmax_rows(const float* x, float* y, int rows, int cols, void* stream) {
  const int warps = 4, blocks = (rows + warps - 1) / warps;
  ATENTO_LAUNCH(softmax_rows_kernel, blocks, warps * 32, 0, stream, x, y, rows, cols);
}

void sample_rms_norm_rows(const float* x, float* y, int rows, int cols, float eps, void* stream) {
  const int warps = 4, blocks = (rows + warps - 1) / warps;
  ATENTO_LAUNCH(rms_norm_rows_kernel, blocks, warps * 32, 0, stream, x, y, rows, cols, eps);
}

void sample_warp_scan(const int* x, int* y, int n, void* stream) {
  ATENTO_LAUNCH(warp_scan_kernel, (n + 63) / 64, 64, 0, stream, x, y, n);
}

void sample_atomics(const int* x, int n, int* max_out, int* min_out, unsigned* counter,
                    float* last, int* positives, void* stream) {
  ATENTO_LAUNCH(atomics_kernel, (n + 127) / 128, 128, 0, stream, x, n, max_out, min_out, counter,
                last, positives);
}

void sample_big_shared(float* y, int floats, bool raise_limit, void* stream) {
  const int bytes = floats * static_cast<int>(sizeof(float));
  // Without raise_limit, put the limit back to the default 48 KiB.
  cudaFuncSetAttribute(big_shared_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
                       raise_limit ? bytes : 48 * 1024);
  ATENTO_LAUNCH(big_shared_kernel, 1, 256, bytes, stream, y, floats);
}

void sample_wmma_tf32(const float* A, const float* B, float* C, int M, int N, int K, void* stream) {
  const int tiles = (M / 16) * (N / 16), warps = 4;
  ATENTO_LAUNCH((wmma_gemm_kernel<float, 8>), (tiles + warps - 1) / warps, warps * 32, 0, stream,
                A, B, C, M, N, K);
}

void sample_wmma_half(const void* A, const void* B, float* C, int M, int N, int K, void* stream) {
  const int tiles = (M / 16) * (N / 16), warps = 4;
  ATENTO_LAUNCH((wmma_gemm_kernel<__half, 16>), (tiles + warps - 1) / warps, warps * 32, 0,
                stream, static_cast<const __half*>(A), static_cast<const __half*>(B), C, M, N, K);
}

void sample_wmma_bf16(const void* A, const void* B, float* C, int M, int N, int K, void* stream) {
  const int tiles = (M / 16) * (N / 16), warps = 4;
  ATENTO_LAUNCH((wmma_gemm_kernel<__nv_bfloat16, 16>), (tiles + warps - 1) / warps, warps * 32, 0,
                stream, static_cast<const __nv_bfloat16*>(A), static_cast<const __nv_bfloat16*>(B),
                C, M, N, K);
}

void sample_wmma_misaligned(const float* A, const float* B, float* C, void* stream) {
  // BUG: A + 1 is not 32-byte aligned.
  ATENTO_LAUNCH((wmma_gemm_kernel<float, 8>), 1, 32, 0, stream, A + 1, B, C, 16, 16, 8);
}

void sample_warp_tree_sum(const float* x, float* y, int blocks, bool synced, void* stream) {
  ATENTO_LAUNCH(warp_tree_sum_kernel, blocks, 32, 0, stream, x, y, synced);
}

void sample_rotate_benign_race(const float* x, float* y, int n, int threads, bool fixed,
                               void* stream) {
  ATENTO_LAUNCH(rotate_kernel, (n + threads - 1) / threads, threads, 0, stream, x, y, n, fixed);
}

void sample_early_exit_barrier(float* x, void* stream) {
  ATENTO_LAUNCH(early_exit_barrier_kernel, 1, 128, 0, stream, x);
}

void sample_divergent_barrier(float* x, void* stream) {
  ATENTO_LAUNCH(divergent_barrier_kernel, 1, 128, 0, stream, x);
}

void sample_shuffle_missing_lane(float* x, void* stream) {
  ATENTO_LAUNCH(shuffle_missing_lane_kernel, 1, 64, 0, stream, x);
}

void sample_shuffle_lane_at_barrier(float* x, void* stream) {
  ATENTO_LAUNCH(shuffle_lane_at_barrier_kernel, 1, 64, 0, stream, x);
}

void sample_no_arguments(int threads, void* stream) {
  ATENTO_LAUNCH(count_kernel, 2, threads, 0, stream);
}

void sample_too_many_threads(float* x, void* stream) {
  ATENTO_LAUNCH(fill_kernel, 1, 2048, 0, stream, x);  // BUG: at most 1024 threads per block
}

void sample_oob_read(const float* x, float* y, int n, void* stream) {
  ATENTO_LAUNCH(oob_read_kernel, (n + 127) / 128, 128, 0, stream, x, y, n);
}
