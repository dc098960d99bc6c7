// Phase one of quantization: op rules only *mark* tensors here; the rewriter (phase two) emits
// every QuantizeLinear/DequantizeLinear from the finished plan.
#pragma once
#include <map>
#include <set>
#include <string>
#include <vector>

namespace ptq {

struct WeightMark {
  int64_t channel_axis = -1;  // axis for per-channel/per-block; -1 when only per-tensor makes sense
  bool conflicting = false;   // shared by nodes that want different axes: falls back to per-tensor
};

struct BiasMark {
  std::string input;   // activation feeding the node
  std::string weight;  // the node's weight
  int64_t channel_axis = 0;
};

struct FloatNode {
  std::string node;
  std::string op_type;
  std::string reason;
};

class QuantPlan {
 public:
  void mark_activation(const std::string& t);
  void mark_weight(const std::string& t, int64_t channel_axis);
  // Constants quantized like activations (e.g. an Add operand): per-tensor, activation type.
  void mark_constant_activation(const std::string& t);
  void mark_bias(const std::string& t, const std::string& input, const std::string& weight, int64_t channel_axis);
  // a and b will use one scale and zero point (the union of their ranges).
  void share(const std::string& a, const std::string& b);
  void keep_float(const std::string& node, const std::string& op_type, const std::string& reason);
  void unmark_activation(const std::string& t);
  // Weight-only quantization: forget activations, constant operands, biases and sharing.
  void keep_weights_only();

  bool is_activation(const std::string& t) const { return activations_.count(t) > 0; }
  bool is_weight(const std::string& t) const { return weights_.count(t) > 0; }
  const std::set<std::string>& activations() const { return activations_; }
  const std::set<std::string>& constant_activations() const { return constant_activations_; }
  const std::map<std::string, WeightMark>& weights() const { return weights_; }
  const std::map<std::string, BiasMark>& biases() const { return biases_; }
  const std::vector<FloatNode>& float_nodes() const { return float_nodes_; }
  // Representative of t's sharing group (t itself when unshared).
  std::string group_of(const std::string& t) const;

 private:
  std::set<std::string> activations_;
  std::set<std::string> constant_activations_;
  std::map<std::string, WeightMark> weights_;
  std::map<std::string, BiasMark> biases_;
  std::vector<FloatNode> float_nodes_;
  mutable std::map<std::string, std::string> parent_;  // union-find over shared tensors
};

}  // namespace ptq
