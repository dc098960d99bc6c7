// Options of the main job (`quantize MODEL --calib DIR`).
#include <cstdio>
#include <memory>

#include "app/pipeline.h"
#include "cli/batch.h"
#include "cli/commands.h"
#include "cli/image_options.h"
#include "core/error.h"

namespace ptq::cli {

namespace {

struct QuantizeArgs {
  std::vector<std::string> models;
  std::string output_dir, manifest;
  double min_sqnr = 0, max_top1_drop = 0;
  CLI::Option *min_sqnr_opt = nullptr, *max_top1_drop_opt = nullptr, *target_sqnr_opt = nullptr;
  bool json = false, dry_run = false;
  std::string scheme = "per-tensor";
  std::string activation_type = "uint8";
  std::string weight_type = "int8";
  std::string method = "minmax";
  std::string shard;
  ImageArgs image;
  std::vector<std::string> exclude_nodes, exclude_op_types;
  bool symmetric_activations = false;
  QuantizeJob job;
};

// "kl" or "minmax,kl,mse": each name checked by parse_calib_method (Error(Usage) naming it).
std::vector<CalibMethod> parse_method_list(const std::string& s) {
  std::vector<CalibMethod> r;
  size_t start = 0;
  while (true) {
    size_t comma = s.find(',', start);
    std::string name = s.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    if (name.empty()) fail(ErrorKind::Usage, "--method '{}': empty method name in the list", s);
    r.push_back(parse_calib_method(name));
    if (comma == std::string::npos) return r;
    start = comma + 1;
  }
}

}  // namespace

Runner add_quantize_options(CLI::App& app, const GlobalFlags& flags) {
  auto a = std::make_shared<QuantizeArgs>();
  app.add_option("model", a->models, "input ONNX model(s); several models are quantized one by one")->check(CLI::ExistingFile);
  app.add_option("--manifest", a->manifest, "batch: file of lines 'MODEL CALIB_DIR [OUTPUT]' ('-' = --calib)")->check(CLI::ExistingFile);
  app.add_option("--output-dir", a->output_dir, "batch: write <stem>.int8.onnx and reports into this folder")->check(CLI::ExistingDirectory);
  app.add_flag("--json", a->json, "print a one-line JSON summary on stdout (logs stay on stderr)");
  app.add_flag("--dry-run", a->dry_run, "show what would be quantized (like `inspect`); write nothing");
  a->min_sqnr_opt = app.add_option("--min-sqnr", a->min_sqnr, "gate: fail with exit code 5 if any output's SQNR (dB) is lower");
  a->max_top1_drop_opt = app.add_option("--max-top1-drop", a->max_top1_drop, "gate: fail with exit code 5 if top-1 accuracy drops by more than PCT points (needs --labels)");
  app.add_option("--calib", a->job.calib_dir, "calibration data folder (.npy, per-sample folders, .npz, ONNX test-data .pb)");
  app.add_option("-o,--output", a->job.output_path, "output model (default: <model dir>/<stem>.int8.onnx)");
  app.add_option("--report", a->job.report_path, "report JSON path (default: <output stem>.report.json)");
  app.add_option("--eval", a->job.eval_dir, "evaluation data folder for the report (default: the calibration set)");
  app.add_option("--labels", a->job.labels_path, ".npy of integer class labels, one per evaluation row");
  app.add_option("--scheme", a->scheme, "weight granularity")->check(CLI::IsMember({"per-tensor", "per-channel", "per-block"}));
  app.add_option("--block-size", a->job.qopts.block_size, "block size for --scheme per-block")->check(CLI::IsMember({16, 32, 64, 128, 256}));
  app.add_option("--activation-type", a->activation_type, "activation type")->check(CLI::IsMember({"uint8", "int8"}));
  app.add_option("--weight-type", a->weight_type, "weight type (int4/uint4: opset 21, 4-bit packed)")->check(CLI::IsMember({"int8", "uint8", "int4", "uint4"}));
  app.add_flag("--weight-only", a->job.qopts.weight_only, "quantize weights only; activations stay float");
  app.add_option("--method", a->method, "calibration method: minmax, percentile, kl (entropy) or mse; a comma list (e.g. minmax,kl,mse) quantizes with each and keeps the best by output SQNR");
  app.add_option("--batch", a->job.batch, "calibration samples per executor run, stacked along the first dim (models with a dynamic batch dim; same statistics, faster for small models, e.g. 32)")->check(CLI::Range(1, 65536));
  add_image_options(app, a->image);
  app.add_option("--save-stats", a->job.save_stats_path, "write the calibration statistics (JSON) to FILE");
  app.add_option("--load-stats", a->job.load_stats_paths, "quantize from saved statistics (repeatable: shards merge exactly) instead of calibrating");
  app.add_option("--shard", a->shard, "calibrate on shard I of N (every N-th sample from the I-th, 0-based), e.g. 2/8");
  app.add_flag("--stats-only", a->job.stats_only, "stop after --save-stats (no model, no report)");
  app.add_option("--percentile", a->job.qopts.percentile, "percentile for --method percentile (default 99.99)")->check(CLI::Range(50.0, 100.0));
  app.add_option("--bins", a->job.qopts.histogram_bins, "calibration histogram bins per tensor (default 2048)")->check(CLI::Range(kMinBins, kMaxBins));
  app.add_flag("--symmetric-activations", a->symmetric_activations, "symmetric activation ranges (zero point 0 / 128)");
  app.add_option("--exclude-nodes", a->exclude_nodes, "node names to keep in float");
  app.add_option("--exclude-op-types", a->exclude_op_types, "op types to keep in float");
  app.add_option("--max-samples", a->job.max_samples, "use at most N calibration samples")->check(CLI::PositiveNumber);
  app.add_option("--threads", a->job.threads, "CPU threads")->check(CLI::Range(1, 256));
  app.add_option("--save-prepared", a->job.prepared_path, "also write the prepared float model (BN and constants folded)");
  app.add_flag("--force", a->job.force, "overwrite existing output files");
  app.add_flag("--bias-correction", a->job.bias_correction, "shift each quantized Conv/Gemm bias by its mean output error on the calibration data");
  app.add_flag("--sensitivity", a->job.sensitivity, "quantize one node at a time and list the most sensitive in the report");
  a->target_sqnr_opt = app.add_option("--target-sqnr", a->job.target_sqnr_db, "keep the most sensitive nodes in float until every output's SQNR reaches DB (and top-1 drops at most --max-top1-drop); exit 5 if impossible");
  app.add_flag("--no-eval", [a](int64_t) { a->job.evaluate = false; }, "skip the float-vs-quantized evaluation");
  return [a, &app, &flags]() -> int {
    std::vector<BatchItem> items;
    for (const auto& m : a->models) items.push_back({m, "", ""});
    if (!a->manifest.empty()) {
      auto more = read_manifest(a->manifest);
      items.insert(items.end(), more.begin(), more.end());
    }
    if (items.empty()) fail(ErrorKind::Usage, "no model given (usage: quantize MODEL --calib DIR; see --help)");
    bool need_calib = false;
    for (const auto& it : items) need_calib = need_calib || it.calib.empty();
    if (need_calib && a->job.calib_dir.empty()) fail(ErrorKind::Usage, "--calib DIR is required");
    if (items.size() > 1 && (!a->job.output_path.empty() || !a->job.report_path.empty()))
      fail(ErrorKind::Usage, "-o/--output and --report name one model's files; use --output-dir with several models");
    if (a->max_top1_drop_opt->count() && a->job.labels_path.empty()) fail(ErrorKind::Usage, "--max-top1-drop needs --labels FILE.npy");
    QuantizeJob job = a->job;
    job.qopts.scheme = parse_weight_scheme(a->scheme);
    job.qopts.activation_type = parse_quant_type(a->activation_type);
    job.qopts.weight_type = parse_quant_type(a->weight_type);
    job.methods = parse_method_list(a->method);
    job.qopts.method = job.methods.front();
    job.image = to_image_options(a->image);
    if (!a->shard.empty()) {
      unsigned long i = 0, n = 0;
      char tail = 0;
      if (std::sscanf(a->shard.c_str(), "%lu/%lu%c", &i, &n, &tail) != 2 || n == 0 || i >= n)
        fail(ErrorKind::Usage, "--shard expects I/N with 0 <= I < N, got '{}'", a->shard);
      job.shard_index = i;
      job.shard_count = n;
    }
    job.qopts.activation_symmetric = a->symmetric_activations;
    job.qopts.exclude_nodes.insert(a->exclude_nodes.begin(), a->exclude_nodes.end());
    job.qopts.exclude_op_types.insert(a->exclude_op_types.begin(), a->exclude_op_types.end());
    (void)app;
    BatchSettings bs;
    bs.job = job;
    bs.output_dir = a->output_dir;
    bs.json = a->json;
    bs.dry_run = a->dry_run;
    if (a->min_sqnr_opt->count()) bs.gates.min_sqnr_db = a->min_sqnr;
    if (a->max_top1_drop_opt->count()) bs.gates.max_top1_drop = a->max_top1_drop;
    if (a->target_sqnr_opt->count()) {
      // The search keeps nodes in float until the target is met; an unmet target fails as a gate (exit 5).
      if (a->max_top1_drop_opt->count()) bs.job.max_top1_drop = a->max_top1_drop;
      if (!a->min_sqnr_opt->count()) bs.gates.min_sqnr_db = a->job.target_sqnr_db;
    }
    return run_batch(items, bs, flags);
  };
}

}  // namespace ptq::cli
