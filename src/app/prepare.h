// Float-model preparation before calibration: the same graph is calibrated and quantized.
#pragma once
#include "app/pipeline.h"
#include "exec/kernel.h"
#include "onnx_io/model.h"

namespace ptq {

// Before: s = Shape-free constant arithmetic on initializers, e.g. w2 = Transpose(W); y = MatMul(x, w2)
//         or n = Mul(a, b) with a, b initializers
// After:  initializer w2 = Transpose(W) computed once with the executor; y = MatMul(x, w2)
// Folds top-level nodes (in topological order, so chains fold) whose inputs are all initializers.
// Skipped: nodes with subgraphs, random ops, Q/DQ (pre-quantized weights stay as they are), nodes
// producing a graph output, nodes without a kernel, and results larger than max(inputs, 64 Ki
// elements) (Expand/Tile/ConstantOfShape would grow the file). Returns the number folded.
size_t fold_constant_nodes(Model& model, const KernelRegistry& reg);

// The opset the Q/DQ nodes for these options need: 10 per-tensor, 13 per-axis, 21 for 4-bit types
// or block_size.
int64_t required_opset(const QuantOptions& opts);

// Drops initializer-inputs, moves Constant weights to initializers, removes Identity/Dropout, folds
// constant subgraphs and BatchNormalization into Conv/ConvTranspose/Gemm, drops unused initializers,
// sorts topologically and raises the opset to required_opset(opts).
Model prepare_for_quantization(const Model& m, const QuantOptions& opts, JobObserver* obs);

}  // namespace ptq
