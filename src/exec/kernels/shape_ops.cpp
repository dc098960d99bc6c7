// Shape and data-movement kernels. This file holds the ops that only change a tensor's shape
// (their outputs alias the input buffer) plus Shape/Size; the other shape_ops_*.cpp files hold
// the ops that move data. All of them work for any fixed-size dtype.
#include <algorithm>

#include "exec/kernels/families.h"
#include "exec/kernels/kernel_util.h"
#include "exec/kernels/shape_ops_util.h"

namespace ptq::kern {

namespace shape {
namespace {

// Reshape target: 0 copies the input dim (unless allowzero), one -1 is inferred.
Shape reshape_target(const Shape& in, const std::vector<int64_t>& spec, bool allowzero) {
  Shape out(spec.size());
  int64_t infer = -1, known = 1;
  for (size_t i = 0; i < spec.size(); ++i) {
    int64_t v = spec[i];
    if (v == -1) {
      if (infer >= 0) bad_input("Reshape: shape {} has more than one -1", shape_str(spec));
      infer = static_cast<int64_t>(i);
      continue;
    }
    if (v == 0 && !allowzero) {
      if (i >= in.size()) bad_input("Reshape: shape {} copies dim {} of a rank-{} input", shape_str(spec), i, in.size());
      v = in[i];
    } else if (v < 0) {
      bad_input("Reshape: invalid dimension {} in shape {}", v, shape_str(spec));
    }
    out[i] = v;
    known *= v;
  }
  if (infer >= 0) {
    int64_t n = shape_numel(in);
    if (known == 0 || n % known != 0)
      bad_input("Reshape: cannot infer -1 when reshaping {} to {}", shape_str(in), shape_str(spec));
    out[static_cast<size_t>(infer)] = n / known;
  }
  return out;
}

void reshape(KernelContext& ctx, bool shape_from_input) {
  const Tensor& x = ctx.in(0);
  std::vector<int64_t> spec = shape_from_input ? input_ints(ctx, 1) : ctx.node.attr_ints("shape");
  bool allowzero = ctx.node.attr_int("allowzero", 0) != 0;
  ctx.outputs[0] = x.reshaped(reshape_target(x.shape(), spec, allowzero));
}

void flatten(KernelContext& ctx) {
  const Tensor& x = ctx.in(0);
  int64_t r = x.rank(), axis = ctx.node.attr_int("axis", 1);
  if (axis < 0) axis += r;
  if (axis < 0 || axis > r) bad_input("Flatten: axis {} is out of range for rank {}", ctx.node.attr_int("axis", 1), r);
  int64_t outer = 1, inner = 1;
  for (int64_t i = 0; i < r; ++i) (i < axis ? outer : inner) *= x.shape()[static_cast<size_t>(i)];
  ctx.outputs[0] = x.reshaped({outer, inner});
}

// Squeeze/Unsqueeze axes: the `axes` attribute before opset 13, the optional second input after.
std::vector<int64_t> axes_arg(const KernelContext& ctx, bool from_input, bool* given) {
  if (from_input) {
    *given = ctx.has_input(1);
    return *given ? input_ints(ctx, 1) : std::vector<int64_t>{};
  }
  *given = ctx.node.find_attr("axes") != nullptr;
  return ctx.node.attr_ints("axes");
}

void squeeze(KernelContext& ctx, bool axes_from_input) {
  const Tensor& x = ctx.in(0);
  bool given = false;
  std::vector<int64_t> axes = axes_arg(ctx, axes_from_input, &given);
  std::vector<bool> drop(x.shape().size(), false);
  if (!given || axes.empty()) {  // no axes (or an empty list, as ONNX Runtime reads it): all 1-dims
    for (size_t i = 0; i < drop.size(); ++i) drop[i] = x.shape()[i] == 1;
  } else {
    for (int64_t a : normalize_axes(axes, x.rank(), ctx.node)) {
      if (x.shape()[static_cast<size_t>(a)] != 1)
        bad_input("Squeeze: dimension {} of {} is not 1", a, shape_str(x.shape()));
      drop[static_cast<size_t>(a)] = true;
    }
  }
  Shape out;
  for (size_t i = 0; i < drop.size(); ++i)
    if (!drop[i]) out.push_back(x.shape()[i]);
  ctx.outputs[0] = x.reshaped(out);
}

void unsqueeze(KernelContext& ctx, bool axes_from_input) {
  const Tensor& x = ctx.in(0);
  bool given = false;
  std::vector<int64_t> axes = axes_arg(ctx, axes_from_input, &given);
  if (!given) bad_input("Unsqueeze: axes are required");
  int64_t out_rank = x.rank() + static_cast<int64_t>(axes.size());
  std::vector<bool> inserted(static_cast<size_t>(out_rank), false);
  for (int64_t a : normalize_axes(axes, out_rank, ctx.node)) inserted[static_cast<size_t>(a)] = true;
  Shape out;
  size_t src = 0;
  for (bool ins : inserted) out.push_back(ins ? 1 : x.shape()[src++]);
  ctx.outputs[0] = x.reshaped(out);
}

void shape_op(KernelContext& ctx) {
  const Tensor& x = ctx.in(0);
  int64_t r = x.rank();
  auto clamp = [r](int64_t v) { return std::clamp<int64_t>(v < 0 ? v + r : v, 0, r); };
  int64_t start = clamp(ctx.node.attr_int("start", 0)), end = clamp(ctx.node.attr_int("end", r));
  std::vector<int64_t> dims;
  for (int64_t i = start; i < end; ++i) dims.push_back(x.shape()[static_cast<size_t>(i)]);
  int64_t n = static_cast<int64_t>(dims.size());
  ctx.outputs[0] = Tensor::from_vector<int64_t>(dims, {n});
}

void size_op(KernelContext& ctx) { ctx.outputs[0] = Tensor::scalar<int64_t>(ctx.in(0).numel()); }

}  // namespace

void register_reshape_like(KernelRegistry& r) {
  r.add_fn("", "Reshape", 1, 4, [](KernelContext& c) { reshape(c, false); });
  r.add_fn("", "Reshape", 5, kMaxOpset, [](KernelContext& c) { reshape(c, true); });
  r.add_fn("", "Flatten", 1, kMaxOpset, flatten);
  r.add_fn("", "Squeeze", 1, 12, [](KernelContext& c) { squeeze(c, false); });
  r.add_fn("", "Squeeze", 13, kMaxOpset, [](KernelContext& c) { squeeze(c, true); });
  r.add_fn("", "Unsqueeze", 1, 12, [](KernelContext& c) { unsqueeze(c, false); });
  r.add_fn("", "Unsqueeze", 13, kMaxOpset, [](KernelContext& c) { unsqueeze(c, true); });
  r.add_fn("", "Shape", 1, kMaxOpset, shape_op);
  r.add_fn("", "Size", 1, kMaxOpset, size_op);
}

}  // namespace shape

void register_shape_ops(KernelRegistry& r) {
  shape::register_reshape_like(r);
  shape::register_generators(r);
  shape::register_layout(r);
  shape::register_indexing(r);
  shape::register_pad(r);
}

}  // namespace ptq::kern
