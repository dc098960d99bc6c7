// Sensitivity-driven mixed precision:
//  - measure_sensitivity: quantize one node at a time (all others float, via the exclude mechanism)
//    and measure the lowest output SQNR on the evaluation set; most sensitive (lowest SQNR) first.
//  - search_float_nodes: keep the most sensitive nodes in float, one more per step, until
//    --target-sqnr / --max-top1-drop is met (at least one node stays quantized); returns the steps
//    (step 0: nothing extra in float).
#pragma once
#include <map>
#include <set>
#include <string>
#include <vector>

#include "app/pipeline.h"
#include "calib/tensor_stats.h"
#include "exec/kernel.h"
#include "quant/quantizer.h"
#include "report/report.h"

namespace ptq {

// What building a QDQ model with other exclusions needs (all owned by the caller).
struct QuantizeContext {
  const Model& model;
  const std::map<std::string, TensorStats>& stats;
  const std::map<std::string, DType>& dtypes;
  const RuleRegistry& rules;
  const KernelRegistry& reg;
  // Activation ranges computed once for every tensor (null: each build_qdq derives them from stats).
  const RangeMap* ranges = nullptr;
};

// The QDQ model with `extra_float` nodes excluded on top of the job's exclusions.
Model build_qdq(const QuantizeContext& ctx, const QuantizeJob& job, const std::set<std::string>& extra_float,
                QuantizeSummary* summary);

std::vector<SensitivityEntry> measure_sensitivity(const QuantizeContext& ctx, const QuantizeJob& job, JobObserver& obs);

struct TargetResult {
  bool met = false;
  std::set<std::string> float_nodes;  // nodes kept in float by the search (beyond the job's)
  std::vector<TargetStep> steps;
};

// `order`: candidate nodes, most sensitive first.
TargetResult search_float_nodes(const QuantizeContext& ctx, const QuantizeJob& job, const std::vector<SensitivityEntry>& order,
                                JobObserver& obs);

}  // namespace ptq

namespace ptq {

// Runs --sensitivity and/or the --target-sqnr / --max-top1-drop search as the job asks, records
// them in the report, and returns the nodes to keep in float (empty when no target is given).
std::set<std::string> choose_float_nodes(const QuantizeContext& ctx, const QuantizeJob& job, Report& report, JobObserver& obs);

}  // namespace ptq
