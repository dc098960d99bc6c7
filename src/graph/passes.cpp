#include "graph/passes.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "graph/graph_utils.h"

namespace ptq {

size_t constants_to_initializers(Graph& g) {
  size_t moved = 0;
  std::vector<Node> kept;
  kept.reserve(g.nodes.size());
  for (auto& n : g.nodes) {
    Tensor t = constant_node_value(n);
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

namespace {

// Float32 initializer or nullptr.
const Tensor* float_init(const Graph& g, const std::string& name) {
  const Tensor* t = name.empty() ? nullptr : g.find_initializer(name);
  return t && t->dtype() == DType::Float32 ? t : nullptr;
}

// Channel of each weight element along the output-channel dimension (see fold_batchnorm).
// Returns an empty vector when the layout is not one we fold.
std::vector<int64_t> weight_channels(const Node& n, const Tensor& w, int64_t channels) {
  std::vector<int64_t> ch(static_cast<size_t>(w.numel()));
  if (n.op_type == "Conv") {
    if (w.rank() < 3 || w.dim(0) != channels) return {};
    int64_t inner = w.numel() / channels;
    for (int64_t i = 0; i < w.numel(); ++i) ch[static_cast<size_t>(i)] = i / inner;
  } else if (n.op_type == "ConvTranspose") {
    // W: [C_in, C_out / group, k...]; output channel = group index * (C_out / group) + j.
    int64_t group = n.attr_int("group", 1);
    if (w.rank() < 3 || group <= 0 || w.dim(0) % group != 0 || w.dim(1) * group != channels) return {};
    int64_t per_out = w.dim(1), in_per_group = w.dim(0) / group, inner = w.numel() / (w.dim(0) * w.dim(1));
    for (int64_t i = 0; i < w.numel(); ++i) {
      int64_t ic = i / (per_out * inner), j = (i / inner) % per_out;
      ch[static_cast<size_t>(i)] = (ic / in_per_group) * per_out + j;
    }
  } else if (n.op_type == "Gemm") {
    bool tb = n.attr_int("transB", 0) != 0;
    if (w.rank() != 2 || (tb ? w.dim(0) : w.dim(1)) != channels) return {};
    for (int64_t i = 0; i < w.numel(); ++i) ch[static_cast<size_t>(i)] = tb ? i / w.dim(1) : i % w.dim(1);
  } else {
    return {};
  }
  return ch;
}

// Folds one BN into its producer; false (graph untouched) when a precondition fails.
bool fold_one_bn(Graph& g, Node& prod, const Node& bn, NameGenerator& names) {
  if (bn.outputs.size() != 1 && !(bn.outputs.size() > 1 && std::all_of(bn.outputs.begin() + 1, bn.outputs.end(),
                                                                          [](const std::string& o) { return o.empty(); })))
    return false;
  if (bn.attr_int("training_mode", 0) != 0) return false;
  const Tensor *gamma = float_init(g, bn.input(1)), *beta = float_init(g, bn.input(2)), *mean = float_init(g, bn.input(3)),
               *var = float_init(g, bn.input(4)), *w = float_init(g, prod.input(1));
  if (!gamma || !beta || !mean || !var || !w) return false;
  int64_t c = gamma->numel();
  if (beta->numel() != c || mean->numel() != c || var->numel() != c) return false;
  if (prod.op_type == "Gemm" && (prod.attr_int("transA", 0) != 0 || prod.outputs.size() != 1)) return false;
  std::vector<int64_t> ch = weight_channels(prod, *w, c);
  if (ch.empty()) return false;
  const Tensor* b = nullptr;
  float beta_gemm = prod.op_type == "Gemm" ? prod.attr_float("beta", 1.f) : 1.f;
  if (!prod.input(2).empty()) {
    b = float_init(g, prod.input(2));
    if (!b || b->numel() != c || (b->rank() == 2 && b->dim(0) != 1) || b->rank() > 2) return false;
  }
  float eps = bn.attr_float("epsilon", 1e-5f);
  std::vector<float> s(static_cast<size_t>(c)), nb(static_cast<size_t>(c));
  for (int64_t k = 0; k < c; ++k) {
    size_t i = static_cast<size_t>(k);
    s[i] = gamma->data<float>()[k] / std::sqrt(var->data<float>()[k] + eps);
    float b0 = b ? beta_gemm * b->data<float>()[k] : 0.f;
    nb[i] = (b0 - mean->data<float>()[k]) * s[i] + beta->data<float>()[k];
  }
  Tensor nw(DType::Float32, w->shape());
  for (int64_t i = 0; i < w->numel(); ++i) nw.data<float>()[i] = w->data<float>()[i] * s[static_cast<size_t>(ch[static_cast<size_t>(i)])];
  std::string wname = names.make(prod.input(1) + "_bnfold"), bname = names.make(bn.outputs[0] + "_bias_bnfold");
  g.initializers[wname] = nw;
  g.initializers[bname] = Tensor::from_vector<float>(nb, {c});
  prod.inputs.resize(3);
  prod.inputs[1] = wname;
  prod.inputs[2] = bname;
  if (prod.op_type == "Gemm") prod.set_attr(Attribute::make_float("beta", 1.f));
  prod.outputs[0] = bn.outputs[0];
  return true;
}

}  // namespace

size_t fold_batchnorm(Graph& g) {
  auto consumers = consumer_map(g);
  auto producers = producer_map(g);
  NameGenerator names(g);
  std::set<size_t> dropped;
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const Node& bn = g.nodes[i];
    if (bn.op_type != "BatchNormalization" || !bn.domain.empty() || bn.inputs.size() < 5) continue;
    auto p = producers.find(bn.inputs[0]);
    if (p == producers.end()) continue;
    Node& prod = g.nodes[p->second];
    bool kind = prod.domain.empty() && (prod.op_type == "Conv" || prod.op_type == "ConvTranspose" || prod.op_type == "Gemm");
    if (!kind || dropped.count(p->second) || prod.outputs[0] != bn.inputs[0]) continue;
    const auto& uses = consumers[bn.inputs[0]];
    if (uses.size() != 1 || is_graph_output(g, bn.inputs[0])) continue;
    if (fold_one_bn(g, prod, bn, names)) dropped.insert(i);
  }
  std::vector<Node> kept;
  for (size_t i = 0; i < g.nodes.size(); ++i)
    if (!dropped.count(i)) kept.push_back(std::move(g.nodes[i]));
  g.nodes = std::move(kept);
  return dropped.size();
}

namespace {

void upgrade_graph_to_21(Graph& g, int64_t from, NameGenerator& names) {
  static const std::set<std::string> reduce_axes_attr = {"ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd",
                                                         "ReduceL1", "ReduceL2", "ReduceLogSum", "ReduceLogSumExp",
                                                         "ReduceSumSquare"};
  for (auto& n : g.nodes) {
    for (auto& a : n.attrs) {
      if (a.g) upgrade_graph_to_21(*a.g, from, names);
      for (auto& sg : a.graphs) upgrade_graph_to_21(*sg, from, names);
    }
    if (!n.domain.empty() && n.domain != "ai.onnx") continue;
    if (from < 18 && reduce_axes_attr.count(n.op_type)) {
      const Attribute* axes = n.find_attr("axes");
      if (!axes) continue;
      std::string name = names.make((n.name.empty() ? n.outputs[0] : n.name) + "_axes");
      g.initializers[name] = Tensor::from_vector<int64_t>(axes->ints, {static_cast<int64_t>(axes->ints.size())});
      n.inputs.resize(1);
      n.inputs.push_back(name);
      n.attrs.erase(std::remove_if(n.attrs.begin(), n.attrs.end(), [](const Attribute& x) { return x.name == "axes"; }), n.attrs.end());
    } else if (from < 18 && n.op_type == "Split" && n.input(1).empty()) {
      n.set_attr(Attribute::make_int("num_outputs", static_cast<int64_t>(n.outputs.size())));
    } else if (from < 20 && n.op_type == "GridSample") {
      std::string mode = n.attr_string("mode", "bilinear");
      n.set_attr(Attribute::make_string("mode", mode == "bilinear" ? "linear" : mode == "bicubic" ? "cubic" : mode));
    } else if ((from < 20 && n.op_type == "DFT") || n.op_type == "GroupNormalization") {
      fail(ErrorKind::Unsupported, "cannot raise node {} from opset {} to 21: its signature changed and is not adapted",
           n.label(), from);
    }
  }
}

}  // namespace

void upgrade_opset_to_21(Model& m) {
  int64_t from = m.opset();
  if (from >= 21) return;
  if (from < 17) internal_error("upgrade_opset_to_21 expects opset 17..20, got {}", from);
  NameGenerator names(m.graph);
  upgrade_graph_to_21(m.graph, from, names);
  m.set_opset("", 21);
  m.ir_version = std::max<int64_t>(m.ir_version, 10);
}

size_t remove_unused_initializers(Graph& g) {
  std::set<std::string> used;
  for (const auto& n : g.nodes) {
    for (const auto& in : n.inputs) used.insert(in);
    for (const auto& a : n.attrs) {
      if (a.g) for (const auto& c : captured_names(*a.g)) used.insert(c);
      for (const auto& sg : a.graphs) for (const auto& c : captured_names(*sg)) used.insert(c);
    }
  }
  for (const auto& o : g.outputs) used.insert(o.name);
  for (const auto& in : g.inputs) used.insert(in.name);  // an overridable input keeps its default
  size_t removed = 0;
  for (auto it = g.initializers.begin(); it != g.initializers.end();) {
    if (used.count(it->first)) {
      ++it;
      continue;
    }
    it = g.initializers.erase(it);
    ++removed;
  }
  return removed;
}

}  // namespace ptq
