#include "calib/range.h"

#include <algorithm>
#include <cmath>
#include <exception>
#include <vector>

#include "calib/range_detail.h"
#include "core/error.h"

namespace ptq {

namespace calib_detail {

Target target_of(const RangeRequest& req) {
  QRange q = qrange(req.target);
  if (q.lo == q.hi) fail(ErrorKind::Usage, "calibration target must be an integer quantized type, got {}", dtype_name(req.target));
  const bool is_signed = q.lo < 0;
  const double steps = static_cast<double>(q.hi) - static_cast<double>(q.lo);
  Target t;
  t.symmetric = req.symmetric;
  if (req.symmetric) {
    // compute_qparams: signed types use [-qmax, qmax]; unsigned ones centre at (qmin + qmax + 1) / 2.
    t.grid_steps = is_signed ? static_cast<double>(q.hi) : steps / 2;
    t.kl_levels = is_signed ? static_cast<int64_t>(q.hi) + 1 : static_cast<int64_t>(steps + 1) / 2;
  } else {
    t.grid_steps = steps;
    t.kl_levels = static_cast<int64_t>(steps) + 1;
  }
  return t;
}

Range symmetric_result(const TensorStats& s, double T) {
  return {static_cast<float>(std::max(s.min, -T)), static_cast<float>(std::min(s.max, T))};
}

}  // namespace calib_detail

using namespace calib_detail;

namespace {

// Smallest bin k whose cumulative count reaches `need` (>= when inclusive, > otherwise).
int64_t cumulative_bin(const Histogram& h, double need, bool inclusive) {
  const auto& c = h.counts();
  double cum = 0;
  int64_t nb = h.used_bins();
  for (int64_t k = 0; k < nb; ++k) {
    cum += static_cast<double>(c[static_cast<size_t>(k)]);
    if (inclusive ? cum >= need : cum > need) return k;
  }
  return nb - 1;
}

Range percentile_range(const TensorStats& s, const Target& t, double p) {
  const double n = static_cast<double>(s.count);
  if (t.symmetric) {
    const Histogram& h = s.abs_hist;
    double T = h.edge(cumulative_bin(h, p * n / 100.0, true) + 1);
    return symmetric_result(s, std::min(T, std::max(std::fabs(s.min), std::fabs(s.max))));
  }
  const Histogram& h = s.hist;
  double lo = h.edge(cumulative_bin(h, (100.0 - p) * n / 100.0, false));
  double hi = h.edge(cumulative_bin(h, p * n / 100.0, true) + 1);
  return {static_cast<float>(std::max(lo, s.min)), static_cast<float>(std::min(hi, s.max))};
}

}  // namespace

CalibMethod parse_calib_method(const std::string& s) {
  if (s == "minmax") return CalibMethod::MinMax;
  if (s == "percentile") return CalibMethod::Percentile;
  if (s == "kl" || s == "entropy") return CalibMethod::KL;
  if (s == "mse") return CalibMethod::MSE;
  fail(ErrorKind::Usage, "unknown calibration method '{}' (expected minmax, percentile, kl or mse)", s);
}

std::string calib_method_name(CalibMethod m) {
  switch (m) {
    case CalibMethod::MinMax: return "minmax";
    case CalibMethod::Percentile: return "percentile";
    case CalibMethod::KL: return "kl";
    case CalibMethod::MSE: return "mse";
  }
  return "?";
}

Range choose_range(const TensorStats& s, const RangeRequest& req) {
  if (req.method == CalibMethod::Percentile && !(req.percentile >= 50.0 && req.percentile <= 100.0))
    fail(ErrorKind::Usage, "percentile must be in [50, 100], got {}", req.percentile);
  Target t = target_of(req);
  if (s.empty()) return {};
  if (s.min == s.max) return {static_cast<float>(s.min), static_cast<float>(s.max)};
  switch (req.method) {
    case CalibMethod::MinMax: return {static_cast<float>(s.min), static_cast<float>(s.max)};
    case CalibMethod::Percentile: return percentile_range(s, t, req.percentile);
    case CalibMethod::KL: return kl_range(s, t);
    case CalibMethod::MSE: return mse_range(s, t);
  }
  return {};
}

Range choose_range(const TensorStats& s, CalibMethod method) {
  RangeRequest req;
  req.method = method;
  return choose_range(s, req);
}

std::map<std::string, Range> choose_ranges(const std::map<std::string, TensorStats>& stats, const RangeRequest& req,
                                           int threads) {
  target_of(req);  // validate once, outside the parallel loop
  if (req.method == CalibMethod::Percentile) {
    TensorStats probe;
    choose_range(probe, req);
  }
  std::vector<const std::pair<const std::string, TensorStats>*> items;
  for (const auto& kv : stats)
    if (!kv.second.empty()) items.push_back(&kv);
  std::vector<Range> out(items.size());
  std::vector<std::exception_ptr> errors(items.size());
  const bool heavy = req.method == CalibMethod::KL || req.method == CalibMethod::MSE;
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads) if (heavy && threads > 1 && items.size() > 1)
  for (size_t i = 0; i < items.size(); ++i) {
    try {
      out[i] = choose_range(items[i]->second, req);
    } catch (...) {
      errors[i] = std::current_exception();
    }
  }
  for (const auto& e : errors)
    if (e) std::rethrow_exception(e);
  std::map<std::string, Range> r;
  for (size_t i = 0; i < items.size(); ++i) r.emplace(items[i]->first, out[i]);
  return r;
}

}  // namespace ptq
