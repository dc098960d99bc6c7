// Graph preparation passes: BatchNormalization folding (Conv, ConvTranspose, Gemm), constant-node
// folding with the executor, unused-initializer removal, and the prepared bundled model computing the
// same outputs as the original (through the whole job with --save-prepared).
#include <catch2/catch.hpp>

#include <cmath>
#include <filesystem>

#include "app/pipeline.h"
#include "app/prepare.h"
#include "exec/executor.h"
#include "graph/passes.h"
#include "onnx_io/model_io.h"

#include "test_util.h"

using namespace ptq;
namespace fs = std::filesystem;

namespace {

using test::make;
using test::wave;

Tensor vec(std::vector<float> v) { return Tensor::from_vector<float>(v, {static_cast<int64_t>(v.size())}); }

std::vector<Dim> dims(Shape s) {
  std::vector<Dim> d;
  for (auto v : s) d.push_back(Dim{v, ""});
  return d;
}

// x -> producer(x, W[, B]) -> y -> BatchNormalization -> z
Model with_bn(const std::string& op, Shape xs, Tensor w, Tensor b, int64_t channels, std::vector<Attribute> attrs) {
  Model m;
  m.opsets.push_back({"", 13});
  m.graph.inputs.push_back({"x", DType::Float32, true, dims(xs)});
  m.graph.outputs.push_back({"z", DType::Float32, false, {}});
  m.graph.initializers["W"] = w;
  std::vector<std::string> in = {"x", "W"};
  if (!b.empty()) {
    m.graph.initializers["B"] = b;
    in.push_back("B");
  }
  m.graph.initializers["gamma"] = wave({channels}, 1.5f, 0.3f);
  m.graph.initializers["beta"] = wave({channels}, 0.5f, 1.1f);
  m.graph.initializers["mean"] = wave({channels}, 0.4f, 2.0f);
  Tensor var = wave({channels}, 0.3f, 0.5f);
  for (int64_t i = 0; i < channels; ++i) var.data<float>()[i] = std::fabs(var.data<float>()[i]) + 0.2f;
  m.graph.initializers["var"] = var;
  m.graph.nodes.push_back(make(op, in, {"y"}, std::move(attrs)));
  m.graph.nodes.push_back(make("BatchNormalization", {"y", "gamma", "beta", "mean", "var"}, {"z"},
                               {Attribute::make_float("epsilon", 1e-3f)}));
  return m;
}

std::vector<Tensor> run(const Model& m, const std::map<std::string, Tensor>& feeds) {
  KernelRegistry reg = make_default_registry();
  Executor ex(m, reg);
  return ex.run(feeds);
}

void require_same(const std::vector<Tensor>& a, const std::vector<Tensor>& b, float atol) {
  REQUIRE(a.size() == b.size());
  for (size_t k = 0; k < a.size(); ++k) {
    REQUIRE(a[k].shape() == b[k].shape());
    Tensor fa = a[k].to_float(), fb = b[k].to_float();
    float worst = 0;
    for (int64_t i = 0; i < fa.numel(); ++i) worst = std::max(worst, std::fabs(fa.data<float>()[i] - fb.data<float>()[i]));
    INFO("output " << k << " max abs diff " << worst);
    REQUIRE(worst <= atol);
  }
}

size_t count_op(const Graph& g, const std::string& op) {
  size_t n = 0;
  for (const auto& node : g.nodes) n += node.op_type == op;
  return n;
}

}  // namespace

