#include "data/input_check.h"

#include <cmath>

namespace ptq {

std::string decl_shape_str(const ValueInfo& decl) {
  if (!decl.has_shape) return "(unknown)";
  std::string s = "[";
  for (size_t k = 0; k < decl.shape.size(); ++k) {
    const Dim& d = decl.shape[k];
    s += (k ? "," : "") + (d.value >= 0 ? std::to_string(d.value) : (d.param.empty() ? "?" : d.param));
  }
  return s + "]";
}

void check_input_decl(const ValueInfo& decl, DType dtype, const Shape& shape, const std::string& what) {
  if (decl.dtype != DType::Undefined && decl.dtype != dtype)
    bad_input("{}: input '{}' expects {}, got {}", what, decl.name, dtype_name(decl.dtype), dtype_name(dtype));
  if (!decl.has_shape) return;
  bool ok = decl.shape.size() == shape.size();
  for (size_t i = 0; ok && i < shape.size(); ++i) ok = decl.shape[i].value < 0 || decl.shape[i].value == shape[i];
  if (!ok) bad_input("{}: input '{}' expects shape {}, got {}", what, decl.name, decl_shape_str(decl), shape_str(shape));
}

namespace {

std::string index_str(const Shape& shape, int64_t flat) {
  Shape idx(shape.size());
  int64_t r = flat;
  for (size_t k = shape.size(); k-- > 0;) {
    idx[k] = shape[k] ? r % shape[k] : 0;
    r = shape[k] ? r / shape[k] : 0;
  }
  return shape_str(idx);
}

template <typename T>
int64_t first_non_finite(const T* p, int64_t n) {
  for (int64_t i = 0; i < n; ++i)
    if (!std::isfinite(p[i])) return i;
  return -1;
}

int64_t first_non_finite_half(const uint16_t* p, int64_t n, uint16_t exp_mask) {
  for (int64_t i = 0; i < n; ++i)
    if ((p[i] & exp_mask) == exp_mask) return i;
  return -1;
}

}  // namespace

void check_input_tensor(const ValueInfo& decl, const Tensor& t, const std::string& what) {
  check_input_decl(decl, t.dtype(), t.shape(), what);
  int64_t bad = -1;
  const void* raw = t.raw();
  switch (t.dtype()) {
    case DType::Float32: bad = first_non_finite(static_cast<const float*>(raw), t.numel()); break;
    case DType::Float64: bad = first_non_finite(static_cast<const double*>(raw), t.numel()); break;
    case DType::Float16: bad = first_non_finite_half(static_cast<const uint16_t*>(raw), t.numel(), 0x7C00); break;
    case DType::BFloat16: bad = first_non_finite_half(static_cast<const uint16_t*>(raw), t.numel(), 0x7F80); break;
    default: return;
  }
  if (bad < 0) return;
  const char* kind = "NaN/Inf";
  if (t.dtype() == DType::Float32 || t.dtype() == DType::Float64) {
    double v = t.dtype() == DType::Float32 ? static_cast<const float*>(raw)[bad] : static_cast<const double*>(raw)[bad];
    kind = std::isnan(v) ? "NaN" : v > 0 ? "+Inf" : "-Inf";
  }
  bad_input("{}: input '{}' holds {} at index {} (flat index {})", what, decl.name, kind, index_str(t.shape(), bad), bad);
}

Shape add_batch_dim(const ValueInfo& decl, const Shape& shape) {
  if (!decl.has_shape || decl.shape.empty() || shape.size() + 1 != decl.shape.size()) return shape;
  if (decl.shape[0].value >= 0 && decl.shape[0].value != 1) return shape;
  Shape r{1};
  r.insert(r.end(), shape.begin(), shape.end());
  return r;
}

}  // namespace ptq
