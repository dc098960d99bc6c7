// Internal to onnx_io: TensorProto <-> Tensor conversion.
#pragma once
#include <map>
#include <memory>
#include <string>

#include <onnx/onnx_pb.h>

#include "core/tensor.h"

namespace ptq::detail {

// Resolves external data files relative to a model folder, mapping each file once.
class ExternalDataResolver {
 public:
  explicit ExternalDataResolver(std::string base_dir) : base_dir_(std::move(base_dir)) {}
  // Returns a buffer of exactly `length` bytes (or the rest of the file when length < 0).
  std::shared_ptr<uint8_t> get(const std::string& location, int64_t offset, int64_t length, const std::string& tensor,
                               size_t* size_out);

 private:
  struct Mapping {
    std::shared_ptr<uint8_t> base;
    size_t size = 0;
  };
  std::string base_dir_;
  std::map<std::string, Mapping> files_;
};

// `what` names the tensor for error messages. resolver may be null (external data then refused).
Tensor tensor_from_proto(const onnx::TensorProto& p, ExternalDataResolver* resolver, const std::string& what);
// Fills p with name, dims, data_type and raw_data (4-bit types packed two per byte, low nibble first).
void tensor_to_proto(const Tensor& t, const std::string& name, onnx::TensorProto* p);

}  // namespace ptq::detail
