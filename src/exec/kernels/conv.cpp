// Conv (float32, 1-D/2-D/3-D, groups incl. depthwise, strides, dilations, pads, auto_pad, bias) on
// oneDNN convolution primitives, plus the window geometry shared with ConvTranspose and the pools.
//
// Input 0 and the output may be channels-last (NHWC): the executor keeps activations that way
// between consecutive convolutions and elementwise ops, so the primitive runs without reorders.
// Plain (NCHW) tensors are reordered to the layout the primitive picks: plain-layout primitives
// fall back to slow gemm paths (20x slower for depthwise).
#include <algorithm>
#include <cmath>
#include <cstring>

#include "exec/kernels/conv_common.h"
#include "exec/kernels/dnnl_util.h"
#include "exec/kernels/families.h"
#include "exec/kernels/kernel_util.h"

namespace ptq::kern {

using dnnl::memory;

AutoPad parse_auto_pad(const Node& node) {
  std::string s = node.attr_string("auto_pad", "NOTSET");
  if (s == "NOTSET" || s.empty()) return AutoPad::NotSet;
  if (s == "SAME_UPPER") return AutoPad::SameUpper;
  if (s == "SAME_LOWER") return AutoPad::SameLower;
  if (s == "VALID") return AutoPad::Valid;
  bad_input("node {}: unknown auto_pad '{}'", node.label(), s);
}

WindowAttrs parse_window_attrs(const Node& node) {
  WindowAttrs a;
  a.kernel_shape = node.attr_ints("kernel_shape");
  a.strides = node.attr_ints("strides");
  a.dilations = node.attr_ints("dilations");
  a.pads = node.attr_ints("pads");
  a.auto_pad = parse_auto_pad(node);
  a.ceil_mode = node.attr_int("ceil_mode", 0) != 0;
  for (int64_t v : a.kernel_shape)
    if (v < 1) bad_input("node {}: kernel_shape values must be >= 1", node.label());
  for (int64_t v : a.strides)
    if (v < 1) bad_input("node {}: strides must be >= 1", node.label());
  for (int64_t v : a.dilations)
    if (v < 1) bad_input("node {}: dilations must be >= 1", node.label());
  for (int64_t v : a.pads)
    if (v < 0) bad_input("node {}: pads must be >= 0", node.label());
  return a;
}

std::vector<WindowAxis> window_geometry(const WindowAttrs& a, const Shape& x_shape, const std::vector<int64_t>& kernel,
                                        const Node& node) {
  if (x_shape.size() < 3) bad_input("node {}: input must have rank >= 3, got {}", node.label(), shape_str(x_shape));
  size_t n = x_shape.size() - 2;
  auto check = [&](const std::vector<int64_t>& v, size_t want, const char* what) {
    if (!v.empty() && v.size() != want)
      bad_input("node {}: {} has {} values, expected {} for input {}", node.label(), what, v.size(), want,
                shape_str(x_shape));
  };
  check(kernel, n, "kernel_shape");
  if (kernel.empty()) bad_input("node {}: kernel_shape is required", node.label());
  check(a.strides, n, "strides");
  check(a.dilations, n, "dilations");
  check(a.pads, 2 * n, "pads");
  std::vector<WindowAxis> axes(n);
  for (size_t i = 0; i < n; ++i) {
    WindowAxis& ax = axes[i];
    ax.in = x_shape[i + 2];
    ax.kernel = kernel[i];
    ax.stride = a.strides.empty() ? 1 : a.strides[i];
    ax.dilation = a.dilations.empty() ? 1 : a.dilations[i];
    int64_t ext = ax.extent();
    switch (a.auto_pad) {
      case AutoPad::NotSet: {
        ax.pad_begin = a.pads.empty() ? 0 : a.pads[i];
        ax.pad_end = a.pads.empty() ? 0 : a.pads[i + n];
        int64_t span = ax.in + ax.pad_begin + ax.pad_end - ext;
        if (span < 0) break;
        if (a.ceil_mode) {
          ax.out = (span + ax.stride - 1) / ax.stride + 1;
          // A last window starting in the end padding is dropped (PyTorch / current ONNX rule).
          if ((ax.out - 1) * ax.stride >= ax.in + ax.pad_begin) --ax.out;
        } else {
          ax.out = span / ax.stride + 1;
        }
        break;
      }
      case AutoPad::Valid:
        ax.out = ax.in >= ext ? (ax.in - ext) / ax.stride + 1 : 0;
        break;
      case AutoPad::SameUpper:
      case AutoPad::SameLower: {
        ax.out = (ax.in + ax.stride - 1) / ax.stride;
        int64_t total = std::max<int64_t>(0, (ax.out - 1) * ax.stride + ext - ax.in);
        ax.pad_begin = a.auto_pad == AutoPad::SameUpper ? total / 2 : total - total / 2;
        ax.pad_end = total - ax.pad_begin;
        break;
      }
    }
    if (ax.in + ax.pad_begin + ax.pad_end < ext || ax.out < 1)
      bad_input("node {}: window extent {} does not fit input {} with pads", node.label(), ext, shape_str(x_shape));
  }
  return axes;
}

WeightedConvKernel::WeightedConvKernel(const KernelInit& init, const char* op)
    : op_(op), attrs_(parse_window_attrs(init.node)) {
  group_ = init.node.attr_int("group", 1);
  if (group_ < 1) bad_input("node {}: group must be >= 1", init.node.label());
  if (const Tensor* w = init.constant(1)) const_w_ = *w;
  if (const Tensor* b = init.constant(2)) const_b_ = *b;
  for (const Tensor* t : {&const_w_, &const_b_})
    if (!t->empty() && t->dtype() != DType::Float32)
      unsupported("node {}: {} supports float32 only (got {})", init.node.label(), op_, dtype_name(t->dtype()));
}

WeightedConvKernel::Operands WeightedConvKernel::operands(const KernelContext& ctx) const {
  const Tensor& x = ctx.in(0);
  const Tensor& w = const_w_.empty() ? ctx.in(1) : const_w_;
  const Tensor* b = !const_b_.empty() ? &const_b_ : (ctx.has_input(2) ? ctx.inputs[2] : nullptr);
  for (const Tensor* t : {&x, &w, b})
    if (t && t->dtype() != DType::Float32) unsupported("{} supports float32 only (got {})", op_, dtype_name(t->dtype()));
  if (x.rank() < 3 || w.rank() != x.rank())
    bad_input("{}: weights {} do not match input {}", op_, shape_str(w.shape()), shape_str(x.shape()));
  if (!attrs_.kernel_shape.empty() && !std::equal(attrs_.kernel_shape.begin(), attrs_.kernel_shape.end(),
                                                   w.shape().begin() + 2, w.shape().end()))
    bad_input("{}: kernel_shape does not match weights {}", op_, shape_str(w.shape()));
  return {x, w, b};
}

std::vector<int64_t> WeightedConvKernel::plan_key(const Operands& o) {
  std::vector<int64_t> key(o.x.shape());
  key.insert(key.end(), o.w.shape().begin(), o.w.shape().end());
  key.push_back(o.b ? 1 : 0);
  return key;
}

void WeightedConvKernel::run_plan(DnnlWeightedPlan& plan, bool fresh, const Operands& o, Tensor& y) const {
  try {
    if (const_w_.empty() || fresh) plan.set_weights(o.w.data<float>());
    plan.run(o.x.data<float>(), o.b ? o.b->data<float>() : nullptr, y.data<float>());
  } catch (const dnnl::error& e) {
    rethrow_dnnl(op_, e);
  }
}

namespace {

int64_t float_bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  return u;
}

// The fused activation as a oneDNN eltwise post-op (relu for [0, inf), else clip).
dnnl::primitive_attr activation_attr(const ClipBounds* act) {
  dnnl::primitive_attr attr;
  if (!act) return attr;
  dnnl::post_ops po;
  if (act->lo == 0.f && std::isinf(act->hi) && act->hi > 0)
    po.append_eltwise(1.f, dnnl::algorithm::eltwise_relu, 0.f, 0.f);
  else
    po.append_eltwise(1.f, dnnl::algorithm::eltwise_clip, act->lo, act->hi);
  attr.set_post_ops(po);
  return attr;
}

// Conv: X (N, C, spatial...), W (M, C/group, k...), optional B (M).
class ConvKernel final : public WeightedConvKernel {
 public:
  explicit ConvKernel(const KernelInit& init) : WeightedConvKernel(init, "Conv") {}

