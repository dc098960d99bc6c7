// Tensor: dtype + shape + a reference-counted, 64-byte aligned buffer.
// Copies are shallow (they share the buffer); kernels never write to their inputs, so sharing is
// safe and Reshape/Identity-like ops can alias. Use clone() for a deep copy.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/dtype.h"
#include "core/error.h"

namespace ptq {

using Shape = std::vector<int64_t>;

int64_t shape_numel(const Shape& s);
std::string shape_str(const Shape& s);  // "[1,3,224,224]"

// Physical order of a tensor's elements. Shapes are always logical (N, C, spatial...); a
// ChannelsLast tensor of rank >= 3 stores its elements as (N, spatial..., C) (NHWC for 4-D). Only
// the executor and the kernels that declare support for it (exec/kernel.h) ever see one.
enum class Layout : uint8_t { Plain, ChannelsLast };

class Tensor {
 public:
  Tensor() = default;
  // Zero-filled tensor.
  Tensor(DType dtype, Shape shape);
  // A tensor whose contents the caller overwrites completely (no zero fill).
  static Tensor uninitialized(DType dtype, Shape shape);
  // Wraps an existing buffer (shared ownership), e.g. a slice of a memory-mapped file.
  Tensor(DType dtype, Shape shape, std::shared_ptr<uint8_t> buffer, size_t nbytes);

  template <typename T>
  static Tensor from_vector(const std::vector<T>& v, Shape shape) {
    Tensor t(DTypeOf<T>::value, std::move(shape));
    if (static_cast<int64_t>(v.size()) != t.numel()) internal_error("from_vector: size mismatch");
    T* d = t.data<T>();
    for (size_t i = 0; i < v.size(); ++i) d[i] = v[i];
    return t;
  }
  template <typename T>
  static Tensor scalar(T v) { return from_vector<T>({v}, {}); }

  bool empty() const { return dtype_ == DType::Undefined; }
  DType dtype() const { return dtype_; }
  const Shape& shape() const { return shape_; }
  int64_t rank() const { return static_cast<int64_t>(shape_.size()); }
  int64_t dim(int64_t i) const { return shape_.at(static_cast<size_t>(i < 0 ? i + rank() : i)); }
  int64_t numel() const { return numel_; }
  Layout layout() const { return layout_; }
  // Same buffer tagged with another physical order (no data movement; see exec/layout.h).
  Tensor with_layout(Layout l) const {
    Tensor t = *this;
    t.layout_ = l;
    return t;
  }
  size_t nbytes() const { return static_cast<size_t>(numel_) * dtype_size(dtype_); }

  void* raw() { return buf_.get(); }
  const void* raw() const { return buf_.get(); }

  template <typename T>
  T* data() {
    check_type(DTypeOf<T>::value);
    return reinterpret_cast<T*>(buf_.get());
  }
  template <typename T>
  const T* data() const {
    check_type(DTypeOf<T>::value);
    return reinterpret_cast<const T*>(buf_.get());
  }

  // Same buffer, new shape (element count must match).
  Tensor reshaped(Shape shape) const;
  Tensor clone() const;
  // Element i converted to double / int64 (any numeric dtype); for shape arithmetic and tests.
  double get_as_double(int64_t i) const;
  int64_t get_as_int64(int64_t i) const;
  // Whole tensor converted to float32 / int64 (new buffer unless already that type).
  Tensor to_float() const;
  std::vector<int64_t> to_int64_vector() const;

 private:
  void check_type(DType want) const;
  // 4-bit values share int8/uint8 storage, so typed access to them uses int8_t/uint8_t.
  DType dtype_ = DType::Undefined;
  Layout layout_ = Layout::Plain;
  Shape shape_;
  int64_t numel_ = 0;
  std::shared_ptr<uint8_t> buf_;
};

}  // namespace ptq
