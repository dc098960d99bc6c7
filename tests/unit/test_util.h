// Helpers for unit tests: build one-node models and run them through the real executor.
#pragma once
#include <map>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "exec/executor.h"
#include "onnx_io/model.h"

namespace ptq::test {

// A model with one node of `op_type`; inputs named in0, in1, ... (an empty Tensor = omitted
// optional input), outputs out0..out{n_outputs-1}. Inputs listed in `as_initializer` (by index)
// become initializers instead of graph inputs.
Model single_node_model(const std::string& op_type, const std::vector<Tensor>& inputs, std::vector<Attribute> attrs,
                        int64_t opset, size_t n_outputs = 1, const std::vector<size_t>& as_initializer = {},
                        const std::string& domain = "");

// Builds the model above and runs it with the default registry.
std::vector<Tensor> run_single_node(const std::string& op_type, const std::vector<Tensor>& inputs,
                                    std::vector<Attribute> attrs, int64_t opset, size_t n_outputs = 1,
                                    const std::vector<size_t>& as_initializer = {});

// A node named "<op>_<first output>" (the graph-building helper of the quantizer tests).
Node make(const std::string& op, std::vector<std::string> in, std::vector<std::string> out, std::vector<Attribute> attrs = {});
// Deterministic test data: amp * sin(0.7 i + phase).
Tensor wave(Shape s, float amp, float phase);

// Float vectors equal within abs tolerance (prints the first mismatch through Catch).
void require_close(const Tensor& got, const std::vector<float>& want, float atol = 1e-5f);

}  // namespace ptq::test
