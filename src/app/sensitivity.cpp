#include "app/sensitivity.h"

#include <algorithm>
#include <cmath>

#include "app/evaluate.h"
#include "core/error.h"

namespace ptq {

namespace {

// Output metrics only (no per-tensor metrics) of a QDQ model against the float model.
Report evaluate_outputs(const QuantizeContext& ctx, const Model& qmodel, const QuantizeJob& job, JobObserver& obs) {
  Report r;
  EvalOptions eo;
  eo.tensor_metrics = false;
  evaluate(ctx.model, qmodel, job, job.threads, ctx.reg, r, obs, eo);
  return r;
}

// The lowest SQNR over the outputs (what --target-sqnr / --min-sqnr must reach).
double min_sqnr(const Report& r) {
  double v = r.outputs.empty() ? std::nan("") : INFINITY;
  for (const auto& o : r.outputs) v = std::isnan(o.second.sqnr_db) ? o.second.sqnr_db : std::min(v, o.second.sqnr_db);
  return v;
}

bool meets(const QuantizeJob& job, const TargetStep& st) {
  if (!(st.sqnr_db >= job.target_sqnr_db)) return false;
  if (job.max_top1_drop >= 0 && st.has_top1 && st.top1_drop * 100.0 > job.max_top1_drop) return false;
  return true;
}

TargetStep step_of(const Report& r, const std::set<std::string>& nodes) {
  TargetStep st;
  st.float_nodes.assign(nodes.begin(), nodes.end());
  st.sqnr_db = min_sqnr(r);
  if (!r.outputs.empty() && r.outputs[0].second.has_labels) {
    st.has_top1 = true;
    st.top1_drop = r.outputs[0].second.top1_float - r.outputs[0].second.top1_quant;
  }
  return st;
}

}  // namespace

Model build_qdq(const QuantizeContext& ctx, const QuantizeJob& job, const std::set<std::string>& extra_float,
                QuantizeSummary* summary) {
  QuantOptions o = job.qopts;
  o.exclude_nodes.insert(extra_float.begin(), extra_float.end());
  QuantPlan plan = build_plan(ctx.model, o, ctx.dtypes, ctx.rules);
  QuantizeSummary local;
  QuantizeSummary* sum = summary ? summary : &local;
  if (ctx.ranges) return rewrite_qdq(ctx.model, plan, *ctx.ranges, o, sum);
  return rewrite_qdq(ctx.model, plan, ctx.stats, o, sum);
}

std::vector<SensitivityEntry> measure_sensitivity(const QuantizeContext& ctx, const QuantizeJob& job, JobObserver& obs) {
  // Candidates: nodes the full plan quantizes (not kept in float for another reason).
  QuantPlan full = build_plan(ctx.model, job.qopts, ctx.dtypes, ctx.rules);
  std::set<std::string> floats;
  for (const auto& f : full.float_nodes()) floats.insert(f.node);
  std::vector<const Node*> cands;
  std::set<std::string> all;
  for (const auto& n : ctx.model.graph.nodes) {
    if (n.name.empty()) continue;
    all.insert(n.name);
    if (!floats.count(n.name)) cands.push_back(&n);
  }
  std::vector<SensitivityEntry> out;
  for (const Node* n : cands) {
    std::set<std::string> others = all;
    others.erase(n->name);
    QuantizeSummary s;
    Model q = build_qdq(ctx, job, others, &s);
    if (s.q_nodes == 0 && s.dq_nodes == 0) continue;  // nothing of this node is quantized alone
    obs.info("sensitivity: " + n->name);
    out.push_back({n->name, n->op_type, min_sqnr(evaluate_outputs(ctx, q, job, obs))});
  }
  std::stable_sort(out.begin(), out.end(), [](const SensitivityEntry& a, const SensitivityEntry& b) {
    double x = std::isnan(a.sqnr_db) ? -INFINITY : a.sqnr_db, y = std::isnan(b.sqnr_db) ? -INFINITY : b.sqnr_db;
    return x < y;
  });
  return out;
}

TargetResult search_float_nodes(const QuantizeContext& ctx, const QuantizeJob& job, const std::vector<SensitivityEntry>& order,
                                JobObserver& obs) {
  TargetResult res;
  for (size_t k = 0;; ++k) {
    Model q = build_qdq(ctx, job, res.float_nodes, nullptr);
    res.steps.push_back(step_of(evaluate_outputs(ctx, q, job, obs), res.float_nodes));
    if (meets(job, res.steps.back())) {
      res.met = true;
      return res;
    }
    // At least one node stays quantized: an all-float model is no answer to a quantization target.
    if (k + 1 >= order.size()) return res;
    res.float_nodes.insert(order[k].node);
  }
}

}  // namespace ptq

namespace ptq {

std::set<std::string> choose_float_nodes(const QuantizeContext& ctx, const QuantizeJob& job, Report& report, JobObserver& obs) {
  if (!job.sensitivity && !job.has_target()) return {};
  if (!job.evaluate) fail(ErrorKind::Usage, "--sensitivity, --target-sqnr and --max-top1-drop need the evaluation (drop --no-eval)");
  if (job.max_top1_drop >= 0 && job.labels_path.empty()) fail(ErrorKind::Usage, "--max-top1-drop needs --labels FILE.npy");
  std::vector<SensitivityEntry> sens = measure_sensitivity(ctx, job, obs);
  report.sensitivity = sens;
  if (!job.has_target()) return {};
  TargetResult res = search_float_nodes(ctx, job, sens, obs);
  report.has_target = true;
  report.target_sqnr_db = job.target_sqnr_db > -1e299 ? job.target_sqnr_db : -INFINITY;
  report.target_top1_drop = job.max_top1_drop >= 0 ? job.max_top1_drop / 100.0 : -1;
  report.target_met = res.met;
  report.target_steps = res.steps;
  return res.float_nodes;
}

}  // namespace ptq
