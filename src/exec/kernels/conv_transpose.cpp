// ConvTranspose (float32, 1-D/2-D/3-D, groups, strides, dilations, pads, output_padding,
// output_shape, auto_pad, bias) on the oneDNN deconvolution primitive. Cases oneDNN cannot express
// (an output larger than the natural size, i.e. negative effective padding) use a direct loop.
#include <algorithm>

#include "exec/kernels/conv_common.h"
#include "exec/kernels/dnnl_util.h"
#include "exec/kernels/kernel_util.h"

namespace ptq::kern {

using dnnl::memory;

namespace {

int64_t floor_div2(int64_t v) { return v >= 0 ? v / 2 : -((-v + 1) / 2); }

// Direct scatter implementation over up to 3 spatial axes; each output plane (n, m) is owned by one
// thread, so the result does not depend on the thread count.
void deconv_direct(const float* x, const float* w, const float* b, float* y, int64_t n_batch, int64_t c, int64_t m,
                   int64_t group, const std::vector<WindowAxis>& axes_in) {
  std::vector<WindowAxis> ax(3);
  std::copy(axes_in.begin(), axes_in.end(), ax.begin() + static_cast<std::ptrdiff_t>(3 - axes_in.size()));
  const int64_t icg_n = c / group, ocg_n = m / group;
  const int64_t in_sp = ax[0].in * ax[1].in * ax[2].in;
  const int64_t out_sp = ax[0].out * ax[1].out * ax[2].out;
  const int64_t ksz = ax[0].kernel * ax[1].kernel * ax[2].kernel;
  const int64_t planes = n_batch * m;
#pragma omp parallel for schedule(static) if (planes * out_sp * ksz > 65536)
  for (int64_t plane = 0; plane < planes; ++plane) {
    const int64_t n = plane / m, oc = plane % m, g = oc / ocg_n, ocg = oc % ocg_n;
    float* yp = y + plane * out_sp;
    std::fill(yp, yp + out_sp, b ? b[oc] : 0.0f);
    for (int64_t icg = 0; icg < icg_n; ++icg) {
      const int64_t ic = g * icg_n + icg;
      const float* xp = x + (n * c + ic) * in_sp;
      const float* wp = w + (ic * ocg_n + ocg) * ksz;
      for (int64_t i0 = 0; i0 < ax[0].in; ++i0)
        for (int64_t i1 = 0; i1 < ax[1].in; ++i1)
          for (int64_t i2 = 0; i2 < ax[2].in; ++i2) {
            const float v = xp[(i0 * ax[1].in + i1) * ax[2].in + i2];
            for (int64_t k0 = 0; k0 < ax[0].kernel; ++k0) {
              const int64_t o0 = i0 * ax[0].stride - ax[0].pad_begin + k0 * ax[0].dilation;
              if (o0 < 0 || o0 >= ax[0].out) continue;
              for (int64_t k1 = 0; k1 < ax[1].kernel; ++k1) {
                const int64_t o1 = i1 * ax[1].stride - ax[1].pad_begin + k1 * ax[1].dilation;
                if (o1 < 0 || o1 >= ax[1].out) continue;
                for (int64_t k2 = 0; k2 < ax[2].kernel; ++k2) {
                  const int64_t o2 = i2 * ax[2].stride - ax[2].pad_begin + k2 * ax[2].dilation;
                  if (o2 < 0 || o2 >= ax[2].out) continue;
                  yp[(o0 * ax[1].out + o1) * ax[2].out + o2] += v * wp[(k0 * ax[1].kernel + k1) * ax[2].kernel + k2];
                }
              }
            }
          }
    }
  }
}

// ConvTranspose: X (N, C, spatial...), W (C, M/group, k...), optional B (M).
class ConvTransposeKernel final : public WeightedConvKernel {
 public:
  explicit ConvTransposeKernel(const KernelInit& init) : WeightedConvKernel(init, "ConvTranspose") {
    output_padding_ = init.node.attr_ints("output_padding");
    output_shape_ = init.node.attr_ints("output_shape");
    for (int64_t v : output_padding_)
      if (v < 0) bad_input("node {}: output_padding must be >= 0", init.node.label());
  }

