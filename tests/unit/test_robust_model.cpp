// Model loading + graph validation on the fuzz seeds (fuzz/corpus/model, from fuzz/make_corpus.py),
// run through exactly the steps of fuzz/fuzz_model.cpp (fuzz/model_steps.h): the valid seeds must
// get through every step (else the fuzzer would start from refused inputs and never reach the
// passes), the invalid ones must be refused as BadInput/Unsupported, and the passes must do what
// each seed was built for.
#include <catch2/catch.hpp>

#include <algorithm>
#include <string>

#include "../../fuzz/model_steps.h"
#include "core/atomic_file.h"
#include "core/error.h"

namespace {

std::string seed(const std::string& name) { return ptq::read_file(std::string(PTQ_SOURCE_DIR) + "/fuzz/corpus/model/" + name + ".onnx"); }

const ptq::KernelRegistry& registry() {
  static const ptq::KernelRegistry reg = ptq::make_default_registry();
  return reg;
}

ptq::Model prepare(const std::string& name) { return ptq::fuzz::load_and_prepare(seed(name), registry()); }

// Kind and message of the error the steps throw; Internal (as "no error") when they pass.
ptq::ErrorKind refusal(const std::string& bytes, std::string* msg) {
  try {
    ptq::fuzz::load_and_prepare(bytes, registry());
  } catch (const ptq::Error& e) {
    *msg = e.what();
    return e.kind();
  }
  return ptq::ErrorKind::Internal;
}

size_t count_op(const ptq::Graph& g, const std::string& op) {
  return static_cast<size_t>(std::count_if(g.nodes.begin(), g.nodes.end(), [&](const ptq::Node& n) { return n.op_type == op; }));
}

}  // namespace

TEST_CASE("valid fuzz seeds get through loading, validation, passes and kernel construction", "[robust]") {
  for (const char* name : {"conv_reshape", "matmul_relu", "constant_nodes", "if_subgraph", "if_nested", "loop", "scan",
                           "tensor_fields", "untyped_attr", "conv_bn", "convtranspose_bn", "gemm_bn", "identity_dropout_ir3",
                           "opset17_upgrade", "opset11_squeeze", "qdq", "matmul_integer", "pool_resize_pad", "shape_ops",
                           "norm_softmax", "einsum_topk", "lstm_gru", "dim_params"}) {
    INFO(name);
    std::string msg;
    ptq::ErrorKind kind = refusal(seed(name), &msg);
    INFO(msg);
    CHECK(kind == ptq::ErrorKind::Internal);
  }
}

TEST_CASE("invalid fuzz seeds are refused as bad input or unsupported, naming the cause", "[robust]") {
  struct Case {
    const char* name;
    ptq::ErrorKind kind;
    const char* says;
  };
  for (const Case& c : {Case{"cycle", ptq::ErrorKind::BadInput, "cycle"},
                        Case{"dangling_input", ptq::ErrorKind::BadInput, "nope"},
                        Case{"duplicate_producer", ptq::ErrorKind::BadInput, "'y'"},
                        Case{"external_data", ptq::ErrorKind::BadInput, "external data, which is not allowed here"},
                        Case{"custom_domain", ptq::ErrorKind::Unsupported, "com.example.Frob"}}) {
    INFO(c.name);
    std::string msg;
    ptq::ErrorKind kind = refusal(seed(c.name), &msg);
    INFO(msg);
    CHECK(kind == c.kind);
    CHECK_THAT(msg, Catch::Contains(c.says));
  }
}

TEST_CASE("fuzz seeds reach the passes they were built for", "[robust]") {
  // Five Constant nodes (value, value_float, value_floats, value_int, value_ints) become initializers.
  ptq::Model m = prepare("constant_nodes");
  CHECK(count_op(m.graph, "Constant") == 0);
  CHECK(m.graph.initializers.count("c_t") == 1);
  CHECK(m.graph.initializers.count("c_is") == 1);
  // Each BN is folded into its producer: 2 nodes -> 1, the BN parameters dropped as unused.
  for (const char* name : {"conv_bn", "convtranspose_bn", "gemm_bn"}) {
    INFO(name);
    ptq::Model b = prepare(name);
    CHECK(b.graph.nodes.size() == 1);
    CHECK(count_op(b.graph, "BatchNormalization") == 0);
    CHECK(b.graph.initializers.count("g") == 0);
  }
  // IR 3: the weight listed as a graph input is dropped from the inputs; Identity and Dropout go.
  ptq::Model ir3 = prepare("identity_dropout_ir3");
  CHECK(ir3.graph.inputs.size() == 1);
  CHECK(ir3.graph.nodes.size() == 1);
  CHECK(ir3.graph.nodes[0].op_type == "MatMul");
  // Opset 17 -> 21: ReduceMean's axes attribute becomes its second input.
  ptq::Model up = prepare("opset17_upgrade");
  CHECK(up.opset() == 21);
  for (const auto& n : up.graph.nodes)
    if (n.op_type == "ReduceMean") CHECK(n.inputs.size() == 2);
}
