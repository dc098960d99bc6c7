#include "exec/kernels/shape_ops_util.h"

#include <algorithm>
#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "exec/kernels/kernel_util.h"

namespace ptq::kern::shape {

size_t elem_bytes(const Tensor& t) {
  size_t es = dtype_size(t.dtype());
  if (es == 0) unsupported("tensors of type {} are not supported", dtype_name(t.dtype()));
  return es;
}

bool all_zero_bytes(const void* p, size_t es) {
  const auto* b = static_cast<const uint8_t*>(p);
  for (size_t i = 0; i < es; ++i)
    if (b[i]) return false;
  return true;
}

void fill_value(void* dst, int64_t n, const void* value, size_t es) {
  if (n <= 0) return;
  auto* d = static_cast<uint8_t*>(dst);
  size_t total = static_cast<size_t>(n) * es;
  if (all_zero_bytes(value, es)) {
    std::memset(d, 0, total);
    return;
  }
  std::memcpy(d, value, es);
  // Doubling copies: [0, k) -> [k, 2k).
  for (size_t done = es; done < total;) {
    size_t k = std::min(done, total - done);
    std::memcpy(d + done, d, k);
    done += k;
  }
}

std::vector<int64_t> input_ints(const KernelContext& ctx, size_t i) {
  const Tensor& t = ctx.in(i);
  if (t.dtype() != DType::Int64 && t.dtype() != DType::Int32)
    bad_input("input {} must be int64 or int32, got {}", i, dtype_name(t.dtype()));
  return t.to_int64_vector();
}

size_t axis_attr(const Tensor& x, const Node& node, int64_t dflt) {
  if (x.rank() == 0) bad_input("input must have rank >= 1, got a scalar");
  return static_cast<size_t>(normalize_axis(node.attr_int("axis", dflt), x.rank(), node));
}

std::vector<int64_t> normalize_axes(const std::vector<int64_t>& axes, int64_t rank, const Node& node) {
  if (rank == 0 && !axes.empty()) bad_input("axes given for a scalar");
  std::vector<int64_t> r;
  r.reserve(axes.size());
  for (int64_t a : axes) {
    int64_t n = normalize_axis(a, rank, node);
    if (std::find(r.begin(), r.end(), n) != r.end()) bad_input("axis {} is repeated", a);
    r.push_back(n);
  }
  return r;
}

namespace {

struct Dim {
  int64_t n, ds, ss;  // extent, destination stride, source stride (elements)
};

// Drops extent-1 dimensions and merges neighbours that are contiguous in both source and
// destination. Sets `none` when the view has no elements.
std::vector<Dim> coalesce(const Shape& shape, const std::vector<int64_t>& ds, const std::vector<int64_t>& ss,
                          bool& none) {
  std::vector<Dim> dims;
  none = false;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == 0) {
      none = true;
      return {};
    }
    if (shape[i] == 1) continue;
    if (!dims.empty()) {
      Dim& b = dims.back();
      if (b.ds == ds[i] * shape[i] && b.ss == ss[i] * shape[i]) {
        b = {b.n * shape[i], ds[i], ss[i]};
        continue;
      }
    }
    dims.push_back({shape[i], ds[i], ss[i]});
  }
  return dims;
}

// One run of n elements of ES bytes; fixed-size memcpy compiles to plain loads/stores.
template <size_t ES>
void copy_run_fixed(uint8_t* d, int64_t ds, const uint8_t* s, int64_t ss, int64_t n) {
  const int64_t dsb = ds * static_cast<int64_t>(ES), ssb = ss * static_cast<int64_t>(ES);
  for (int64_t i = 0; i < n; ++i) std::memcpy(d + i * dsb, s + i * ssb, ES);
}

void copy_run(uint8_t* d, int64_t ds, const uint8_t* s, int64_t ss, int64_t n, size_t es) {
  if (ds == 1 && ss == 1) {
    std::memcpy(d, s, static_cast<size_t>(n) * es);
    return;
  }
  switch (es) {
    case 1: copy_run_fixed<1>(d, ds, s, ss, n); return;
    case 2: copy_run_fixed<2>(d, ds, s, ss, n); return;
    case 4: copy_run_fixed<4>(d, ds, s, ss, n); return;
    case 8: copy_run_fixed<8>(d, ds, s, ss, n); return;
    default: {
      const int64_t e = static_cast<int64_t>(es);
      for (int64_t i = 0; i < n; ++i) std::memcpy(d + i * ds * e, s + i * ss * e, es);
    }
  }
}

