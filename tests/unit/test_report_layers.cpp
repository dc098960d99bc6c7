// Per-tensor report metrics (clipping, local and accumulated SQNR) with hand-computed values, and
// a model with one deliberately badly-scaled activation: found as the worst layer, found by the
// sensitivity sweep, and repaired by the --target-sqnr search keeping the nodes around it float;
// bias correction raising the SQNR of a layer with a systematic quantization error.
#include <catch2/catch.hpp>

#include <cmath>
#include <filesystem>
#include <random>

#include "app/bias_correction.h"
#include "app/evaluate.h"
#include "app/sensitivity.h"
#include "calib/collector.h"
#include "data/npy.h"
#include "exec/executor.h"
#include "report/layer_metrics.h"
#include "report/report_render.h"

using namespace ptq;
namespace fs = std::filesystem;

namespace {

QuantizedTensorInfo info(const std::string& name, DType t, std::vector<float> scales, std::vector<int32_t> zps, int64_t axis,
                         Range r) {
  QuantizedTensorInfo i;
  i.name = name;
  i.kind = "activation";
  i.type = t;
  i.scales = std::move(scales);
  i.zero_points = std::move(zps);
  i.axis = axis;
  i.range = r;
  return i;
}

}  // namespace

TEST_CASE("local SQNR and clipping rate of a per-tensor uint8 activation", "[report]") {
  // scale 0.1, zp 0: representable [0, 25.5]. -1 -> 0, 0.04 -> 0, 1 -> 1, 30 -> 25.5.
  TensorMetricsAccumulator acc(info("t", DType::UInt8, {0.1f}, {0}, -1, {0.f, 25.5f}));
  acc.add_local(Tensor::from_vector<float>({-1.f, 0.04f}, {2}));
  acc.add_local(Tensor::from_vector<float>({1.f, 30.f}, {2}));
  TensorMetrics m = acc.result();
  CHECK(m.count == 4);
  CHECK(m.clipped == 2);
  CHECK(m.clip_rate == Approx(0.5));
  CHECK(m.repr_lo == Approx(0.0));
  CHECK(m.repr_hi == Approx(25.5));
  double signal = 1 + 0.0016 + 1 + 900, noise = 1 + 0.0016 + 4.5 * 4.5;
  CHECK(m.local_sqnr_db == Approx(10 * std::log10(signal / noise)).epsilon(1e-5));
  int64_t total = m.histogram.underflow + m.histogram.overflow;
  for (auto c : m.histogram.counts) total += c;
  CHECK(total == 4);
  CHECK(m.histogram.overflow == 0);  // 30 < 25.5 + a quarter of the range
  CHECK_FALSE(m.has_accumulated);
}

TEST_CASE("per-channel weight: each channel uses its own scale", "[report]") {
  // axis 0, scales {1, 0.5}, int8: row 1's 100 saturates at 127 * 0.5 = 63.5.
  TensorMetricsAccumulator acc(info("w", DType::Int8, {1.f, 0.5f}, {0, 0}, 0, {0.5f, 100.f}));
  acc.add_local(Tensor::from_vector<float>({1.f, 2.f, 0.5f, 100.f}, {2, 2}));
  TensorMetrics m = acc.result();
  CHECK(m.clipped == 1);
  CHECK(m.local_sqnr_db == Approx(10 * std::log10(10005.25 / (36.5 * 36.5))).epsilon(1e-5));
}

TEST_CASE("accumulated SQNR and worst-layer ranking", "[report]") {
  TensorMetricsAccumulator a(info("a", DType::UInt8, {0.1f}, {0}, -1, {0.f, 1.f}));
  a.add_accumulated(Tensor::from_vector<float>({1.f, 2.f}, {2}), Tensor::from_vector<float>({1.f, 1.f}, {2}));
  TensorMetricsAccumulator b(info("b", DType::UInt8, {0.1f}, {0}, -1, {0.f, 1.f}));
  b.add_accumulated(Tensor::from_vector<float>({3.f}, {1}), Tensor::from_vector<float>({3.f}, {1}));
  TensorMetrics ma = a.result(), mb = b.result();
  CHECK(ma.accumulated_sqnr_db == Approx(10 * std::log10(5.0)));
  CHECK(std::isinf(mb.accumulated_sqnr_db));
  TensorMetricsAccumulator c(info("c", DType::UInt8, {0.1f}, {0}, -1, {0.f, 1.f}));  // never compared
  auto worst = worst_layers({mb, c.result(), ma}, 10);
  REQUIRE(worst.size() == 2);
  CHECK(worst[0].name == "a");
  CHECK(worst[1].name == "b");
  CHECK_THROWS_AS(a.add_accumulated(Tensor::from_vector<float>({1.f}, {1}), Tensor::from_vector<float>({1.f, 2.f}, {2})), Error);
}