TEST_CASE("fold_batchnorm: 1x1 Conv, hand-computed weight and bias", "[passes]") {
  // s = gamma / sqrt(var + eps) = 3 / sqrt(3 + 1) = 1.5; W' = 2 * 1.5 = 3; B' = (1 - 1) * 1.5 + 0.5 = 0.5
  Model m = with_bn("Conv", {1, 1, 2, 2}, Tensor::from_vector<float>({2.f}, {1, 1, 1, 1}), vec({1.f}), 1, {});
  m.graph.initializers["gamma"] = vec({3.f});
  m.graph.initializers["beta"] = vec({0.5f});
  m.graph.initializers["mean"] = vec({1.f});
  m.graph.initializers["var"] = vec({3.f});
  m.graph.nodes[1].set_attr(Attribute::make_float("epsilon", 1.f));
  REQUIRE(fold_batchnorm(m.graph) == 1);
  REQUIRE(m.graph.nodes.size() == 1);
  const Node& conv = m.graph.nodes[0];
  REQUIRE(conv.outputs[0] == "z");
  REQUIRE(m.graph.initializers.at(conv.inputs[1]).data<float>()[0] == Approx(3.f));
  REQUIRE(m.graph.initializers.at(conv.inputs[2]).data<float>()[0] == Approx(0.5f));
  // The original weights are untouched (they may be shared with the caller's model).
  REQUIRE(m.graph.initializers.at("W").data<float>()[0] == 2.f);
  REQUIRE(remove_unused_initializers(m.graph) == 6);  // W, B, gamma, beta, mean, var
  auto out = run(m, {{"x", vec({1, 2, 3, 4}).reshaped({1, 1, 2, 2})}});
  REQUIRE(out[0].data<float>()[3] == Approx(3.f * 4 + 0.5f));
}

TEST_CASE("fold_batchnorm keeps outputs: Conv without bias, ConvTranspose with groups, Gemm both transB", "[passes]") {
  struct Case {
    std::string name;
    Model m;
    Shape xs;
  };
  std::vector<Case> cases;
  cases.push_back({"conv", with_bn("Conv", {1, 2, 5, 5}, wave({3, 2, 3, 3}, 0.5f, 0.f), {}, 3, {}), {1, 2, 5, 5}});
  cases.push_back({"convtranspose g2",
                   with_bn("ConvTranspose", {1, 4, 3, 3}, wave({4, 3, 2, 2}, 0.5f, 0.2f), wave({6}, 0.2f, 0.f), 6,
                           {Attribute::make_int("group", 2), Attribute::make_ints("strides", {2, 2})}),
                   {1, 4, 3, 3}});
  cases.push_back({"gemm transB=1", with_bn("Gemm", {2, 4}, wave({5, 4}, 0.5f, 0.4f), wave({5}, 0.3f, 0.f), 5,
                                            {Attribute::make_int("transB", 1), Attribute::make_float("beta", 0.5f)}),
                   {2, 4}});
  cases.push_back({"gemm transB=0", with_bn("Gemm", {2, 4}, wave({4, 5}, 0.5f, 0.4f), {}, 5, {Attribute::make_float("alpha", 2.f)}),
                   {2, 4}});
  for (auto& c : cases) {
    SECTION(c.name) {
      std::map<std::string, Tensor> feeds = {{"x", wave(c.xs, 1.f, 0.9f)}};
      auto before = run(c.m, feeds);
      Model f = c.m;
      REQUIRE(fold_batchnorm(f.graph) == 1);
      REQUIRE(count_op(f.graph, "BatchNormalization") == 0);
      require_same(before, run(f, feeds), 1e-5f);
    }
  }
}

TEST_CASE("fold_batchnorm leaves a BN whose input has another reader", "[passes]") {
  Model m = with_bn("Conv", {1, 2, 4, 4}, wave({3, 2, 1, 1}, 0.5f, 0.f), {}, 3, {});
  m.graph.nodes.push_back(make("Relu", {"y"}, {"r"}));
  m.graph.outputs.push_back({"r", DType::Float32, false, {}});
  REQUIRE(fold_batchnorm(m.graph) == 0);
  REQUIRE(count_op(m.graph, "BatchNormalization") == 1);
  // A BN after a non-conv producer (MaxPool, Add) is left alone too.
  Model p = with_bn("Conv", {1, 2, 4, 4}, wave({3, 2, 1, 1}, 0.5f, 0.f), {}, 3, {});
  p.graph.nodes[0] = make("Relu", {"x"}, {"y"});
  p.graph.initializers["gamma"] = wave({2}, 1.f, 0.f);
  REQUIRE(fold_batchnorm(p.graph) == 0);
}

