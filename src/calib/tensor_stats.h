// Running statistics of one tensor across calibration samples: min, max, element count, and two
// adaptive histograms (signed values, for asymmetric targets; |x|, for symmetric targets) whose bin
// grids follow the data (see calib/histogram.h). Memory is fixed (2 x bins counters) whatever the
// number of samples. Every field is an exact function of the multiset of values seen: merging two
// TensorStats gives exactly what one pass over both sample sets gives (shards merge losslessly), and
// neither element order, batching nor the thread count changes the result.
#pragma once
#include <cstdint>
#include <limits>
#include <map>
#include <string>

#include "calib/histogram.h"
#include "core/dtype.h"

namespace ptq {

struct TensorStats {
  double min = std::numeric_limits<double>::infinity();
  double max = -std::numeric_limits<double>::infinity();
  uint64_t count = 0;  // elements seen
  Histogram hist;      // signed values, covers [min, max]
  Histogram abs_hist;  // |x|, covers [0, max|x|]

  explicit TensorStats(int bins = kDefaultBins) : hist(bins), abs_hist(bins) {}

  bool empty() const { return count == 0; }
  int bins() const { return hist.bins(); }
  // Folds in n values. If any is NaN/Inf nothing is folded and the index of the first such value is
  // returned; otherwise -1. threads > 1 splits large tensors over OpenMP threads (integer partial
  // histograms: the result does not depend on the thread count).
  int64_t update(const float* data, int64_t n, int threads = 1);
  // Exact merge; throws Error(BadInput) if the bin counts differ.
  void merge(const TensorStats& other);

  bool operator==(const TensorStats& o) const;
  bool operator!=(const TensorStats& o) const { return !(*this == o); }
};

// Everything a calibration run produces: per-tensor statistics of float32 values, the dtype of every
// value seen (float or not: the quantizer only quantizes float32 tensors), and the sample count.
struct CalibStats {
  int bins = kDefaultBins;
  uint64_t samples = 0;
  std::map<std::string, TensorStats> tensors;
  std::map<std::string, DType> dtypes;

  // Exact merge of another run (e.g. another shard of the calibration set). Throws Error(BadInput)
  // if the bin counts differ or a tensor has different dtypes in the two runs.
  void merge(const CalibStats& other);
  bool operator==(const CalibStats& o) const;
};

CalibStats merge_stats(const CalibStats& a, const CalibStats& b);

}  // namespace ptq