  LayoutPolicy layout_policy() const override { return LayoutPolicy::ConvLike; }
  bool fuses_activation() const override { return true; }

  void run(KernelContext& ctx) override {
    Operands o = operands(ctx);
    const Shape& xs = o.x.shape();
    const Shape& ws = o.w.shape();
    int64_t m = ws[0], c = xs[1];
    if (m % group_ != 0 || c != ws[1] * group_)
      bad_input("Conv: input channels {} / output channels {} do not fit weights {} with group {}", c, m,
                shape_str(ws), group_);
    if (o.b && o.b->numel() != m) bad_input("Conv: bias has {} values, expected {}", o.b->numel(), m);
    auto axes = window_geometry(attrs_, xs, std::vector<int64_t>(ws.begin() + 2, ws.end()), ctx.node);
    Shape ys{xs[0], m};
    for (const auto& ax : axes) ys.push_back(ax.out);
    Layout x_layout = o.x.layout();
    Layout y_layout = ctx.channels_last_out && ys.size() <= 5 ? Layout::ChannelsLast : Layout::Plain;
    Tensor y = Tensor::uninitialized(DType::Float32, ys).with_layout(y_layout);
    if (y.numel() > 0 && o.x.numel() > 0) {
      bool fresh = false;
      auto key = plan_key(o);
      key.push_back(static_cast<int64_t>(x_layout));
      key.push_back(static_cast<int64_t>(y_layout));
      key.push_back(ctx.post_clip != nullptr);
      if (ctx.post_clip) {  // the bounds never change for a node, but keep the key exact
        key.push_back(float_bits(ctx.post_clip->lo));
        key.push_back(float_bits(ctx.post_clip->hi));
      }
      // Small convolutions are created and run single-threaded (the primitive keeps its thread
      // count from creation). Multiply-adds: every output element reads C/group x kernel inputs.
      SerialIfSmall serial(y.numel() * (o.w.numel() / std::max<int64_t>(1, m)), y.numel());
      auto& plan = plans_.get(key, [&] {
        fresh = true;
        return make_plan(xs, ws, ys, axes, o.b != nullptr, x_layout, y_layout, ctx.post_clip);
      });
      run_plan(plan, fresh, o, y);
    } else if (y.numel() > 0) {  // no input channels: the output is the bias (then the activation)
      float* py = y.data<float>();
      int64_t spatial = y.numel() / ys[0] / m;
      for (int64_t i = 0; i < y.numel(); ++i) {
        int64_t ch = y_layout == Layout::ChannelsLast ? i % m : i / spatial % m;
        py[i] = o.b ? o.b->data<float>()[ch] : 0.f;
        if (ctx.post_clip) py[i] = std::min(std::max(py[i], ctx.post_clip->lo), ctx.post_clip->hi);
      }
    }
    ctx.outputs[0] = y;
  }

