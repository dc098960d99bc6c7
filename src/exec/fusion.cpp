#include "exec/fusion.h"

#include <limits>

namespace ptq {

std::optional<ClipBounds> fusable_activation(const Node& node, int64_t opset,
                                             const std::function<const Tensor*(size_t)>& constant) {
  if (!node.domain.empty() && node.domain != "ai.onnx") return std::nullopt;
  constexpr float kInf = std::numeric_limits<float>::infinity();
  if (node.op_type == "Relu") return ClipBounds{0.f, kInf};
  if (node.op_type != "Clip") return std::nullopt;
  ClipBounds b{-kInf, kInf};
  if (opset < 11) {
    b.lo = node.attr_float("min", -kInf);
    b.hi = node.attr_float("max", kInf);
  }
  for (size_t i = 1; opset >= 11 && i < node.inputs.size() && i <= 2; ++i) {
    if (node.inputs[i].empty()) continue;
    const Tensor* t = constant(i);
    if (!t || t->dtype() != DType::Float32 || t->numel() != 1) return std::nullopt;
    (i == 1 ? b.lo : b.hi) = t->data<float>()[0];
  }
  // NaN bounds or lo > hi: leave such odd Clips to the Clip kernel and its exact spec behaviour.
  if (!(b.lo <= b.hi)) return std::nullopt;
  return b;
}

}  // namespace ptq
