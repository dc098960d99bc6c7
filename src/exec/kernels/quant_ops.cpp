// QuantizeLinear / DequantizeLinear (opsets 10-21: per-tensor, per-axis from 13, blocked and 4-bit
// from 21) and DynamicQuantizeLinear. The math is core/quant_math's scalar reference, so what our
// executor computes for a QDQ model is by construction what the quantizer intended.
#include <algorithm>
#include <cmath>

#include "core/quant_math.h"
#include "exec/kernels/families.h"
#include "exec/kernels/kernel_util.h"

namespace ptq::kern {

namespace {

QuantAxis axis_of(const Node& node, int64_t opset, const Tensor& scale, int64_t rank) {
  QuantAxis ax;
  if (scale.numel() == 1 && scale.rank() <= 1 && node.attr_int("block_size", 0) == 0) return ax;  // per-tensor
  if (opset < 13) bad_input("node {}: per-axis scales need opset 13 or newer", node.label());
  int64_t a = node.attr_int("axis", 1);
  ax.axis = a < 0 ? a + rank : a;
  if (ax.axis < 0 || ax.axis >= rank) bad_input("node {}: axis {} out of range for rank {}", node.label(), a, rank);
  ax.block_size = node.attr_int("block_size", 0);
  if (ax.block_size < 0) bad_input("node {}: negative block_size", node.label());
  if (ax.block_size > 0 && opset < 21) bad_input("node {}: block_size needs opset 21", node.label());
  return ax;
}

class QuantizeKernel : public Kernel {
 public:
  explicit QuantizeKernel(const KernelInit& init) : opset_(init.opset) {}
  // Per-tensor scales are single elements, so channels-last inputs work as they are; per-axis and
  // blocked scales are not broadcastable that way and the executor gives those plain inputs.
  LayoutPolicy layout_policy() const override { return LayoutPolicy::Elementwise; }
  void run(KernelContext& ctx) override {
    const Tensor& x = ctx.in(0);
    const Tensor& scale = ctx.in(1);
    Tensor zp = ctx.has_input(2) ? ctx.in(2) : Tensor();
    DType out = DType::UInt8;
    if (!zp.empty()) out = zp.dtype();
    else if (int64_t od = ctx.node.attr_int("output_dtype", 0); od != 0) out = dtype_from_onnx(static_cast<int32_t>(od));
    if (!is_float(x.dtype()) || x.dtype() == DType::Float16 || x.dtype() == DType::BFloat16)
      unsupported("node {}: input type {} is not supported", ctx.node.label(), dtype_name(x.dtype()));
    QuantAxis ax = axis_of(ctx.node, opset_, scale, x.rank());
    ctx.outputs[0] = quantize_tensor(x, scale, zp, ax, out);
  }

 private:
  int64_t opset_;
};

class DequantizeKernel : public Kernel {
 public:
  explicit DequantizeKernel(const KernelInit& init) : opset_(init.opset) {
    // Weights are constant in QDQ models: dequantize them once, not once per sample.
    const Tensor* x = init.constant(0);
    const Tensor* s = init.constant(1);
    const Tensor* z = init.node.input(2).empty() ? nullptr : init.constant(2);
    bool zp_const = init.node.input(2).empty() || z;
    if (x && s && zp_const) {
      Tensor zp = z ? *z : Tensor();
      cached_ = dequantize_tensor(*x, *s, zp, axis_of(init.node, opset_, *s, x->rank()));
    }
  }
  LayoutPolicy layout_policy() const override { return LayoutPolicy::Elementwise; }  // as QuantizeLinear
  void run(KernelContext& ctx) override {
    if (!cached_.empty()) {
      ctx.outputs[0] = cached_;
      return;
    }
    const Tensor& x = ctx.in(0);
    const Tensor& scale = ctx.in(1);
    Tensor zp = ctx.has_input(2) ? ctx.in(2) : Tensor();
    QuantAxis ax = axis_of(ctx.node, opset_, scale, x.rank());
    if (ax.axis < 0 && (x.dtype() == DType::UInt8 || x.dtype() == DType::Int8)) {
      ctx.outputs[0] = dequantize_8bit(x, scale.data<float>()[0], zp.empty() ? 0 : static_cast<int32_t>(zp.get_as_int64(0)));
      return;
    }
    ctx.outputs[0] = dequantize_tensor(x, scale, zp, ax);
  }

 private:
  // Per-tensor 8-bit fast path (the hot case for activations).
  static Tensor dequantize_8bit(const Tensor& x, float scale, int32_t zp) {
    Tensor out(DType::Float32, x.shape());
    float* o = out.data<float>();
    int64_t n = x.numel();
    if (x.dtype() == DType::UInt8) {
      const uint8_t* q = x.data<uint8_t>();
#pragma omp parallel for schedule(static) if (n > 65536)
      for (int64_t i = 0; i < n; ++i) o[i] = static_cast<float>(static_cast<int32_t>(q[i]) - zp) * scale;
    } else {
      const int8_t* q = x.data<int8_t>();
#pragma omp parallel for schedule(static) if (n > 65536)
      for (int64_t i = 0; i < n; ++i) o[i] = static_cast<float>(static_cast<int32_t>(q[i]) - zp) * scale;
    }
    return out;
  }
  int64_t opset_;
  Tensor cached_;
};

// y_scale = (max(0, max x) - min(0, min x)) / 255, zero point = saturate(round(-min / scale)).
void dynamic_quantize(KernelContext& ctx) {
  require_float(ctx, 0);
  const Tensor& x = ctx.in(0);
  const float* xs = x.data<float>();
  float lo = 0, hi = 0;
  for (int64_t i = 0; i < x.numel(); ++i) {
    if (std::isnan(xs[i])) continue;
    lo = std::min(lo, xs[i]);
    hi = std::max(hi, xs[i]);
  }
  float scale = (hi - lo) / 255.0f;
  int32_t zp = 0;
  if (scale == 0) scale = 1.0f;  // all zeros: any scale reproduces them
  else zp = static_cast<int32_t>(std::clamp(std::nearbyint(-lo / scale), 0.0f, 255.0f));
  Tensor s = Tensor::scalar<float>(scale);
  Tensor z = Tensor::scalar<uint8_t>(static_cast<uint8_t>(zp));
  ctx.outputs[0] = quantize_tensor(x, s, z, QuantAxis{}, DType::UInt8);
  ctx.outputs[1] = s;
  if (ctx.outputs.size() > 2) ctx.outputs[2] = z;
}

}  // namespace

void register_quant_ops(KernelRegistry& r) {
  auto q = [](const KernelInit& init) { return std::make_unique<QuantizeKernel>(init); };
  auto dq = [](const KernelInit& init) { return std::make_unique<DequantizeKernel>(init); };
  r.add("", "QuantizeLinear", 10, kMaxOpset, q);
  r.add("", "DequantizeLinear", 10, kMaxOpset, dq);
  r.add_fn("", "DynamicQuantizeLinear", 11, kMaxOpset, dynamic_quantize);
}

}  // namespace ptq::kern
