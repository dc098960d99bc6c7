// INT4 weights: MSE-optimal clipping per block beats min/max on output SQNR; the QDQ model uses
// opset 21 int4 initializers with axis/block_size and survives a save/load round trip;
// --weight-only leaves no activation Q/DQ; the 17 -> 21 opset adapter keeps outputs.
#include <catch2/catch.hpp>

#include <cmath>
#include <filesystem>

#include "app/prepare.h"
#include "calib/collector.h"
#include "core/quant_math.h"
#include "exec/executor.h"
#include "graph/passes.h"
#include "onnx_io/model_io.h"
#include "quant/quantizer.h"

#include "test_util.h"

using namespace ptq;
namespace fs = std::filesystem;

namespace {

using test::make;
using test::wave;

// y = x[M,K] * w[K,N] in double
std::vector<double> matmul(const Tensor& x, const Tensor& w) {
  int64_t m = x.dim(0), k = x.dim(1), n = w.dim(1);
  std::vector<double> y(static_cast<size_t>(m * n), 0.0);
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j)
      for (int64_t p = 0; p < k; ++p)
        y[static_cast<size_t>(i * n + j)] += double(x.data<float>()[i * k + p]) * w.data<float>()[p * n + j];
  return y;
}

double sqnr_db(const std::vector<double>& ref, const std::vector<double>& got) {
  double s = 0, e = 0;
  for (size_t i = 0; i < ref.size(); ++i) {
    s += ref[i] * ref[i];
    e += (ref[i] - got[i]) * (ref[i] - got[i]);
  }
  return 10 * std::log10(s / e);
}

Model matmul_model() {
  Model m;
  m.opsets.push_back({"", 13});
  m.graph.inputs.push_back({"x", DType::Float32, true, {Dim{2, ""}, Dim{64, ""}}});
  m.graph.outputs.push_back({"y", DType::Float32, false, {}});
  m.graph.initializers["W"] = wave({64, 8}, 0.3f, 0.2f);
  m.graph.nodes.push_back(make("MatMul", {"x", "W"}, {"h"}));
  m.graph.nodes.push_back(make("Relu", {"h"}, {"y"}));
  return m;
}

}  // namespace

TEST_CASE("int4 blocks: MSE clipping search beats min/max on output SQNR", "[quant5]") {
  // Gaussian-like weights with a few large outliers (what trained weights look like).
  Tensor w = wave({128, 16}, 0.1f, 0.0f);
  for (int64_t i = 0; i < w.numel(); ++i) w.data<float>()[i] *= 1.f + 0.5f * std::sin(1.3f * static_cast<float>(i));
  for (int64_t i : {5, 300, 777, 1500, 2000}) w.data<float>()[i] = (i % 2 ? 1.f : -1.f) * 0.9f;
  Tensor x = wave({8, 128}, 1.f, 0.4f);
  QuantAxis ax{0, 32};  // MatMul B: blocks along K (axis 0)
  auto ref = matmul(x, w);
  double db[2];
  for (bool search : {false, true}) {
    QuantizedTensor q = quantize_weight(w, ax, DType::Int4, true, search);
    REQUIRE(q.values.dtype() == DType::Int4);
    REQUIRE(q.scale.shape() == Shape{4, 16});
    db[search] = sqnr_db(ref, matmul(x, dequantize_tensor(q.values, q.scale, q.zero_point, ax)));
  }
  INFO("min/max " << db[0] << " dB, MSE search " << db[1] << " dB");
  REQUIRE(db[1] > db[0] + 1.0);
}

