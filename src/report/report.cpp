#include "report/report.h"

#include <cmath>

#include <fmt/format.h>

namespace ptq {

nlohmann::json json_number(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  return v;
}

namespace {

nlohmann::json metrics_json(const OutputMetrics& m) {
  nlohmann::json j{{"sqnr_db", json_number(m.sqnr_db)}, {"cosine", json_number(m.cosine)},     {"mse", json_number(m.mse)},
                   {"max_abs_error", json_number(m.max_abs_error)}, {"rel_l2", json_number(m.rel_l2)}};
  if (m.classification) {
    j["rows"] = m.rows;
    j["top1_agreement"] = m.top1_agreement;
    j["top5_agreement"] = m.top5_agreement;
  }
  if (m.has_labels) {
    j["top1_float"] = m.top1_float;
    j["top1_quantized"] = m.top1_quant;
  }
  return j;
}

void add_tensor_metrics(nlohmann::json& t, const TensorMetrics& m) {
  t["values"] = m.count;
  t["clipped"] = m.clipped;
  t["clip_rate"] = json_number(m.clip_rate);
  t["representable"] = {json_number(m.repr_lo), json_number(m.repr_hi)};
  t["local_sqnr_db"] = json_number(m.local_sqnr_db);
  if (m.has_accumulated) t["accumulated_sqnr_db"] = json_number(m.accumulated_sqnr_db);
  const LayerHistogram& h = m.histogram;
  t["histogram"] = {{"lo", json_number(h.lo)}, {"hi", json_number(h.hi)}, {"counts", h.counts},
                    {"underflow", h.underflow}, {"overflow", h.overflow}};
}

nlohmann::json named_outputs_json(const std::vector<std::pair<std::string, OutputMetrics>>& outputs) {
  nlohmann::json outs = nlohmann::json::array();
  for (const auto& [name, m] : outputs) {
    nlohmann::json o = metrics_json(m);
    o["name"] = name;
    outs.push_back(o);
  }
  return outs;
}

nlohmann::json method_selection_json(const Report& r) {
  nlohmann::json cands = nlohmann::json::array();
  for (const auto& c : r.method_candidates)
    cands.push_back({{"method", calib_method_name(c.method)}, {"score_db", json_number(c.score_db)},
                     {"outputs", named_outputs_json(c.outputs)}});
  return {{"criterion", "highest lowest-output SQNR (dB); ties go to the method listed first"},
          {"chosen", calib_method_name(r.options.method)},
          {"candidates", cands}};
}

nlohmann::json options_json(const QuantOptions& o) {
  return {{"scheme", weight_scheme_name(o.scheme)},
          {"block_size", o.block_size},
          {"activation_type", dtype_name(o.activation_type)},
          {"weight_type", dtype_name(o.weight_type)},
          {"activation_symmetric", o.activation_symmetric},
          {"weight_symmetric", o.weight_symmetric},
          {"method", calib_method_name(o.method)}};
}

}  // namespace

nlohmann::json report_to_json(const Report& r) {
  nlohmann::json j;
  j["schema_version"] = kReportSchemaVersion;
  j["tool"] = {{"name", "onnx-ptq"}, {"version", r.tool_version}};
  j["model"] = {{"input", r.model_path}, {"output", r.output_path}, {"input_bytes", r.model_bytes}, {"output_bytes", r.output_bytes},
                {"opset_before", r.summary.opset_before}, {"opset_after", r.summary.opset_after}};
  j["options"] = options_json(r.options);
  j["calibration"] = {{"dir", r.calib_dir}, {"layout", r.calib_layout}, {"samples", r.calib_samples}, {"seconds", r.calib_seconds}};
  j["evaluation"] = {{"dir", r.eval_dir}, {"samples", r.eval_samples}};
  j["outputs"] = named_outputs_json(r.outputs);
  if (!r.method_candidates.empty()) j["method_selection"] = method_selection_json(r);
  nlohmann::json tensors = nlohmann::json::array();
  for (const auto& t : r.summary.tensors) {
    tensors.push_back({{"name", t.name}, {"kind", t.kind}, {"type", dtype_name(t.type)}, {"axis", t.axis},
                       {"range", {json_number(t.range.lo), json_number(t.range.hi)}},
                       {"scales", t.scales.size() == 1 ? nlohmann::json(t.scales[0]) : nlohmann::json(t.scales)},
                       {"zero_points", t.zero_points.size() == 1 ? nlohmann::json(t.zero_points[0]) : nlohmann::json(t.zero_points)}});
    size_t i = tensors.size() - 1;
    if (i < r.tensor_metrics.size() && r.tensor_metrics[i].name == t.name) add_tensor_metrics(tensors.back(), r.tensor_metrics[i]);
  }
  j["quantized_tensors"] = tensors;
  nlohmann::json fl = nlohmann::json::array();
  for (const auto& f : r.summary.float_nodes) fl.push_back({{"node", f.node}, {"op_type", f.op_type}, {"reason", f.reason}});
  j["left_in_float"] = fl;
  j["counts"] = {{"quantize_linear", r.summary.q_nodes}, {"dequantize_linear", r.summary.dq_nodes}};
  nlohmann::json worst = nlohmann::json::array();
  for (const auto& m : worst_layers(r.tensor_metrics, kWorstLayers))
    worst.push_back({{"name", m.name}, {"accumulated_sqnr_db", json_number(m.accumulated_sqnr_db)},
                     {"local_sqnr_db", json_number(m.local_sqnr_db)}, {"clip_rate", json_number(m.clip_rate)}});
  j["worst_layers"] = worst;
  nlohmann::json sens = nlohmann::json::array();
  for (const auto& e : r.sensitivity) sens.push_back({{"node", e.node}, {"op_type", e.op_type}, {"sqnr_db", json_number(e.sqnr_db)}});
  j["sensitivity"] = sens;
  if (r.has_target) {
    nlohmann::json steps = nlohmann::json::array();
    for (const auto& st : r.target_steps) {
      nlohmann::json o{{"float_nodes", st.float_nodes}, {"sqnr_db", json_number(st.sqnr_db)}};
      if (st.has_top1) o["top1_drop"] = json_number(st.top1_drop);
      steps.push_back(o);
    }
    j["target"] = {{"sqnr_db", json_number(r.target_sqnr_db)},
                   {"max_top1_drop", r.target_top1_drop >= 0 ? json_number(r.target_top1_drop) : nlohmann::json(nullptr)},
                   {"met", r.target_met},
                   {"kept_float", r.target_steps.empty() ? nlohmann::json::array() : nlohmann::json(r.target_steps.back().float_nodes)},
                   {"steps", steps}};
  }
  return j;
}

std::string report_to_text(const Report& r) {
  std::string s = fmt::format("quantized {} -> {} ({} -> {} bytes), {} Q / {} DQ nodes, {} node(s) left in float\n",
                              r.model_path, r.output_path, r.model_bytes, r.output_bytes, r.summary.q_nodes,
                              r.summary.dq_nodes, r.summary.float_nodes.size());
  s += fmt::format("calibration: {} samples ({}) in {:.2f} s; evaluation on {} samples\n", r.calib_samples,
                   calib_method_name(r.options.method), r.calib_seconds, r.eval_samples);
  for (const auto& c : r.method_candidates) {
    s += fmt::format("method {}: lowest output SQNR {:.2f} dB", calib_method_name(c.method), c.score_db);
    if (!c.outputs.empty() && c.outputs[0].second.has_labels) s += fmt::format(", top-1 quantized {:.2f}%", 100 * c.outputs[0].second.top1_quant);
    s += c.method == r.options.method ? " (chosen)\n" : "\n";
  }
  for (const auto& [name, m] : r.outputs) {
    s += fmt::format("output '{}': SQNR {:.2f} dB, cosine {:.6f}, max abs error {:.4g}", name, m.sqnr_db, m.cosine, m.max_abs_error);
    if (m.classification) s += fmt::format(", top-1 agreement {:.2f}%", 100 * m.top1_agreement);
    if (m.has_labels) s += fmt::format(", top-1 float {:.2f}% / quantized {:.2f}%", 100 * m.top1_float, 100 * m.top1_quant);
    s += "\n";
  }
  auto worst = worst_layers(r.tensor_metrics, 3);
  for (const auto& m : worst)
    s += fmt::format("worst layer '{}': accumulated SQNR {:.2f} dB, local {:.2f} dB, clipped {:.3f}%\n", m.name,
                     m.accumulated_sqnr_db, m.local_sqnr_db, 100 * m.clip_rate);
  for (size_t i = 0; i < r.sensitivity.size() && i < 3; ++i)
    s += fmt::format("sensitive layer '{}' ({}): output SQNR {:.2f} dB when quantized alone\n", r.sensitivity[i].node,
                     r.sensitivity[i].op_type, r.sensitivity[i].sqnr_db);
  if (r.has_target)
    s += fmt::format("accuracy target {}: {} node(s) kept in float\n", r.target_met ? "met" : "NOT met",
                     r.target_steps.empty() ? 0 : r.target_steps.back().float_nodes.size());
  return s;
}

}  // namespace ptq
