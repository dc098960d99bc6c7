// Per-op-family quantization rules. A rule looks at one node and marks tensors in the QuantPlan;
// it never edits the graph. Rules are registered by op type in a RuleRegistry.
#pragma once
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "core/dtype.h"
#include "onnx_io/model.h"
#include "quant/options.h"
#include "quant/plan.h"

namespace ptq {

struct RuleContext {
  const Graph& graph;
  const QuantOptions& opts;
  const std::map<std::string, DType>& dtypes;                   // observed during calibration
  const std::map<std::string, std::vector<size_t>>& consumers;  // value -> consuming node indices
  QuantPlan& plan;

  bool is_constant(const std::string& t) const { return graph.find_initializer(t) != nullptr; }
  // A float32 value: an observed float32 activation or a float32 initializer.
  bool is_float(const std::string& t) const;
  // The node consuming t when it is the only consumer (and t is not a graph output), else nullptr.
  const Node* sole_consumer(const std::string& t) const;
};

// Returns true when the rule handled the node (marked something or decided to leave it float).
using OpRule = std::function<void(const Node&, RuleContext&)>;

class RuleRegistry {
 public:
  void add(const std::string& op_type, OpRule rule);
  const OpRule* find(const std::string& op_type) const;

 private:
  std::map<std::string, OpRule> rules_;
};

RuleRegistry make_default_rules();

// Ops whose output can be computed in the quantized domain with the input's scale (no new range).
bool is_data_movement_op(const std::string& op_type);
// Activations that runtimes fuse into a preceding Conv/Gemm/MatMul (no Q/DQ between them).
bool is_fusible_activation(const Node& n);

}  // namespace ptq