TEST_CASE("int4 per-block MatMul: opset 21, DQ axis/block_size, round trip, weight-only", "[quant5]") {
  for (bool weight_only : {false, true}) {
    QuantOptions o;
    o.weight_type = DType::Int4;
    o.scheme = WeightScheme::PerBlock;
    o.block_size = 32;
    o.weight_only = weight_only;
    Model m = prepare_for_quantization(matmul_model(), o, nullptr);
    REQUIRE(m.opset() == 21);
    REQUIRE(m.ir_version >= 10);
    KernelRegistry reg = make_default_registry();
    Executor ex(m, reg);
    StatsCollector col;
    std::map<std::string, Tensor> feed = {{"x", wave({2, 64}, 1.f, 0.1f)}};
    Tensor ref = ex.run(feed, &col)[0];
    QuantizeSummary sum;
    Model q = rewrite_qdq(m, build_plan(m, o, col.dtypes(), make_default_rules()), col.stats(), o, &sum);
    const Node* dq = nullptr;
    size_t qnodes = 0;
    for (const auto& n : q.graph.nodes) {
      if (n.op_type == "DequantizeLinear" && n.inputs[0] == "W_quantized") dq = &n;
      qnodes += n.op_type == "QuantizeLinear";
    }
    REQUIRE(dq);
    REQUIRE(dq->attr_int("axis", -1) == 0);
    REQUIRE(dq->attr_int("block_size", 0) == 32);
    REQUIRE(q.graph.initializers.at("W_quantized").dtype() == DType::Int4);
    REQUIRE(q.graph.initializers.at("W_scale").shape() == Shape{2, 8});
    REQUIRE(qnodes == (weight_only ? 0u : 2u));  // x and y (h is fused into the Relu)
    // Save/load keeps the packed int4 values; the loaded model runs and stays close to float.
    fs::path p = fs::temp_directory_path() / "ptq_test_int4.onnx";
    save_model(q, p.string());
    Model back = load_model(p.string());
    fs::remove(p);
    REQUIRE(back.graph.initializers.at("W_quantized").dtype() == DType::Int4);
    Executor qe(back, reg);
    Tensor got = qe.run(feed)[0];
    std::vector<double> r(ref.data<float>(), ref.data<float>() + ref.numel()), g(got.data<float>(), got.data<float>() + got.numel());
    REQUIRE(sqnr_db(r, g) > 15.0);
  }
}

TEST_CASE("upgrade_opset_to_21: Reduce axes become an input, Split gets num_outputs; DFT is refused", "[quant5]") {
  Model m;
  m.opsets.push_back({"", 17});
  m.graph.inputs.push_back({"x", DType::Float32, true, {Dim{2, ""}, Dim{4, ""}}});
  for (const char* o : {"r", "s0", "s1"}) m.graph.outputs.push_back({o, DType::Float32, false, {}});
  m.graph.nodes.push_back(make("ReduceMean", {"x"}, {"r"}, {Attribute::make_ints("axes", {1})}));
  m.graph.nodes.push_back(make("Split", {"x"}, {"s0", "s1"}, {Attribute::make_int("axis", 1)}));
  KernelRegistry reg = make_default_registry();
  std::map<std::string, Tensor> feed = {{"x", wave({2, 4}, 1.f, 0.f)}};
  std::vector<Tensor> before = Executor(m, reg).run(feed);
  Model u = m;
  upgrade_opset_to_21(u);
  REQUIRE(u.opset() == 21);
  REQUIRE(u.ir_version >= 10);
  REQUIRE(u.graph.nodes[0].inputs.size() == 2);
  REQUIRE_FALSE(u.graph.nodes[0].find_attr("axes"));
  REQUIRE(u.graph.nodes[1].attr_int("num_outputs", 0) == 2);
  std::vector<Tensor> after = Executor(u, reg).run(feed);
  for (size_t k = 0; k < before.size(); ++k)
    for (int64_t i = 0; i < before[k].numel(); ++i) REQUIRE(before[k].data<float>()[i] == after[k].data<float>()[i]);
  Model d = m;
  d.graph.nodes.push_back(make("DFT", {"x"}, {"f"}));
  REQUIRE_THROWS_WITH(upgrade_opset_to_21(d), Catch::Contains("'DFT_f' (DFT)") && Catch::Contains("opset 17 to 21"));
}
