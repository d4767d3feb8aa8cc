// shape.h — strided layouts (shared by the CPU and CUDA kernels) and the CPU strided copy.
//
// A Layout describes one iteration space of up to kMaxDims dims and, for each of up to
// kMaxOperands operands, the stride (in elements) of every dim and a start offset: element
// (i_0, ..., i_{n-1}) of operand k lives at offset[k] + sum_d i_d * stride[k][d]. Stride 0 is a
// broadcast dim. make_layout() drops size-1 dims and merges dims that are contiguous for every
// operand, so a same-shape op becomes one flat dim and [B,T,C] + [C] becomes [B*T, C].
// It is plain data, passed by value to CUDA kernels.
//
// strided_copy: dst[layout operand 0] = src[layout operand 1]; the one kernel behind transpose,
// permute, expand (stride 0), narrow/slice (offsets), cat (strided destination) and split.
#pragma once

#include <cstdint>
#include <vector>

#include "parallel.h"

namespace atento {

constexpr int kMaxDims = 8;
constexpr int kMaxOperands = 4;

struct Layout {
  int ndim;                                 // >= 1 after make_layout
  int nops;                                 // operands described
  int64_t size[kMaxDims];
  int64_t stride[kMaxOperands][kMaxDims];  // elements; >= 0
  int64_t offset[kMaxOperands];             // elements
};

// Row-major strides of a dense tensor of `shape`.
std::vector<int64_t> contiguous_strides(const std::vector<int64_t>& shape);

// A coalesced layout over `shape` for strides.size() operands (each with shape.size() strides).
// Throws ERR_ARGUMENT for more than kMaxDims dims or kMaxOperands operands, negative sizes or
// strides.
Layout make_layout(const std::vector<int64_t>& shape, const std::vector<std::vector<int64_t>>& strides,
                   const std::vector<int64_t>& offsets);

// Broadcasting: operand 0 is a dense output of shape `out`; operand k >= 1 is a dense tensor of
// shape ins[k-1], right-aligned against `out` (missing leading dims are 1). Every input dim must
// equal the output's or be 1 (stride 0), else ERR_SHAPE naming `op`.
Layout broadcast_layout(const char* op, const std::vector<int64_t>& out,
                        const std::vector<std::vector<int64_t>>& ins);

int64_t layout_numel(const Layout& l);
// One past the largest element offset operand k touches (0 when the layout is empty).
int64_t layout_extent(const Layout& l, int k);

namespace cpu {

// dst[op 0] = src[op 1] for every element of l; elem_bytes is 4 (float32/int32) or 1 (bool).
void strided_copy(void* dst, const void* src, const Layout& l, int elem_bytes);

#if !defined(__CUDACC__) && !defined(ATENTO_CUDA_EMULATE)  // CPU kernels only (OpenMP pragmas)
// Runs body(off, n, st) over the rows of l's innermost dim (long rows cut into pieces), in
// parallel when the layout is large: off[k] is operand k's element offset at the row start,
// st[k] its innermost stride, n the row length. The elementwise kernels are built on it.
template <class Body>
void for_each_row(const Layout& l, Body body) {
  const int nd = l.ndim;
  const int64_t inner = l.size[nd - 1];
  int64_t rows = 1;
  for (int d = 0; d < nd - 1; d++) rows *= l.size[d];
  if (rows == 0 || inner == 0) return;
  const int64_t piece = inner > 4 * kParallelGrain ? kParallelGrain : inner;
  const int64_t pieces_per_row = (inner + piece - 1) / piece;
  const int64_t total = rows * pieces_per_row;
  int64_t st[kMaxOperands];
  for (int k = 0; k < l.nops; k++) st[k] = l.stride[k][nd - 1];
  const auto piece_at = [&](int64_t p) {
    int64_t row = p / pieces_per_row, start = (p % pieces_per_row) * piece;
    int64_t off[kMaxOperands];
    for (int k = 0; k < l.nops; k++) off[k] = l.offset[k] + start * st[k];
    int64_t rem = row;
    for (int d = nd - 2; d >= 0; d--) {
      int64_t c = rem % l.size[d];
      rem /= l.size[d];
      for (int k = 0; k < l.nops; k++) off[k] += c * l.stride[k][d];
    }
    int64_t n = inner - start < piece ? inner - start : piece;
    body(off, n, st);
  };
  // A small layout runs here, outside any parallel region: `omp parallel if (false)` still goes
  // through libgomp's team start and end, a futex wake per call (~1 us, most of a small op).
  if (rows * inner <= kParallelGrain || total <= 1) {
    for (int64_t p = 0; p < total; p++) piece_at(p);
    return;
  }
  #pragma omp parallel for schedule(static)
  for (int64_t p = 0; p < total; p++) piece_at(p);
}
#endif

}  // namespace cpu
}  // namespace atento
