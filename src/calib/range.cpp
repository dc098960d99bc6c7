#include "calib/range.h"

#include "core/error.h"

namespace ptq {

CalibMethod parse_calib_method(const std::string& s) {
  if (s == "minmax") return CalibMethod::MinMax;
  fail(ErrorKind::Usage, "unknown calibration method '{}' (expected minmax)", s);
}

std::string calib_method_name(CalibMethod m) {
  switch (m) {
    case CalibMethod::MinMax: return "minmax";
  }
  return "?";
}

Range choose_range(const TensorStats& s, CalibMethod method) {
  if (s.empty()) return {};
  switch (method) {
    case CalibMethod::MinMax: return {static_cast<float>(s.min), static_cast<float>(s.max)};
  }
  return {};
}

}  // namespace ptq