  void run(KernelContext& ctx) override {
    Operands o = operands(ctx);
    const Shape& xs = o.x.shape();
    const Shape& ws = o.w.shape();
    int64_t c = xs[1], m = ws[1] * group_;
    if (ws[0] != c || c % group_ != 0)
      bad_input("ConvTranspose: input channels {} do not fit weights {} with group {}", c, shape_str(ws), group_);
    if (o.b && o.b->numel() != m) bad_input("ConvTranspose: bias has {} values, expected {}", o.b->numel(), m);
    std::vector<int64_t> out_pad;
    auto axes = geometry(xs, ws, out_pad, ctx.node);
    Shape ys{xs[0], m};
    for (const auto& ax : axes) ys.push_back(ax.out);
    Tensor y(DType::Float32, ys);
    if (y.numel() == 0) {
      ctx.outputs[0] = y;
      return;
    }
    bool dnnl_ok = o.x.numel() > 0;
    for (size_t i = 0; i < axes.size(); ++i) dnnl_ok &= axes[i].pad_begin >= 0 && axes[i].pad_end - out_pad[i] >= 0;
    if (dnnl_ok) {
      bool fresh = false;
      // Small ones single-threaded (see Conv); every input element feeds M/group x kernel outputs.
      SerialIfSmall serial(o.x.numel() * (o.w.numel() / std::max<int64_t>(1, o.w.dim(0))), y.numel());
      auto& plan = plans_.get(plan_key(o), [&] {
        fresh = true;
        return make_plan(xs, ws, ys, axes, out_pad, o.b != nullptr);
      });
      run_plan(plan, fresh, o, y);
    } else {
      deconv_direct(o.x.data<float>(), o.w.data<float>(), o.b ? o.b->data<float>() : nullptr, y.data<float>(), xs[0],
                    c, m, group_, axes);
    }
    ctx.outputs[0] = y;
  }

 private:
  // Per-axis geometry; pad_begin / pad_end may be negative (output larger than the natural size).
  std::vector<WindowAxis> geometry(const Shape& xs, const Shape& ws, std::vector<int64_t>& out_pad,
                                   const Node& node) const {
    size_t n = xs.size() - 2;
    auto check = [&](const std::vector<int64_t>& v, size_t want, const char* what) {
      if (!v.empty() && v.size() != want)
        bad_input("node {}: {} has {} values, expected {}", node.label(), what, v.size(), want);
    };
    check(attrs_.strides, n, "strides");
    check(attrs_.dilations, n, "dilations");
    check(attrs_.pads, 2 * n, "pads");
    check(output_padding_, n, "output_padding");
    if (!output_shape_.empty() && output_shape_.size() != n && output_shape_.size() != n + 2)
      bad_input("node {}: output_shape has {} values, expected {}", node.label(), output_shape_.size(), n);
    std::vector<WindowAxis> axes(n);
    out_pad.assign(n, 0);
    for (size_t i = 0; i < n; ++i) {
      WindowAxis& ax = axes[i];
      ax.in = xs[i + 2];
      ax.kernel = ws[i + 2];
      ax.stride = attrs_.strides.empty() ? 1 : attrs_.strides[i];
      ax.dilation = attrs_.dilations.empty() ? 1 : attrs_.dilations[i];
      if (!output_padding_.empty()) out_pad[i] = output_padding_[i];
      const int64_t natural = ax.stride * (ax.in - 1) + out_pad[i] + ax.extent();
      const bool same = attrs_.auto_pad == AutoPad::SameUpper || attrs_.auto_pad == AutoPad::SameLower;
      if (!output_shape_.empty() || same) {
        ax.out = !output_shape_.empty() ? output_shape_[output_shape_.size() - n + i] : ax.in * ax.stride;
        int64_t total = natural - ax.out;
        if (total < 0) {  // output larger than natural: the extra is appended at the end
          ax.pad_begin = 0;
        } else if (attrs_.auto_pad == AutoPad::SameUpper) {
          ax.pad_begin = floor_div2(total);
        } else {
          ax.pad_begin = total - floor_div2(total);
        }
        ax.pad_end = total - ax.pad_begin;
      } else if (attrs_.auto_pad == AutoPad::NotSet && !attrs_.pads.empty()) {
        ax.pad_begin = attrs_.pads[i];
        ax.pad_end = attrs_.pads[i + n];
        ax.out = natural - ax.pad_begin - ax.pad_end;
      } else {
        ax.out = natural;
      }
      if (ax.out < 0) bad_input("node {}: output size along axis {} would be {}", node.label(), i + 2, ax.out);
    }
    return axes;
  }