 private:
  // The primitive's src/dst layouts, in order of preference: channels-last when the tensors are
  // (no reorders between consecutive convolutions), 16-channel blocks for depthwise (about 2x
  // faster than NHWC for it on Zen 4, reorders included), else whatever oneDNN picks (`any`).
  // oneDNN's reference and plain-gemm fallbacks are taken only when nothing else exists.
  std::unique_ptr<DnnlWeightedPlan> make_plan(const Shape& xs, const Shape& ws, const Shape& ys,
                                              const std::vector<WindowAxis>& axes, bool has_bias, Layout x_layout,
                                              Layout y_layout, const ClipBounds* act) {
    memory::dims src = to_dnnl_dims(xs), dst = to_dnnl_dims(ys), wei = to_dnnl_dims(ws);
    if (group_ > 1) {  // (M, C/g, k...) is (g, M/g, C/g, k...) in the same memory
      wei[0] /= group_;
      wei.insert(wei.begin(), group_);
    }
    memory::dims strides, dil, pl, pr;
    for (const auto& ax : axes) {
      strides.push_back(ax.stride);
      dil.push_back(ax.dilation - 1);
      pl.push_back(ax.pad_begin);
      pr.push_back(ax.pad_end);
    }
    DnnlWeightedPlan::Descs d;
    d.src_plain = tensor_f32_desc(src, x_layout);
    d.weights_plain = plain_f32_desc(wei);
    d.dst_plain = tensor_f32_desc(dst, y_layout);
    using cf = dnnl::convolution_forward;
    auto make_pd = [&](const memory::desc& s, const memory::desc& y) {
      auto pk = dnnl::prop_kind::forward_inference;
      auto alg = dnnl::algorithm::convolution_direct;
      auto w = any_f32_desc(wei);
      cf::desc desc = has_bias ? cf::desc(pk, alg, s, w, plain_f32_desc({ws[0]}), y, strides, dil, pl, pr)
                               : cf::desc(pk, alg, s, w, y, strides, dil, pl, pr);
      return cf::primitive_desc(desc, activation_attr(act), env_.engine);
    };
    std::vector<std::pair<memory::desc, memory::desc>> candidates;
    bool depthwise = group_ > 1 && group_ == xs[1];
    if (x_layout == Layout::ChannelsLast || y_layout == Layout::ChannelsLast)
      candidates.emplace_back(x_layout == Layout::ChannelsLast ? d.src_plain : any_f32_desc(src),
                              y_layout == Layout::ChannelsLast ? d.dst_plain : any_f32_desc(dst));
    if (depthwise && xs[1] % 16 == 0) {
      auto tag = src.size() == 3   ? memory::format_tag::nCw16c
                 : src.size() == 4 ? memory::format_tag::nChw16c
                                   : memory::format_tag::nCdhw16c;
      candidates.emplace_back(memory::desc(src, memory::data_type::f32, tag),
                              memory::desc(dst, memory::data_type::f32, tag));
    }
    try {
      cf::primitive_desc pd;
      bool have_pd = false;
      for (const auto& [s, y] : candidates) {
        try {
          pd = make_pd(s, y);
          have_pd = !is_slow_impl(pd.impl_info_str());
        } catch (const dnnl::error&) {
        }
        if (have_pd) break;
      }
      if (!have_pd) pd = make_pd(any_f32_desc(src), any_f32_desc(dst));
      d.src = pd.src_desc();
      d.weights = pd.weights_desc();
      d.dst = pd.dst_desc();
      if (has_bias) d.bias = pd.bias_desc();
      return std::make_unique<DnnlWeightedPlan>(env_, cf(pd), d);
    } catch (const dnnl::error& e) {
      rethrow_dnnl("Conv", e);
    }
  }
};

}  // namespace

void register_conv_pool(KernelRegistry& r) {
  auto conv = [](const KernelInit& init) -> std::unique_ptr<Kernel> { return std::make_unique<ConvKernel>(init); };
  // Opset 1 and 11 differ only in documentation (auto_pad / kernel_shape defaults are the same).
  r.add("", "Conv", 1, 10, conv);
  r.add("", "Conv", 11, kMaxOpset, conv);
  register_conv_transpose(r);
  register_pool(r);
}

}  // namespace ptq::kern
