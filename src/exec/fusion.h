// Activation fusion: a Relu or a constant-bound Clip that is the only reader of a convolution's
// output runs inside the convolution (a oneDNN post-op), like ONNX Runtime's Conv+Activation
// fusion. The executor applies it only when no observer needs the convolution's own output.
#pragma once
#include <functional>
#include <optional>

#include "exec/kernel.h"

namespace ptq {

// The bounds of `node` when it is Relu, or Clip whose bounds are attributes (opset < 11) or
// constant inputs; nullopt otherwise. `constant(i)` returns input i when it is an initializer.
std::optional<ClipBounds> fusable_activation(const Node& node, int64_t opset,
                                             const std::function<const Tensor*(size_t)>& constant);

}  // namespace ptq
