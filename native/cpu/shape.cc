// shape.cc — layouts and the CPU strided copy (see shape.h).
//
// strided_copy: for every row of the layout's innermost dim, copy n elements from src (stride
// st[1]) to dst (stride st[0]); a row that is dense on both sides is one memcpy. A transpose of
// the two innermost dims (batched 2-D transpose) goes through 32x32 tiles instead.
// Shapes: any, up to kMaxDims dims, as described by the Layout.
#include "shape.h"

#include <algorithm>
#include <cstring>
#include <string>

#include "../common.h"

namespace atento {

std::vector<int64_t> contiguous_strides(const std::vector<int64_t>& shape) {
  std::vector<int64_t> s(shape.size());
  int64_t acc = 1;
  for (size_t i = shape.size(); i-- > 0;) {
    s[i] = acc;
    acc *= shape[i];
  }
  return s;
}

static std::string dims_str(const std::vector<int64_t>& v) {
  std::string s = "[";
  for (size_t i = 0; i < v.size(); i++) s += (i ? ", " : "") + std::to_string(v[i]);
  return s + "]";
}

Layout make_layout(const std::vector<int64_t>& shape, const std::vector<std::vector<int64_t>>& strides,
                   const std::vector<int64_t>& offsets) {
  const int nops = (int)strides.size();
  check(shape.size() <= (size_t)kMaxDims, "ERR_ARGUMENT",
        [&] { return "tensors of more than " + std::to_string(kMaxDims) + " dims are not supported"; });
  check(nops >= 1 && nops <= kMaxOperands && offsets.size() == strides.size(), "ERR_INTERNAL",
        "make_layout: bad operand count");
  Layout l{};
  l.nops = nops;
  bool empty = false;
  for (size_t d = 0; d < shape.size(); d++) {
    check(shape[d] >= 0, "ERR_SHAPE", [&] { return "negative size in " + dims_str(shape); });
    empty = empty || shape[d] == 0;
  }
  for (int k = 0; k < nops; k++) {
    check(strides[k].size() == shape.size(), "ERR_INTERNAL", "make_layout: stride count");
    check(offsets[k] >= 0, "ERR_ARGUMENT", "negative offset");
    for (int64_t s : strides[k]) check(s >= 0, "ERR_ARGUMENT", "negative stride");
    l.offset[k] = offsets[k];
  }
  if (empty) {  // nothing to visit
    l.ndim = 1;
    l.size[0] = 0;
    return l;
  }
  // Walk from the innermost dim outwards, dropping size-1 dims and merging a dim into the
  // group inside it when it is contiguous with it for every operand. Collected inner-first.
  int64_t size[kMaxDims], stride[kMaxOperands][kMaxDims];
  int nd = 0;
  for (int d = (int)shape.size() - 1; d >= 0; d--) {
    if (shape[d] == 1) continue;
    bool merge = nd > 0;
    for (int k = 0; k < nops && merge; k++) merge = strides[k][d] == stride[k][nd - 1] * size[nd - 1];
    if (merge) {
      size[nd - 1] *= shape[d];
      continue;
    }
    size[nd] = shape[d];
    for (int k = 0; k < nops; k++) stride[k][nd] = strides[k][d];
    nd++;
  }
  if (nd == 0) {  // a single element
    l.ndim = 1;
    l.size[0] = 1;
    for (int k = 0; k < nops; k++) l.stride[k][0] = 1;
    return l;
  }
  l.ndim = nd;
  for (int i = 0; i < nd; i++) {
    l.size[i] = size[nd - 1 - i];
    for (int k = 0; k < nops; k++) l.stride[k][i] = stride[k][nd - 1 - i];
  }
  return l;
}

Layout broadcast_layout(const char* op, const std::vector<int64_t>& out,
                        const std::vector<std::vector<int64_t>>& ins) {
  const size_t nd = out.size();
  std::vector<std::vector<int64_t>> strides{contiguous_strides(out)};
  for (const auto& in : ins) {
    check(in.size() <= nd, "ERR_SHAPE",
          [&] { return std::string(op) + ": input " + dims_str(in) + " has more dims than the output " +
                       dims_str(out); });
    std::vector<int64_t> dense = contiguous_strides(in), s(nd, 0);
    for (size_t i = 0; i < in.size(); i++) {
      size_t d = nd - in.size() + i;
      check(in[i] == out[d] || in[i] == 1, "ERR_SHAPE",
            [&] { return std::string(op) + ": shape " + dims_str(in) + " does not broadcast to " + dims_str(out); });
      s[d] = in[i] == 1 ? 0 : dense[i];
    }
    strides.push_back(s);
  }
  return make_layout(out, strides, std::vector<int64_t>(strides.size(), 0));
}

int64_t layout_numel(const Layout& l) {
  int64_t n = 1;
  for (int d = 0; d < l.ndim; d++) n *= l.size[d];
  return n;
}

int64_t layout_extent(const Layout& l, int k) {
  if (layout_numel(l) == 0) return 0;
  int64_t e = l.offset[k] + 1;
  for (int d = 0; d < l.ndim; d++) e += (l.size[d] - 1) * l.stride[k][d];
  return e;
}

namespace cpu {

// A copy whose two innermost dims are swapped between dst and src (dst dense along the last
// dim, src dense along the one before): 2-D transposes, batched over the outer dims, done in
// square tiles so both sides stay in cache.
template <class T>
static bool transpose_tiled(T* dst, const T* src, const Layout& l) {
  const int nd = l.ndim;
  if (nd < 2 || l.stride[0][nd - 1] != 1 || l.stride[1][nd - 2] != 1 || l.stride[1][nd - 1] == 1) return false;
  constexpr int64_t kTile = 32;
  const int64_t rows = l.size[nd - 2], cols = l.size[nd - 1];
  if (rows < kTile || cols < kTile) return false;  // the row loop does as well
  const int64_t drs = l.stride[0][nd - 2], scs = l.stride[1][nd - 1];
  const int64_t tr = (rows + kTile - 1) / kTile, tc = (cols + kTile - 1) / kTile;
  int64_t outer = 1;
  for (int d = 0; d < nd - 2; d++) outer *= l.size[d];
  parallel_for(outer * tr * tc, outer * rows * cols > kParallelGrain, [&](int64_t t) {
    int64_t o = t / (tr * tc), r0 = (t / tc % tr) * kTile, c0 = (t % tc) * kTile;
    int64_t od = l.offset[0], os = l.offset[1], rem = o;
    for (int d = nd - 3; d >= 0; d--) {
      int64_t c = rem % l.size[d];
      rem /= l.size[d];
      od += c * l.stride[0][d];
      os += c * l.stride[1][d];
    }
    const int64_t r1 = std::min(rows, r0 + kTile), c1 = std::min(cols, c0 + kTile);
    for (int64_t r = r0; r < r1; r++)
      for (int64_t c = c0; c < c1; c++) dst[od + r * drs + c] = src[os + r + c * scs];
  });
  return true;
}

template <class T>
static void strided_copy_t(T* dst, const T* src, const Layout& l) {
  if (transpose_tiled(dst, src, l)) return;
  for_each_row(l, [&](const int64_t* off, int64_t n, const int64_t* st) {
    T* d = dst + off[0];
    const T* s = src + off[1];
    if (st[0] == 1 && st[1] == 1) {
      std::memcpy(d, s, n * sizeof(T));
    } else if (st[0] == 1 && st[1] == 0) {
      T v = *s;
      for (int64_t i = 0; i < n; i++) d[i] = v;
    } else {
      for (int64_t i = 0; i < n; i++) d[i * st[0]] = s[i * st[1]];
    }
  });
}

void strided_copy(void* dst, const void* src, const Layout& l, int elem_bytes) {
  if (elem_bytes == 4) strided_copy_t(static_cast<uint32_t*>(dst), static_cast<const uint32_t*>(src), l);
  else strided_copy_t(static_cast<uint8_t*>(dst), static_cast<const uint8_t*>(src), l);
}

}  // namespace cpu
}  // namespace atento
