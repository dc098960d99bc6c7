// Internals of calib/range.cpp shared with range_search.cpp (and unit tests): the integer grid a
// request targets and the histogram searches.
#pragma once
#include <cstdint>
#include <vector>

#include "calib/range.h"

namespace ptq::calib_detail {

struct Target {
  bool symmetric = false;
  double grid_steps = 255;  // symmetric: steps from 0 to T (int8 127, uint8 127.5); else across [lo, hi]
  int64_t kl_levels = 256;  // KL's quantized bins: |x| levels (128 / 8) or all levels (256 / 16)
};

// Throws Error(Usage) if the target is not an integer quantized type.
Target target_of(const RangeRequest& req);

// A symmetric threshold T turned into the returned range [max(min, -T), min(max, T)].
Range symmetric_result(const TensorStats& s, double T);

Range kl_range(const TensorStats& s, const Target& t);
Range mse_range(const TensorStats& s, const Target& t);

// A histogram prepared for KL windows: counts h[0..nb), prefix[k] = sum of h[0..k),
// nonzero[k] = number of nonzero bins in h[0..k), nz_pos = the nonzero bins in order, and
// series[n][k] = sum over the nonzero bins of h[0..k) of d_n(h): the coefficients of the Taylor
// series of (h - e) ln(h - e) in e (d_0 = h ln h, d_1 = ln h + 1, d_n = 1 / h^(n-1)), in long
// double so that window sums (differences of prefixes) keep their precision.
struct KlHist {
  KlHist(const uint64_t* counts, int64_t bins);
  static constexpr int kSeriesTerms = 5;
  const uint64_t* h;
  int64_t nb;
  std::vector<uint64_t> prefix;
  std::vector<uint64_t> nonzero;
  std::vector<int64_t> nz_pos;
  std::vector<long double> series[kSeriesTerms];
  // Per-window scratch of kl_window (one KlHist serves one search on one thread).
  mutable std::vector<int64_t> starts, nz;
  mutable std::vector<double> qv, lq;
};

// KL(P||Q) of TensorRT's entropy calibration for the window [a, b) with `levels` quantized bins
// (b - a >= levels). Returns +inf when Q has no mass. O(levels + nonzero bins of the window), or
// O(levels) for windows with many nonzero bins (see range_search.cpp).
double kl_window(const KlHist& h, int64_t a, int64_t b, int64_t levels);

}  // namespace ptq::calib_detail
