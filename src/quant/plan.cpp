#include "quant/plan.h"

namespace ptq {

void QuantPlan::mark_activation(const std::string& t) {
  if (!t.empty()) activations_.insert(t);
}

void QuantPlan::unmark_activation(const std::string& t) { activations_.erase(t); }

void QuantPlan::keep_weights_only() {
  activations_.clear();
  constant_activations_.clear();
  biases_.clear();
  parent_.clear();
}

void QuantPlan::mark_weight(const std::string& t, int64_t channel_axis) {
  auto [it, fresh] = weights_.emplace(t, WeightMark{channel_axis, false});
  if (!fresh && it->second.channel_axis != channel_axis) it->second.conflicting = true;
}

void QuantPlan::mark_constant_activation(const std::string& t) { constant_activations_.insert(t); }

void QuantPlan::mark_bias(const std::string& t, const std::string& input, const std::string& weight, int64_t axis) {
  biases_[t] = BiasMark{input, weight, axis};
}

std::string QuantPlan::group_of(const std::string& t) const {
  auto it = parent_.find(t);
  if (it == parent_.end() || it->second == t) return t;
  std::string root = group_of(it->second);
  it->second = root;
  return root;
}

void QuantPlan::share(const std::string& a, const std::string& b) {
  std::string ra = group_of(a), rb = group_of(b);
  if (ra == rb) return;
  // Deterministic representative: the lexicographically smaller root.
  if (rb < ra) std::swap(ra, rb);
  parent_[ra] = ra;
  parent_[rb] = ra;
}

void QuantPlan::keep_float(const std::string& node, const std::string& op_type, const std::string& reason) {
  float_nodes_.push_back({node, op_type, reason});
}

}  // namespace ptq
