// Indexing kernels: Gather, Compress, GatherElements, GatherND, ScatterND, ScatterElements.
// Indices may be int32 or int64 and negative (counted from the end); out-of-range ones are rejected.
#include <algorithm>
#include <cstring>

#include "exec/kernels/kernel_util.h"
#include "exec/kernels/shape_ops_util.h"

namespace ptq::kern::shape {
namespace {

int64_t prod(const Shape& s, size_t from, size_t to) {
  int64_t n = 1;
  for (size_t i = from; i < to; ++i) n *= s[i];
  return n;
}

// Index `v` into a dimension of extent n, with negative values counted from the end.
int64_t fix_index(int64_t v, int64_t n, const char* op) {
  int64_t r = v < 0 ? v + n : v;
  if (r < 0 || r >= n) bad_input("{}: index {} is out of range for a dimension of {}", op, v, n);
  return r;
}

// Gathers slices along `axis` at the (already normalized) positions `ind`; the axis dimension is
// replaced by `index_shape`. Shared by Gather and Compress.
Tensor gather_axis(const Tensor& x, size_t axis, const std::vector<int64_t>& ind, const Shape& index_shape) {
  const int64_t n = x.shape()[axis];
  Shape out(x.shape().begin(), x.shape().begin() + static_cast<std::ptrdiff_t>(axis));
  out.insert(out.end(), index_shape.begin(), index_shape.end());
  out.insert(out.end(), x.shape().begin() + static_cast<std::ptrdiff_t>(axis) + 1, x.shape().end());
  const size_t es = elem_bytes(x);
  Tensor y(x.dtype(), out);
  const int64_t outer = prod(x.shape(), 0, axis), inner = prod(x.shape(), axis + 1, x.shape().size());
  const int64_t k_count = static_cast<int64_t>(ind.size());
  const int64_t block = inner * static_cast<int64_t>(es);
  const auto* src = static_cast<const uint8_t*>(x.raw());
  auto* dst = static_cast<uint8_t*>(y.raw());
#pragma omp parallel for schedule(static) if (y.nbytes() >= (size_t(1) << 18))
  for (int64_t item = 0; item < outer * k_count; ++item) {
    int64_t o = item / k_count, k = item % k_count;
    std::memcpy(dst + item * block, src + (o * n + ind[static_cast<size_t>(k)]) * block, static_cast<size_t>(block));
  }
  return y;
}

void gather(KernelContext& ctx) {
  const Tensor& x = ctx.in(0);
  const size_t axis = axis_attr(x, ctx.node, 0);
  std::vector<int64_t> ind = input_ints(ctx, 1);
  for (int64_t& v : ind) v = fix_index(v, x.shape()[axis], "Gather");
  ctx.outputs[0] = gather_axis(x, axis, ind, ctx.in(1).shape());
}

// Compress: the slices along `axis` (or elements of the flattened input) whose condition is true.
void compress(KernelContext& ctx) {
  const Tensor& cond = ctx.in(1);
  if (cond.rank() != 1) bad_input("Compress: condition must be 1-D, got {}", shape_str(cond.shape()));
  const bool has_axis = ctx.node.find_attr("axis") != nullptr;
  const Tensor x = has_axis ? ctx.in(0) : ctx.in(0).reshaped({ctx.in(0).numel()});
  const size_t axis = axis_attr(x, ctx.node, 0);
  const int64_t n = std::min(cond.numel(), x.shape()[axis]);
  std::vector<int64_t> ind;
  for (int64_t i = 0; i < n; ++i)
    if (cond.get_as_int64(i) != 0) ind.push_back(i);
  ctx.outputs[0] = gather_axis(x, axis, ind, {static_cast<int64_t>(ind.size())});
}

// Data offsets (elements) for GatherElements/ScatterElements: for each element of `indices`, its
// own coordinates with the axis coordinate replaced by the index value.
std::vector<int64_t> element_offsets(const Tensor& x, const Tensor& indices, size_t axis, const std::vector<int64_t>& ind,
                                     const char* op) {
  const size_t r = x.shape().size();
  if (indices.shape().size() != r) bad_input("{}: indices rank {} != data rank {}", op, indices.rank(), r);
  for (size_t d = 0; d < r; ++d)
    if (d != axis && indices.shape()[d] > x.shape()[d])
      bad_input("{}: indices {} exceed data {} on dimension {}", op, shape_str(indices.shape()), shape_str(x.shape()), d);
  const std::vector<int64_t> xs = strides_of(x.shape());
  const int64_t n = x.shape()[axis];
  std::vector<int64_t> offs(ind.size()), pos(r, 0);
  int64_t base = 0;  // data offset of pos without the axis coordinate
  for (size_t i = 0; i < ind.size(); ++i) {
    offs[i] = base + fix_index(ind[i], n, op) * xs[axis];
    for (size_t d = r; d-- > 0;) {
      int64_t st = d == axis ? 0 : xs[d];
      base += st;
      if (++pos[d] < indices.shape()[d]) break;
      base -= st * indices.shape()[d];
      pos[d] = 0;
    }
  }
  return offs;
}

void gather_elements(KernelContext& ctx) {
  const Tensor& x = ctx.in(0);
  const Tensor& indices = ctx.in(1);
  const size_t axis = axis_attr(x, ctx.node, 0);
  std::vector<int64_t> offs = element_offsets(x, indices, axis, input_ints(ctx, 1), "GatherElements");
  const size_t es = elem_bytes(x);
  const int64_t e = static_cast<int64_t>(es);
  Tensor y(x.dtype(), indices.shape());
  const auto* src = static_cast<const uint8_t*>(x.raw());
  auto* dst = static_cast<uint8_t*>(y.raw());
  for (size_t i = 0; i < offs.size(); ++i) std::memcpy(dst + static_cast<int64_t>(i) * e, src + offs[i] * e, es);
  ctx.outputs[0] = y;
}

// Data offset (elements) of the index tuple `t` (k values) addressing dims [first, first+k).
int64_t tuple_offset(const int64_t* t, int64_t k, const Shape& shape, const std::vector<int64_t>& st, size_t first,
                     const char* op) {
  int64_t off = 0;
  for (int64_t j = 0; j < k; ++j) {
    size_t d = first + static_cast<size_t>(j);
    off += fix_index(t[j], shape[d], op) * st[d];
  }
  return off;
}

void gather_nd(KernelContext& ctx) {
  const Tensor& x = ctx.in(0);
  const Tensor& indices = ctx.in(1);
  const size_t r = x.shape().size(), q = indices.shape().size();
  const int64_t b = ctx.node.attr_int("batch_dims", 0);
  if (q < 1) bad_input("GatherND: indices must have rank >= 1");
  const int64_t k = indices.shape().back();
  if (b < 0 || static_cast<size_t>(b) >= q || static_cast<size_t>(b + k) > r)
    bad_input("GatherND: batch_dims {} and index length {} do not fit data {} / indices {}", b, k,
              shape_str(x.shape()), shape_str(indices.shape()));
  const size_t bs = static_cast<size_t>(b), first = bs;
  for (size_t d = 0; d < bs; ++d)
    if (x.shape()[d] != indices.shape()[d]) bad_input("GatherND: batch dimensions of data and indices differ");
  Shape out(indices.shape().begin(), indices.shape().end() - 1);
  out.insert(out.end(), x.shape().begin() + static_cast<std::ptrdiff_t>(bs + static_cast<size_t>(k)), x.shape().end());
  std::vector<int64_t> ind = input_ints(ctx, 1);
  const size_t es = elem_bytes(x);
  Tensor y(x.dtype(), out);
  const std::vector<int64_t> st = strides_of(x.shape());
  const int64_t batches = prod(x.shape(), 0, bs), per_batch = prod(x.shape(), bs, r);
  const int64_t tuples = prod(indices.shape(), bs, q - 1), slice = prod(x.shape(), bs + static_cast<size_t>(k), r);
  const auto* src = static_cast<const uint8_t*>(x.raw());
  auto* dst = static_cast<uint8_t*>(y.raw());
  for (int64_t bi = 0; bi < batches; ++bi)
    for (int64_t m = 0; m < tuples; ++m) {
      int64_t item = bi * tuples + m;
      int64_t off = bi * per_batch + tuple_offset(ind.data() + item * k, k, x.shape(), st, first, "GatherND");
      std::memcpy(dst + item * slice * static_cast<int64_t>(es), src + off * static_cast<int64_t>(es),
                  static_cast<size_t>(slice) * es);
    }
  ctx.outputs[0] = y;
}

enum class Reduction { None, Add, Mul, Max, Min };

template <typename T>
void reduce_into(uint8_t* dst_b, const uint8_t* src_b, int64_t n, Reduction red) {
  T* d = reinterpret_cast<T*>(dst_b);
  const T* s = reinterpret_cast<const T*>(src_b);
  for (int64_t i = 0; i < n; ++i) {
    switch (red) {
      case Reduction::Add: d[i] = static_cast<T>(d[i] + s[i]); break;
      case Reduction::Mul: d[i] = static_cast<T>(d[i] * s[i]); break;
      case Reduction::Max: d[i] = std::max(d[i], s[i]); break;
      case Reduction::Min: d[i] = std::min(d[i], s[i]); break;
      case Reduction::None: d[i] = s[i]; break;
    }
  }
}

Reduction parse_reduction(const Node& node) {
  static const std::pair<const char*, Reduction> names[] = {
      {"none", Reduction::None}, {"add", Reduction::Add}, {"mul", Reduction::Mul}, {"max", Reduction::Max}, {"min", Reduction::Min}};
  std::string s = node.attr_string("reduction", "none");
  for (const auto& [name, red] : names)
    if (s == name) return red;
  bad_input("unknown reduction '{}'", s);
}

// Writes n updates at s into d: a plain copy, or combined with d by the reduction.
void apply_update(uint8_t* d, const uint8_t* s, int64_t n, size_t es, DType t, Reduction red) {
  if (red == Reduction::None) {
    std::memcpy(d, s, static_cast<size_t>(n) * es);
    return;
  }
  switch (t) {
    case DType::Float32: reduce_into<float>(d, s, n, red); break;
    case DType::Float64: reduce_into<double>(d, s, n, red); break;
    case DType::Int32: reduce_into<int32_t>(d, s, n, red); break;
    case DType::Int64: reduce_into<int64_t>(d, s, n, red); break;
    case DType::Int8: reduce_into<int8_t>(d, s, n, red); break;
    case DType::UInt8: reduce_into<uint8_t>(d, s, n, red); break;
    default: unsupported("scatter reductions on {} are not supported", dtype_name(t));
  }
}

void scatter_nd(KernelContext& ctx) {
  const Tensor& x = ctx.in(0);
  const Tensor& indices = ctx.in(1);
  const Tensor& updates = ctx.in(2);
  Reduction red = parse_reduction(ctx.node);
  const size_t r = x.shape().size(), q = indices.shape().size();
  if (q < 1) bad_input("ScatterND: indices must have rank >= 1");
  const int64_t k = indices.shape().back();
  if (k < 0 || static_cast<size_t>(k) > r) bad_input("ScatterND: index length {} exceeds data rank {}", k, r);
  Shape want(indices.shape().begin(), indices.shape().end() - 1);
  want.insert(want.end(), x.shape().begin() + k, x.shape().end());
  if (updates.shape() != want || updates.dtype() != x.dtype())
    bad_input("ScatterND: updates {} should be {} {}", shape_str(updates.shape()), dtype_name(x.dtype()), shape_str(want));
  std::vector<int64_t> ind = input_ints(ctx, 1);
  const size_t es = elem_bytes(x);
  Tensor y = x.clone();
  const std::vector<int64_t> st = strides_of(x.shape());
  const int64_t tuples = prod(indices.shape(), 0, q - 1), slice = prod(x.shape(), static_cast<size_t>(k), r);
  auto* dst = static_cast<uint8_t*>(y.raw());
  const auto* src = static_cast<const uint8_t*>(updates.raw());
  const int64_t e = static_cast<int64_t>(es);
  for (int64_t m = 0; m < tuples; ++m) {
    int64_t off = tuple_offset(ind.data() + m * k, k, x.shape(), st, 0, "ScatterND");
    apply_update(dst + off * e, src + m * slice * e, slice, es, x.dtype(), red);
  }
  ctx.outputs[0] = y;
}

// ScatterElements (and the deprecated Scatter, opsets 9-10): updates[i] goes to the data element
// at i's coordinates with the axis coordinate replaced by indices[i].
void scatter_elements(KernelContext& ctx) {
  const Tensor& x = ctx.in(0);
  const Tensor& indices = ctx.in(1);
  const Tensor& updates = ctx.in(2);
  if (updates.shape() != indices.shape() || updates.dtype() != x.dtype())
    bad_input("ScatterElements: updates {} {} should be {} {}", dtype_name(updates.dtype()), shape_str(updates.shape()),
              dtype_name(x.dtype()), shape_str(indices.shape()));
  Reduction red = parse_reduction(ctx.node);
  const size_t axis = axis_attr(x, ctx.node, 0);
  std::vector<int64_t> offs = element_offsets(x, indices, axis, input_ints(ctx, 1), "ScatterElements");
  const size_t es = elem_bytes(x);
  const int64_t e = static_cast<int64_t>(es);
  Tensor y = x.clone();
  auto* dst = static_cast<uint8_t*>(y.raw());
  const auto* src = static_cast<const uint8_t*>(updates.raw());
  for (size_t i = 0; i < offs.size(); ++i) apply_update(dst + offs[i] * e, src + static_cast<int64_t>(i) * e, 1, es, x.dtype(), red);
  ctx.outputs[0] = y;
}

}  // namespace

void register_indexing(KernelRegistry& r) {
  r.add_fn("", "Gather", 1, kMaxOpset, gather);
  r.add_fn("", "GatherElements", 11, kMaxOpset, gather_elements);
  r.add_fn("", "GatherND", 11, kMaxOpset, gather_nd);
  r.add_fn("", "ScatterND", 11, kMaxOpset, scatter_nd);
  r.add_fn("", "Scatter", 9, 10, scatter_elements);
  r.add_fn("", "ScatterElements", 11, kMaxOpset, scatter_elements);
  r.add_fn("", "Compress", 9, kMaxOpset, compress);
}

}  // namespace ptq::kern::shape
