#include "app/pipeline.h"

#include <chrono>
#include <filesystem>

#include "app/bias_correction.h"
#include "app/evaluate.h"
#include "app/prepare.h"
#include "app/provenance.h"
#include "app/sensitivity.h"
#include "calib/collector.h"
#include "calib/stats_io.h"
#include "core/atomic_file.h"
#include "data/npy.h"
#include "data/sample_source.h"
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
  if (!job.prepared_path.empty()) check_output_path(job.prepared_path, job.model_path, job.force, "prepared model");

  Model model = prepare_for_quantization(original, job.qopts, &obs);
  if (!job.prepared_path.empty()) {
    save_model(model, job.prepared_path);
    obs.info("wrote " + job.prepared_path);
  }
  KernelRegistry reg = make_default_registry();
  Executor exec(model, reg, {job.threads});

  // Calibration: one streaming pass; the collector keeps per-tensor statistics only. With
  // --load-stats the pass is replaced by saved statistics (merged exactly across shards).
  CalibStats stats;
  std::string calib_layout = "statistics file";
  double calib_seconds = 0;
  if (!job.load_stats_paths.empty()) {
    stats = load_and_merge_stats(job.load_stats_paths);
  } else {
    SourceOptions so;
    so.image = job.image;
    so.max_samples = job.max_samples;
    so.shard_index = job.shard_index;
    so.shard_count = job.shard_count;
    auto src = SampleSource::open(job.calib_dir, exec.inputs(), so);
    StatsCollector collector({job.qopts.histogram_bins, job.threads});
    auto t0 = std::chrono::steady_clock::now();
    obs.phase("calibrate", src->size());
    for (size_t i = 0; i < src->size(); ++i) {
      Sample s = src->load(i);
      collector.set_sample(s.id);
      exec.run(s.inputs, &collector);
      collector.count_sample();
      obs.step(i + 1);
    }
    calib_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    calib_layout = src->layout();
    stats = collector.take();
  }
  if (!job.save_stats_path.empty()) {
    save_stats(job.save_stats_path, stats);
    obs.info("wrote " + job.save_stats_path);
  }
  if (job.stats_only) {
    Report r;
    r.model_path = job.model_path;
    r.calib_dir = job.calib_dir;
    r.calib_layout = calib_layout;
    r.calib_samples = stats.samples;
    r.calib_seconds = calib_seconds;
    return r;
  }

  RuleRegistry rules = make_default_rules();
  Report report;
  // Sensitivity / accuracy target (src/app/sensitivity.cpp) may keep extra nodes in float.
  QuantizeContext qctx{model, stats.tensors, stats.dtypes, rules, reg};
  std::set<std::string> extra_float = choose_float_nodes(qctx, job, report, obs);
  Model corrected = job.bias_correction ? correct_biases(qctx, job, extra_float, obs) : Model();
  QuantizeContext final_ctx{job.bias_correction ? corrected : model, stats.tensors, stats.dtypes, rules, reg};
  Model qmodel = build_qdq(final_ctx, job, extra_float, &report.summary);
  set_provenance(qmodel.metadata, provenance_entries(job.qopts, job.max_samples, calibration_digest(job.calib_dir),
                                                     static_cast<size_t>(stats.samples)));
  // Evaluate before writing anything, so that bad evaluation data leaves no output behind.
  if (job.evaluate) evaluate(model, qmodel, job, job.threads, reg, report, obs);
  save_model(qmodel, out_path);
  obs.info("wrote " + out_path);

  report.tool_version = PTQ_VERSION;
  report.model_path = job.model_path;
  report.output_path = out_path;
  std::error_code ec;
  report.model_bytes = fs::file_size(job.model_path, ec);
  report.output_bytes = fs::file_size(out_path, ec);
  report.options = job.qopts;
  report.calib_dir = job.calib_dir;
  report.calib_layout = calib_layout;
  report.calib_samples = static_cast<size_t>(stats.samples);
  report.calib_seconds = calib_seconds;
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
