#include "app/inspect.h"

#include <cstring>
#include <filesystem>
#include <map>

#include <fmt/format.h>

#include "app/prepare.h"
#include "core/error.h"
#include "data/sample_source.h"
#include "exec/executor.h"
#include "onnx_io/model_io.h"
#include "quant/quantizer.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace ptq {

namespace {

class DTypeObserver : public ValueObserver {
 public:
  std::map<std::string, DType> dtypes;
  void on_value(const std::string& name, const Tensor& v, const Node*) override { dtypes[name] = v.dtype(); }
};

json shape_json(const ValueInfo& v) {
  if (!v.has_shape) return nullptr;
  json s = json::array();
  for (const auto& d : v.shape) {
    if (d.value >= 0) s.push_back(d.value);
    else s.push_back(d.param.empty() ? "?" : d.param);
  }
  return s;
}

json values_json(const std::vector<const ValueInfo*>& vs) {
  json a = json::array();
  for (const auto* v : vs) a.push_back({{"name", v->name}, {"dtype", dtype_name(v->dtype)}, {"shape", shape_json(*v)}});
  return a;
}

void count_ops(const Graph& g, std::map<std::string, size_t>& ops, json& weights) {
  for (const auto& n : g.nodes) {
    ops[n.domain.empty() ? n.op_type : n.domain + "." + n.op_type]++;
    if (n.op_type == "Constant" && n.domain.empty()) {
      if (const Attribute* a = n.find_attr("value"); a && a->type == AttrType::Tensor) {
        weights["constant_nodes"] = weights["constant_nodes"].get<size_t>() + 1;
        weights["constant_parameters"] = weights["constant_parameters"].get<int64_t>() + a->t.numel();
        weights["constant_bytes"] = weights["constant_bytes"].get<size_t>() + a->t.nbytes();
      }
    }
    for (const auto& a : n.attrs) {
      if (a.g) count_ops(*a.g, ops, weights);
      for (const auto& sg : a.graphs) count_ops(*sg, ops, weights);
    }
  }
}

std::map<std::string, DType> declared_dtypes(const Model& m) {
  std::map<std::string, DType> d;
  const Graph& g = m.graph;
  for (const auto* vs : {&g.inputs, &g.outputs, &g.value_info})
    for (const auto& v : *vs)
      if (v.dtype != DType::Undefined) d[v.name] = v.dtype;
  for (const auto& [name, t] : g.initializers) d[name] = t.dtype();
  return d;
}

// dtypes from one forward pass (first calibration sample, or zeros); source names what was used.
std::map<std::string, DType> observed_dtypes(const Model& m, const InspectOptions& o, std::string& source) {
  KernelRegistry reg = make_default_registry();
  Executor exec(m, reg, {o.threads});
  std::map<std::string, Tensor> inputs;
  if (!o.calib_dir.empty()) {
    SourceOptions so;
    so.max_samples = 1;
    auto src = SampleSource::open(o.calib_dir, exec.inputs(), so);
    if (src->size() == 0) bad_input("calibration folder '{}' holds no samples", o.calib_dir);
    Sample s = src->load(0);
    inputs = std::move(s.inputs);
    source = "first calibration sample (" + s.id + ")";
  } else {
    for (const auto* v : exec.inputs()) {
      if (!v->has_shape) unsupported("input '{}' has no declared shape", v->name);
      Shape shape;
      for (const auto& d : v->shape) shape.push_back(d.value >= 0 ? d.value : 1);
      Tensor t(v->dtype, shape);
      std::memset(t.raw(), 0, t.nbytes());
      inputs[v->name] = t;
    }
    source = "one forward pass on zero-filled inputs (dynamic dims = 1)";
  }
  DTypeObserver obs;
  exec.run(inputs, &obs);
  std::map<std::string, DType> d = declared_dtypes(m);
  for (const auto& [k, v] : obs.dtypes) d[k] = v;
  return d;
}

json plan_json(const Model& original, const InspectOptions& o, bool runnable) {
  json q;
  q["options"] = {{"scheme", weight_scheme_name(o.qopts.scheme)},
                  {"activation_type", dtype_name(o.qopts.activation_type)},
                  {"weight_type", dtype_name(o.qopts.weight_type)}};
  Model model = prepare_for_quantization(original, o.qopts, nullptr);
  std::string source = "declared types (value_info, inputs, outputs, initializers)";
  std::map<std::string, DType> dtypes;
  std::string pass_error;
  if (runnable) {
    try {
      dtypes = observed_dtypes(model, o, source);
    } catch (const Error& e) {
      if (!o.calib_dir.empty()) throw;  // a bad calibration folder is the user's error
      pass_error = e.what();
    }
  }
  if (dtypes.empty()) {
    dtypes = declared_dtypes(model);
    source = "declared types (value_info, inputs, outputs, initializers)";
  }
  q["dtype_source"] = source;
  if (!pass_error.empty()) q["forward_pass_error"] = pass_error;
  QuantPlan plan = build_plan(model, o.qopts, dtypes, make_default_rules());
  std::map<std::string, const FloatNode*> floats;
  for (const auto& f : plan.float_nodes()) floats[f.node] = &f;
  json quantized = json::array(), kept = json::array();
  auto marked = [&](const std::string& t) {
    return !t.empty() && (plan.is_activation(t) || plan.is_weight(t) || plan.constant_activations().count(t) ||
                          plan.biases().count(t));
  };
  for (const auto& n : model.graph.nodes) {
    std::string name = n.name.empty() ? (n.outputs.empty() ? "" : n.outputs[0]) : n.name;
    auto f = floats.find(name);
    bool any = false;
    for (const auto& in : n.inputs) any = any || marked(in);
    for (const auto& out : n.outputs) any = any || marked(out);  // e.g. a Relu fused into its Conv
    if (f == floats.end() && any) {
      quantized.push_back({{"node", name}, {"op_type", n.op_type}});
    } else {
      std::string reason = f != floats.end() ? f->second->reason : "no input or output is a quantized float tensor";
      kept.push_back({{"node", name}, {"op_type", n.op_type}, {"reason", reason}});
    }
  }
  q["quantized_nodes"] = quantized;
  q["float_nodes"] = kept;
  q["quantized_weights"] = plan.weights().size();
  q["quantized_activations"] = plan.activations().size();
  return q;
}

}  // namespace

