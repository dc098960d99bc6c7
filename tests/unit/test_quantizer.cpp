// QDQ placement: per-channel axes per op, int32 bias scales, no Q/DQ between Conv and Relu,
// shared scales through data-movement ops, and the rewritten model computing fake-quant exactly.
#include <catch2/catch.hpp>

#include <cmath>

#include "calib/collector.h"
#include "exec/executor.h"
#include "quant/quantizer.h"

#include "test_util.h"

using namespace ptq;

namespace {

using test::make;

Tensor ramp(Shape s, float lo, float step) {
  Tensor t(DType::Float32, s);
  for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = lo + step * static_cast<float>(i % 13) * (i % 2 ? 1.f : -1.f);
  return t;
}

// Calibrate on a couple of inputs, then plan and rewrite.
Model quantize(const Model& m, const QuantOptions& o, const std::vector<std::map<std::string, Tensor>>& feeds,
               QuantizeSummary* sum) {
  KernelRegistry reg = make_default_registry();
  Executor ex(m, reg);
  StatsCollector col;
  for (const auto& f : feeds) ex.run(f, &col);
  QuantPlan plan = build_plan(m, o, col.dtypes(), make_default_rules());
  return rewrite_qdq(m, plan, col.stats(), o, sum);
}

const Node* find_dq_for(const Model& m, const std::string& init_prefix) {
  for (const auto& n : m.graph.nodes)
    if (n.op_type == "DequantizeLinear" && n.inputs[0].rfind(init_prefix, 0) == 0) return &n;
  return nullptr;
}

Model conv_relu_pool_gemm(int64_t trans_b) {
  Model m;
  m.opsets.push_back({"", 13});
  m.graph.inputs.push_back({"x", DType::Float32, true, {Dim{1, ""}, Dim{2, ""}, Dim{6, ""}, Dim{6, ""}}});
  m.graph.outputs.push_back({"y", DType::Float32, false, {}});
  m.graph.initializers["W"] = ramp({4, 2, 3, 3}, 0.05f, 0.03f);
  m.graph.initializers["B"] = Tensor::from_vector<float>({0.1f, -0.2f, 0.3f, 0.05f}, {4});
  m.graph.initializers["G"] = trans_b ? ramp({5, 16}, 0.1f, 0.02f) : ramp({16, 5}, 0.1f, 0.02f);
  m.graph.initializers["C"] = Tensor::from_vector<float>({1, 2, 3, 4, 5}, {5});
  m.graph.nodes.push_back(make("Conv", {"x", "W", "B"}, {"c"}, {Attribute::make_ints("pads", {1, 1, 1, 1})}));
  m.graph.nodes.push_back(make("Relu", {"c"}, {"r"}));
  m.graph.nodes.push_back(make("MaxPool", {"r"}, {"p"}, {Attribute::make_ints("kernel_shape", {3, 3}), Attribute::make_ints("strides", {3, 3})}));
  m.graph.nodes.push_back(make("Flatten", {"p"}, {"f"}));
  m.graph.nodes.push_back(make("Gemm", {"f", "G", "C"}, {"y"}, {Attribute::make_int("transB", trans_b)}));
  return m;
}

std::vector<std::map<std::string, Tensor>> inputs() {
  return {{{"x", ramp({1, 2, 6, 6}, 0.0f, 0.1f)}}, {{"x", ramp({1, 2, 6, 6}, 0.3f, 0.07f)}}};
}

}  // namespace

TEST_CASE("per-channel axes: Conv 0, Gemm by transB, bias int32 with input*weight scale", "[quantizer]") {
  for (int64_t trans_b : {0, 1}) {
    QuantOptions o;
    o.scheme = WeightScheme::PerChannel;
    QuantizeSummary sum;
    Model q = quantize(conv_relu_pool_gemm(trans_b), o, inputs(), &sum);
    const Node* wdq = find_dq_for(q, "W_quantized");
    REQUIRE(wdq);
    REQUIRE(wdq->attr_int("axis", -1) == 0);
    const Node* gdq = find_dq_for(q, "G_quantized");
    REQUIRE(gdq);
    REQUIRE(gdq->attr_int("axis", -1) == (trans_b ? 0 : 1));
    REQUIRE(q.graph.initializers.at("G_scale").numel() == 5);
    // Bias: int32, scale = x_scale * W_scale[c]
    const Tensor& bq = q.graph.initializers.at("B_quantized");
    REQUIRE(bq.dtype() == DType::Int32);
    float xs = q.graph.initializers.at("x_scale").data<float>()[0];
    const Tensor& ws = q.graph.initializers.at("W_scale");
    const Tensor& bs = q.graph.initializers.at("B_scale");
    for (int64_t c = 0; c < 4; ++c) {
      REQUIRE(bs.data<float>()[c] == xs * ws.data<float>()[c]);
      float b = q.graph.find_initializer("B_quantized")->get_as_double(c) * bs.data<float>()[c];
      float want = conv_relu_pool_gemm(trans_b).graph.initializers.at("B").data<float>()[c];
      REQUIRE(std::fabs(b - want) <= bs.data<float>()[c] / 2 + 1e-7f);
    }
  }
}

