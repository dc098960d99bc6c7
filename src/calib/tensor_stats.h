// Running statistics of one tensor across calibration samples. Merging two TensorStats gives
// exactly what one pass over both sample sets would have given (shards merge losslessly).
#pragma once
#include <cstdint>
#include <limits>
#include <string>

namespace ptq {

struct TensorStats {
  double min = std::numeric_limits<double>::infinity();
  double max = -std::numeric_limits<double>::infinity();
  uint64_t count = 0;  // elements seen

  bool empty() const { return count == 0; }
  // Folds in n finite values. Returns the index of the first non-finite value, or -1.
  int64_t update(const float* data, int64_t n);
  void merge(const TensorStats& other);
};

}  // namespace ptq
