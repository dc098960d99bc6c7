// Calibration observes only the values a quantization plan can mark (tensors_needing_ranges):
// a Conv output read only by a Relu is skipped (and the executor then fuses the pair), every plan
// built with real dtypes and any exclusions marks a subset of the set, and the model quantized
// from the reduced statistics is the one quantized from full statistics.
#include <catch2/catch.hpp>

#include <algorithm>

#include "calib/collector.h"
#include "exec/executor.h"
#include "quant/quantizer.h"

#include "test_util.h"

using namespace ptq;

namespace {

using test::make;
using test::wave;

Node named(Node n, const std::string& name) {
  n.name = name;
  return n;
}

// x -> Conv -> Relu -> MaxPool -> Flatten -> Gemm -> y, plus a Conv -> Add branch (Add reads the
// second conv's output, so that one must be observed), a Shape (int64 output) and a Conv -> Relu
// whose output only leaves the graph (marked by the Relu's own rule).
Model model() {
  Model m;
  m.opsets.push_back({"", 13});
  m.graph.inputs.push_back({"x", DType::Float32, true, {Dim{1, ""}, Dim{2, ""}, Dim{6, ""}, Dim{6, ""}}});
  m.graph.outputs.push_back({"y", DType::Float32, false, {}});
  m.graph.outputs.push_back({"s", DType::Int64, false, {}});
  m.graph.outputs.push_back({"y2", DType::Float32, false, {}});
  Tensor w(DType::Float32, {2, 2, 3, 3});
  for (int64_t i = 0; i < w.numel(); ++i) w.data<float>()[i] = 0.05f * static_cast<float>(i % 7) - 0.12f;
  m.graph.initializers["W"] = w;
  m.graph.initializers["W2"] = w;
  Tensor g(DType::Float32, {8, 3});
  for (int64_t i = 0; i < g.numel(); ++i) g.data<float>()[i] = 0.1f * static_cast<float>(i % 5) - 0.2f;
  m.graph.initializers["G"] = g;
  auto pads = Attribute::make_ints("pads", {1, 1, 1, 1});
  m.graph.nodes.push_back(named(make("Conv", {"x", "W"}, {"c"}, {pads}), "conv"));
  m.graph.nodes.push_back(named(make("Relu", {"c"}, {"r"}, {}), "relu"));
  m.graph.nodes.push_back(named(make("Conv", {"r", "W2"}, {"c2"}, {pads}), "conv2"));
  m.graph.nodes.push_back(named(make("Add", {"c2", "r"}, {"a"}, {}), "add"));
  auto window = std::vector<Attribute>{Attribute::make_ints("kernel_shape", {3, 3}), Attribute::make_ints("strides", {3, 3})};
  m.graph.nodes.push_back(named(make("MaxPool", {"a"}, {"p"}, window), "pool"));
  m.graph.nodes.push_back(named(make("Flatten", {"p"}, {"f"}, {}), "flatten"));
  m.graph.nodes.push_back(named(make("Gemm", {"f", "G"}, {"y"}, {}), "gemm"));
  m.graph.nodes.push_back(named(make("Shape", {"x"}, {"s"}, {}), "shape"));
  m.graph.nodes.push_back(named(make("Conv", {"x", "W"}, {"c3"}, {pads}), "conv3"));
  m.graph.nodes.push_back(named(make("Relu", {"c3"}, {"y2"}, {}), "relu3"));  // read by nothing else
  return m;
}


void calibrate(const Model& m, StatsCollector& col) {
  KernelRegistry reg = make_default_registry();
  Executor ex(m, reg);
  for (float ph : {0.f, 0.6f, 1.3f}) ex.run({{"x", wave({1, 2, 6, 6}, 1.f, ph)}}, &col);
}

}  // namespace

TEST_CASE("tensors_needing_ranges: skips a Conv output only a Relu reads", "[calib][observe]") {
  Model m = model();
  std::set<std::string> need = tensors_needing_ranges(m, make_default_rules());
  CHECK(need == std::set<std::string>{"x", "r", "c2", "a", "p", "f", "y", "y2"});
}

TEST_CASE("every plan marks a subset of tensors_needing_ranges", "[calib][observe]") {
  Model m = model();
  RuleRegistry rules = make_default_rules();
  std::set<std::string> need = tensors_needing_ranges(m, rules);
  StatsCollector full;
  calibrate(m, full);
  for (const Node& n : m.graph.nodes) {
    for (bool weight_only : {false, true}) {
      QuantOptions o;
      o.exclude_nodes = {n.name};
      o.weight_only = weight_only;
      QuantPlan plan = build_plan(m, o, full.dtypes(), rules);
      INFO("excluding " << n.name << (weight_only ? " (weight-only)" : ""));
      for (const auto& t : plan.activations()) CHECK(need.count(t) == 1);
    }
  }
}

TEST_CASE("observe_only: statistics of the listed values only, dtypes of all, same quantized model", "[calib][observe]") {
  Model m = model();
  RuleRegistry rules = make_default_rules();
  std::set<std::string> need = tensors_needing_ranges(m, rules);
  StatsCollector full, part;
  part.observe_only(need);
  calibrate(m, full);
  calibrate(m, part);
  CHECK(full.stats().count("c") == 1);
  CHECK(part.stats().count("c") == 0);  // fused into the Conv: never produced
  CHECK(part.dtypes().count("c3") == 0);
  for (const auto& t : need) {
    REQUIRE(part.stats().count(t) == 1);
    CHECK(part.stats().at(t) == full.stats().at(t));
  }
  CHECK(part.stats().size() == need.size());
  CHECK(part.dtypes().at("s") == DType::Int64);
  QuantOptions o;
  QuantizeSummary s1, s2;
  Model q1 = rewrite_qdq(m, build_plan(m, o, full.dtypes(), rules), full.stats(), o, &s1);
  Model q2 = rewrite_qdq(m, build_plan(m, o, part.dtypes(), rules), part.stats(), o, &s2);
  REQUIRE(q1.graph.nodes.size() == q2.graph.nodes.size());
  for (size_t i = 0; i < q1.graph.nodes.size(); ++i) {
    CHECK(q1.graph.nodes[i].op_type == q2.graph.nodes[i].op_type);
    CHECK(q1.graph.nodes[i].inputs == q2.graph.nodes[i].inputs);
  }
  REQUIRE(q1.graph.initializers.size() == q2.graph.initializers.size());
  for (const auto& [name, t] : q1.graph.initializers) {
    INFO(name);
    REQUIRE(q2.graph.initializers.count(name) == 1);
    const Tensor& u = q2.graph.initializers.at(name);
    REQUIRE(t.nbytes() == u.nbytes());
    CHECK(std::equal(static_cast<const char*>(t.raw()), static_cast<const char*>(t.raw()) + t.nbytes(),
                     static_cast<const char*>(u.raw())));
  }
}
