#include "graph/passes.h"

#include <algorithm>

#include "graph/graph_utils.h"

namespace ptq {

size_t constants_to_initializers(Graph& g) {
  size_t moved = 0;
  std::vector<Node> kept;
  kept.reserve(g.nodes.size());
  for (auto& n : g.nodes) {
    if (n.op_type != "Constant" || !n.domain.empty() || n.outputs.size() != 1 || n.attrs.size() != 1) {
      kept.push_back(std::move(n));
      continue;
    }
    const Attribute& a = n.attrs[0];
    Tensor t;
    if (a.name == "value" && a.type == AttrType::Tensor) t = a.t;
    else if (a.name == "value_float") t = Tensor::scalar<float>(a.f);
    else if (a.name == "value_int") t = Tensor::scalar<int64_t>(a.i);
    else if (a.name == "value_floats") t = Tensor::from_vector<float>(a.floats, {static_cast<int64_t>(a.floats.size())});
    else if (a.name == "value_ints") t = Tensor::from_vector<int64_t>(a.ints, {static_cast<int64_t>(a.ints.size())});
    if (t.empty() || g.initializers.count(n.outputs[0])) {
      kept.push_back(std::move(n));
      continue;
    }
    g.initializers[n.outputs[0]] = t;
    ++moved;
  }
  g.nodes = std::move(kept);
  return moved;
}

size_t remove_identity_nodes(Graph& g) {
  size_t removed = 0;
  std::map<std::string, std::string> alias;
  std::vector<Node> kept;
  auto consumers = consumer_map(g);
  std::set<std::string> captured;  // values read inside subgraphs keep their producer
  for (const auto& n : g.nodes)
    for (const auto& a : n.attrs) {
      if (a.g) for (const auto& c : captured_names(*a.g)) captured.insert(c);
      for (const auto& sg : a.graphs) for (const auto& c : captured_names(*sg)) captured.insert(c);
    }
  for (auto& n : g.nodes) {
    bool identity = n.domain.empty() && (n.op_type == "Identity" || n.op_type == "Dropout") && n.inputs.size() >= 1 &&
                    !n.outputs.empty() && !n.outputs[0].empty();
    if (identity && n.op_type == "Dropout") {
      bool mask_used = n.outputs.size() > 1 && !n.outputs[1].empty() &&
                       (consumers.count(n.outputs[1]) || is_graph_output(g, n.outputs[1]));
      bool training = n.inputs.size() > 2 && !n.inputs[2].empty();
      identity = !mask_used && !training;
    }
    if (!identity || is_graph_output(g, n.outputs[0]) || captured.count(n.outputs[0])) {
      kept.push_back(std::move(n));
      continue;
    }
    std::string src = n.inputs[0];
    while (alias.count(src)) src = alias[src];
    alias[n.outputs[0]] = src;
    ++removed;
  }
  for (auto& n : kept)
    for (auto& in : n.inputs) {
      auto it = alias.find(in);
      if (it != alias.end()) {
        std::string src = it->second;
        while (alias.count(src)) src = alias[src];
        in = src;
      }
    }
  g.nodes = std::move(kept);
  return removed;
}

size_t drop_initializer_inputs(Graph& g) {
  size_t before = g.inputs.size();
  g.inputs.erase(std::remove_if(g.inputs.begin(), g.inputs.end(), [&](const ValueInfo& v) { return g.initializers.count(v.name) > 0; }),
                 g.inputs.end());
  return before - g.inputs.size();
}

}  // namespace ptq
