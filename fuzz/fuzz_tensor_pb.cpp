// libFuzzer target: TensorProto (.pb) parsing. Any ptq::Error is an accepted outcome.
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/error.h"
#include "onnx_io/model_io.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    std::string name;
    ptq::parse_tensor_pb(std::string(reinterpret_cast<const char*>(data), size), "fuzz.pb", &name);
  } catch (const ptq::Error&) {
  }
  return 0;
}
