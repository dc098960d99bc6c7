#include "calib/histogram.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/error.h"

namespace ptq {

namespace {

// floor(g / 2^shift) for shift >= 0 (arithmetic shift right is floor division on two's complement).
int64_t shift_floor(int64_t g, int shift) {
  if (shift >= 63) return g < 0 ? -1 : 0;
  return g >= 0 ? g >> shift : -((-g - 1) >> shift) - 1;
}

// floor(v / w) for float v, exact: v * 2^-exp has no rounding (|result| < 2^30) unless it
// underflows, and then it is 0 or -1, which the comparison against v (not the product) gets right.
inline int32_t floor_index(float v, float scale, float width) {
  int32_t t = static_cast<int32_t>(v * scale);
  return t - (static_cast<float>(t) * width > v ? 1 : 0);
}

inline int32_t clamp_index(int32_t t, int32_t last) {
  t = t < 0 ? 0 : t;
  return t > last ? last : t;
}

// Local bin of v on grid k (values outside the covered range land in the end bins).
inline int32_t signed_bin(float v, const Histogram::Kernel& k) {
  return clamp_index(floor_index(v, k.scale, k.width) - k.offset, k.last);
}

// Local bin of |v| on grid k: |v| >= 0, so truncation is the floor (an underflowed product gives
// 0, also right).
inline int32_t abs_bin(float v, const Histogram::Kernel& k) {
  return clamp_index(static_cast<int32_t>(std::fabs(v) * k.scale) - k.offset, k.last);
}

}  // namespace

Histogram::Histogram(int bins)
    : bins_(bins), lo_(std::numeric_limits<double>::infinity()), hi_(-std::numeric_limits<double>::infinity()) {
  if (bins < kMinBins || bins > kMaxBins)
    fail(ErrorKind::Usage, "histogram bins must be in [{}, {}], got {}", kMinBins, kMaxBins, bins);
  counts_.assign(static_cast<size_t>(bins), 0);
}

double Histogram::width() const { return std::ldexp(1.0, exp_); }

double Histogram::edge(int64_t k) const { return std::ldexp(static_cast<double>(offset_ + k), exp_); }

int64_t Histogram::used_bins() const { return covered() ? grid_index(hi_, exp_) - offset_ + 1 : 0; }

uint64_t Histogram::total() const {
  uint64_t t = 0;
  for (uint64_t c : counts_) t += c;
  return t;
}

int64_t Histogram::grid_index(double x, int exp) { return static_cast<int64_t>(std::floor(std::ldexp(x, -exp))); }

int Histogram::layout_exp(double lo, double hi, int bins) {
  double maxabs = std::max(std::fabs(lo), std::fabs(hi));
  int e = kMinExp;
  if (maxabs > 0) e = std::max(e, std::ilogb(maxabs) - kRelBits);
  // Any width <= span / bins cannot fit, so start just below that and walk up (monotone test).
  double span = hi - lo;
  if (span > 0) e = std::max(e, std::ilogb(span / bins) - 1);
  while (grid_index(hi, e) - grid_index(lo, e) > bins - 1) ++e;
  return e;
}

void Histogram::cover(double lo, double hi) {
  if (!(lo <= hi) || !std::isfinite(lo) || !std::isfinite(hi)) internal_error("Histogram::cover: bad range [{}, {}]", lo, hi);
  double nlo = std::min(lo_, lo), nhi = std::max(hi_, hi);
  if (covered() && nlo == lo_ && nhi == hi_) return;
  int e = layout_exp(nlo, nhi, bins_);
  int64_t off = grid_index(nlo, e);
  if (e > 126) internal_error("Histogram::cover: range [{}, {}] is beyond float precision", nlo, nhi);
  if (covered() && (e != exp_ || off != offset_)) {
    if (e < exp_) internal_error("Histogram::cover: bin width shrank");
    std::vector<uint64_t> fresh(counts_.size(), 0);
    for (size_t k = 0; k < counts_.size(); ++k)
      if (counts_[k]) fresh[static_cast<size_t>(shift_floor(offset_ + static_cast<int64_t>(k), e - exp_) - off)] += counts_[k];
    counts_.swap(fresh);
  }
  exp_ = e;
  offset_ = off;
  lo_ = nlo;
  hi_ = nhi;
}

Histogram::Kernel Histogram::kernel() const {
  return {std::ldexp(1.0f, -exp_), std::ldexp(1.0f, exp_), static_cast<int32_t>(offset_), bins_ - 1};
}

void Histogram::add(const float* x, int64_t n) {  // (not the hot path: see bin_values)
  Kernel k = kernel();
  for (int64_t i = 0; i < n; ++i) counts_[static_cast<size_t>(signed_bin(x[i], k))]++;
}

void Histogram::merge(const Histogram& o) {
  if (o.bins_ != bins_) bad_input("cannot merge histograms with {} and {} bins", bins_, o.bins_);
  if (!o.covered()) return;
  cover(o.lo_, o.hi_);
  int shift = exp_ - o.exp_;
  for (size_t k = 0; k < o.counts_.size(); ++k)
    if (o.counts_[k]) counts_[static_cast<size_t>(shift_floor(o.offset_ + static_cast<int64_t>(k), shift) - offset_)] += o.counts_[k];
}

bool Histogram::operator==(const Histogram& o) const {
  return bins_ == o.bins_ && exp_ == o.exp_ && offset_ == o.offset_ && lo_ == o.lo_ && hi_ == o.hi_ && counts_ == o.counts_;
}

Histogram Histogram::from_parts(int bins, double lo, double hi, int exp, int64_t offset, std::vector<uint64_t> counts,
                                const std::string& what) {
  if (bins < kMinBins || bins > kMaxBins) bad_input("{}: histogram bins must be in [{}, {}], got {}", what, kMinBins, kMaxBins, bins);
  if (!(lo <= hi) || !std::isfinite(lo) || !std::isfinite(hi) || static_cast<double>(static_cast<float>(lo)) != lo ||
      static_cast<double>(static_cast<float>(hi)) != hi)
    bad_input("{}: histogram range [{}, {}] is not a finite float range", what, lo, hi);
  Histogram h(bins);
  h.cover(lo, hi);
  if (h.exp_ != exp || h.offset_ != offset)
    bad_input("{}: histogram layout (exp {}, offset {}) does not match its range [{}, {}] (expected exp {}, offset {})", what,
              exp, offset, lo, hi, h.exp_, h.offset_);
  if (counts.size() != static_cast<size_t>(bins)) bad_input("{}: histogram has {} counts, expected {}", what, counts.size(), bins);
  for (size_t k = static_cast<size_t>(h.used_bins()); k < counts.size(); ++k)
    if (counts[k]) bad_input("{}: histogram count in bin {} lies beyond the range [{}, {}]", what, k, lo, hi);
  h.counts_ = std::move(counts);
  return h;
}

// The index loops vectorize 8 wide with AVX2 (the binning costs ~30% less per value, measured in
// calibration); a baseline x86-64 clone serves older CPUs. Integer indices: identical results.
#if defined(__x86_64__) && defined(__has_attribute)
#if __has_attribute(target_clones)
#define PTQ_AVX2_CLONES __attribute__((target_clones("avx2", "default")))
#endif
#endif
#ifndef PTQ_AVX2_CLONES
#define PTQ_AVX2_CLONES
#endif

namespace {

constexpr int32_t kZeroSlots = 16;  // rotating counters for exact zeros (see bin_values)
constexpr int64_t kChunk = 512;     // values whose indices are computed at once

// bin_values for n < bins: the sub-histograms would cost more to drain than to fill.
PTQ_AVX2_CLONES void bin_direct(const float* x, int64_t n, const Histogram::Kernel& s, const Histogram::Kernel& a,
                                uint64_t* sc, uint64_t* ac, bool shared, int32_t s_zero, int32_t a_zero) {
  int32_t si[kChunk], ai[kChunk];
  // Few values for the bins to drain: count straight into the 64-bit bins (zeros into kZeroSlots
  // local counters, then their sum into the zero bin), one index per value.
  uint64_t zs[kZeroSlots] = {}, za[kZeroSlots] = {};
  uint64_t* sp[kChunk];
  uint64_t* ap[kChunk];
  for (int64_t i0 = 0; i0 < n; i0 += kChunk) {
    const int32_t mi = static_cast<int32_t>(std::min(kChunk, n - i0));
    const float* p = x + i0;
    for (int32_t j = 0; j < mi; ++j) si[j] = signed_bin(p[j], s);
    for (int32_t j = 0; j < mi; ++j) sp[j] = p[j] == 0.0f ? zs + (j & (kZeroSlots - 1)) : sc + si[j];
    if (shared) {
      for (int32_t j = 0; j < mi; ++j) ap[j] = p[j] == 0.0f ? za + (j & (kZeroSlots - 1)) : ac + si[j];
    } else {
      for (int32_t j = 0; j < mi; ++j) ai[j] = abs_bin(p[j], a);
      for (int32_t j = 0; j < mi; ++j) ap[j] = p[j] == 0.0f ? za + (j & (kZeroSlots - 1)) : ac + ai[j];
    }
    for (int32_t j = 0; j < mi; ++j) {
      ++*sp[j];
      ++*ap[j];
    }
  }
  for (int32_t z = 0; z < kZeroSlots; ++z) {
    sc[s_zero] += zs[z];
    ac[a_zero] += za[z];
  }
}

}  // namespace

PTQ_AVX2_CLONES void bin_values(const float* x, int64_t n, float lo, float hi, const Histogram::Kernel& s,
                                const Histogram::Kernel& a, uint64_t* sc, uint64_t* ac, bool nonnegative) {
  if (n <= 0) return;
  // Identical grids and no negative values (post-ReLU data): |x| = x, one index serves both.
  const bool shared = nonnegative && s.scale == a.scale && s.offset == a.offset;
  const int32_t bins = s.last + 1;
  const int32_t s_zero = signed_bin(0.0f, s), a_zero = abs_bin(0.0f, a);
  if (n < bins) return bin_direct(x, n, s, a, sc, ac, shared, s_zero, a_zero);
  // Counts go to kWays interleaved 32-bit sub-histograms first, so that neighbouring values in one
  // bin do not serialize on one counter, and exact zeros (half of post-ReLU data) to kZeroSlots
  // rotating extra counters per way. They are added to the 64-bit counts at the end, over the bins
  // the data can reach only. The scratch is per thread and all zero between calls.
  constexpr int32_t kWays = 4;
  const int32_t stride = bins + kZeroSlots;  // one way: bins, then its zero slots
  thread_local std::vector<uint32_t> scratch;
  const size_t need = static_cast<size_t>(kWays) * static_cast<size_t>(stride) * (shared ? 1 : 2);
  if (scratch.size() < need) scratch.assign(need, 0u);
  uint32_t* sw = scratch.data();
  uint32_t* aw = shared ? sw : sw + static_cast<size_t>(kWays) * static_cast<size_t>(stride);
  const int32_t s_lo = signed_bin(lo, s), s_hi = signed_bin(hi, s);
  const int32_t a_lo = abs_bin(lo > 0 ? lo : hi < 0 ? hi : 0.0f, a), a_hi = abs_bin(std::fabs(lo) > std::fabs(hi) ? lo : hi, a);
  // Adds the ways of bins [from, to] and of the zero slots to `dst` (and `dst2`), zeroing them.
  auto drain = [&](uint32_t* ways, int32_t from, int32_t to, int32_t zero, uint64_t* dst, uint64_t* dst2) {
    auto at = [&](int32_t w, int32_t k) -> uint32_t& { return ways[static_cast<size_t>(w * stride + k)]; };
    uint64_t zeros = 0;
    for (int32_t w = 0; w < kWays; ++w)
      for (int32_t z = 0; z < kZeroSlots; ++z) {
        zeros += at(w, bins + z);
        at(w, bins + z) = 0;
      }
    dst[zero] += zeros;
    if (dst2) dst2[zero] += zeros;
    for (int32_t k = from; k <= to; ++k) {
      uint64_t c = 0;
      for (int32_t w = 0; w < kWays; ++w) {
        c += at(w, k);
        at(w, k) = 0;
      }
      dst[k] += c;
      if (dst2) dst2[k] += c;
    }
  };
  auto drain_all = [&] {
    drain(sw, s_lo, s_hi, s_zero, sc, shared ? ac : nullptr);
    if (!shared) drain(aw, a_lo, a_hi, a_zero, ac, nullptr);
  };
  // Counts idx[0..m) into the kWays ways starting at `ways`, value j into way j % kWays.
  auto scatter = [&](uint32_t* ways, const int32_t* idx, int64_t m) {
    uint32_t *w0 = ways, *w1 = w0 + stride, *w2 = w1 + stride, *w3 = w2 + stride;
    int64_t j = 0;
    for (; j + kWays <= m; j += kWays) {
      w0[idx[j]]++;
      w1[idx[j + 1]]++;
      w2[idx[j + 2]]++;
      w3[idx[j + 3]]++;
    }
    for (; j < m; ++j) w0[idx[j]]++;
  };
  int32_t si[kChunk], ai[kChunk];
  uint64_t pending = 0;  // values in the sub-histograms (a 32-bit counter holds at most this many)
  for (int64_t i0 = 0; i0 < n; i0 += kChunk) {
    const int64_t m = std::min(kChunk, n - i0);
    if (pending + static_cast<uint64_t>(m) > std::numeric_limits<uint32_t>::max()) {
      drain_all();
      pending = 0;
    }
    const float* p = x + i0;
    // Index computation is vectorizable; scatters run in separate loops so it stays that way.
    // (zeros select their slot through an integer mask: a branch would stop the vectorizer)
    const int32_t mi = static_cast<int32_t>(m);
    for (int32_t j = 0; j < mi; ++j) {
      const int32_t k = signed_bin(p[j], s);
      const int32_t zero = -static_cast<int32_t>(p[j] == 0.0f), slot = bins + (j & (kZeroSlots - 1));
      si[j] = k ^ ((k ^ slot) & zero);
    }
    if (!shared)
      for (int32_t j = 0; j < mi; ++j) {
        const int32_t k = abs_bin(p[j], a);
        const int32_t zero = -static_cast<int32_t>(p[j] == 0.0f), slot = bins + (j & (kZeroSlots - 1));
        ai[j] = k ^ ((k ^ slot) & zero);
      }
    scatter(sw, si, m);
    if (!shared) scatter(aw, ai, m);
    pending += static_cast<uint64_t>(m);
  }
  drain_all();
}

}  // namespace ptq