// dst[i*dp + j] = src[i + j*sl] for i < np, j < nl (a transposed tile).
template <size_t ES>
void copy_tile_fixed(uint8_t* d, int64_t dp, const uint8_t* s, int64_t sl, int64_t np, int64_t nl) {
  for (int64_t i = 0; i < np; ++i)
    for (int64_t j = 0; j < nl; ++j)
      std::memcpy(d + (i * dp + j) * static_cast<int64_t>(ES), s + (i + j * sl) * static_cast<int64_t>(ES), ES);
}

#if defined(__SSE2__)
// 4x4 block of 4-byte elements: source rows j (4 contiguous i each) become destination rows i.
inline void transpose4x4_b32(uint8_t* d, int64_t dp_bytes, const uint8_t* s, int64_t sl_bytes) {
  __m128i r0 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(s));
  __m128i r1 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(s + sl_bytes));
  __m128i r2 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(s + 2 * sl_bytes));
  __m128i r3 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(s + 3 * sl_bytes));
  __m128i t0 = _mm_unpacklo_epi32(r0, r1), t1 = _mm_unpacklo_epi32(r2, r3);
  __m128i t2 = _mm_unpackhi_epi32(r0, r1), t3 = _mm_unpackhi_epi32(r2, r3);
  _mm_storeu_si128(reinterpret_cast<__m128i*>(d), _mm_unpacklo_epi64(t0, t1));
  _mm_storeu_si128(reinterpret_cast<__m128i*>(d + dp_bytes), _mm_unpackhi_epi64(t0, t1));
  _mm_storeu_si128(reinterpret_cast<__m128i*>(d + 2 * dp_bytes), _mm_unpacklo_epi64(t2, t3));
  _mm_storeu_si128(reinterpret_cast<__m128i*>(d + 3 * dp_bytes), _mm_unpackhi_epi64(t2, t3));
}

void copy_tile_b32(uint8_t* d, int64_t dp, const uint8_t* s, int64_t sl, int64_t np, int64_t nl) {
  const int64_t np4 = np & ~int64_t(3), nl4 = nl & ~int64_t(3);
  for (int64_t i = 0; i < np4; i += 4)
    for (int64_t j = 0; j < nl4; j += 4) transpose4x4_b32(d + (i * dp + j) * 4, dp * 4, s + (i + j * sl) * 4, sl * 4);
  if (nl4 < nl) copy_tile_fixed<4>(d + nl4 * 4, dp, s + nl4 * sl * 4, sl, np4, nl - nl4);
  if (np4 < np) copy_tile_fixed<4>(d + np4 * dp * 4, dp, s + np4 * 4, sl, np - np4, nl);
}
#endif

void copy_tile(uint8_t* d, int64_t dp, const uint8_t* s, int64_t sl, int64_t np, int64_t nl, size_t es) {
  switch (es) {
    case 1: copy_tile_fixed<1>(d, dp, s, sl, np, nl); return;
    case 2: copy_tile_fixed<2>(d, dp, s, sl, np, nl); return;
#if defined(__SSE2__)
    case 4: copy_tile_b32(d, dp, s, sl, np, nl); return;
#else
    case 4: copy_tile_fixed<4>(d, dp, s, sl, np, nl); return;
#endif
    case 8: copy_tile_fixed<8>(d, dp, s, sl, np, nl); return;
    default: {
      const int64_t e = static_cast<int64_t>(es);
      for (int64_t i = 0; i < np; ++i)
        for (int64_t j = 0; j < nl; ++j) std::memcpy(d + (i * dp + j) * e, s + (i + j * sl) * e, es);
    }
  }
}

// Element offsets (dst, src) of linear index `m` over `dims` (row-major); fills idx.
void seek(const std::vector<Dim>& dims, int64_t m, std::vector<int64_t>& idx, int64_t& doff, int64_t& soff) {
  doff = soff = 0;
  for (size_t k = dims.size(); k-- > 0;) {
    idx[k] = m % dims[k].n;
    m /= dims[k].n;
    doff += idx[k] * dims[k].ds;
    soff += idx[k] * dims[k].ss;
  }
}

