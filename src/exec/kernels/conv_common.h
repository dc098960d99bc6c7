// Window geometry shared by Conv, ConvTranspose and the pooling kernels (conv.cpp, conv_transpose.cpp,
// pool.cpp): attribute parsing (kernel_shape, strides, dilations, pads, auto_pad, ceil_mode) and the
// ONNX output-size / padding rules per spatial axis.
#pragma once
#include <cstdint>
#include <vector>

#include "core/tensor.h"
#include "exec/kernel.h"
#include "exec/kernels/dnnl_util.h"

namespace ptq::kern {

enum class AutoPad { NotSet, SameUpper, SameLower, Valid };

// Throws Error(BadInput) naming the node for an unknown auto_pad value.
AutoPad parse_auto_pad(const Node& node);

// One spatial axis of a sliding window.
struct WindowAxis {
  int64_t in = 1, kernel = 1, stride = 1, dilation = 1;
  int64_t pad_begin = 0, pad_end = 0;  // explicit (or auto_pad-derived) padding
  int64_t out = 1;
  int64_t extent() const { return (kernel - 1) * dilation + 1; }
  // Padding at the end that the last window actually reaches (> pad_end in ceil mode).
  int64_t reach_end() const { return (out - 1) * stride + extent() - in - pad_begin; }
};

// Sliding-window attributes, parsed once at kernel creation.
struct WindowAttrs {
  std::vector<int64_t> kernel_shape, strides, dilations, pads;  // empty = default
  AutoPad auto_pad = AutoPad::NotSet;
  bool ceil_mode = false;
};

WindowAttrs parse_window_attrs(const Node& node);

// Geometry of every spatial axis of `x_shape` (N, C, spatial...). `kernel` is the kernel size per
// spatial axis (from kernel_shape or the weights). Throws Error(BadInput) naming the node when the
// attributes do not fit the input or the output would be empty.
std::vector<WindowAxis> window_geometry(const WindowAttrs& a, const Shape& x_shape, const std::vector<int64_t>& kernel,
                                        const Node& node);

// Base of Conv and ConvTranspose: X, W, optional B, all float32. Constant W / B (initializers) are
// captured at creation; oneDNN plans are cached per input shape and get constant weights reordered
// once, when the plan is built.
class WeightedConvKernel : public Kernel {
 protected:
  WeightedConvKernel(const KernelInit& init, const char* op);
  struct Operands {
    const Tensor& x;
    const Tensor& w;
    const Tensor* b;  // nullptr when omitted
  };
  // Checks dtypes and ranks (W rank == X rank >= 3) and returns the operands.
  Operands operands(const KernelContext& ctx) const;
  // Plan cache key: input shape, weights shape, bias presence.
  static std::vector<int64_t> plan_key(const Operands& o);
  // Sets weights when they are not constant or the plan is new, runs, translates oneDNN errors.
  void run_plan(DnnlWeightedPlan& plan, bool fresh, const Operands& o, Tensor& y) const;

  const char* op_;
  int64_t group_ = 1;
  WindowAttrs attrs_;
  Tensor const_w_, const_b_;
  DnnlEnv env_;
  PlanCache<DnnlWeightedPlan> plans_;
};

// Registered from register_conv_pool (conv.cpp).
void register_conv_transpose(KernelRegistry& r);  // conv_transpose.cpp
void register_pool(KernelRegistry& r);            // pool.cpp

}  // namespace ptq::kern
