#include "calib/tensor_stats.h"

#include <algorithm>
#include <cmath>

namespace ptq {

int64_t TensorStats::update(const float* data, int64_t n) {
  float lo = std::numeric_limits<float>::infinity(), hi = -lo;
  for (int64_t i = 0; i < n; ++i) {
    lo = std::min(lo, data[i]);
    hi = std::max(hi, data[i]);
  }
  // min/max skip NaN silently and keep inf; check explicitly only when the fast scan says so.
  bool bad = std::isinf(lo) || std::isinf(hi);
  if (!bad) {
    float acc = 0;
    for (int64_t i = 0; i < n; ++i) acc += data[i] * 0.0f;  // NaN propagates
    bad = std::isnan(acc);
  }
  if (bad && n > 0) {
    for (int64_t i = 0; i < n; ++i)
      if (!std::isfinite(data[i])) return i;
  }
  if (n > 0) {
    min = std::min(min, static_cast<double>(lo));
    max = std::max(max, static_cast<double>(hi));
  }
  count += static_cast<uint64_t>(n);
  return -1;
}

void TensorStats::merge(const TensorStats& o) {
  min = std::min(min, o.min);
  max = std::max(max, o.max);
  count += o.count;
}

}  // namespace ptq
