// Phase one: run the op rules over the graph and collect the marks into a QuantPlan.
#include "graph/graph_utils.h"
#include "quant/quantizer.h"

namespace ptq {

QuantPlan build_plan(const Model& model, const QuantOptions& opts, const std::map<std::string, DType>& dtypes,
                     const RuleRegistry& rules) {
  const Graph& g = model.graph;
  auto consumers = consumer_map(g);
  QuantPlan plan;
  RuleContext ctx{g, opts, dtypes, consumers, plan};
  auto excluded = [&](const Node& n) { return opts.exclude_nodes.count(n.name) || opts.exclude_op_types.count(n.op_type); };
  // Rules only add marks, so repeating until nothing changes reaches a fixed point quickly.
  for (int iter = 0; iter < 8; ++iter) {
    size_t before = plan.activations().size();
    for (const auto& n : g.nodes) {
      if (excluded(n)) continue;
      if (const OpRule* rule = rules.find(n.op_type)) (*rule)(n, ctx);
    }
    if (plan.activations().size() == before) break;
  }
  QuantPlan result = plan;
  if (opts.weight_only) result.keep_weights_only();
  // Record why nodes stay float; rules already recorded their own reasons (non-float inputs).
  for (const auto& n : g.nodes) {
    std::string name = n.name.empty() ? (n.outputs.empty() ? "" : n.outputs[0]) : n.name;
    if (excluded(n)) {
      result.keep_float(name, n.op_type, opts.exclude_nodes.count(n.name) ? "excluded by --exclude-nodes" : "excluded by --exclude-op-types");
    } else if (!rules.find(n.op_type)) {
      result.keep_float(name, n.op_type, "no quantization rule for this op type");
    } else if (is_data_movement_op(n.op_type) && !n.inputs.empty() && !plan.is_activation(n.input(0))) {
      result.keep_float(name, n.op_type, "input is not quantized");
    }
  }
  return result;
}

std::set<std::string> tensors_needing_ranges(const Model& model, const RuleRegistry& rules) {
  // Every value taken as float32 (initializers keep their own dtype): rules only mark float
  // values, so this marks a superset of what real dtypes give. Rules only add marks, so excluding
  // nodes (options, sensitivity) or weight-only never marks more; no rule reads other options.
  std::map<std::string, DType> all_float;
  for (const auto& vi : model.graph.inputs) all_float.emplace(vi.name, DType::Float32);
  for (const auto& n : model.graph.nodes)
    for (const auto& o : n.outputs)
      if (!o.empty()) all_float.emplace(o, DType::Float32);
  QuantPlan plan = build_plan(model, QuantOptions{}, all_float, rules);
  return plan.activations();
}

}  // namespace ptq
