// libFuzzer target: model loading + graph validation. Bytes -> parse_model -> topological_order ->
// Executor construction with the default kernel registry. Any ptq::Error is an accepted outcome;
// a crash, sanitizer report, other exception or hang is a bug.
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/error.h"
#include "exec/executor.h"
#include "exec/kernel.h"
#include "graph/graph_utils.h"
#include "onnx_io/model_io.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const ptq::KernelRegistry reg = ptq::make_default_registry();
  try {
    // No base folder: external data must be refused, never read from the fuzzer's cwd.
    ptq::Model m = ptq::parse_model(std::string(reinterpret_cast<const char*>(data), size), "", "fuzz.onnx");
    ptq::topological_order(m.graph, {});
    ptq::Executor exec(m, reg, {1});
  } catch (const ptq::Error&) {
  }
  return 0;
}
