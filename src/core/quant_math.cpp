#include "core/quant_math.h"

namespace ptq {

namespace {

// Index into scale/zero_point for element i of x.
struct ParamIndexer {
  ParamIndexer(const Shape& x, QuantAxis ax) : ax_(ax) {
    if (ax.axis < 0) return;
    inner_ = 1;
    for (size_t d = static_cast<size_t>(ax.axis) + 1; d < x.size(); ++d) inner_ *= x[d];
    dim_ = x[static_cast<size_t>(ax.axis)];
    pdim_ = ax.block_size > 0 ? (dim_ + ax.block_size - 1) / ax.block_size : dim_;
  }
  int64_t operator()(int64_t i) const {
    if (ax_.axis < 0) return 0;
    int64_t outer = i / (inner_ * dim_);
    int64_t a = (i / inner_) % dim_;
    int64_t in = i % inner_;
    if (ax_.block_size <= 0) return a;
    return (outer * pdim_ + a / ax_.block_size) * inner_ + in;
  }
  QuantAxis ax_;
  int64_t inner_ = 1, dim_ = 1, pdim_ = 1;
};

}  // namespace

void check_quant_params(const Shape& x, const Tensor& scale, const Tensor& zp, QuantAxis ax, const std::string& what) {
  if (scale.dtype() != DType::Float32) unsupported("{}: scale must be float32, got {}", what, dtype_name(scale.dtype()));
  if (!zp.empty() && zp.shape() != scale.shape() && !(zp.numel() == 1 && scale.numel() == 1))
    bad_input("{}: zero point shape {} differs from scale shape {}", what, shape_str(zp.shape()), shape_str(scale.shape()));
  if (ax.axis < 0) {
    if (scale.numel() != 1) bad_input("{}: per-tensor scale must have one element, has shape {}", what, shape_str(scale.shape()));
    return;
  }
  if (ax.axis >= static_cast<int64_t>(x.size())) bad_input("{}: axis {} out of range for shape {}", what, ax.axis, shape_str(x));
  int64_t dim = x[static_cast<size_t>(ax.axis)];
  if (ax.block_size <= 0) {
    if (scale.rank() != 1 || scale.numel() != dim)
      bad_input("{}: per-axis scale must be 1-D of length {} (axis {} of {}), got {}", what, dim, ax.axis, shape_str(x),
                shape_str(scale.shape()));
    return;
  }
  Shape want = x;
  want[static_cast<size_t>(ax.axis)] = (dim + ax.block_size - 1) / ax.block_size;
  if (scale.shape() != want)
    bad_input("{}: blocked scale must have shape {} for block size {}, got {}", what, shape_str(want), ax.block_size,
              shape_str(scale.shape()));
}

Tensor quantize_tensor(const Tensor& x, const Tensor& scale, const Tensor& zp, QuantAxis ax, DType out_type) {
  check_quant_params(x.shape(), scale, zp, ax, "QuantizeLinear");
  QRange r = qrange(out_type);
  if (r.lo == 0 && r.hi == 0) unsupported("cannot quantize to {}", dtype_name(out_type));
  Tensor xf = x.to_float();
  Tensor out(out_type, x.shape());
  const float* xs = xf.data<float>();
  const float* s = scale.data<float>();
  ParamIndexer idx(x.shape(), ax);
  auto zp_at = [&](int64_t k) -> int32_t { return zp.empty() ? 0 : static_cast<int32_t>(zp.get_as_int64(zp.numel() == 1 ? 0 : k)); };
  int64_t n = x.numel();
  auto store = [&](auto* o) {
    using T = std::remove_pointer_t<decltype(o)>;
    for (int64_t i = 0; i < n; ++i) {
      int64_t k = idx(i);
      o[i] = static_cast<T>(quantize_value(xs[i], s[k], zp_at(k), r));
    }
  };
  switch (out_type) {
    case DType::Int8: case DType::Int4: store(static_cast<int8_t*>(out.raw())); break;
    case DType::UInt8: case DType::UInt4: store(static_cast<uint8_t*>(out.raw())); break;
    case DType::Int16: store(out.data<int16_t>()); break;
    case DType::UInt16: store(out.data<uint16_t>()); break;
    case DType::Int32: store(out.data<int32_t>()); break;
    default: unsupported("cannot quantize to {}", dtype_name(out_type));
  }
  return out;
}

Tensor dequantize_tensor(const Tensor& q, const Tensor& scale, const Tensor& zp, QuantAxis ax) {
  check_quant_params(q.shape(), scale, zp, ax, "DequantizeLinear");
  if (!is_integer(q.dtype())) unsupported("cannot dequantize {} tensors", dtype_name(q.dtype()));
  Tensor out(DType::Float32, q.shape());
  float* o = out.data<float>();
  const float* s = scale.data<float>();
  ParamIndexer idx(q.shape(), ax);
  int64_t n = q.numel();
  for (int64_t i = 0; i < n; ++i) {
    int64_t k = idx(i);
    int32_t z = zp.empty() ? 0 : static_cast<int32_t>(zp.get_as_int64(zp.numel() == 1 ? 0 : k));
    o[i] = dequantize_value(static_cast<int32_t>(q.get_as_int64(i)), s[k], z);
  }
  return out;
}

}  // namespace ptq
