// The calibration pass: one streaming pass of the float model over the calibration set (or saved
// statistics merged instead), folding every float activation into per-tensor statistics.
#pragma once
#include <set>
#include <string>

#include "app/pipeline.h"
#include "calib/tensor_stats.h"
#include "exec/executor.h"

namespace ptq {

struct CalibrationResult {
  CalibStats stats;
  std::string layout = "statistics file";  // the sample layout, or this when loaded from files
  double seconds = 0;                      // wall time of the pass
};

// With job.load_stats_paths: merges those files. Otherwise runs `exec` over the job's samples
// (shard, max_samples), job.batch samples per run: stacked along axis 0 when every runtime input's
// first dim is dynamic (Error(Usage) naming the input otherwise); a batch ends early where the
// next sample's other dims differ. When a batched run fails (e.g. NaN in an activation), its
// samples are run one by one so that the error names the sample, as without --batch.
// `observe` (the values any plan can quantize, quant/quantizer.h tensors_needing_ranges) limits
// the statistics to those values; nullptr keeps every float32 value.
CalibrationResult run_calibration(Executor& exec, const QuantizeJob& job, JobObserver& obs,
                                  const std::set<std::string>* observe);

}  // namespace ptq
