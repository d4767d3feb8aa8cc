// sample_kernels.h — host launchers for the kernels in sample_kernels.cu, which compiles both
// with nvcc (real CUDA) and with g++ against the emulator. Plain C++: pointers are device
// pointers, `stream` is a cudaStream_t passed as void*. Shapes are row-major.
#pragma once

// Correct kernels.
void sample_gemm(const float* A, const float* B, float* C, int M, int N, int K, void* stream);
void sample_block_sum(const float* x, float* partial, int n, int blocks, int threads, void* stream);
void sample_warp_vote(const float* x, unsigned* ballots, int* popcounts, int* first_set,
                      int* any_all, int n, void* stream);
void sample_histogram(const int* x, int n, unsigned* bins, int nbins, float* total, void* stream);
void sample_reverse_blocks(const float* x, float* y, int n, int threads, void* stream);
void sample_softmax_rows(const float* x, float* y, int rows, int cols, void* stream);
void sample_rms_norm_rows(const float* x, float* y, int rows, int cols, float eps, void* stream);
void sample_warp_scan(const int* x, int* y, int n, void* stream);
// y[b] = sum of x[32b .. 32b+31]; BUG when !synced: no __syncwarp between tree steps.
void sample_warp_tree_sum(const float* x, float* y, int blocks, bool synced, void* stream);
void sample_atomics(const int* x, int n, int* max_out, int* min_out, unsigned* counter,
                    float* last, int* positives, void* stream);
void sample_big_shared(float* y, int floats, bool raise_limit, void* stream);
void sample_no_arguments(int threads, void* stream);  // __trap()s unless all threads count
// Tensor cores: C (M,N) = A (M,K) @ B (K,N); M, N multiples of 16, K of 8 (tf32) or 16.
void sample_wmma_tf32(const float* A, const float* B, float* C, int M, int N, int K, void* stream);
void sample_wmma_half(const void* A, const void* B, float* C, int M, int N, int K, void* stream);
void sample_wmma_bf16(const void* A, const void* B, float* C, int M, int N, int K, void* stream);

// Buggy kernels the emulator must catch.
void sample_gemm_missing_barrier(const float* A, const float* B, float* C, int M, int N, int K,
                                 void* stream);
void sample_rotate_benign_race(const float* x, float* y, int n, int threads, bool fixed,
                               void* stream);
void sample_early_exit_barrier(float* x, void* stream);
void sample_divergent_barrier(float* x, void* stream);
void sample_shuffle_missing_lane(float* x, void* stream);
void sample_shuffle_lane_at_barrier(float* x, void* stream);
void sample_too_many_threads(float* x, void* stream);
void sample_oob_read(const float* x, float* y, int n, void* stream);
void sample_wmma_misaligned(const float* A, const float* B, float* C, void* stream);
