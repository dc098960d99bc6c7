// Turning collected statistics into a real-valued range [lo, hi] to quantize into.
#pragma once
#include <string>

#include "calib/tensor_stats.h"

namespace ptq {

enum class CalibMethod { MinMax };

CalibMethod parse_calib_method(const std::string& s);  // throws Error(Usage)
std::string calib_method_name(CalibMethod m);

struct Range {
  float lo = 0;
  float hi = 0;
};

// The range chosen for a tensor by `method`.
Range choose_range(const TensorStats& s, CalibMethod method);

}  // namespace ptq
