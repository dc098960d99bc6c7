#include "app/pipeline.h"

#include <filesystem>

#include "app/calibrate.h"
#include "app/evaluate.h"
#include "app/method_search.h"
#include "app/prepare.h"
#include "app/provenance.h"
#include "calib/stats_io.h"
#include "core/atomic_file.h"
#include "exec/executor.h"
#include "onnx_io/model_io.h"
#include "quant/quantizer.h"
#include "report/report_render.h"

namespace fs = std::filesystem;

namespace ptq {

namespace {

class NullObserver : public JobObserver {
 public:
  void phase(const std::string&, size_t) override {}
  void step(size_t) override {}
  void info(const std::string&) override {}
};

std::string type_suffix(DType t) {
  switch (t) {
    case DType::Int4: case DType::UInt4: return "int4";
    case DType::Int16: case DType::UInt16: return "int16";
    default: return "int8";
  }
}

// The paths must differ from the input model and, unless forced, not exist yet.
void check_output_path(const std::string& out, const std::string& model, bool force, const std::string& what) {
  std::error_code ec;
  if (fs::exists(out, ec) && fs::equivalent(out, model, ec))
    fail(ErrorKind::Usage, "refusing to overwrite the input model '{}' with the {}", model, what);
  if (fs::exists(out, ec) && !force)
    fail(ErrorKind::Output, "{} '{}' already exists (use --force to overwrite)", what, out);
  fs::path dir = fs::path(out).parent_path();
  if (!dir.empty() && !fs::is_directory(dir, ec))
    fail(ErrorKind::Output, "cannot write {} '{}': folder '{}' does not exist", what, out, dir.string());
}

// --method a,b,...: the candidates are compared on the evaluation, and must differ.
void check_methods(const QuantizeJob& job) {
  if (job.methods.size() < 2 || job.stats_only) return;
  for (size_t i = 0; i < job.methods.size(); ++i)
    for (size_t k = 0; k < i; ++k)
      if (job.methods[i] == job.methods[k])
        fail(ErrorKind::Usage, "--method lists '{}' twice", calib_method_name(job.methods[i]));
  if (!job.evaluate) fail(ErrorKind::Usage, "--method with several methods compares them on the evaluation: drop --no-eval");
  if (job.qopts.weight_only)
    fail(ErrorKind::Usage, "--method with several methods chooses activation ranges, which --weight-only does not use");
}

}  // namespace

std::string default_output_path(const std::string& model_path, const QuantOptions& o) {
  fs::path p(model_path);
  return (p.parent_path() / (p.stem().string() + "." + type_suffix(o.weight_type) + ".onnx")).string();
}

std::string default_report_path(const std::string& output_path) {
  fs::path p(output_path);
  return (p.parent_path() / (p.stem().string() + ".report.json")).string();
}

Report run_quantize_job(const QuantizeJob& job, JobObserver* observer) {
  NullObserver null_obs;
  JobObserver& obs = observer ? *observer : null_obs;
  std::string out_path = job.output_path.empty() ? default_output_path(job.model_path, job.qopts) : job.output_path;
  std::string report_path = job.report_path.empty() ? default_report_path(out_path) : job.report_path;
  Model original = load_model(job.model_path);
  if (!job.stats_only) {
    check_output_path(out_path, job.model_path, job.force, "output model");
    check_output_path(report_path, job.model_path, job.force, "report");
  }
  if (!job.save_stats_path.empty()) check_output_path(job.save_stats_path, job.model_path, job.force, "statistics file");
  if (job.stats_only && job.save_stats_path.empty()) fail(ErrorKind::Usage, "--stats-only needs --save-stats FILE");
  check_methods(job);
  if (!job.prepared_path.empty()) check_output_path(job.prepared_path, job.model_path, job.force, "prepared model");

  Model model = prepare_for_quantization(original, job.qopts, &obs);
  if (!job.prepared_path.empty()) {
    save_model(model, job.prepared_path);
    obs.info("wrote " + job.prepared_path);
  }
  KernelRegistry reg = make_default_registry();
  // batch_invariant: --batch N must not change what any sample computes (exec/executor.h).
  Executor exec(model, reg, {job.threads, false, true});

  // Calibration: one streaming pass; the collector keeps per-tensor statistics only. With
  // --load-stats the pass is replaced by saved statistics (merged exactly across shards).
  // Statistics only of values a quantization plan can mark (Conv outputs that a Relu alone reads
  // are not: calibration then runs the fused Conv+Relu, as the float model's forward does).
  RuleRegistry rules = make_default_rules();
  const std::set<std::string> observed = tensors_needing_ranges(model, rules);
  CalibrationResult calib = run_calibration(exec, job, obs, &observed);
  const CalibStats& stats = calib.stats;
  if (!job.save_stats_path.empty()) {
    save_stats(job.save_stats_path, stats);
    obs.info("wrote " + job.save_stats_path);
  }
  if (job.stats_only) {
    Report r;
    r.model_path = job.model_path;
    r.calib_dir = job.calib_dir;
    r.calib_layout = calib.layout;
    r.calib_samples = stats.samples;
    r.calib_seconds = calib.seconds;
    return r;
  }

  Report report;
  // Activation ranges once for all the models built below (several with sensitivity, bias
  // correction or several methods). With several methods the best one's (app/method_search.h).
  QuantizeJob chosen = job;
  if (job.methods.size() == 1) chosen.qopts.method = job.methods[0];
  QuantizeContext qctx{model, stats.tensors, stats.dtypes, rules, reg};
  RangeMap ranges;
  if (job.methods.size() > 1) {
    MethodSelection sel = select_method(qctx, job, obs);
    chosen.qopts.method = job.methods[sel.chosen];
    ranges = std::move(sel.ranges);
    report.method_candidates = std::move(sel.candidates);
  } else {
    ranges = compute_activation_ranges(stats.tensors, chosen.qopts, job.threads, obs);
  }
  qctx.ranges = &ranges;
  // Sensitivity / accuracy target (src/app/sensitivity.cpp) may keep extra nodes in float.
  std::set<std::string> extra_float = choose_float_nodes(qctx, chosen, report, obs);
  Model qmodel = quantize_model(qctx, chosen, extra_float, &report.summary, obs);
  set_provenance(qmodel.metadata, provenance_entries(chosen.qopts, job.max_samples, calibration_digest(job.calib_dir),
                                                     static_cast<size_t>(stats.samples)));
  // Evaluate before writing anything, so that bad evaluation data leaves no output behind.
  if (job.evaluate) evaluate(model, qmodel, chosen, job.threads, reg, report, obs);
  save_model(qmodel, out_path);
  obs.info("wrote " + out_path);

  report.tool_version = PTQ_VERSION;
  report.model_path = job.model_path;
  report.output_path = out_path;
  std::error_code ec;
  report.model_bytes = fs::file_size(job.model_path, ec);
  report.output_bytes = fs::file_size(out_path, ec);
  report.options = chosen.qopts;
  report.calib_dir = job.calib_dir;
  report.calib_layout = calib.layout;
  report.calib_samples = static_cast<size_t>(stats.samples);
  report.calib_seconds = calib.seconds;
  try {
    nlohmann::json rj = report_to_json(report);
    write_file_atomic(report_path, rj.dump(2) + "\n");
    write_report_files(report_path, rj);  // PATH.md and PATH.html beside PATH.json
  } catch (...) {
    // The job failed: take back the model written above (e.g. the disk filled up on the report).
    fs::remove(out_path, ec);
    fs::remove(out_path + ".data", ec);
    throw;
  }
  obs.info("wrote " + report_path);
  return report;
}

}  // namespace ptq