TEST_CASE("fold_constant_nodes: initializer-only chains become initializers, others stay", "[passes]") {
  Model m;
  m.opsets.push_back({"", 13});
  m.graph.inputs.push_back({"x", DType::Float32, true, dims({2, 3})});
  m.graph.outputs.push_back({"y", DType::Float32, false, {}});
  m.graph.outputs.push_back({"n", DType::Float32, false, {}});
  m.graph.initializers["Wt"] = Tensor::from_vector<float>({1, 2, 3, 4, 5, 6}, {2, 3});
  m.graph.initializers["two"] = Tensor::scalar<float>(2.f);
  m.graph.initializers["shape"] = Tensor::from_vector<int64_t>({1000, 1000}, {2});
  // W = Transpose(Wt) * 2 (foldable chain); y = MatMul(x, W)
  m.graph.nodes.push_back(make("Transpose", {"Wt"}, {"t"}));
  m.graph.nodes.push_back(make("Mul", {"t", "two"}, {"W"}));
  m.graph.nodes.push_back(make("MatMul", {"x", "W"}, {"mm"}));
  // A large ConstantOfShape stays a node (would add 1M elements to the file).
  m.graph.nodes.push_back(make("ConstantOfShape", {"shape"}, {"big"}));
  m.graph.nodes.push_back(make("ReduceSum", {"big"}, {"s"}, {Attribute::make_int("keepdims", 0)}));
  m.graph.nodes.push_back(make("Add", {"mm", "s"}, {"y"}));
  // A graph output computed from initializers stays a node.
  m.graph.nodes.push_back(make("Neg", {"two"}, {"n"}));
  std::map<std::string, Tensor> feeds = {{"x", wave({2, 3}, 1.f, 0.f)}};
  auto before = run(m, feeds);
  KernelRegistry reg = make_default_registry();
  REQUIRE(fold_constant_nodes(m, reg) == 2);
  REQUIRE(count_op(m.graph, "Transpose") == 0);
  REQUIRE(count_op(m.graph, "Mul") == 0);
  REQUIRE(count_op(m.graph, "ConstantOfShape") == 1);
  REQUIRE(count_op(m.graph, "Neg") == 1);
  const Tensor& w = m.graph.initializers.at("W");
  REQUIRE(w.shape() == Shape{3, 2});
  REQUIRE(w.data<float>()[1] == 8.f);  // Wt[1][0] * 2
  require_same(before, run(m, feeds), 0.f);
}

TEST_CASE("prepare: a Conv->BN model and the bundled CNN keep their outputs; --save-prepared", "[passes]") {
  // Conv -> BN -> Relu prepared: the BN is gone and the outputs agree.
  Model m = with_bn("Conv", {1, 2, 5, 5}, wave({3, 2, 3, 3}, 0.5f, 0.f), wave({3}, 0.1f, 0.f), 3, {});
  m.graph.nodes.push_back(make("Relu", {"z"}, {"r"}));
  m.graph.outputs[0].name = "r";
  Model p = prepare_for_quantization(m, QuantOptions{}, nullptr);
  REQUIRE(count_op(p.graph, "BatchNormalization") == 0);
  REQUIRE(p.graph.initializers.size() == 2);
  std::map<std::string, Tensor> feeds = {{"x", wave({1, 2, 5, 5}, 1.f, 0.5f)}};
  require_same(run(m, feeds), run(p, feeds), 1e-5f);

  // The bundled model's BNs follow MaxPool and Add, so none fold; the saved prepared model computes
  // the same outputs as the input on calibration samples.
  std::string src = PTQ_SOURCE_DIR;
  fs::path dir = fs::temp_directory_path() / "ptq_test_passes";
  fs::remove_all(dir);
  fs::create_directories(dir);
  QuantizeJob job;
  job.model_path = src + "/data/fashion_mnist_cnn.onnx";
  job.calib_dir = src + "/data/calib";
  job.output_path = (dir / "q.onnx").string();
  job.prepared_path = (dir / "prepared.onnx").string();
  job.max_samples = 2;
  job.evaluate = false;
  run_quantize_job(job, nullptr);
  Model orig = load_model(job.model_path);
  Model prep = load_model(job.prepared_path);
  REQUIRE(count_op(prep.graph, "BatchNormalization") == 2);
  REQUIRE(prep.graph.inputs.size() == 1);
  const ValueInfo& in = prep.graph.inputs[0];
  Shape xs;
  for (const auto& d : in.shape) xs.push_back(d.value > 0 ? d.value : 1);
  for (float phase : {0.f, 1.3f}) {
    std::map<std::string, Tensor> f = {{in.name, wave(xs, 1.f, phase)}};
    require_same(run(orig, f), run(prep, f), 1e-5f);
  }
  fs::remove_all(dir);
}
