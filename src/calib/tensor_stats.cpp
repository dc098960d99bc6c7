#include "calib/tensor_stats.h"

#include <algorithm>
#include <cmath>
#include <vector>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "core/error.h"

namespace ptq {

namespace {

constexpr int64_t kParallelMin = 1 << 17;  // elements per tensor before threads pay off

struct Scan {
  float lo = std::numeric_limits<float>::infinity();
  float hi = -std::numeric_limits<float>::infinity();
  bool finite = true;
};

// min, max and a finiteness flag in one pass: v * 0 is NaN exactly when v is NaN or +-Inf; min/max
// (minps semantics: a < b ? a : b) skip NaN. Order-independent, so lanes are free.
Scan scan_range(const float* x, int64_t n) {
  Scan s;
  float zz = 0.0f;
  int64_t i = 0;
#if defined(__SSE2__)
  __m128 lo0 = _mm_set1_ps(s.lo), lo1 = lo0, hi0 = _mm_set1_ps(s.hi), hi1 = hi0;
  __m128 z0 = _mm_setzero_ps(), z1 = z0;
  const __m128 zero = _mm_setzero_ps();
  for (; i + 8 <= n; i += 8) {
    __m128 v0 = _mm_loadu_ps(x + i), v1 = _mm_loadu_ps(x + i + 4);
    lo0 = _mm_min_ps(v0, lo0);
    lo1 = _mm_min_ps(v1, lo1);
    hi0 = _mm_max_ps(v0, hi0);
    hi1 = _mm_max_ps(v1, hi1);
    z0 = _mm_add_ps(z0, _mm_mul_ps(v0, zero));
    z1 = _mm_add_ps(z1, _mm_mul_ps(v1, zero));
  }
  float lo[8], hi[8], z[8];
  _mm_storeu_ps(lo, lo0);
  _mm_storeu_ps(lo + 4, lo1);
  _mm_storeu_ps(hi, hi0);
  _mm_storeu_ps(hi + 4, hi1);
  _mm_storeu_ps(z, z0);
  _mm_storeu_ps(z + 4, z1);
  for (int l = 0; l < 8; ++l) {
    s.lo = std::min(s.lo, lo[l]);
    s.hi = std::max(s.hi, hi[l]);
    zz += z[l];
  }
#endif
  for (; i < n; ++i) {
    s.lo = x[i] < s.lo ? x[i] : s.lo;
    s.hi = x[i] > s.hi ? x[i] : s.hi;
    zz += x[i] * 0.0f;
  }
  s.finite = !std::isnan(zz);
  return s;
}

Scan scan_parallel(const float* x, int64_t n, int threads) {
  if (threads <= 1 || n < kParallelMin) return scan_range(x, n);
  const int64_t parts = std::min<int64_t>(threads, n / (kParallelMin / 2));
  std::vector<Scan> part(static_cast<size_t>(parts));
#pragma omp parallel for schedule(static) num_threads(threads)
  for (int64_t p = 0; p < parts; ++p) {
    int64_t b = n * p / parts, e = n * (p + 1) / parts;
    part[static_cast<size_t>(p)] = scan_range(x + b, e - b);
  }
  Scan s;
  for (const Scan& q : part) {
    s.lo = std::min(s.lo, q.lo);
    s.hi = std::max(s.hi, q.hi);
    s.finite = s.finite && q.finite;
  }
  return s;
}

}  // namespace

int64_t TensorStats::update(const float* data, int64_t n, int threads) {
  if (n <= 0) return -1;
  Scan s = scan_parallel(data, n, threads);
  if (!s.finite) {
    for (int64_t i = 0; i < n; ++i)
      if (!std::isfinite(data[i])) return i;
  }
  // -0.0 and +0.0 may win min/max depending on element order; + 0.0f makes both +0.0.
  s.lo += 0.0f;
  s.hi += 0.0f;
  min = std::min(min, static_cast<double>(s.lo));
  max = std::max(max, static_cast<double>(s.hi));
  hist.cover(min, max);
  abs_hist.cover(0.0, std::max(std::fabs(min), std::fabs(max)));
  const Histogram::Kernel ks = hist.kernel(), ka = abs_hist.kernel();
  const bool nonnegative = s.lo >= 0.0f;
  uint64_t* sc = hist.counts_.data();
  uint64_t* ac = abs_hist.counts_.data();
  if (threads <= 1 || n < kParallelMin) {
    bin_values(data, n, s.lo, s.hi, ks, ka, sc, ac, nonnegative);
  } else {
    // Per-part integer histograms, summed afterwards: integer addition, so any split gives the same.
    const int64_t parts = std::min<int64_t>(threads, n / (kParallelMin / 2));
    const size_t nb = hist.counts_.size();
    std::vector<uint64_t> local(static_cast<size_t>(parts) * 2 * nb, 0);
#pragma omp parallel for schedule(static) num_threads(threads)
    for (int64_t p = 0; p < parts; ++p) {
      int64_t b = n * p / parts, e = n * (p + 1) / parts;
      uint64_t* mine = local.data() + static_cast<size_t>(p) * 2 * nb;
      bin_values(data + b, e - b, s.lo, s.hi, ks, ka, mine, mine + nb, nonnegative);
    }
    for (int64_t p = 0; p < parts; ++p) {
      const uint64_t* mine = local.data() + static_cast<size_t>(p) * 2 * nb;
      for (size_t k = 0; k < nb; ++k) {
        sc[k] += mine[k];
        ac[k] += mine[nb + k];
      }
    }
  }
  count += static_cast<uint64_t>(n);
  return -1;
}

void TensorStats::merge(const TensorStats& o) {
  if (o.bins() != bins()) bad_input("cannot merge statistics with {} and {} histogram bins", bins(), o.bins());
  if (o.empty()) return;
  min = std::min(min, o.min);
  max = std::max(max, o.max);
  count += o.count;
  hist.merge(o.hist);
  abs_hist.merge(o.abs_hist);
}

bool TensorStats::operator==(const TensorStats& o) const {
  return count == o.count && min == o.min && max == o.max && hist == o.hist && abs_hist == o.abs_hist;
}

void CalibStats::merge(const CalibStats& o) {
  if (o.bins != bins) bad_input("cannot merge calibration statistics with {} and {} histogram bins", bins, o.bins);
  for (const auto& [name, dt] : o.dtypes) {
    auto [it, fresh] = dtypes.emplace(name, dt);
    if (!fresh && it->second != dt)
      bad_input("cannot merge calibration statistics: tensor '{}' is {} in one and {} in the other", name,
                dtype_name(it->second), dtype_name(dt));
  }
  for (const auto& [name, st] : o.tensors) {
    auto it = tensors.try_emplace(name, bins).first;
    it->second.merge(st);
  }
  samples += o.samples;
}

bool CalibStats::operator==(const CalibStats& o) const {
  return bins == o.bins && samples == o.samples && tensors == o.tensors && dtypes == o.dtypes;
}

CalibStats merge_stats(const CalibStats& a, const CalibStats& b) {
  CalibStats r = a;
  r.merge(b);
  return r;
}

}  // namespace ptq