void step(const std::vector<Dim>& dims, std::vector<int64_t>& idx, int64_t& doff, int64_t& soff) {
  for (size_t k = dims.size(); k-- > 0;) {
    doff += dims[k].ds;
    soff += dims[k].ss;
    if (++idx[k] < dims[k].n) return;
    doff -= dims[k].ds * dims[k].n;
    soff -= dims[k].ss * dims[k].n;
    idx[k] = 0;
  }
}

constexpr int64_t kParallelBytes = int64_t(1) << 18;
// Transposed tiles: kTileP elements along the source-contiguous dim x kTileL along the destination one.
constexpr int64_t kTileP = 64, kTileL = 16;

}  // namespace

void strided_copy(void* dst, const std::vector<int64_t>& dst_strides, const void* src,
                  const std::vector<int64_t>& src_strides, const Shape& shape, size_t es) {
  if (dst_strides.size() != shape.size() || src_strides.size() != shape.size())
    internal_error("strided_copy: stride/shape rank mismatch");
  bool none = false;
  std::vector<Dim> dims = coalesce(shape, dst_strides, src_strides, none);
  if (none) return;
  auto* d = static_cast<uint8_t*>(dst);
  const auto* s = static_cast<const uint8_t*>(src);
  const int64_t e = static_cast<int64_t>(es);
  if (dims.empty()) {
    std::memcpy(d, s, es);
    return;
  }
  int64_t total = 1;
  for (const Dim& x : dims) total *= x.n;
  const bool par = total * e >= kParallelBytes;
  const Dim last = dims.back();

  // Transposing view: the source is contiguous along an outer dimension p while the destination
  // is contiguous along the last one. Copy (p, last) in square tiles so both sides stay in cache.
  int p = -1;
  if (last.ds == 1 && last.ss != 1 && last.n >= 4)
    for (size_t k = 0; k + 1 < dims.size(); ++k)
      if (dims[k].ss == 1 && dims[k].n >= 4) p = static_cast<int>(k);
  if (p >= 0) {
    const Dim dp = dims[static_cast<size_t>(p)];
    std::vector<Dim> outer;
    for (size_t k = 0; k + 1 < dims.size(); ++k)
      if (static_cast<int>(k) != p) outer.push_back(dims[k]);
    int64_t m_count = 1;
    for (const Dim& x : outer) m_count *= x.n;
    const int64_t tiles_p = (dp.n + kTileP - 1) / kTileP;
#pragma omp parallel for schedule(static) if (par)
    for (int64_t item = 0; item < m_count * tiles_p; ++item) {
      std::vector<int64_t> idx(outer.size());
      int64_t doff, soff;
      seek(outer, item / tiles_p, idx, doff, soff);
      int64_t i0 = (item % tiles_p) * kTileP, np = std::min(kTileP, dp.n - i0);
      for (int64_t j0 = 0; j0 < last.n; j0 += kTileL)
        copy_tile(d + (doff + i0 * dp.ds + j0) * e, dp.ds, s + (soff + i0 + j0 * last.ss) * e, last.ss, np,
                  std::min(kTileL, last.n - j0), es);
    }
    return;
  }

  // Row path: runs along the last dimension (memcpy when contiguous on both sides).
  std::vector<Dim> outer(dims.begin(), dims.end() - 1);
  const int64_t rows = total / last.n;
  const int64_t chunk = std::max<int64_t>(1, 8192 / last.n);
  const int64_t chunks = (rows + chunk - 1) / chunk;
#pragma omp parallel for schedule(static) if (par)
  for (int64_t c = 0; c < chunks; ++c) {
    std::vector<int64_t> idx(outer.size());
    int64_t doff, soff;
    seek(outer, c * chunk, idx, doff, soff);
    const int64_t end = std::min(rows, (c + 1) * chunk);
    for (int64_t r = c * chunk; r < end; ++r) {
      copy_run(d + doff * e, last.ds, s + soff * e, last.ss, last.n, es);
      step(outer, idx, doff, soff);
    }
  }
}

Tensor copy_view(const Tensor& in, const Shape& out_shape, const std::vector<int64_t>& src_strides,
                 int64_t src_offset) {
  size_t es = elem_bytes(in);
  Tensor out(in.dtype(), out_shape);
  if (out.numel() == 0) return out;
  strided_copy(out.raw(), strides_of(out_shape), byte_ptr(in.raw(), src_offset, es), src_strides, out_shape, es);
  return out;
}

}  // namespace ptq::kern::shape
