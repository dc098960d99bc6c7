#include "app/prepare.h"

#include <algorithm>
#include <set>

#include "exec/executor.h"
#include "graph/graph_utils.h"
#include "graph/passes.h"
#include "onnx_io/model_io.h"

namespace ptq {

namespace {

bool foldable(const Node& n, const Graph& g) {
  static const std::set<std::string> skip = {"RandomNormal", "RandomUniform", "RandomNormalLike", "RandomUniformLike",
                                             "Multinomial", "Bernoulli", "QuantizeLinear", "DequantizeLinear",
                                             "DynamicQuantizeLinear"};
  if (!n.domain.empty() || skip.count(n.op_type) || n.inputs.empty() || n.outputs.empty()) return false;
  for (const auto& a : n.attrs)
    if (a.g || !a.graphs.empty()) return false;
  bool any = false;
  for (const auto& in : n.inputs) {
    if (in.empty()) continue;
    if (!g.initializers.count(in)) return false;
    any = true;
  }
  for (const auto& out : n.outputs)
    if (out.empty() || is_graph_output(g, out) || g.initializers.count(out)) return false;
  return any;
}

// Runs one node on its initializer inputs; empty when the executor cannot (no kernel, bad node).
std::vector<Tensor> run_node(const Model& model, const Node& n, const KernelRegistry& reg) {
  Model mini;
  mini.ir_version = model.ir_version;
  mini.opsets = model.opsets;
  for (const auto& in : n.inputs)
    if (!in.empty()) mini.graph.initializers[in] = model.graph.initializers.at(in);
  mini.graph.nodes.push_back(n);
  for (const auto& out : n.outputs) mini.graph.outputs.push_back({out, DType::Undefined, false, {}});
  try {
    Executor ex(mini, reg);
    return ex.run({});
  } catch (const Error&) {
    return {};
  }
}

}  // namespace

size_t fold_constant_nodes(Model& model, const KernelRegistry& reg) {
  Graph& g = model.graph;
  sort_topologically(g);
  std::vector<Node> kept;
  size_t folded = 0;
  for (auto& n : g.nodes) {
    std::vector<Tensor> outs;
    int64_t in_elems = 0, out_elems = 0;
    if (foldable(n, g)) {
      outs = run_node(model, n, reg);
      for (const auto& in : n.inputs)
        if (!in.empty()) in_elems += g.initializers.at(in).numel();
      for (const auto& t : outs) out_elems += t.numel();
    }
    if (outs.empty() || outs.size() != n.outputs.size() || out_elems > std::max<int64_t>(in_elems, int64_t(1) << 16)) {
      kept.push_back(std::move(n));
      continue;
    }
    for (size_t k = 0; k < outs.size(); ++k) g.initializers[n.outputs[k]] = outs[k];
    ++folded;
  }
  g.nodes = std::move(kept);
  return folded;
}

int64_t required_opset(const QuantOptions& opts) {
  // 4-bit types and block_size on DequantizeLinear are opset 21; per-axis Q/DQ 13; per-tensor 10.
  if (is_4bit(opts.weight_type) || opts.scheme == WeightScheme::PerBlock) return 21;
  return opts.scheme == WeightScheme::PerTensor ? 10 : 13;
}

Model prepare_for_quantization(const Model& m, const QuantOptions& opts, JobObserver* obs) {
  int64_t need = required_opset(opts);
  Model model = m;
  if (model.opset() < need) {
    if (obs) obs->info(fmt::format("converting the model from opset {} to {}", model.opset(), need));
    // ONNX's converter (1.12) stops at 17; 17 -> 21 is ours (upgrade_opset_to_21).
    if (model.opset() < std::min<int64_t>(need, 17)) model = convert_opset(model, std::min<int64_t>(need, 17));
    if (need == 21) upgrade_opset_to_21(model);
  }
  Graph& g = model.graph;
  drop_initializer_inputs(g);
  constants_to_initializers(g);
  remove_identity_nodes(g);
  sort_topologically(g);
  KernelRegistry reg = make_default_registry();
  size_t consts = fold_constant_nodes(model, reg);
  size_t bns = fold_batchnorm(g);
  size_t unused = remove_unused_initializers(g);
  sort_topologically(g);
  if (obs && (consts || bns))
    obs->info(fmt::format("prepared: {} constant node(s) and {} BatchNormalization(s) folded, {} unused initializer(s) dropped",
                          consts, bns, unused));
  return model;
}

}  // namespace ptq
