// Float-model preparation before calibration: the same graph is calibrated and quantized.
#pragma once
#include "app/pipeline.h"
#include "onnx_io/model.h"

namespace ptq {

// Drops initializer-inputs, moves Constant weights to initializers, removes Identity/Dropout,
// sorts topologically and raises the opset to what the Q/DQ nodes need (10, or 13 for per-axis).
Model prepare_for_quantization(const Model& m, const QuantOptions& opts, JobObserver* obs);

}  // namespace ptq