TEST_CASE("no Q/DQ between Conv and Relu; MaxPool and Flatten share the Relu scale", "[quantizer]") {
  QuantOptions o;
  QuantizeSummary sum;
  Model q = quantize(conv_relu_pool_gemm(1), o, inputs(), &sum);
  bool conv_out_quantized = false;
  for (const auto& n : q.graph.nodes)
    if (n.op_type == "QuantizeLinear" && n.inputs[0] == "c") conv_out_quantized = true;
  REQUIRE_FALSE(conv_out_quantized);
  REQUIRE(q.graph.find_initializer("r_scale"));
  REQUIRE(q.graph.find_initializer("p_scale"));
  REQUIRE(q.graph.initializers.at("p_scale").data<float>()[0] == q.graph.initializers.at("r_scale").data<float>()[0]);
  REQUIRE(q.graph.initializers.at("f_scale").data<float>()[0] == q.graph.initializers.at("r_scale").data<float>()[0]);
  // The Relu itself is kept (never silently removed).
  int relus = 0;
  for (const auto& n : q.graph.nodes) relus += n.op_type == "Relu";
  REQUIRE(relus == 1);
  // Graph output name is preserved and produced by a DequantizeLinear.
  bool y_from_dq = false;
  for (const auto& n : q.graph.nodes)
    if (n.outputs[0] == "y") y_from_dq = n.op_type == "DequantizeLinear";
  REQUIRE(y_from_dq);
}

TEST_CASE("ConvTranspose weights use axis 1; MatMul weights use the last axis (or rows on the left)", "[quantizer]") {
  Model m;
  m.opsets.push_back({"", 13});
  m.graph.inputs.push_back({"x", DType::Float32, false, {}});
  m.graph.outputs.push_back({"y", DType::Float32, false, {}});
  m.graph.outputs.push_back({"z", DType::Float32, false, {}});
  m.graph.initializers["T"] = ramp({2, 3, 2, 2}, 0.1f, 0.05f);  // [C_in, C_out/group, kH, kW]
  m.graph.initializers["M"] = ramp({4, 6}, 0.1f, 0.05f);
  m.graph.initializers["L"] = ramp({3, 4}, 0.2f, 0.05f);
  m.graph.nodes.push_back(make("ConvTranspose", {"x", "T"}, {"y"}));
  m.graph.nodes.push_back(make("ReduceMean", {"x"}, {"xm"}, {Attribute::make_ints("axes", {0, 1}), Attribute::make_int("keepdims", 0)}));
  m.graph.nodes.push_back(make("MatMul", {"xm", "M"}, {"mm"}));
  m.graph.nodes.push_back(make("MatMul", {"L", "xm"}, {"z"}));
  m.graph.nodes.push_back(make("Identity", {"mm"}, {"mm2"}));
  QuantOptions o;
  o.scheme = WeightScheme::PerChannel;
  QuantizeSummary sum;
  Model q = quantize(m, o, {{{"x", ramp({1, 2, 4, 4}, 0.1f, 0.1f)}}}, &sum);
  REQUIRE(find_dq_for(q, "T_quantized")->attr_int("axis", -1) == 1);
  REQUIRE(q.graph.initializers.at("T_scale").numel() == 3);
  REQUIRE(find_dq_for(q, "M_quantized")->attr_int("axis", -1) == 1);
  REQUIRE(q.graph.initializers.at("M_scale").numel() == 6);
  REQUIRE(find_dq_for(q, "L_quantized")->attr_int("axis", -1) == 0);
  REQUIRE(q.graph.initializers.at("L_scale").numel() == 3);
}

TEST_CASE("the QDQ model computes fake quantization of the float model", "[quantizer]") {
  Model m = conv_relu_pool_gemm(1);
  QuantOptions o;
  o.scheme = WeightScheme::PerChannel;
  QuantizeSummary sum;
  Model q = quantize(m, o, inputs(), &sum);
  KernelRegistry reg = make_default_registry();
  Executor fe(m, reg), qe(q, reg);
  auto in = inputs()[0];
  Tensor yf = fe.run(in)[0], yq = qe.run(in)[0];
  REQUIRE(yf.shape() == yq.shape());
  // Output is itself quantized: values lie on its grid and stay within a few steps of float.
  float ys = q.graph.initializers.at("y_scale").data<float>()[0];
  for (int64_t i = 0; i < yf.numel(); ++i) REQUIRE(std::fabs(yf.data<float>()[i] - yq.data<float>()[i]) < 6 * ys);
}

TEST_CASE("excluded nodes stay float and are reported", "[quantizer]") {
  QuantOptions o;
  o.exclude_op_types = {"Gemm"};
  o.exclude_nodes = {"Conv_c"};
  QuantizeSummary sum;
  Model q = quantize(conv_relu_pool_gemm(1), o, inputs(), &sum);
  REQUIRE_FALSE(q.graph.find_initializer("W_quantized"));
  REQUIRE_FALSE(q.graph.find_initializer("G_quantized"));
  int reasons = 0;
  for (const auto& f : sum.float_nodes) reasons += f.reason.find("excluded") != std::string::npos;
  REQUIRE(reasons == 2);
}