  std::unique_ptr<DnnlWeightedPlan> make_plan(const Shape& xs, const Shape& ws, const Shape& ys,
                                              const std::vector<WindowAxis>& axes, const std::vector<int64_t>& out_pad,
                                              bool has_bias) {
    const int64_t icg = xs[1] / group_, ocg = ws[1];
    int64_t ksz = 1;
    for (size_t i = 2; i < ws.size(); ++i) ksz *= ws[i];
    // ONNX weights are (G*ICg, OCg, k...); oneDNN wants dims (G, OCg, ICg, k...) or (OC, IC, k...).
    memory::dims wei, wstr;
    if (group_ > 1) {
      wei = {group_, ocg, icg};
      wstr = {icg * ocg * ksz, ksz, ocg * ksz};
    } else {
      wei = {ocg, icg};
      wstr = {ksz, ocg * ksz};
    }
    int64_t inner = ksz;
    for (size_t i = 2; i < ws.size(); ++i) {
      wei.push_back(ws[i]);
      inner /= ws[i];
      wstr.push_back(inner);
    }
    memory::dims strides, dil, pl, pr;
    for (size_t i = 0; i < axes.size(); ++i) {
      strides.push_back(axes[i].stride);
      dil.push_back(axes[i].dilation - 1);
      pl.push_back(axes[i].pad_begin);
      pr.push_back(axes[i].pad_end - out_pad[i]);
    }
    memory::dims src = to_dnnl_dims(xs), dst = to_dnnl_dims(ys);
    DnnlWeightedPlan::Descs d;
    d.src_plain = plain_f32_desc(src);
    d.weights_plain = strided_f32_desc(wei, wstr);
    d.dst_plain = plain_f32_desc(dst);
    try {
      using df = dnnl::deconvolution_forward;
      auto pk = dnnl::prop_kind::forward_inference;
      auto alg = dnnl::algorithm::deconvolution_direct;
      auto s = any_f32_desc(src), w = any_f32_desc(wei), y = any_f32_desc(dst);
      df::desc desc = has_bias ? df::desc(pk, alg, s, w, plain_f32_desc({ys[1]}), y, strides, dil, pl, pr)
                               : df::desc(pk, alg, s, w, y, strides, dil, pl, pr);
      df::primitive_desc pd(desc, env_.engine);
      d.src = pd.src_desc();
      d.weights = pd.weights_desc();
      d.dst = pd.dst_desc();
      if (has_bias) d.bias = pd.bias_desc();
      return std::make_unique<DnnlWeightedPlan>(env_, df(pd), d);
    } catch (const dnnl::error& e) {
      rethrow_dnnl("ConvTranspose", e);
    }
  }

  std::vector<int64_t> output_padding_, output_shape_;
};

}  // namespace

void register_conv_transpose(KernelRegistry& r) {
  auto f = [](const KernelInit& init) -> std::unique_ptr<Kernel> { return std::make_unique<ConvTransposeKernel>(init); };
  r.add("", "ConvTranspose", 1, 10, f);
  r.add("", "ConvTranspose", 11, kMaxOpset, f);
}

}  // namespace ptq::kern
