// The accuracy report: what was quantized, how, and how far the quantized model's outputs are
// from the float model's. Rendered as versioned JSON (schema in README) and a short text summary.
#pragma once
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "quant/options.h"
#include "quant/quantizer.h"
#include "report/metrics.h"

namespace ptq {

constexpr int kReportSchemaVersion = 1;

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
};

nlohmann::json report_to_json(const Report& r);
// A few lines for a terminal: per output SQNR/cosine/max error/top-1 agreement.
std::string report_to_text(const Report& r);
// JSON numbers cannot be inf/nan: such values are written as strings ("inf", "-inf", "nan").
nlohmann::json json_number(double v);

}  // namespace ptq
