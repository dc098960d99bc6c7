// Pad: opsets 2-10 take `pads`/`value` attributes; 11+ take pads and an optional constant_value
// as inputs, 18+ an optional `axes` input. Modes constant, reflect, edge and wrap (19+). Negative
// pads crop.
#include <algorithm>
#include <cstring>

#include "exec/kernels/kernel_util.h"
#include "exec/kernels/shape_ops_util.h"

namespace ptq::kern::shape {
namespace {

enum class PadMode { Constant, Reflect, Edge, Wrap };

PadMode parse_mode(const std::string& m) {
  if (m == "constant") return PadMode::Constant;
  if (m == "reflect") return PadMode::Reflect;
  if (m == "edge") return PadMode::Edge;
  if (m == "wrap") return PadMode::Wrap;
  bad_input("Pad: unknown mode '{}'", m);
}

// Input index read by output index o of a dimension of n input elements padded by b in front.
int64_t source_index(int64_t o, int64_t b, int64_t n, PadMode mode) {
  int64_t i = o - b;
  if (i >= 0 && i < n) return i;
  switch (mode) {
    case PadMode::Edge: return std::clamp<int64_t>(i, 0, n - 1);
    case PadMode::Wrap: return (i % n + n) % n;
    default: {  // reflect (numpy semantics: repeated reflection when pads exceed n - 1)
      if (n == 1) return 0;
      int64_t period = 2 * (n - 1);
      i = (i % period + period) % period;
      return i < n ? i : period - i;
    }
  }
}

// The attribute `value` (opsets 2-10) as one element of type t.
std::vector<uint8_t> attr_value_bytes(float v, DType t) {
  std::vector<uint8_t> b(dtype_size(t), 0);
  if (v == 0.0f) return b;
  if (t == DType::Float32) {
    std::memcpy(b.data(), &v, 4);
  } else if (t == DType::Float64) {
    double d = v;
    std::memcpy(b.data(), &d, 8);
  } else {
    unsupported("Pad: a non-zero 'value' for {} input is not supported", dtype_name(t));
  }
  return b;
}

// Constant mode: fill, then copy the overlapping block of the input.
void pad_constant(const Tensor& x, Tensor& y, const std::vector<int64_t>& begin, const std::vector<uint8_t>& value) {
  size_t es = elem_bytes(x), r = x.shape().size();
  if (!all_zero_bytes(value.data(), es)) fill_value(y.raw(), y.numel(), value.data(), es);
  std::vector<int64_t> in_st = strides_of(x.shape()), out_st = strides_of(y.shape());
  Shape block(r);
  int64_t src_off = 0, dst_off = 0;
  for (size_t d = 0; d < r; ++d) {
    int64_t lo = std::max<int64_t>(0, -begin[d]);
    int64_t hi = std::min<int64_t>(x.shape()[d], y.shape()[d] - begin[d]);
    block[d] = std::max<int64_t>(0, hi - lo);
    src_off += lo * in_st[d];
    dst_off += (lo + begin[d]) * out_st[d];
  }
  if (shape_numel(block) == 0) return;
  strided_copy(byte_ptr(y.raw(), dst_off, es), out_st, byte_ptr(x.raw(), src_off, es), in_st, block, es);
}

// Reflect/edge/wrap: each output row reads an input row chosen per dimension; within the row the
// middle part is one memcpy and the borders are mapped element by element.
void pad_mapped(const Tensor& x, Tensor& y, const std::vector<int64_t>& begin, PadMode mode) {
  const size_t es = elem_bytes(x), r = x.shape().size();
  const int64_t e = static_cast<int64_t>(es);
  std::vector<std::vector<int64_t>> map(r);
  for (size_t d = 0; d < r; ++d) {
    int64_t n = x.shape()[d];
    if (n == 0 && y.shape()[d] > 0) bad_input("Pad: cannot pad an empty dimension in this mode");
    for (int64_t o = 0; o < y.shape()[d]; ++o) map[d].push_back(source_index(o, begin[d], n, mode));
  }
  const std::vector<int64_t> in_st = strides_of(x.shape());
  const int64_t w = y.shape()[r - 1], n_last = x.shape()[r - 1], b_last = begin[r - 1];
  const int64_t mid_lo = std::clamp<int64_t>(b_last, 0, w), mid_hi = std::clamp<int64_t>(b_last + n_last, mid_lo, w);
  const int64_t rows = w == 0 ? 0 : y.numel() / w;
  const auto* src = static_cast<const uint8_t*>(x.raw());
  auto* dst = static_cast<uint8_t*>(y.raw());
#pragma omp parallel for schedule(static) if (y.nbytes() >= (size_t(1) << 18))
  for (int64_t row = 0; row < rows; ++row) {
    int64_t rem = row, src_row = 0;
    for (size_t d = r - 1; d-- > 0;) {
      int64_t o = rem % y.shape()[d];
      rem /= y.shape()[d];
      src_row += map[d][static_cast<size_t>(o)] * in_st[d];
    }
    const uint8_t* s = src + src_row * e;
    uint8_t* out = dst + row * w * e;
    for (int64_t j = 0; j < mid_lo; ++j) std::memcpy(out + j * e, s + map[r - 1][static_cast<size_t>(j)] * e, es);
    if (mid_hi > mid_lo) std::memcpy(out + mid_lo * e, s + (mid_lo - b_last) * e, static_cast<size_t>(mid_hi - mid_lo) * es);
    for (int64_t j = mid_hi; j < w; ++j) std::memcpy(out + j * e, s + map[r - 1][static_cast<size_t>(j)] * e, es);
  }
}

void pad(KernelContext& ctx, bool from_inputs) {
  const Tensor& x = ctx.in(0);
  const int64_t r = x.rank();
  const size_t es = elem_bytes(x);
  PadMode mode = parse_mode(ctx.node.attr_string("mode", "constant"));
  std::vector<int64_t> pads, axes;
  std::vector<uint8_t> value(es, 0);
  if (from_inputs) {
    pads = input_ints(ctx, 1);
    if (ctx.has_input(2) && ctx.in(2).numel() > 0) {
      const Tensor& v = ctx.in(2);
      if (v.dtype() != x.dtype()) bad_input("Pad: constant_value is {}, data is {}", dtype_name(v.dtype()), dtype_name(x.dtype()));
      std::memcpy(value.data(), v.raw(), es);
    }
    if (ctx.has_input(3)) axes = input_ints(ctx, 3);
  } else {
    pads = ctx.node.attr_ints("pads");
    value = attr_value_bytes(ctx.node.attr_float("value", 0.0f), x.dtype());
  }
  if (axes.empty())
    for (int64_t d = 0; d < r; ++d) axes.push_back(d);
  axes = normalize_axes(axes, r, ctx.node);
  const size_t na = axes.size();
  if (pads.size() != 2 * na) bad_input("Pad: {} pads for {} axes", pads.size(), na);
  std::vector<int64_t> begin(static_cast<size_t>(r), 0), end(static_cast<size_t>(r), 0);
  for (size_t k = 0; k < na; ++k) {
    begin[static_cast<size_t>(axes[k])] = pads[k];
    end[static_cast<size_t>(axes[k])] = pads[k + na];
  }
  Shape out = x.shape();
  for (size_t d = 0; d < out.size(); ++d) {
    out[d] += begin[d] + end[d];
    if (out[d] < 0) bad_input("Pad: pads {} give a negative dimension for input {}", shape_str(pads), shape_str(x.shape()));
  }
  if (out == x.shape() && std::all_of(begin.begin(), begin.end(), [](int64_t b) { return b == 0; })) {
    ctx.outputs[0] = x;
    return;
  }
  Tensor y(x.dtype(), out);
  if (y.numel() > 0) {
    if (mode == PadMode::Constant) pad_constant(x, y, begin, value);
    else pad_mapped(x, y, begin, mode);
  }
  ctx.outputs[0] = y;
}

}  // namespace

void register_pad(KernelRegistry& r) {
  r.add_fn("", "Pad", 2, 10, [](KernelContext& c) { pad(c, false); });
  r.add_fn("", "Pad", 11, kMaxOpset, [](KernelContext& c) { pad(c, true); });
}

}  // namespace ptq::kern::shape
