#include "app/method_search.h"

#include <chrono>
#include <cmath>

#include "app/bias_correction.h"
#include "app/evaluate.h"

namespace ptq {

RangeMap compute_activation_ranges(const std::map<std::string, TensorStats>& stats, const QuantOptions& opts, int threads,
                                   JobObserver& obs) {
  if (opts.weight_only) return {};
  auto t0 = std::chrono::steady_clock::now();
  RangeMap r = choose_ranges(stats, activation_range_request(opts), threads);
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  obs.debug(fmt::format("ranges ({}): {} tensors in {:.3f} s ({} thread(s))", calib_method_name(opts.method), r.size(), secs,
                        threads));
  return r;
}

Model quantize_model(const QuantizeContext& ctx, const QuantizeJob& job, const std::set<std::string>& extra_float,
                     QuantizeSummary* summary, JobObserver& obs) {
  if (!job.bias_correction) return build_qdq(ctx, job, extra_float, summary);
  Model corrected = correct_biases(ctx, job, extra_float, obs);
  QuantizeContext cctx{corrected, ctx.stats, ctx.dtypes, ctx.rules, ctx.reg, ctx.ranges};
  return build_qdq(cctx, job, extra_float, summary);
}

double selection_score(const std::vector<std::pair<std::string, OutputMetrics>>& outputs) {
  double v = outputs.empty() ? -INFINITY : INFINITY;
  for (const auto& o : outputs) v = std::isnan(o.second.sqnr_db) ? -INFINITY : std::min(v, o.second.sqnr_db);
  return v;
}

MethodSelection select_method(const QuantizeContext& ctx, const QuantizeJob& job, JobObserver& obs) {
  if (job.methods.size() < 2) internal_error("select_method: {} method(s)", job.methods.size());
  std::vector<RangeMap> ranges;
  std::vector<Model> models;
  ranges.reserve(job.methods.size());
  for (CalibMethod m : job.methods) {
    QuantizeJob mj = job;
    mj.qopts.method = m;
    ranges.push_back(compute_activation_ranges(ctx.stats, mj.qopts, job.threads, obs));
    QuantizeContext mctx{ctx.model, ctx.stats, ctx.dtypes, ctx.rules, ctx.reg, &ranges.back()};
    models.push_back(quantize_model(mctx, mj, {}, nullptr, obs));
  }
  std::vector<const Model*> qms;
  for (const Model& m : models) qms.push_back(&m);
  auto results = evaluate_outputs(ctx.model, qms, job, job.threads, ctx.reg, obs);

  MethodSelection sel;
  for (size_t i = 0; i < job.methods.size(); ++i) {
    sel.candidates.push_back({job.methods[i], selection_score(results[i]), std::move(results[i])});
    if (sel.candidates[i].score_db > sel.candidates[sel.chosen].score_db) sel.chosen = i;  // strict: ties keep the earlier
  }
  sel.ranges = std::move(ranges[sel.chosen]);
  std::string line = "method selection (lowest output SQNR):";
  for (const auto& c : sel.candidates) line += fmt::format(" {} {:.2f} dB,", calib_method_name(c.method), c.score_db);
  obs.info(line + " chose " + calib_method_name(job.methods[sel.chosen]));
  return sel;
}

}  // namespace ptq