json inspect_model(const InspectOptions& o) {
  Model m = load_model(o.model_path);
  json j;
  std::error_code ec;
  j["model"] = {{"path", o.model_path}, {"bytes", fs::file_size(o.model_path, ec)}, {"ir_version", m.ir_version},
                {"producer", m.producer_name + (m.producer_version.empty() ? "" : " " + m.producer_version)}};
  json opsets = json::array();
  for (const auto& op : m.opsets) opsets.push_back({{"domain", op.domain.empty() ? "ai.onnx" : op.domain}, {"version", op.version}});
  j["opsets"] = opsets;
  j["inputs"] = values_json(m.graph.runtime_inputs());
  std::vector<const ValueInfo*> outs;
  for (const auto& v : m.graph.outputs) outs.push_back(&v);
  j["outputs"] = values_json(outs);
  std::map<std::string, size_t> ops;
  json weights = {{"initializers", m.graph.initializers.size()}, {"initializer_parameters", 0}, {"initializer_bytes", 0},
                  {"constant_nodes", 0}, {"constant_parameters", 0}, {"constant_bytes", 0}};
  int64_t params = 0;
  size_t bytes = 0;
  for (const auto& [name, t] : m.graph.initializers) {
    params += t.numel();
    bytes += t.nbytes();
  }
  weights["initializer_parameters"] = params;
  weights["initializer_bytes"] = bytes;
  count_ops(m.graph, ops, weights);
  j["op_counts"] = ops;
  j["weights"] = weights;
  std::vector<std::string> unsupported_nodes = find_unsupported_nodes(m, make_default_registry());
  j["unsupported_nodes"] = unsupported_nodes;
  json meta = json::object();
  for (const auto& [k, v] : m.metadata) meta[k] = v;
  j["metadata"] = meta;
  try {
    j["quantization"] = plan_json(m, o, unsupported_nodes.empty());
  } catch (const Error& e) {
    if (!o.calib_dir.empty()) throw;
    j["quantization"] = {{"error", e.what()}};
  }
  return j;
}

std::string inspect_to_text(const json& j) {
  std::string s = fmt::format("model {} ({} bytes, IR {}, producer '{}')\n", j["model"]["path"].get<std::string>(),
                              j["model"]["bytes"].get<uint64_t>(), j["model"]["ir_version"].get<int64_t>(),
                              j["model"]["producer"].get<std::string>());
  s += "opsets:";
  for (const auto& o : j["opsets"]) s += fmt::format(" {} {}", o["domain"].get<std::string>(), o["version"].get<int64_t>());
  s += "\n";
  for (const char* side : {"inputs", "outputs"}) {
    s += fmt::format("{}:\n", side);
    for (const auto& v : j[side]) s += fmt::format("  {} {} {}\n", v["name"].get<std::string>(), v["dtype"].get<std::string>(),
                                                   v["shape"].is_null() ? "(no shape)" : v["shape"].dump());
  }
  s += "ops:";
  for (const auto& [op, n] : j["op_counts"].items()) s += fmt::format(" {} x{}", op, n.get<size_t>());
  s += "\n";
  const json& w = j["weights"];
  s += fmt::format("weights: {} initializers ({} parameters, {} bytes); {} Constant nodes ({} parameters, {} bytes)\n",
                   w["initializers"].get<size_t>(), w["initializer_parameters"].get<int64_t>(),
                   w["initializer_bytes"].get<size_t>(), w["constant_nodes"].get<size_t>(),
                   w["constant_parameters"].get<int64_t>(), w["constant_bytes"].get<size_t>());
  if (j["unsupported_nodes"].empty()) s += "unsupported ops: none\n";
  for (const auto& u : j["unsupported_nodes"]) s += fmt::format("unsupported: {}\n", u.get<std::string>());
  for (const auto& [k, v] : j["metadata"].items()) s += fmt::format("metadata {} = {}\n", k, v.get<std::string>());
  const json& q = j["quantization"];
  if (q.contains("error")) return s + fmt::format("quantization: cannot plan ({})\n", q["error"].get<std::string>());
  s += fmt::format("quantization ({} {} / {} weights): {} node(s) quantized, {} left in float; dtypes from {}\n",
                   q["options"]["scheme"].get<std::string>(), q["options"]["activation_type"].get<std::string>(),
                   q["options"]["weight_type"].get<std::string>(), q["quantized_nodes"].size(), q["float_nodes"].size(),
                   q["dtype_source"].get<std::string>());
  if (q.contains("forward_pass_error")) s += fmt::format("  (forward pass failed: {})\n", q["forward_pass_error"].get<std::string>());
  for (const auto& n : q["quantized_nodes"]) s += fmt::format("  quantized {} ({})\n", n["node"].get<std::string>(), n["op_type"].get<std::string>());
  for (const auto& n : q["float_nodes"])
    s += fmt::format("  float     {} ({}): {}\n", n["node"].get<std::string>(), n["op_type"].get<std::string>(), n["reason"].get<std::string>());
  return s;
}

}  // namespace ptq
