#include "app/pipeline.h"

#include <chrono>
#include <filesystem>

#include "app/prepare.h"
#include "calib/collector.h"
#include "core/atomic_file.h"
#include "data/npy.h"
#include "data/sample_source.h"
#include "exec/executor.h"
#include "onnx_io/model_io.h"
#include "quant/quantizer.h"

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

void evaluate(const Model& float_model, const Model& quant_model, const QuantizeJob& job, int threads,
              const KernelRegistry& reg, Report& report, JobObserver& obs) {
  Executor fexec(float_model, reg, {threads});
  Executor qexec(quant_model, reg, {threads});
  SourceOptions so;
  so.max_samples = job.max_samples;
  std::string dir = job.eval_dir.empty() ? job.calib_dir : job.eval_dir;
  // A labels file kept beside the evaluation samples is not a sample.
  std::error_code ec;
  if (!job.labels_path.empty() && fs::equivalent(fs::path(job.labels_path).parent_path(), dir, ec))
    so.ignore.push_back(fs::path(job.labels_path).filename().string());
  auto src = SampleSource::open(dir, fexec.inputs(), so);
  std::vector<int64_t> labels;
  if (!job.labels_path.empty()) {
    Tensor l = read_npy(job.labels_path);
    if (!is_integer(l.dtype())) bad_input("labels file '{}' must hold integers, has {}", job.labels_path, dtype_name(l.dtype()));
    labels = l.to_int64_vector();
  }
  std::vector<MetricsAccumulator> acc(fexec.output_names().size());
  size_t label_pos = 0;
  obs.phase("evaluate", src->size());
  for (size_t i = 0; i < src->size(); ++i) {
    Sample s = src->load(i);
    auto ref = fexec.run(s.inputs);
    auto q = qexec.run(s.inputs);
    size_t rows_used = 0;
    for (size_t k = 0; k < ref.size(); ++k) {
      std::vector<int64_t> lab;
      if (!labels.empty() && ref[k].rank() == 2) {
        int64_t rows = ref[k].dim(0);
        if (label_pos + static_cast<size_t>(rows) > labels.size())
          bad_input("labels file '{}' has {} labels, fewer than the {}+ evaluation rows", job.labels_path, labels.size(), label_pos + rows);
        lab.assign(labels.begin() + static_cast<long>(label_pos), labels.begin() + static_cast<long>(label_pos + rows));
        rows_used = static_cast<size_t>(rows);
      }
      acc[k].add(ref[k], q[k], lab);
    }
    label_pos += rows_used;
    obs.step(i + 1);
  }
  report.eval_dir = dir;
  report.eval_samples = src->size();
  for (size_t k = 0; k < acc.size(); ++k) report.outputs.emplace_back(fexec.output_names()[k], acc[k].result());
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
  check_output_path(out_path, job.model_path, job.force, "output model");
  check_output_path(report_path, job.model_path, job.force, "report");

  Model model = prepare_for_quantization(original, job.qopts, &obs);
  KernelRegistry reg = make_default_registry();
  Executor exec(model, reg, {job.threads});

  // Calibration: one streaming pass; the collector keeps per-tensor statistics only.
  SourceOptions so;
  so.max_samples = job.max_samples;
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
  double calib_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  RuleRegistry rules = make_default_rules();
  QuantPlan plan = build_plan(model, job.qopts, collector.dtypes(), rules);
  Report report;
  Model qmodel = rewrite_qdq(model, plan, collector.stats(), job.qopts, &report.summary);
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
  report.calib_layout = src->layout();
  report.calib_samples = src->size();
  report.calib_seconds = calib_seconds;
  if (job.evaluate) evaluate(model, qmodel, job, job.threads, reg, report, obs);
  write_file_atomic(report_path, report_to_json(report).dump(2) + "\n");
  obs.info("wrote " + report_path);
  return report;
}

}  // namespace ptq
