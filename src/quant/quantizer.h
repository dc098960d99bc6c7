// Phase one (build_plan: rules mark tensors) and phase two (rewrite_qdq: emit Q/DQ) of
// quantization, plus the summary the report needs.
#pragma once
#include <map>
#include <set>
#include <string>
#include <vector>

#include "calib/tensor_stats.h"
#include "onnx_io/model.h"
#include "quant/op_rules.h"
#include "quant/options.h"
#include "quant/plan.h"
#include "quant/qparams.h"

namespace ptq {

// Runs every node's rule (to a fixed point, so data-movement ops see their producers' marks).
// Nodes excluded by options or without a rule are recorded as float with a reason.
QuantPlan build_plan(const Model& model, const QuantOptions& opts, const std::map<std::string, DType>& dtypes,
                     const RuleRegistry& rules);

// The values any quantization plan of this model can give a calibration range: the activations
// build_plan marks with every value taken as float32, no node excluded, activations not
// weight-only. Calibration observes only these (a Conv output that only a Relu reads is not
// among them, so the executor may fuse the pair); statistics saved from them serve every option.
std::set<std::string> tensors_needing_ranges(const Model& model, const RuleRegistry& rules);

struct QuantizedTensorInfo {
  std::string name;
  std::string kind;  // "activation", "weight", "bias", "constant"
  Range range;       // calibration range (activations) or value range (weights, per-tensor view)
  std::vector<float> scales;
  std::vector<int32_t> zero_points;
  int64_t axis = -1;
  DType type = DType::Undefined;
};

struct QuantizeSummary {
  std::vector<QuantizedTensorInfo> tensors;
  std::vector<FloatNode> float_nodes;
  int64_t opset_before = 0, opset_after = 0;
  size_t q_nodes = 0, dq_nodes = 0;
};

// Calibration range of each activation, by tensor name (see calib/range.h).
using RangeMap = std::map<std::string, Range>;

// What choose_range needs to know from the options: method, percentile, activation type, symmetry.
RangeRequest activation_range_request(const QuantOptions& opts);

// Ranges of the plan's activations that have statistics, one tensor after the other. For many
// plans over the same statistics (sensitivity, several methods) compute them once instead, for
// every tensor and in parallel: choose_ranges(stats, activation_range_request(opts), threads).
RangeMap activation_ranges(const QuantPlan& plan, const std::map<std::string, TensorStats>& stats,
                           const QuantOptions& opts);

// Emits the QDQ model. `ranges` holds the calibration range of activations; an activation without
// one stays float ("no calibration data reached this tensor"). Sharing groups take the union of
// their members' ranges.
Model rewrite_qdq(const Model& model, const QuantPlan& plan, const RangeMap& ranges, const QuantOptions& opts,
                  QuantizeSummary* summary);
// Shorthand: rewrite_qdq(model, plan, activation_ranges(plan, stats, opts), opts, summary).
Model rewrite_qdq(const Model& model, const QuantPlan& plan, const std::map<std::string, TensorStats>& stats,
                  const QuantOptions& opts, QuantizeSummary* summary);

}  // namespace ptq
