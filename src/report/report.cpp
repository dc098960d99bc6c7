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
  nlohmann::json outs = nlohmann::json::array();
  for (const auto& [name, m] : r.outputs) {
    nlohmann::json o = metrics_json(m);
    o["name"] = name;
    outs.push_back(o);
  }
  j["outputs"] = outs;
  nlohmann::json tensors = nlohmann::json::array();
  for (const auto& t : r.summary.tensors) {
    tensors.push_back({{"name", t.name}, {"kind", t.kind}, {"type", dtype_name(t.type)}, {"axis", t.axis},
                       {"range", {json_number(t.range.lo), json_number(t.range.hi)}},
                       {"scales", t.scales.size() == 1 ? nlohmann::json(t.scales[0]) : nlohmann::json(t.scales)},
                       {"zero_points", t.zero_points.size() == 1 ? nlohmann::json(t.zero_points[0]) : nlohmann::json(t.zero_points)}});
  }
  j["quantized_tensors"] = tensors;
  nlohmann::json fl = nlohmann::json::array();
  for (const auto& f : r.summary.float_nodes) fl.push_back({{"node", f.node}, {"op_type", f.op_type}, {"reason", f.reason}});
  j["left_in_float"] = fl;
  j["counts"] = {{"quantize_linear", r.summary.q_nodes}, {"dequantize_linear", r.summary.dq_nodes}};
  return j;
}

std::string report_to_text(const Report& r) {
  std::string s = fmt::format("quantized {} -> {} ({} -> {} bytes), {} Q / {} DQ nodes, {} node(s) left in float\n",
                              r.model_path, r.output_path, r.model_bytes, r.output_bytes, r.summary.q_nodes,
                              r.summary.dq_nodes, r.summary.float_nodes.size());
  s += fmt::format("calibration: {} samples ({}) in {:.2f} s; evaluation on {} samples\n", r.calib_samples,
                   calib_method_name(r.options.method), r.calib_seconds, r.eval_samples);
  for (const auto& [name, m] : r.outputs) {
    s += fmt::format("output '{}': SQNR {:.2f} dB, cosine {:.6f}, max abs error {:.4g}", name, m.sqnr_db, m.cosine, m.max_abs_error);
    if (m.classification) s += fmt::format(", top-1 agreement {:.2f}%", 100 * m.top1_agreement);
    if (m.has_labels) s += fmt::format(", top-1 float {:.2f}% / quantized {:.2f}%", 100 * m.top1_float, 100 * m.top1_quant);
    s += "\n";
  }
  return s;
}

}  // namespace ptq
