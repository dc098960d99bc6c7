#include "core/tensor.h"

#include <cstdlib>
#include <cstring>
#include <limits>

namespace ptq {

int64_t shape_numel(const Shape& s) {
  int64_t n = 1;
  for (int64_t d : s) {
    if (d < 0) bad_input("negative dimension {} in shape {}", d, shape_str(s));
    if (d != 0 && n > std::numeric_limits<int64_t>::max() / d)
      bad_input("shape {} has too many elements", shape_str(s));
    n *= d;
  }
  return n;
}

std::string shape_str(const Shape& s) {
  std::string r = "[";
  for (size_t i = 0; i < s.size(); ++i) r += (i ? "," : "") + std::to_string(s[i]);
  return r + "]";
}

namespace {
// Refuse allocations that cannot be satisfied instead of letting the process die on bad_alloc.
constexpr size_t kMaxTensorBytes = size_t(64) << 30;

std::shared_ptr<uint8_t> alloc_buffer(size_t nbytes, bool zero = true) {
  if (nbytes > kMaxTensorBytes) bad_input("tensor of {} bytes exceeds the {} GiB limit", nbytes, kMaxTensorBytes >> 30);
  size_t rounded = ((nbytes + 63) / 64) * 64;
  if (rounded == 0) rounded = 64;
  void* p = std::aligned_alloc(64, rounded);
  if (!p) bad_input("out of memory allocating a tensor of {} bytes", nbytes);
  if (zero) std::memset(p, 0, rounded);
  return std::shared_ptr<uint8_t>(static_cast<uint8_t*>(p), [](uint8_t* q) { std::free(q); });
}

template <typename F>
auto visit_numeric(DType t, const void* p, int64_t i, F f) {
  switch (t) {
    case DType::Float32: return f(static_cast<const float*>(p)[i]);
    case DType::Float64: return f(static_cast<const double*>(p)[i]);
    case DType::Int8: case DType::Int4: return f(static_cast<const int8_t*>(p)[i]);
    case DType::UInt8: case DType::UInt4: return f(static_cast<const uint8_t*>(p)[i]);
    case DType::Int16: return f(static_cast<const int16_t*>(p)[i]);
    case DType::UInt16: return f(static_cast<const uint16_t*>(p)[i]);
    case DType::Int32: return f(static_cast<const int32_t*>(p)[i]);
    case DType::UInt32: return f(static_cast<const uint32_t*>(p)[i]);
    case DType::Int64: return f(static_cast<const int64_t*>(p)[i]);
    case DType::UInt64: return f(static_cast<const uint64_t*>(p)[i]);
    case DType::Bool: return f(static_cast<const uint8_t*>(p)[i] != 0);
    default: unsupported("element access to {} tensors is not supported", dtype_name(t));
  }
}
}  // namespace

Tensor::Tensor(DType dtype, Shape shape) : dtype_(dtype), shape_(std::move(shape)) {
  if (dtype_size(dtype_) == 0) unsupported("tensors of type {} are not supported", dtype_name(dtype_));
  numel_ = shape_numel(shape_);
  buf_ = alloc_buffer(nbytes());
}

Tensor Tensor::uninitialized(DType dtype, Shape shape) {
  if (dtype_size(dtype) == 0) unsupported("tensors of type {} are not supported", dtype_name(dtype));
  int64_t n = shape_numel(shape);
  size_t nbytes = static_cast<size_t>(n) * dtype_size(dtype);
  return Tensor(dtype, std::move(shape), alloc_buffer(nbytes, false), nbytes);
}

Tensor::Tensor(DType dtype, Shape shape, std::shared_ptr<uint8_t> buffer, size_t nbytes_avail)
    : dtype_(dtype), shape_(std::move(shape)), buf_(std::move(buffer)) {
  numel_ = shape_numel(shape_);
  if (nbytes() > nbytes_avail) bad_input("buffer of {} bytes is too small for {} {}", nbytes_avail, dtype_name(dtype), shape_str(shape_));
}

void Tensor::check_type(DType want) const {
  DType have = dtype_;
  if (have == DType::Int4) have = DType::Int8;
  if (have == DType::UInt4) have = DType::UInt8;
  if (want == DType::Bool && have == DType::Bool) return;
  if (have != want) internal_error("tensor of type {} accessed as {}", dtype_name(dtype_), dtype_name(want));
}

Tensor Tensor::reshaped(Shape shape) const {
  if (layout_ != Layout::Plain) internal_error("reshape of a channels-last tensor {}", shape_str(shape_));
  if (shape_numel(shape) != numel_)
    bad_input("cannot reshape {} to {}", shape_str(shape_), shape_str(shape));
  Tensor t = *this;
  t.shape_ = std::move(shape);
  return t;
}

Tensor Tensor::clone() const {
  if (empty()) return {};
  Tensor t = uninitialized(dtype_, shape_);
  if (nbytes()) std::memcpy(t.raw(), raw(), nbytes());
  t.layout_ = layout_;
  return t;
}

double Tensor::get_as_double(int64_t i) const {
  return visit_numeric(dtype_, raw(), i, [](auto v) { return static_cast<double>(v); });
}

int64_t Tensor::get_as_int64(int64_t i) const {
  return visit_numeric(dtype_, raw(), i, [](auto v) { return static_cast<int64_t>(v); });
}

Tensor Tensor::to_float() const {
  if (dtype_ == DType::Float32) return *this;
  Tensor t(DType::Float32, shape_);
  float* d = t.data<float>();
  for (int64_t i = 0; i < numel_; ++i) d[i] = static_cast<float>(get_as_double(i));
  return t;
}

std::vector<int64_t> Tensor::to_int64_vector() const {
  std::vector<int64_t> v(static_cast<size_t>(numel_));
  for (int64_t i = 0; i < numel_; ++i) v[static_cast<size_t>(i)] = get_as_int64(i);
  return v;
}

}  // namespace ptq
