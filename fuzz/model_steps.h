// The steps fuzz/fuzz_model.cpp runs on each input, shared with tests/unit/test_robust_model.cpp
// so that every fuzz finding replays there exactly as the fuzzer ran it.
//   bytes -> parse_model -> topological_order -> Executor (kernel factories read attributes and
//   constant inputs; If/Loop/Scan compile their subgraphs) -> the graph passes of
//   prepare_for_quantization that work on the graph alone (they index nodes and initializers the
//   model names) -> a second Executor on the rewritten graph, as the pipeline builds it.
// Left out on purpose: constant folding and ONNX's version converter (they run kernels or
// third-party code on the model; the unit tests cover them) and running the graph.
#pragma once
#include <string>

#include "exec/executor.h"
#include "exec/kernel.h"
#include "graph/graph_utils.h"
#include "graph/passes.h"
#include "onnx_io/model_io.h"

namespace ptq::fuzz {

// Throws ptq::Error when the model is refused; returns the prepared model otherwise.
inline Model load_and_prepare(const std::string& bytes, const KernelRegistry& reg) {
  // No base folder: external data must be refused, never read from the fuzzer's cwd.
  Model m = parse_model(bytes, "", "fuzz.onnx");
  topological_order(m.graph, {});
  { Executor exec(m, reg, {1}); }
  Graph& g = m.graph;
  drop_initializer_inputs(g);
  constants_to_initializers(g);
  remove_identity_nodes(g);
  sort_topologically(g);
  fold_batchnorm(g);
  remove_unused_initializers(g);
  if (m.opset() >= 17 && m.opset() < 21) upgrade_opset_to_21(m);
  { Executor exec(m, reg, {1}); }
  return m;
}

}  // namespace ptq::fuzz
