// Accuracy gates for CI (`--min-sqnr`, `--max-top1-drop`): checked after the model and the report
// are written; a failed gate makes the run exit with kGateExitCode.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "report/report.h"

namespace ptq {

constexpr int kGateExitCode = 5;

struct AccuracyGates {
  std::optional<double> min_sqnr_db;    // every output's SQNR must be >= this
  std::optional<double> max_top1_drop;  // percentage points: top1_float - top1_quant (needs --labels)
  bool any() const { return min_sqnr_db || max_top1_drop; }
};

struct GateResult {
  std::string gate;    // "min_sqnr_db" | "max_top1_drop"
  std::string output;  // model output name
  double value = 0;    // measured (SQNR in dB, drop in percentage points)
  double limit = 0;
  bool passed = false;
};

// One result per (gate, output). Throws Error(Usage) when a gate cannot be evaluated (no evaluation,
// or --max-top1-drop without labels / without a classification output).
std::vector<GateResult> check_gates(const Report& r, const AccuracyGates& g);
bool all_passed(const std::vector<GateResult>& results);
std::string gate_to_text(const GateResult& g);

}  // namespace ptq
