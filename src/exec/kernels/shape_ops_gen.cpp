// Kernels that generate tensors or masks: Constant, ConstantOfShape, Range, NonZero, Trilu, EyeLike,
// OneHot.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <type_traits>

#include "exec/kernels/kernel_util.h"
#include "exec/kernels/shape_ops_util.h"

namespace ptq::kern::shape {
namespace {

// The value of a Constant node, from whichever value* attribute it carries.
Tensor constant_value(const Node& node) {
  for (const char* unsupported_attr : {"sparse_value", "value_string", "value_strings"})
    if (node.find_attr(unsupported_attr)) unsupported("Constant: attribute '{}' is not supported", unsupported_attr);
  if (const Attribute* a = node.find_attr("value")) {
    if (a->type != AttrType::Tensor || a->t.empty()) bad_input("Constant: 'value' must be a tensor");
    return a->t;
  }
  if (node.find_attr("value_float")) return Tensor::scalar<float>(node.attr_float("value_float", 0));
  if (node.find_attr("value_int")) return Tensor::scalar<int64_t>(node.attr_int("value_int", 0));
  if (node.find_attr("value_floats")) {
    std::vector<float> v = node.attr_floats("value_floats");
    int64_t n = static_cast<int64_t>(v.size());
    return Tensor::from_vector<float>(v, {n});
  }
  if (node.find_attr("value_ints")) {
    std::vector<int64_t> v = node.attr_ints("value_ints");
    int64_t n = static_cast<int64_t>(v.size());
    return Tensor::from_vector<int64_t>(v, {n});
  }
  bad_input("Constant: no value attribute");
}

class ConstantKernel : public Kernel {
 public:
  explicit ConstantKernel(Tensor t) : t_(std::move(t)) {}
  void run(KernelContext& ctx) override { ctx.outputs[0] = t_; }

