// The main job: load -> prepare -> calibrate -> quantize -> save -> evaluate -> report.
// The CLI is a thin layer over this; errors are thrown as ptq::Error, never exit()ed.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "data/image.h"
#include "quant/options.h"
#include "report/report.h"

namespace ptq {

struct QuantizeJob {
  std::string model_path;
  std::string calib_dir;
  std::string output_path;   // "" = <model dir>/<stem>.<weight type>.onnx
  std::string report_path;   // "" = <output stem>.report.json
  std::string eval_dir;      // "" = the calibration set
  std::string labels_path;   // optional .npy of integer class ids, one per evaluation row
  std::string prepared_path; // optional: also write the prepared float model (--save-prepared)
  size_t max_samples = 0;    // 0 = all
  size_t batch = 1;          // --batch N: samples stacked along axis 0 per calibration run (dynamic first dims only)
  int threads = 1;
  bool force = false;        // overwrite existing outputs
  bool evaluate = true;
  bool bias_correction = false;  // --bias-correction: shift Conv/Gemm biases by the mean output error
  bool sensitivity = false;  // --sensitivity: quantize one node at a time, rank by output SQNR
  double target_sqnr_db = -1e300;  // --target-sqnr: keep sensitive nodes float until met (-1e300 = none)
  double max_top1_drop = -1;       // --max-top1-drop PCT (with --labels); < 0 = none
  bool has_target() const { return target_sqnr_db > -1e299 || max_top1_drop >= 0; }
  QuantOptions qopts;
  // --method a,b,...: candidates, each quantized and evaluated; the best by output SQNR is written
  // (see app/method_search.h). Empty or one entry: qopts.method alone.
  std::vector<CalibMethod> methods;
  // Statistics reuse (see README "Reusing and sharding calibration"):
  std::string save_stats_path;                // write the collected statistics here
  std::vector<std::string> load_stats_paths;  // skip calibration; merge these statistics files
  size_t shard_index = 0, shard_count = 1;    // calibrate on every shard_count-th sample only
  bool stats_only = false;                    // stop after writing --save-stats (no model)
  ImageOptions image;                         // preprocessing for image-folder inputs
};

// Progress and log lines for the caller to render (progress bar on a TTY, plain lines in CI).
class JobObserver {
 public:
  virtual ~JobObserver() = default;
  virtual void phase(const std::string& name, size_t total) = 0;  // a new phase with `total` steps
  virtual void step(size_t done) = 0;                             // steps done in the current phase
  virtual void info(const std::string& msg) = 0;
  // Details shown only when asked for (-v), e.g. the time of the range searches.
  virtual void debug(const std::string& msg) { (void)msg; }
};

std::string default_output_path(const std::string& model_path, const QuantOptions& o);
std::string default_report_path(const std::string& output_path);

// Runs the job; returns the report (also written to report_path as JSON).
Report run_quantize_job(const QuantizeJob& job, JobObserver* obs);

}  // namespace ptq