namespace {

Node gemm(const std::string& name, const std::string& in, const std::string& w, const std::string& b, const std::string& out) {
  Node n;
  n.op_type = "Gemm";
  n.name = name;
  n.inputs = {in, w, b};
  n.outputs = {out};
  n.attrs = {Attribute::make_int("transB", 1)};
  return n;
}

Tensor random_tensor(Shape s, std::mt19937& rng, float scale) {
  std::uniform_real_distribution<float> d(-1.f, 1.f);
  Tensor t(DType::Float32, std::move(s));
  for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = scale * d(rng);
  return t;
}

// x[1,8] -> G0 -> a[1,8] -> G1 -> h[1,8] -> G2 -> y[1,4]
Model three_gemms(std::mt19937& rng) {
  Model m;
  m.opsets.push_back({"", 13});
  m.graph.inputs.push_back({"x", DType::Float32, true, {Dim{1, ""}, Dim{8, ""}}});
  m.graph.outputs.push_back({"y", DType::Float32, false, {}});
  m.graph.initializers["W0"] = random_tensor({8, 8}, rng, 0.5f);
  m.graph.initializers["B0"] = random_tensor({8}, rng, 0.1f);
  m.graph.initializers["W1"] = random_tensor({8, 8}, rng, 0.5f);
  m.graph.initializers["B1"] = random_tensor({8}, rng, 0.1f);
  m.graph.initializers["W2"] = random_tensor({4, 8}, rng, 0.5f);
  m.graph.initializers["B2"] = random_tensor({4}, rng, 0.1f);
  m.graph.nodes.push_back(gemm("G0", "x", "W0", "B0", "a"));
  m.graph.nodes.push_back(gemm("G1", "a", "W1", "B1", "h"));
  m.graph.nodes.push_back(gemm("G2", "h", "W2", "B2", "y"));
  return m;
}

struct Quiet : JobObserver {
  void phase(const std::string&, size_t) override {}
  void step(size_t) override {}
  void info(const std::string&) override {}
};

struct TempDir {
  fs::path path;
  TempDir() {
    path = fs::temp_directory_path() / ("ptq_report_" + std::to_string(std::random_device{}()));
    fs::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

}  // namespace

TEST_CASE("a badly-scaled activation is the worst layer; the target search keeps the nodes around it float", "[report]") {
  std::mt19937 rng(7);
  Model m = three_gemms(rng);
  TempDir tmp;
  std::vector<Tensor> samples;
  for (int i = 0; i < 12; ++i) {
    samples.push_back(random_tensor({1, 8}, rng, 1.f));
    char name[32];
    std::snprintf(name, sizeof name, "s%02d.npy", i);
    write_npy((tmp.path / name).string(), samples.back());
  }
  KernelRegistry reg = make_default_registry();
  Executor ex(m, reg);
  StatsCollector col;
  for (const auto& s : samples) ex.run({{"x", s}}, &col);
  // Corrupt h's calibration range only: one outlier value of 1000 (a real h is within a few units).
  col.on_value("h", Tensor::from_vector<float>({1000.f, -1000.f, 0, 0, 0, 0, 0, 0}, {1, 8}), nullptr);

  QuantizeJob job;
  job.calib_dir = tmp.path.string();
  RuleRegistry rules = make_default_rules();
  QuantizeContext ctx{m, col.stats(), col.dtypes(), rules, reg};
  Report report;
  Model q = build_qdq(ctx, job, {}, &report.summary);
  Quiet quiet;
  evaluate(m, q, job, 1, reg, report, quiet);
  REQUIRE(report.outputs.size() == 1);
  double full_sqnr = report.outputs[0].second.sqnr_db;
  CHECK(full_sqnr < 10);  // h quantized with a step of ~8: the output is mostly noise

  auto worst = worst_layers(report.tensor_metrics, kWorstLayers);
  REQUIRE_FALSE(worst.empty());
  CHECK(worst[0].name == "h");
  CHECK(worst[0].accumulated_sqnr_db < 10);
  for (const auto& t : report.tensor_metrics)
    if (t.name == "x" || t.name == "a") CHECK(t.accumulated_sqnr_db > 25);

  std::vector<SensitivityEntry> sens = measure_sensitivity(ctx, job, quiet);
  // Quantizing G1 (which quantizes its output h) or G2 (its input h) alone costs the most.
  REQUIRE(sens.size() == 3);
  CHECK(std::set<std::string>{sens[0].node, sens[1].node} == std::set<std::string>{"G1", "G2"});
  CHECK(sens[1].sqnr_db < 10);
  CHECK(sens[2].node == "G0");
  CHECK(sens[2].sqnr_db > 25);

  job.target_sqnr_db = 25;
  TargetResult res = search_float_nodes(ctx, job, sens, quiet);
  CHECK(res.met);
  CHECK(res.float_nodes == std::set<std::string>{"G1", "G2"});
  REQUIRE(res.steps.size() == 3);
  CHECK(res.steps[0].float_nodes.empty());
  CHECK(res.steps[0].sqnr_db == Approx(full_sqnr));
  CHECK(res.steps[1].sqnr_db < 25);
  CHECK(res.steps[2].sqnr_db >= 25);

  // An impossible target: all candidates but one end up float and the search reports failure.
  job.target_sqnr_db = 1e9;
  TargetResult none = search_float_nodes(ctx, job, sens, quiet);
  CHECK_FALSE(none.met);
  CHECK(none.steps.size() == 3);
  CHECK(none.float_nodes == std::set<std::string>{"G1", "G2"});

  // The renderings carry the worst layer and one chart bar per compared activation.
  report.sensitivity = sens;
  nlohmann::json j = report_to_json(report);
  CHECK(j["worst_layers"][0]["name"] == "h");
  CHECK(j["sensitivity"][2]["node"] == "G0");
  std::string html = report_to_html(j);
  size_t bars = 0;
  for (size_t p = html.find("<rect class=\"bar"); p != std::string::npos; p = html.find("<rect class=\"bar", p + 1)) ++bars;
  size_t compared = 0;
  for (const auto& t : report.tensor_metrics) compared += t.has_accumulated;
  CHECK(compared >= 3);  // x, a, h (and y when graph outputs are quantized)
  CHECK(bars == compared);
  CHECK(html.find("<svg class=\"histogram\" data-tensor=\"h\"") != std::string::npos);
  CHECK(report_to_markdown(j).find("| 1 | h |") != std::string::npos);
}

TEST_CASE("bias correction removes the mean output error of a weight quantized to zero", "[report]") {
  // y = W x + B with x in [0, 1]: W's first column is 1, the rest 0.0035, which int8 per-tensor
  // (scale 1/127) rounds to 0. The quantized output is short by 0.0035 * sum(x_1..x_15) ~ 0.026 on
  // average: a systematic error that shifting B by its mean removes.
  std::mt19937 rng(11);
  std::uniform_real_distribution<float> u(0.f, 1.f);
  Model m;
  m.opsets.push_back({"", 13});
  m.graph.inputs.push_back({"x", DType::Float32, true, {Dim{1, ""}, Dim{16, ""}}});
  m.graph.outputs.push_back({"y", DType::Float32, false, {}});
  Tensor w(DType::Float32, {4, 16});
  for (int64_t i = 0; i < w.numel(); ++i) w.data<float>()[i] = i % 16 == 0 ? 1.f : 0.0035f;
  m.graph.initializers["W"] = w;
  m.graph.initializers["B"] = Tensor::from_vector<float>({0, 0, 0, 0}, {4});
  m.graph.nodes.push_back(gemm("G", "x", "W", "B", "y"));
  TempDir tmp;
  KernelRegistry reg = make_default_registry();
  Executor ex(m, reg);
  StatsCollector col;
  for (int i = 0; i < 20; ++i) {
    Tensor x(DType::Float32, {1, 16});
    for (int64_t k = 0; k < 16; ++k) x.data<float>()[k] = u(rng);
    write_npy((tmp.path / ("s" + std::to_string(100 + i) + ".npy")).string(), x);
    ex.run({{"x", x}}, &col);
  }
  QuantizeJob job;
  job.calib_dir = tmp.path.string();
  RuleRegistry rules = make_default_rules();
  QuantizeContext ctx{m, col.stats(), col.dtypes(), rules, reg};
  Quiet quiet;
  Report before, after;
  evaluate(m, build_qdq(ctx, job, {}, &before.summary), job, 1, reg, before, quiet);
  size_t n = 0;
  Model corrected = correct_biases(ctx, job, {}, quiet, &n);
  CHECK(n == 1);
  const float* b = corrected.graph.initializers.at("B").data<float>();
  for (int c = 0; c < 4; ++c) CHECK(b[c] == Approx(0.0035 * 15 * 0.5).margin(0.008));  // ~ mean of the lost sum
  CHECK(m.graph.initializers.at("B").data<float>()[0] == 0.f);  // the input model is untouched
  QuantizeContext cctx{corrected, col.stats(), col.dtypes(), rules, reg};
  evaluate(m, build_qdq(cctx, job, {}, &after.summary), job, 1, reg, after, quiet);
  double s0 = before.outputs[0].second.sqnr_db, s1 = after.outputs[0].second.sqnr_db;
  INFO("SQNR without correction " << s0 << " dB, with " << s1 << " dB");
  CHECK(s1 > s0 + 6);
}
