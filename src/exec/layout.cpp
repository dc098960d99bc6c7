#include "exec/layout.h"

#include <algorithm>
#include <cstring>

namespace ptq {

namespace {

// dst[n][j][i] = src[n][i][j] for `batch` matrices of rows x cols elements of `E` bytes, in
// square tiles so both sides stay in cache.
template <size_t E>
void transpose(const uint8_t* src, uint8_t* dst, int64_t batch, int64_t rows, int64_t cols, int threads) {
  constexpr int64_t kTile = 32;
  int64_t tr = (rows + kTile - 1) / kTile, tc = (cols + kTile - 1) / kTile;
  int64_t items = batch * tr * tc;
#pragma omp parallel for schedule(static) num_threads(threads) if (threads > 1 && items > 16)
  for (int64_t it = 0; it < items; ++it) {
    int64_t n = it / (tr * tc), r0 = (it / tc) % tr * kTile, c0 = it % tc * kTile;
    int64_t r1 = std::min(rows, r0 + kTile), c1 = std::min(cols, c0 + kTile);
    const uint8_t* s = src + static_cast<size_t>(n * rows * cols) * E;
    uint8_t* d = dst + static_cast<size_t>(n * rows * cols) * E;
    for (int64_t r = r0; r < r1; ++r)
      for (int64_t c = c0; c < c1; ++c)
        std::memcpy(d + static_cast<size_t>(c * rows + r) * E, s + static_cast<size_t>(r * cols + c) * E, E);
  }
}

void transpose_any(const Tensor& from, Tensor& to, int64_t rows, int64_t cols, int threads) {
  int64_t batch = from.rank() ? from.dim(0) : 1;
  const auto* s = static_cast<const uint8_t*>(from.raw());
  auto* d = static_cast<uint8_t*>(to.raw());
  switch (dtype_size(from.dtype())) {
    case 1: transpose<1>(s, d, batch, rows, cols, threads); break;
    case 2: transpose<2>(s, d, batch, rows, cols, threads); break;
    case 4: transpose<4>(s, d, batch, rows, cols, threads); break;
    case 8: transpose<8>(s, d, batch, rows, cols, threads); break;
    default: internal_error("layout conversion of {} tensors", dtype_name(from.dtype()));
  }
}

int64_t spatial_size(const Tensor& t) {
  int64_t s = 1;
  for (int64_t i = 2; i < t.rank(); ++i) s *= t.dim(i);
  return s;
}

}  // namespace

Tensor to_plain(const Tensor& t, int threads) {
  if (t.layout() == Layout::Plain || t.empty()) return t;
  Tensor out = Tensor::uninitialized(t.dtype(), t.shape());
  if (t.numel() > 0) transpose_any(t, out, spatial_size(t), t.dim(1), threads);  // (S, C) -> (C, S)
  return out;
}

Tensor to_channels_last(const Tensor& t, int threads) {
  if (t.layout() == Layout::ChannelsLast || t.empty()) return t;
  if (!channels_last_rank(t)) internal_error("channels-last order needs rank 3-5, got {}", shape_str(t.shape()));
  Tensor out = Tensor::uninitialized(t.dtype(), t.shape()).with_layout(Layout::ChannelsLast);
  if (t.numel() > 0) transpose_any(t, out, t.dim(1), spatial_size(t), threads);  // (C, S) -> (S, C)
  return out;
}

}  // namespace ptq
