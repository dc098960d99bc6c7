// Calibration ranges for a method, the final QDQ model of a job, and `--method a,b,...`: from the
// one set of statistics, each listed method's model is built exactly as a run with that method
// alone builds it (bias correction included), all are evaluated in one pass over the evaluation
// set, and the method whose model has the highest score wins. Score: the lowest SQNR over the
// model's outputs (NaN counts as -inf), so no output is traded for another; a tie goes to the
// method listed first. The accuracy target (--sensitivity / --target-sqnr) then runs on the
// winner, as it would with --method WINNER.
#pragma once
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "app/sensitivity.h"

namespace ptq {

// The range of every tensor with statistics for opts' method (kl/mse searches over `threads`
// OpenMP threads; the result does not depend on the count). Empty for weight-only quantization.
// Logs the search time (debug).
RangeMap compute_activation_ranges(const std::map<std::string, TensorStats>& stats, const QuantOptions& opts, int threads,
                                   JobObserver& obs);

// The QDQ model of ctx.model with the job's options and `extra_float` kept in float; with
// job.bias_correction the float biases are corrected first (app/bias_correction.h).
Model quantize_model(const QuantizeContext& ctx, const QuantizeJob& job, const std::set<std::string>& extra_float,
                     QuantizeSummary* summary, JobObserver& obs);

// The selection score of a candidate's outputs.
double selection_score(const std::vector<std::pair<std::string, OutputMetrics>>& outputs);

struct MethodSelection {
  size_t chosen = 0;                       // index into job.methods
  std::vector<MethodCandidate> candidates;  // one per job.methods entry
  RangeMap ranges;                          // the chosen method's ranges
};

// ctx.ranges is ignored (each method has its own). Needs job.methods (>= 2) and the evaluation.
MethodSelection select_method(const QuantizeContext& ctx, const QuantizeJob& job, JobObserver& obs);

}  // namespace ptq
