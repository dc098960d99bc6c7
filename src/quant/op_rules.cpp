#include "quant/op_rules.h"

#include <algorithm>

namespace ptq {

bool RuleContext::is_float(const std::string& t) const {
  if (t.empty()) return false;
  if (const Tensor* c = graph.find_initializer(t)) return c->dtype() == DType::Float32;
  auto it = dtypes.find(t);
  return it != dtypes.end() && it->second == DType::Float32;
}

const Node* RuleContext::sole_consumer(const std::string& t) const {
  auto it = consumers.find(t);
  if (it == consumers.end() || it->second.size() != 1) return nullptr;
  for (const auto& o : graph.outputs)
    if (o.name == t) return nullptr;
  return &graph.nodes[it->second[0]];
}

void RuleRegistry::add(const std::string& op_type, OpRule rule) { rules_[op_type] = std::move(rule); }

const OpRule* RuleRegistry::find(const std::string& op_type) const {
  auto it = rules_.find(op_type);
  return it == rules_.end() ? nullptr : &it->second;
}

namespace {
const char* const kDataMovementOps[] = {"Reshape", "Transpose", "Flatten", "Squeeze", "Unsqueeze", "Slice", "Gather",
                                        "MaxPool", "Split", "Identity", "DepthToSpace", "SpaceToDepth", "Expand", "Tile"};
}

bool is_data_movement_op(const std::string& op) {
  return std::any_of(std::begin(kDataMovementOps), std::end(kDataMovementOps), [&](const char* k) { return op == k; });
}

bool is_fusible_activation(const Node& n) {
  return n.op_type == "Relu" || n.op_type == "Clip" || n.op_type == "LeakyRelu";
}

namespace {

// Marks a float, non-constant value as an activation; a float constant as a per-tensor constant.
void mark_input(RuleContext& c, const std::string& t) {
  if (!c.is_float(t)) return;
  if (c.is_constant(t)) c.plan.mark_constant_activation(t);
  else c.plan.mark_activation(t);
}

// The output of a compute op is quantized unless a fusible activation alone consumes it: then
// the activation's output carries the range (Conv -> Relu -> Q, as runtimes fuse it).
void mark_compute_output(RuleContext& c, const Node& n) {
  const std::string& out = n.outputs.empty() ? std::string() : n.outputs[0];
  if (!c.is_float(out)) return;
  const Node* next = c.sole_consumer(out);
  if (next && is_fusible_activation(*next)) return;
  c.plan.mark_activation(out);
}

// Conv/ConvTranspose: X activation, W weight (axis 0 / 1), B int32 bias.
void conv_rule(const Node& n, RuleContext& c, int64_t axis) {
  const std::string& x = n.input(0);
  const std::string& w = n.input(1);
  if (!c.is_float(x) || !c.is_float(w)) {
    c.plan.keep_float(n.name, n.op_type, "non-float input");
    return;
  }
  mark_input(c, x);
  if (c.is_constant(w)) {
    c.plan.mark_weight(w, axis);
    const std::string& b = n.input(2);
    if (!b.empty() && c.is_constant(b) && c.is_float(b) && !c.is_constant(x)) c.plan.mark_bias(b, x, w, 0);
  } else {
    mark_input(c, w);
  }
  mark_compute_output(c, n);
}

void gemm_rule(const Node& n, RuleContext& c) {
  const std::string& a = n.input(0);
  const std::string& b = n.input(1);
  if (!c.is_float(a) || !c.is_float(b)) {
    c.plan.keep_float(n.name, n.op_type, "non-float input");
    return;
  }
  bool trans_a = n.attr_int("transA", 0) != 0, trans_b = n.attr_int("transB", 0) != 0;
  if (c.is_constant(a)) c.plan.mark_weight(a, trans_a ? 1 : 0);
  else c.plan.mark_activation(a);
  if (c.is_constant(b)) c.plan.mark_weight(b, trans_b ? 0 : 1);
  else c.plan.mark_activation(b);
  const std::string& bias = n.input(2);
  bool plain = n.attr_float("alpha", 1.0f) == 1.0f && n.attr_float("beta", 1.0f) == 1.0f;
  if (!bias.empty() && c.is_constant(bias) && c.is_float(bias) && plain && c.is_constant(b) && !c.is_constant(a)) {
    const Tensor* bt = c.graph.find_initializer(bias);
    const Tensor* bw = c.graph.find_initializer(b);
    int64_t n_out = bw->rank() == 2 ? bw->dim(trans_b ? 0 : 1) : -1;
    if (bt->rank() == 1 && bt->dim(0) == n_out) c.plan.mark_bias(bias, a, b, 0);
  }
  mark_compute_output(c, n);
}

void matmul_rule(const Node& n, RuleContext& c) {
  const std::string& a = n.input(0);
  const std::string& b = n.input(1);
  if (!c.is_float(a) || !c.is_float(b)) {
    c.plan.keep_float(n.name, n.op_type, "non-float input");
    return;
  }
  const Tensor* ta = c.graph.find_initializer(a);
  const Tensor* tb = c.graph.find_initializer(b);
  if (ta && ta->rank() >= 2) c.plan.mark_weight(a, ta->rank() - 2);  // rows of A are output channels
  else mark_input(c, a);
  if (tb && tb->rank() >= 2) c.plan.mark_weight(b, tb->rank() - 1);  // columns of B are output channels
  else mark_input(c, b);
  mark_compute_output(c, n);
}

// All float inputs and the output quantized, each with its own range (Add, Mul, AveragePool, ...).
void elementwise_rule(const Node& n, RuleContext& c) {
  for (const auto& i : n.inputs) mark_input(c, i);
  mark_compute_output(c, n);
}

// A fusible activation's output carries the range; its input is the (unquantized) compute output
// when fused, else quantized like any input.
// (The output's dtype is checked, not the input's: a calibration run that fused the activation
// into its convolution never produced the input.)
void activation_rule(const Node& n, RuleContext& c) {
  if (n.outputs.empty() || !c.is_float(n.outputs[0])) return;
  mark_compute_output(c, n);
}

// Data movement: quantized only when its input is, with the same scale and zero point.
void data_movement_rule(const Node& n, RuleContext& c) {
  const std::string& x = n.input(0);
  if (!c.plan.is_activation(x)) return;
  for (const auto& o : n.outputs) {
    if (!c.is_float(o)) continue;
    c.plan.mark_activation(o);
    c.plan.share(x, o);
  }
}

// Resize (ONNX Runtime's QDQ handling): "nearest" only picks input values, so it moves data and
// shares the input's scale; "linear"/"cubic" interpolate, so the output gets its own range. Only X
// is an activation: roi/scales are float parameters and stay float.
void resize_rule(const Node& n, RuleContext& c) {
  if (n.attr_string("mode", "nearest") == "nearest") {
    data_movement_rule(n, c);
    return;
  }
  mark_input(c, n.input(0));
  mark_compute_output(c, n);
}

void concat_rule(const Node& n, RuleContext& c) {
  const std::string& out = n.outputs.empty() ? std::string() : n.outputs[0];
  if (!c.is_float(out)) return;
  for (const auto& i : n.inputs) {
    if (!c.is_float(i) || c.is_constant(i)) return;  // keep mixed/constant concats float
  }
  for (const auto& i : n.inputs) {
    c.plan.mark_activation(i);
    c.plan.share(i, out);
  }
  c.plan.mark_activation(out);
}

}  // namespace

RuleRegistry make_default_rules() {
  RuleRegistry r;
  r.add("Conv", [](const Node& n, RuleContext& c) { conv_rule(n, c, 0); });
  r.add("ConvTranspose", [](const Node& n, RuleContext& c) { conv_rule(n, c, 1); });
  r.add("Gemm", gemm_rule);
  r.add("MatMul", matmul_rule);
  for (const char* op : {"Add", "Mul", "AveragePool", "GlobalAveragePool", "Sigmoid", "Softmax"})
    r.add(op, elementwise_rule);
  for (const char* op : {"Relu", "Clip", "LeakyRelu"}) r.add(op, activation_rule);
  for (const char* op : kDataMovementOps) r.add(op, data_movement_rule);
  r.add("Concat", concat_rule);
  r.add("Resize", resize_rule);
  return r;
}

}  // namespace ptq
