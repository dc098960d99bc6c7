// The accuracy report: what was quantized, how, and how far the quantized model's outputs are
// from the float model's. Rendered as versioned JSON (schema in README) and a short text summary.
#pragma once
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "quant/options.h"
#include "quant/quantizer.h"
#include "report/layer_metrics.h"
#include "report/metrics.h"

namespace ptq {

constexpr int kReportSchemaVersion = 2;
constexpr size_t kWorstLayers = 10;

// One layer quantized alone (everything else float): the output SQNR it costs.
struct SensitivityEntry {
  std::string node, op_type;
  double sqnr_db = 0;  // lowest output SQNR with only this node quantized
};

// One step of --target-sqnr / --max-top1-drop: the nodes kept in float so far and the result.
struct TargetStep {
  std::vector<std::string> float_nodes;
  double sqnr_db = 0;
  bool has_top1 = false;
  double top1_drop = 0;  // top1_float - top1_quantized (fraction)
};

// One method of `--method a,b,...`: its model's output metrics on the evaluation set.
struct MethodCandidate {
  CalibMethod method = CalibMethod::MinMax;
  double score_db = 0;  // the selection score: the lowest SQNR over the outputs (NaN counts as -inf)
  std::vector<std::pair<std::string, OutputMetrics>> outputs;
};

struct Report {
  std::string tool_version;
  std::string model_path, output_path;
  uint64_t model_bytes = 0, output_bytes = 0;
  QuantOptions options;
  std::string calib_dir, calib_layout;
  size_t calib_samples = 0;
  double calib_seconds = 0;
  std::string eval_dir;
  size_t eval_samples = 0;
  std::vector<std::pair<std::string, OutputMetrics>> outputs;
  QuantizeSummary summary;
  std::vector<TensorMetrics> tensor_metrics;  // parallel to summary.tensors (empty without evaluation)
  std::vector<SensitivityEntry> sensitivity;  // most sensitive first (--sensitivity)
  bool has_target = false;                    // --target-sqnr / --max-top1-drop given
  double target_sqnr_db = 0, target_top1_drop = -1;
  bool target_met = false;
  std::vector<TargetStep> target_steps;
  std::vector<MethodCandidate> method_candidates;  // --method a,b,...: every candidate, as listed
};

nlohmann::json report_to_json(const Report& r);
// A few lines for a terminal: per output SQNR/cosine/max error/top-1 agreement.
std::string report_to_text(const Report& r);
// JSON numbers cannot be inf/nan: such values are written as strings ("inf", "-inf", "nan").
nlohmann::json json_number(double v);

}  // namespace ptq
