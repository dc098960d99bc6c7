// `quantize inspect MODEL` and `quantize MODEL --dry-run`: what a model holds and what quantizing it
// would do, without calibrating and without writing anything.
#pragma once
#include <string>

#include <nlohmann/json.hpp>

#include "quant/options.h"

namespace ptq {

struct InspectOptions {
  std::string model_path;
  std::string calib_dir;  // optional: the first sample gives the value dtypes for the plan
  QuantOptions qopts;
  int threads = 1;
};

// Inputs/outputs (dtype, shape), opsets, op counts, weights in initializers and Constant nodes, ops
// without a kernel, metadata_props (provenance of onnx-ptq outputs), and the quantization plan:
// which nodes would be quantized and which stay float and why.
//
// The plan needs each value's dtype. They come from one forward pass: on the first sample of
// `calib_dir` when given, else on zero-filled inputs (dynamic dims set to 1). When that pass cannot
// run (ops without a kernel, inputs without a shape, data-dependent errors on zeros), the declared
// types (graph inputs/outputs, value_info, initializers) are used; values without a declared type
// then count as non-float, so nodes reading them are reported as float. "dtype_source" says which.
nlohmann::json inspect_model(const InspectOptions& o);

std::string inspect_to_text(const nlohmann::json& info);

}  // namespace ptq
