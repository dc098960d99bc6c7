// Loading and saving ONNX files. Protobuf types never leave this module.
#pragma once
#include <string>

#include "onnx_io/model.h"

namespace ptq {

// Parses an .onnx file. Tensors stored as external data are resolved relative to the model's folder
// (memory-mapped, never copied); a location outside that folder is refused. Throws Error(BadInput)
// naming the file on any corruption.
Model load_model(const std::string& path);
// Parses a model from bytes (external data resolved against base_dir). Used by fuzzers and tests.
Model parse_model(const std::string& bytes, const std::string& base_dir, const std::string& what);

struct SaveOptions {
  enum class External { Auto, Always, Never };
  // Auto: external data only when the serialized model would pass protobuf's 2 GB limit.
  External external = External::Auto;
  // Tensors smaller than this stay inline even when external data is used.
  size_t external_min_bytes = 1024;
  // Auto switches to external data above this many bytes of tensor data.
  size_t auto_limit_bytes = size_t(1800) << 20;
};

// Writes atomically: "<path>" (and "<path>.data" when external) appear complete or not at all.
void save_model(const Model& model, const std::string& path, const SaveOptions& opts = {});

// Serializes to bytes with all tensors inline (throws if that passes 2 GB).
std::string serialize_model(const Model& model);

// Reads a serialized TensorProto (.pb file of the ONNX test-data layout). name_out gets its name.
Tensor load_tensor_pb(const std::string& path, std::string* name_out = nullptr);
Tensor parse_tensor_pb(const std::string& bytes, const std::string& what, std::string* name_out = nullptr);
std::string serialize_tensor_pb(const Tensor& t, const std::string& name);

// Converts the default-domain opset with ONNX's version converter (adapts ops whose signature
// changed, e.g. Squeeze axes attribute -> input at 13). Throws Error(Unsupported) when ONNX cannot.
Model convert_opset(const Model& model, int64_t target_opset);

// Runs ONNX's own checker (full_check adds shape inference). Returns "" when it passes, else the
// checker's message. Models with opsets newer than the linked ONNX (e.g. 21) cannot be checked.
std::string check_model(const Model& model, bool full_check = false);

}  // namespace ptq
