// losses.h — cross-entropy (fused log-softmax + NLL), MSE and BCE-with-logits on the CPU,
// forward and backward, with PyTorch's formulas.
//
// reduction: 0 'none', 1 'mean', 2 'sum' (PyTorch's at::Reduction numbering). `out` holds n
// values for 'none' (N for cross-entropy), else 1. `dout` is the gradient of `out` (same size).
//
// Cross-entropy: logits (N, C), target (N) int32, lse (N), count (1).
//   lse_i  = log sum_j exp(logits[i, j])                        (saved for the backward)
//   loss_i = (1 - eps) (lse_i - logits[i, t_i]) + eps (lse_i - mean_j logits[i, j])
//            (eps = label smoothing, usually 0), and 0 where t_i == ignoreIndex
//   'mean' divides the sum by count = the number of non-ignored rows (all ignored: 0/0 = NaN).
//   dlogits[i, j] = (softmax_ij - (1 - eps) [j == t_i] - eps / C) * g_i, 0 on ignored rows, with
//   g_i = dout[i] ('none'), dout[0] / count ('mean'), dout[0] ('sum').
//   Targets must be validated first (cross_entropy_check_targets): the kernels index with them.
// MSE: input, target (n):  loss = (input - target)^2;  dinput = 2 (input - target) g = -dtarget.
// BCE with logits: input, target (n), posWeight (C) broadcast over the last dim (n = rows * C):
//   lw = 1 + (posWeight - 1) * target (1 without posWeight), sp = log1p(exp(-|x|)) + max(-x, 0)
//   loss = (1 - target) x + lw sp;  dinput = ((1 - target) - lw sigmoid(-x)) g;
//   dtarget = (-x + (posWeight - 1) sp) g.
// 'mean' for MSE/BCE divides by n. Backward outputs (dinput, dtarget) may be null.
#pragma once

#include <cstdint>

namespace atento::cpu {

// Throws ERR_INDEX unless every target is ignoreIndex or in [0, C); returns the number of
// non-ignored targets. Runs on host memory (the binding copies CUDA targets to the host first).
int64_t cross_entropy_check_targets(const int32_t* target, int64_t N, int64_t C, int32_t ignore_index);

void cross_entropy_forward(float* out, float* lse, float* count, const float* logits, const int32_t* target,
                           int64_t N, int64_t C, int32_t ignore_index, float smoothing, int reduction);
void cross_entropy_backward(float* dlogits, const float* dout, const float* logits, const float* lse,
                            const float* count, const int32_t* target, int64_t N, int64_t C, int32_t ignore_index,
                            float smoothing, int reduction);

void mse_forward(float* out, const float* input, const float* target, int64_t n, int reduction);
void mse_backward(float* dinput, float* dtarget, const float* dout, const float* input, const float* target,
                  int64_t n, int reduction);

void bce_with_logits_forward(float* out, const float* input, const float* target, const float* pos_weight,
                             int64_t n, int64_t C, int reduction);
void bce_with_logits_backward(float* dinput, float* dtarget, const float* dout, const float* input,
                              const float* target, const float* pos_weight, int64_t n, int64_t C, int reduction);

// The reference cross-entropy: two passes per row in double. The yardstick for tests.
void cross_entropy_forward_ref(float* out, float* lse, float* count, const float* logits, const int32_t* target,
                               int64_t N, int64_t C, int32_t ignore_index, float smoothing, int reduction);
void cross_entropy_backward_ref(float* dlogits, const float* dout, const float* logits, const float* lse,
                                const float* count, const int32_t* target, int64_t N, int64_t C,
                                int32_t ignore_index, float smoothing, int reduction);

}  // namespace atento::cpu
