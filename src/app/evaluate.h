// Evaluation: runs the float and the QDQ model sample by sample on the evaluation set and fills the
// report's output metrics and per-tensor metrics (clipping, local and accumulated SQNR).
// Memory does not grow with samples: per sample, only the float values of the quantized
// activations are kept until the QDQ run of that sample has compared them.
#pragma once
#include "app/pipeline.h"
#include "exec/kernel.h"
#include "onnx_io/model.h"
#include "report/report.h"

namespace ptq {

struct EvalOptions {
  bool tensor_metrics = true;  // per-tensor metrics (off for the sensitivity sweeps)
  size_t max_samples = 0;      // 0 = the job's max_samples
};

void evaluate(const Model& float_model, const Model& quant_model, const QuantizeJob& job, int threads,
              const KernelRegistry& reg, Report& report, JobObserver& obs, const EvalOptions& eo = {});

// Output metrics only, of several QDQ models in one pass over the evaluation set (the float model
// runs once per sample for all of them); one list of (output name, metrics) per model, in order.
std::vector<std::vector<std::pair<std::string, OutputMetrics>>> evaluate_outputs(const Model& float_model,
                                                                                 const std::vector<const Model*>& quant_models,
                                                                                 const QuantizeJob& job, int threads,
                                                                                 const KernelRegistry& reg, JobObserver& obs);

// Maps each quantized activation T to the name of its dequantized value in the QDQ model
// ("<T>_DequantizeLinear_Output", or T itself for graph outputs, whose producer writes T_prequant).
std::map<std::string, std::string> dequantized_names(const Model& quant_model);

}  // namespace ptq
