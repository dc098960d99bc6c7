// Layout kernels: each output is a strided view of its input(s), copied with strided_copy().
// Transpose, Concat, Split, Slice, Expand, Tile, DepthToSpace, SpaceToDepth.
#include <algorithm>

#include "exec/kernels/kernel_util.h"
#include "exec/kernels/shape_ops_util.h"

namespace ptq::kern::shape {
namespace {

void transpose(KernelContext& ctx) {
  const Tensor& x = ctx.in(0);
  const size_t r = x.shape().size();
  std::vector<int64_t> perm = ctx.node.attr_ints("perm");
  if (perm.empty())
    for (size_t i = 0; i < r; ++i) perm.push_back(static_cast<int64_t>(r - 1 - i));
  if (perm.size() != r) bad_input("Transpose: perm has {} entries for a rank-{} input", perm.size(), r);
  perm = normalize_axes(perm, static_cast<int64_t>(r), ctx.node);
  std::vector<int64_t> in_st = strides_of(x.shape()), st(r);
  Shape out(r);
  int64_t prev = -1;
  bool keeps_order = true;  // the non-1 dims stay in order: same memory layout, alias the input
  for (size_t i = 0; i < r; ++i) {
    size_t p = static_cast<size_t>(perm[i]);
    out[i] = x.shape()[p];
    st[i] = in_st[p];
    if (out[i] != 1) {
      keeps_order &= perm[i] > prev;
      prev = perm[i];
    }
  }
  ctx.outputs[0] = keeps_order ? x.reshaped(out) : copy_view(x, out, st);
}

void concat(KernelContext& ctx, bool axis_required) {
  std::vector<const Tensor*> ins;
  for (const Tensor* t : ctx.inputs)
    if (t) ins.push_back(t);
  if (ins.empty()) bad_input("Concat: no inputs");
  const Tensor& first = *ins[0];
  if (axis_required && !ctx.node.find_attr("axis")) bad_input("Concat: attribute 'axis' is required");
  const int64_t axis = static_cast<int64_t>(axis_attr(first, ctx.node, 1));
  Shape out = first.shape();
  out[static_cast<size_t>(axis)] = 0;
  for (const Tensor* t : ins) {
    bool ok = t->dtype() == first.dtype() && t->rank() == first.rank();
    for (int64_t d = 0; ok && d < first.rank(); ++d) ok = d == axis || t->dim(d) == first.dim(d);
    if (!ok)
      bad_input("Concat: input {} {} does not match {} {} outside axis {}", dtype_name(t->dtype()),
                shape_str(t->shape()), dtype_name(first.dtype()), shape_str(first.shape()), axis);
    out[static_cast<size_t>(axis)] += t->dim(axis);
  }
  if (ins.size() == 1) {
    ctx.outputs[0] = first;
    return;
  }
  size_t es = elem_bytes(first);
  Tensor y(first.dtype(), out);
  std::vector<int64_t> out_st = strides_of(out);
  int64_t offset = 0;  // along axis
  for (const Tensor* t : ins) {
    if (t->numel() > 0)
      strided_copy(byte_ptr(y.raw(), offset * out_st[static_cast<size_t>(axis)], es), out_st, t->raw(),
                   strides_of(t->shape()), t->shape(), es);
    offset += t->dim(axis);
  }
  ctx.outputs[0] = y;
}

// Split sizes: attribute `split` (opsets 1-12), input 1 (opset 1 and 13+), `num_outputs` (18+,
// the last part may be smaller), else equal parts, one per output.
void split(KernelContext& ctx, int64_t opset) {
  const Tensor& x = ctx.in(0);
  const int64_t axis = static_cast<int64_t>(axis_attr(x, ctx.node, 0));
  int64_t dim = x.dim(axis), n_out = static_cast<int64_t>(ctx.outputs.size());
  std::vector<int64_t> sizes;
  if (opset < 13 && ctx.node.find_attr("split")) {
    sizes = ctx.node.attr_ints("split");
  } else if ((opset == 1 || opset >= 13) && ctx.has_input(1)) {
    sizes = input_ints(ctx, 1);
  } else if (opset >= 18 && ctx.node.find_attr("num_outputs")) {
    int64_t n = ctx.node.attr_int("num_outputs", 0);
    if (n != n_out) bad_input("Split: num_outputs {} but the node has {} outputs", n, n_out);
    int64_t chunk = (dim + n - 1) / n;
    for (int64_t k = 0, left = dim; k < n; ++k, left -= std::min(chunk, left)) sizes.push_back(std::min(chunk, left));
  } else {
    if (dim % n_out != 0) bad_input("Split: dimension {} cannot be split into {} equal parts", dim, n_out);
    sizes.assign(static_cast<size_t>(n_out), dim / n_out);
  }
  if (static_cast<int64_t>(sizes.size()) != n_out)
    bad_input("Split: {} split sizes for {} outputs", sizes.size(), n_out);
  int64_t sum = 0;
  for (int64_t s : sizes) {
    if (s < 0) bad_input("Split: negative split size {}", s);
    sum += s;
  }
  if (sum != dim) bad_input("Split: sizes sum to {} but dimension {} has {}", sum, axis, dim);
  if (n_out == 1) {
    ctx.outputs[0] = x;
    return;
  }
  std::vector<int64_t> st = strides_of(x.shape());
  int64_t offset = 0;
  for (size_t k = 0; k < sizes.size(); ++k) {
    Shape s = x.shape();
    s[static_cast<size_t>(axis)] = sizes[k];
    ctx.outputs[k] = copy_view(x, s, st, offset * st[static_cast<size_t>(axis)]);
    offset += sizes[k];
  }
}

// Slice: attributes starts/ends/axes (opsets 1-9) or inputs starts, ends, axes, steps (10+).
void slice(KernelContext& ctx, bool from_inputs) {
  const Tensor& x = ctx.in(0);
  const int64_t r = x.rank();
  std::vector<int64_t> starts, ends, axes, steps;
  if (from_inputs) {
    starts = input_ints(ctx, 1);
    ends = input_ints(ctx, 2);
    if (ctx.has_input(3)) axes = input_ints(ctx, 3);
    if (ctx.has_input(4)) steps = input_ints(ctx, 4);
  } else {
    starts = ctx.node.attr_ints("starts");
    ends = ctx.node.attr_ints("ends");
    axes = ctx.node.attr_ints("axes");
  }
  if (axes.empty())
    for (size_t i = 0; i < starts.size(); ++i) axes.push_back(static_cast<int64_t>(i));
  if (steps.empty()) steps.assign(starts.size(), 1);
  if (ends.size() != starts.size() || axes.size() != starts.size() || steps.size() != starts.size())
    bad_input("Slice: starts/ends/axes/steps have different lengths");
  axes = normalize_axes(axes, r, ctx.node);
  Shape out = x.shape();
  std::vector<int64_t> begin(static_cast<size_t>(r), 0), step(static_cast<size_t>(r), 1);
  for (size_t k = 0; k < axes.size(); ++k) {
    size_t a = static_cast<size_t>(axes[k]);
    int64_t dim = x.shape()[a], st = steps[k], s = starts[k], e = ends[k], len = 0;
    if (st == 0) bad_input("Slice: step is 0 on axis {}", a);
    if (s < 0) s += dim;
    if (e < 0) e += dim;
    if (dim == 0) {
      s = 0;
    } else if (st > 0) {
      s = std::clamp<int64_t>(s, 0, dim);
      e = std::clamp<int64_t>(e, 0, dim);
      len = e > s ? (e - s - 1) / st + 1 : 0;
    } else {
      s = std::clamp<int64_t>(s, 0, dim - 1);
      e = std::clamp<int64_t>(e, -1, dim - 1);
      len = s > e ? (s - e - 1) / -st + 1 : 0;
    }
    begin[a] = len > 0 ? s : 0;
    step[a] = st;
    out[a] = len;
  }
  bool whole = out == x.shape();
  for (int64_t d = 0; d < r && whole; ++d) whole = step[static_cast<size_t>(d)] == 1 || out[static_cast<size_t>(d)] <= 1;
  if (whole) {
    ctx.outputs[0] = x;
    return;
  }
  std::vector<int64_t> in_st = strides_of(x.shape()), st(static_cast<size_t>(r));
  int64_t offset = 0;
  for (size_t d = 0; d < static_cast<size_t>(r); ++d) {
    offset += begin[d] * in_st[d];
    st[d] = in_st[d] * step[d];
  }
  ctx.outputs[0] = copy_view(x, out, st, offset);
}

void expand(KernelContext& ctx) {
  const Tensor& x = ctx.in(0);
  Shape out = broadcast_shapes(x.shape(), input_ints(ctx, 1));
  ctx.outputs[0] = out == x.shape() ? x : copy_view(x, out, broadcast_strides(x.shape(), out));
}

// Tile: the output viewed as [r0, d0, r1, d1, ...] reads the input with stride 0 on each r.
void tile(KernelContext& ctx) {
  const Tensor& x = ctx.in(0);
  std::vector<int64_t> reps = input_ints(ctx, 1);
  if (static_cast<int64_t>(reps.size()) != x.rank())
    bad_input("Tile: {} repeats for a rank-{} input", reps.size(), x.rank());
  std::vector<int64_t> in_st = strides_of(x.shape()), st;
  Shape view, out;
  for (size_t d = 0; d < reps.size(); ++d) {
    if (reps[d] < 0) bad_input("Tile: negative repeat {}", reps[d]);
    view.insert(view.end(), {reps[d], x.shape()[d]});
    st.insert(st.end(), {0, in_st[d]});
    out.push_back(reps[d] * x.shape()[d]);
  }
  ctx.outputs[0] = copy_view(x, view, st).reshaped(out);
}

void require_rank4(const Tensor& x, const char* op) {
  if (x.rank() != 4) bad_input("{}: input must be 4-D, got {}", op, shape_str(x.shape()));
}

// DepthToSpace: output [N, C', H, b, W, b] gathered from the input viewed as
// [N, b, b, C', H, W] (DCR) or [N, C', b, b, H, W] (CRD).
void depth_to_space(KernelContext& ctx) {
  const Tensor& x = ctx.in(0);
  require_rank4(x, "DepthToSpace");
  int64_t b = ctx.node.attr_int("blocksize", 0);
  std::string mode = ctx.node.attr_string("mode", "DCR");
  int64_t n = x.dim(0), c = x.dim(1), h = x.dim(2), w = x.dim(3);
  if (b <= 0 || c % (b * b) != 0) bad_input("DepthToSpace: channels {} not divisible by blocksize^2 ({})", c, b);
  if (mode != "DCR" && mode != "CRD") bad_input("DepthToSpace: unknown mode '{}'", mode);
  int64_t c2 = c / (b * b), hw = h * w;
  int64_t s_c = mode == "DCR" ? hw : b * b * hw;
  int64_t s_b1 = mode == "DCR" ? b * c2 * hw : b * hw;
  int64_t s_b2 = mode == "DCR" ? c2 * hw : hw;
  Tensor y = copy_view(x, {n, c2, h, b, w, b}, {c * hw, s_c, w, s_b1, 1, s_b2});
  ctx.outputs[0] = y.reshaped({n, c2, h * b, w * b});
}

// SpaceToDepth: output [N, b, b, C, H/b, W/b] gathered from the input viewed as
// [N, C, H/b, b, W/b, b].
void space_to_depth(KernelContext& ctx) {
  const Tensor& x = ctx.in(0);
  require_rank4(x, "SpaceToDepth");
  int64_t b = ctx.node.attr_int("blocksize", 0);
  int64_t n = x.dim(0), c = x.dim(1), h = x.dim(2), w = x.dim(3);
  if (b <= 0 || h % b != 0 || w % b != 0) bad_input("SpaceToDepth: {}x{} not divisible by blocksize {}", h, w, b);
  Tensor y = copy_view(x, {n, b, b, c, h / b, w / b}, {c * h * w, w, 1, h * w, b * w, b});
  ctx.outputs[0] = y.reshaped({n, c * b * b, h / b, w / b});
}

}  // namespace

void register_layout(KernelRegistry& r) {
  r.add_fn("", "Transpose", 1, kMaxOpset, transpose);
  r.add_fn("", "Concat", 1, 3, [](KernelContext& c) { concat(c, false); });
  r.add_fn("", "Concat", 4, kMaxOpset, [](KernelContext& c) { concat(c, true); });
  r.add("", "Split", 1, kMaxOpset, [](const KernelInit& init) -> std::unique_ptr<Kernel> {
    struct K : Kernel {
      int64_t opset;
      explicit K(int64_t o) : opset(o) {}
      void run(KernelContext& c) override { split(c, opset); }
    };
    return std::make_unique<K>(init.opset);
  });
  r.add_fn("", "Slice", 1, 9, [](KernelContext& c) { slice(c, false); });
  r.add_fn("", "Slice", 10, kMaxOpset, [](KernelContext& c) { slice(c, true); });
  r.add_fn("", "Expand", 8, kMaxOpset, expand);
  r.add_fn("", "Tile", 6, kMaxOpset, tile);
  r.add_fn("", "DepthToSpace", 1, kMaxOpset, depth_to_space);
  r.add_fn("", "SpaceToDepth", 1, kMaxOpset, space_to_depth);
}

}  // namespace ptq::kern::shape
