// QDQ placement following ONNX Runtime's QDQ conventions: Concat inputs and output share one scale,
// Resize nearest shares its input's scale while linear gets its own (roi/scales stay float), an Add
// with a constant operand quantizes the constant offline, and a weight read by two Convs is
// quantized once.
#include <catch2/catch.hpp>

#include <cmath>

#include "calib/collector.h"
#include "exec/executor.h"
#include "quant/quantizer.h"

#include "test_util.h"

using namespace ptq;

namespace {

using test::make;
using test::wave;

Model base(Shape xs) {
  Model m;
  m.opsets.push_back({"", 13});
  std::vector<Dim> d;
  for (auto v : xs) d.push_back(Dim{v, ""});
  m.graph.inputs.push_back({"x", DType::Float32, true, d});
  m.graph.outputs.push_back({"y", DType::Float32, false, {}});
  return m;
}

struct Quantized {
  QuantPlan plan;
  Model model;
};

Quantized quantize(const Model& m, Shape xs) {
  KernelRegistry reg = make_default_registry();
  Executor ex(m, reg);
  StatsCollector col;
  for (float ph : {0.f, 0.8f}) ex.run({{"x", wave(xs, 1.f, ph)}}, &col);
  QuantOptions o;
  Quantized q;
  q.plan = build_plan(m, o, col.dtypes(), make_default_rules());
  QuantizeSummary sum;
  q.model = rewrite_qdq(m, q.plan, col.stats(), o, &sum);
  return q;
}

float scale_of(const Model& q, const std::string& t) { return q.graph.initializers.at(t + "_scale").data<float>()[0]; }

size_t count_if_input(const Model& q, const std::string& op, const std::string& input_prefix) {
  size_t k = 0;
  for (const auto& n : q.graph.nodes) k += n.op_type == op && n.inputs[0].rfind(input_prefix, 0) == 0;
  return k;
}

}  // namespace

TEST_CASE("Concat: inputs and output share one scale covering all inputs", "[quant5]") {
  Model m = base({1, 4});
  m.graph.initializers["k"] = Tensor::scalar<float>(5.f);
  m.graph.nodes.push_back(make("Mul", {"x", "k"}, {"a"}));   // a in [-5, 5]
  m.graph.nodes.push_back(make("Relu", {"x"}, {"b"}));       // b in [0, 1]
  m.graph.nodes.push_back(make("Concat", {"a", "b"}, {"y"}, {Attribute::make_int("axis", 1)}));
  Quantized q = quantize(m, {1, 4});
  REQUIRE(q.plan.group_of("a") == q.plan.group_of("y"));
  REQUIRE(q.plan.group_of("b") == q.plan.group_of("y"));
  float s = scale_of(q.model, "y");
  REQUIRE(scale_of(q.model, "a") == s);
  REQUIRE(scale_of(q.model, "b") == s);
  // Calibration inputs are sin(0.7 i + phase) >= 0: the union is a's range [0, 5 sin(1.5)], over 255 steps.
  REQUIRE(s == Approx(5.f * std::sin(1.5f) / 255.f).epsilon(1e-4));
}

TEST_CASE("Resize: nearest shares the input scale, linear has its own; scales stay float", "[quant5]") {
  for (std::string mode : {"nearest", "linear"}) {
    Model m = base({1, 1, 2, 2});
    m.graph.initializers["sc"] = Tensor::from_vector<float>({1, 1, 2, 2}, {4});
    m.graph.nodes.push_back(make("Relu", {"x"}, {"r"}));
    m.graph.nodes.push_back(make("Resize", {"r", "", "sc"}, {"y"}, {Attribute::make_string("mode", mode)}));
    Quantized q = quantize(m, {1, 1, 2, 2});
    INFO(mode);
    REQUIRE(q.plan.is_activation("y"));
    REQUIRE_FALSE(q.plan.is_activation("sc"));
    REQUIRE_FALSE(q.model.graph.find_initializer("sc_quantized"));
    REQUIRE((q.plan.group_of("y") == q.plan.group_of("r")) == (mode == "nearest"));
    // The Resize reads the dequantized Relu output.
    for (const auto& n : q.model.graph.nodes)
      if (n.op_type == "Resize") REQUIRE(n.inputs[0].find("DequantizeLinear") != std::string::npos);
  }
}

TEST_CASE("Add with a constant operand: the constant is quantized offline, per tensor", "[quant5]") {
  Model m = base({1, 4});
  m.graph.initializers["C"] = Tensor::from_vector<float>({0.5f, -1.f, 2.f, 0.f}, {4});
  m.graph.nodes.push_back(make("Add", {"x", "C"}, {"y"}));
  Quantized q = quantize(m, {1, 4});
  const Tensor* cq = q.model.graph.find_initializer("C_quantized");
  REQUIRE(cq);
  REQUIRE(cq->dtype() == DType::UInt8);  // activation type
  REQUIRE(q.model.graph.initializers.at("C_scale").numel() == 1);
  REQUIRE(count_if_input(q.model, "QuantizeLinear", "C") == 0);  // no runtime Q for a constant
  REQUIRE(count_if_input(q.model, "DequantizeLinear", "C_quantized") == 1);
  // Range [-1, 2] (with 0) over 255 steps: scale 3/255, zero point 85; -1 -> 0, 2 -> 255.
  REQUIRE(q.model.graph.initializers.at("C_scale").data<float>()[0] == Approx(3.f / 255.f));
  REQUIRE(cq->data<uint8_t>()[1] == 0);
  REQUIRE(cq->data<uint8_t>()[2] == 255);
}

TEST_CASE("a weight shared by two Convs is quantized once", "[quant5]") {
  Model m = base({1, 2, 4, 4});
  m.graph.outputs.push_back({"z", DType::Float32, false, {}});
  m.graph.initializers["W"] = wave({3, 2, 3, 3}, 0.5f, 0.1f);
  m.graph.nodes.push_back(make("Conv", {"x", "W"}, {"y"}, {Attribute::make_ints("pads", {1, 1, 1, 1})}));
  m.graph.nodes.push_back(make("Relu", {"x"}, {"r"}));
  m.graph.nodes.push_back(make("Conv", {"r", "W"}, {"z"}));
  Quantized q = quantize(m, {1, 2, 4, 4});
  REQUIRE(q.model.graph.find_initializer("W_quantized"));
  REQUIRE_FALSE(q.model.graph.find_initializer("W_quantized_1"));
  REQUIRE(count_if_input(q.model, "DequantizeLinear", "W_quantized") == 1);
  std::string wdq;
  for (const auto& n : q.model.graph.nodes)
    if (n.op_type == "DequantizeLinear" && n.inputs[0] == "W_quantized") wdq = n.outputs[0];
  int convs = 0;
  for (const auto& n : q.model.graph.nodes)
    if (n.op_type == "Conv") convs += n.inputs[1] == wdq;
  REQUIRE(convs == 2);
}
