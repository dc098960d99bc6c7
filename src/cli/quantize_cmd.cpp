// Options of the main job (`quantize MODEL --calib DIR`).
#include <cstdio>
#include <memory>

#include "app/pipeline.h"
#include "cli/commands.h"
#include "core/error.h"

namespace ptq::cli {

namespace {

struct QuantizeArgs {
  std::string model;
  std::string scheme = "per-tensor";
  std::string activation_type = "uint8";
  std::string weight_type = "int8";
  std::string method = "minmax";
  std::vector<std::string> exclude_nodes, exclude_op_types;
  bool symmetric_activations = false;
  QuantizeJob job;
};

}  // namespace

Runner add_quantize_options(CLI::App& app, const GlobalFlags& flags) {
  auto a = std::make_shared<QuantizeArgs>();
  app.add_option("model", a->model, "input ONNX model")->check(CLI::ExistingFile);
  app.add_option("--calib", a->job.calib_dir, "calibration data folder (.npy, per-sample folders, .npz, ONNX test-data .pb)");
  app.add_option("-o,--output", a->job.output_path, "output model (default: <model dir>/<stem>.int8.onnx)");
  app.add_option("--report", a->job.report_path, "report JSON path (default: <output stem>.report.json)");
  app.add_option("--eval", a->job.eval_dir, "evaluation data folder for the report (default: the calibration set)");
  app.add_option("--labels", a->job.labels_path, ".npy of integer class labels, one per evaluation row");
  app.add_option("--scheme", a->scheme, "weight granularity")->check(CLI::IsMember({"per-tensor", "per-channel", "per-block"}));
  app.add_option("--block-size", a->job.qopts.block_size, "block size for --scheme per-block")->check(CLI::IsMember({16, 32, 64, 128, 256}));
  app.add_option("--activation-type", a->activation_type, "activation type")->check(CLI::IsMember({"uint8", "int8"}));
  app.add_option("--weight-type", a->weight_type, "weight type")->check(CLI::IsMember({"int8", "uint8"}));
  app.add_option("--method", a->method, "calibration method")->check(CLI::IsMember({"minmax", "percentile", "kl", "entropy", "mse"}));
  app.add_option("--percentile", a->job.qopts.percentile, "percentile for --method percentile (default 99.99)")->check(CLI::Range(50.0, 100.0));
  app.add_option("--bins", a->job.qopts.histogram_bins, "calibration histogram bins per tensor (default 2048)")->check(CLI::Range(kMinBins, kMaxBins));
  app.add_flag("--symmetric-activations", a->symmetric_activations, "symmetric activation ranges (zero point 0 / 128)");
  app.add_option("--exclude-nodes", a->exclude_nodes, "node names to keep in float");
  app.add_option("--exclude-op-types", a->exclude_op_types, "op types to keep in float");
  app.add_option("--max-samples", a->job.max_samples, "use at most N calibration samples")->check(CLI::PositiveNumber);
  app.add_option("--threads", a->job.threads, "CPU threads")->check(CLI::Range(1, 256));
  app.add_flag("--force", a->job.force, "overwrite existing output files");
  app.add_flag("--no-eval", [a](int64_t) { a->job.evaluate = false; }, "skip the float-vs-quantized evaluation");
  return [a, &app, &flags]() -> int {
    if (a->model.empty()) fail(ErrorKind::Usage, "no model given (usage: quantize MODEL --calib DIR; see --help)");
    if (a->job.calib_dir.empty()) fail(ErrorKind::Usage, "--calib DIR is required");
    QuantizeJob job = a->job;
    job.model_path = a->model;
    job.qopts.scheme = parse_weight_scheme(a->scheme);
    job.qopts.activation_type = parse_quant_type(a->activation_type);
    job.qopts.weight_type = parse_quant_type(a->weight_type);
    job.qopts.method = parse_calib_method(a->method);
    job.qopts.activation_symmetric = a->symmetric_activations;
    job.qopts.exclude_nodes.insert(a->exclude_nodes.begin(), a->exclude_nodes.end());
    job.qopts.exclude_op_types.insert(a->exclude_op_types.begin(), a->exclude_op_types.end());
    (void)app;
    ConsoleObserver obs(flags.verbosity(), interactive_stderr());
    Report r = run_quantize_job(job, &obs);
    obs.finish_phase();
    if (!flags.quiet) std::fputs(report_to_text(r).c_str(), stdout);
    return 0;
  };
}

}  // namespace ptq::cli