 private:
  Tensor t_;
};

void constant_of_shape(KernelContext& ctx) {
  Shape shape = input_ints(ctx, 0);
  Tensor value = Tensor::scalar<float>(0.0f);
  if (const Attribute* a = ctx.node.find_attr("value")) {
    if (a->type != AttrType::Tensor || a->t.numel() != 1) bad_input("ConstantOfShape: 'value' must be a one-element tensor");
    value = a->t;
  }
  for (int64_t d : shape)
    if (d < 0) bad_input("ConstantOfShape: negative dimension in {}", shape_str(shape));
  Tensor y(value.dtype(), shape);
  fill_value(y.raw(), y.numel(), value.raw(), elem_bytes(value));
  ctx.outputs[0] = y;
}

template <typename T>
Tensor range_typed(const Tensor& start_t, const Tensor& limit_t, const Tensor& delta_t) {
  const T start = start_t.data<T>()[0], limit = limit_t.data<T>()[0], delta = delta_t.data<T>()[0];
  if (delta == T(0)) bad_input("Range: delta is 0");
  int64_t n;
  if constexpr (std::is_floating_point_v<T>) {
    double steps = std::ceil((static_cast<double>(limit) - start) / delta);
    if (!std::isfinite(steps) || steps > 1e12) bad_input("Range: cannot produce {} elements", steps);
    n = static_cast<int64_t>(steps);
  } else {
    int64_t diff = static_cast<int64_t>(limit) - start, d = delta;
    n = diff / d + ((diff % d != 0 && (diff > 0) == (d > 0)) ? 1 : 0);
  }
  n = std::max<int64_t>(n, 0);
  Tensor y(DTypeOf<T>::value, {n});
  T* o = y.data<T>();
  for (int64_t i = 0; i < n; ++i) o[i] = static_cast<T>(start + static_cast<T>(i) * delta);
  return y;
}

void range(KernelContext& ctx) {
  const Tensor &s = ctx.in(0), &l = ctx.in(1), &d = ctx.in(2);
  if (s.numel() != 1 || l.numel() != 1 || d.numel() != 1) bad_input("Range: start, limit and delta must be scalars");
  if (l.dtype() != s.dtype() || d.dtype() != s.dtype()) bad_input("Range: inputs have different types");
  switch (s.dtype()) {
    case DType::Float32: ctx.outputs[0] = range_typed<float>(s, l, d); break;
    case DType::Float64: ctx.outputs[0] = range_typed<double>(s, l, d); break;
    case DType::Int16: ctx.outputs[0] = range_typed<int16_t>(s, l, d); break;
    case DType::Int32: ctx.outputs[0] = range_typed<int32_t>(s, l, d); break;
    case DType::Int64: ctx.outputs[0] = range_typed<int64_t>(s, l, d); break;
    default: unsupported("Range: type {} is not supported", dtype_name(s.dtype()));
  }
}

// Whether element i is non-zero; floats compare by value (-0.0 is zero), other types by bytes.
bool nonzero_at(const uint8_t* p, int64_t i, DType t, size_t es) {
  const uint8_t* e = p + i * static_cast<int64_t>(es);
  switch (t) {
    case DType::Float32: { float v; std::memcpy(&v, e, 4); return v != 0.0f; }
    case DType::Float64: { double v; std::memcpy(&v, e, 8); return v != 0.0; }
    case DType::Float16:
    case DType::BFloat16: { uint16_t v; std::memcpy(&v, e, 2); return (v & 0x7fff) != 0; }
    default: return !all_zero_bytes(e, es);
  }
}

void nonzero(KernelContext& ctx) {
  const Tensor& x = ctx.in(0);
  size_t es = elem_bytes(x);
  const auto* p = static_cast<const uint8_t*>(x.raw());
  std::vector<int64_t> hits;
  for (int64_t i = 0; i < x.numel(); ++i)
    if (nonzero_at(p, i, x.dtype(), es)) hits.push_back(i);
  // numpy treats a scalar as 1-D, giving one row of zeros.
  Shape shape = x.rank() == 0 ? Shape{1} : x.shape();
  int64_t r = static_cast<int64_t>(shape.size()), nnz = static_cast<int64_t>(hits.size());
  Tensor y(DType::Int64, {r, nnz});
  int64_t* o = y.data<int64_t>();
  for (int64_t k = 0; k < nnz; ++k) {
    int64_t lin = hits[static_cast<size_t>(k)];
    for (int64_t d = r; d-- > 0;) {
      o[d * nnz + k] = lin % shape[static_cast<size_t>(d)];
      lin /= shape[static_cast<size_t>(d)];
    }
  }
  ctx.outputs[0] = y;
}

// Trilu: keeps j - i >= k (upper) or j - i <= k (lower) in the last two dims; zeroes the rest.
void trilu(KernelContext& ctx) {
  const Tensor& x = ctx.in(0);
  if (x.rank() < 2) bad_input("Trilu: input must have rank >= 2, got {}", shape_str(x.shape()));
  int64_t k = 0;
  if (ctx.has_input(1)) {
    std::vector<int64_t> kv = input_ints(ctx, 1);
    if (kv.size() != 1) bad_input("Trilu: k must be a scalar");
    k = kv[0];
  }
  bool upper = ctx.node.attr_int("upper", 1) != 0;
  size_t es = elem_bytes(x);
  Tensor y = x.clone();
  int64_t h = x.dim(-2), w = x.dim(-1), rows = h == 0 || w == 0 ? 0 : x.numel() / w;
  for (int64_t row = 0; row < rows; ++row) {
    int64_t i = row % h, lo, hi;  // zero columns [lo, hi)
    if (upper) {
      lo = 0;
      hi = std::clamp<int64_t>(i + k, 0, w);
    } else {
      lo = std::clamp<int64_t>(i + k + 1, 0, w);
      hi = w;
    }
    if (hi > lo) std::memset(byte_ptr(y.raw(), row * w + lo, es), 0, static_cast<size_t>(hi - lo) * es);
  }
  ctx.outputs[0] = y;
}

// The value 1 as one element of type t.
std::vector<uint8_t> one_bytes(DType t) {
  std::vector<uint8_t> b(dtype_size(t), 0);
  auto put = [&b](auto v) { std::memcpy(b.data(), &v, sizeof(v)); };
  switch (t) {
    case DType::Float32: put(1.0f); break;
    case DType::Float64: put(1.0); break;
    case DType::Float16: put(uint16_t{0x3c00}); break;
    case DType::BFloat16: put(uint16_t{0x3f80}); break;
    default:
      if (b.empty() || !(is_integer(t) || t == DType::Bool)) unsupported("EyeLike: type {} is not supported", dtype_name(t));
      b[0] = 1;  // little-endian integer / bool 1
  }
  return b;
}

// EyeLike: a 2-D tensor of the input's shape with ones on the k-th diagonal.
void eye_like(KernelContext& ctx) {
  const Tensor& x = ctx.in(0);
  if (x.rank() != 2) bad_input("EyeLike: input must be 2-D, got {}", shape_str(x.shape()));
  DType t = x.dtype();
  if (ctx.node.find_attr("dtype")) {
    t = dtype_from_onnx(static_cast<int32_t>(ctx.node.attr_int("dtype", 0)));
    if (t == DType::Undefined) bad_input("EyeLike: unknown dtype {}", ctx.node.attr_int("dtype", 0));
  }
  std::vector<uint8_t> one = one_bytes(t);
  Tensor y(t, x.shape());
  int64_t k = ctx.node.attr_int("k", 0);
  for (int64_t i = 0; i < x.dim(0); ++i)
    if (i + k >= 0 && i + k < x.dim(1)) std::memcpy(byte_ptr(y.raw(), i * x.dim(1) + i + k, one.size()), one.data(), one.size());
  ctx.outputs[0] = y;
}

// OneHot: values[0] everywhere, values[1] at each (negative-wrapped) index along the new axis.
void one_hot(KernelContext& ctx) {
  const Tensor& indices = ctx.in(0);
  const Tensor& values = ctx.in(2);
  if (ctx.in(1).numel() != 1 || values.numel() != 2) bad_input("OneHot: depth must be a scalar and values have 2 elements");
  const int64_t depth = static_cast<int64_t>(ctx.in(1).get_as_double(0));
  if (depth <= 0) bad_input("OneHot: depth {} must be positive", depth);
  const int64_t r = indices.rank();
  const int64_t axis = normalize_axis(ctx.node.attr_int("axis", -1), r + 1, ctx.node);
  Shape out = indices.shape();
  out.insert(out.begin() + axis, depth);
  const size_t es = elem_bytes(values);
  Tensor y(values.dtype(), out);
  fill_value(y.raw(), y.numel(), values.raw(), es);
  int64_t inner = 1;
  for (int64_t d = axis; d < r; ++d) inner *= indices.dim(d);
  for (int64_t i = 0; i < indices.numel(); ++i) {
    int64_t v = static_cast<int64_t>(indices.get_as_double(i));
    if (v < 0) v += depth;
    if (v < 0 || v >= depth) continue;
    int64_t o = i / inner, in = i % inner;
    std::memcpy(byte_ptr(y.raw(), (o * depth + v) * inner + in, es), byte_ptr(values.raw(), 1, es), es);
  }
  ctx.outputs[0] = y;
}

}  // namespace

void register_generators(KernelRegistry& r) {
  r.add("", "Constant", 1, kMaxOpset, [](const KernelInit& init) -> std::unique_ptr<Kernel> {
    return std::make_unique<ConstantKernel>(constant_value(init.node));
  });
  r.add_fn("", "ConstantOfShape", 9, kMaxOpset, constant_of_shape);
  r.add_fn("", "Range", 11, kMaxOpset, range);
  r.add_fn("", "NonZero", 9, kMaxOpset, nonzero);
  r.add_fn("", "Trilu", 14, kMaxOpset, trilu);
  r.add_fn("", "EyeLike", 9, kMaxOpset, eye_like);
  r.add_fn("", "OneHot", 9, kMaxOpset, one_hot);
}

}  // namespace ptq::kern::shape
