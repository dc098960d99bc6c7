// Turning collected statistics into a real-valued range [lo, hi] to quantize into.
//
// Methods (all read only the TensorStats: min, max and the two histograms):
//   minmax      [min, max].
//   percentile  symmetric: T = the percentile of |x| (upper edge of the bin where the cumulative
//               count reaches p% of the elements); asymmetric: lo/hi clip (100-p)% on each side.
//   kl          TensorRT's entropy calibration. Symmetric: on the |x| histogram, for every candidate
//               i = L..used bins, P = hist[0:i] with the outliers folded into its last bin,
//               Q = hist[0:i] merged into L chunks (bin k in chunk floor(k * L / i)) and spread
//               back evenly over the bins where P is nonzero; both smoothed (zero bins get
//               eps = 1e-4, nonzero bins give it back); T = i * width for the (first) i minimizing
//               KL(P||Q). L = levels of |x|: 128 for 8-bit, 8 for 4-bit. The bin holding 0 first
//               takes its neighbour's count (pytorch-quantization's fix for the post-ReLU zero
//               spike). Asymmetric: the same divergence on the signed histogram for windows [a, b)
//               (outliers folded into both end bins), L = 256 / 16, windows containing 0, found by
//               coordinate descent (best a for b, best b for a, ...; run from both ends).
//               Spiky data (e.g. image inputs whose background is one value) can make KL clip hard.
//   mse         minimizes the expected squared quantization error over candidate ranges at bin edges:
//               rounding noise step^2/12 for every value inside plus (c - edge)^2 + width^2/12 for
//               every value of a bin centred at c outside; step from the target's integer grid (after
//               widening to include 0, as compute_qparams does).
// Symmetric results are returned as [max(min, -T), min(max, T)] (compute_qparams takes the larger
// magnitude); every result lies inside [min, max]; a constant tensor gives [c, c].
#pragma once
#include <map>
#include <string>

#include "calib/tensor_stats.h"
#include "core/dtype.h"

namespace ptq {

enum class CalibMethod { MinMax, Percentile, KL, MSE };

constexpr double kDefaultPercentile = 99.99;

CalibMethod parse_calib_method(const std::string& s);  // minmax|percentile|kl (alias entropy)|mse; throws Error(Usage)
std::string calib_method_name(CalibMethod m);

struct Range {
  float lo = 0;
  float hi = 0;
};

// What the range is for: the method and the integer grid it will be quantized into.
struct RangeRequest {
  CalibMethod method = CalibMethod::MinMax;
  double percentile = kDefaultPercentile;  // percentile method only, in [50, 100]
  DType target = DType::UInt8;             // int8/uint8/int4/uint4/int16/uint16
  bool symmetric = false;                  // symmetric target: the |x| histogram is used
};

// The range chosen for a tensor. Throws Error(Usage) for a bad percentile or target type.
Range choose_range(const TensorStats& s, const RangeRequest& req);
// Shorthand for an asymmetric uint8 target.
Range choose_range(const TensorStats& s, CalibMethod method);
// Ranges of several tensors (OpenMP over tensors for the kl/mse searches); empty stats are skipped.
std::map<std::string, Range> choose_ranges(const std::map<std::string, TensorStats>& stats, const RangeRequest& req,
                                           int threads = 1);

}  // namespace ptq
