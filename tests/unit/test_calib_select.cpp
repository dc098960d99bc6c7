// The fast KL window against the formula written out bin by bin, the method selection score,
// ranges computed up front for the rewriter, and the sample stacking behind --batch.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <tuple>

#include "app/method_search.h"
#include "calib/collector.h"
#include "calib/range_detail.h"
#include "data/batching.h"
#include "exec/executor.h"
#include "onnx_io/model_io.h"
#include "quant/quantizer.h"

#include "test_util.h"

using namespace ptq;

namespace {

// KL(P||Q) for the window [a, b) exactly as calib/range.h describes it, one bin at a time: P = the
// window with the mass below a added to its first bin and above b to its last; Q spreads the window's
// chunk sums (bin k in chunk floor(k * L / len)) evenly over the chunk's nonzero P bins; both
// smoothed (zero bins get eps = 1e-4, nonzero bins give it back) and normalized.
double reference_kl(const std::vector<uint64_t>& h, int64_t a, int64_t b, int64_t L) {
  const int64_t len = b - a;
  std::vector<double> P(static_cast<size_t>(len)), Q(P.size());
  for (int64_t k = 0; k < len; ++k) P[static_cast<size_t>(k)] = static_cast<double>(h[static_cast<size_t>(a + k)]);
  for (int64_t k = 0; k < a; ++k) P[0] += static_cast<double>(h[static_cast<size_t>(k)]);
  for (size_t k = static_cast<size_t>(b); k < h.size(); ++k) P.back() += static_cast<double>(h[k]);
  for (int64_t j = 0; j < L; ++j) {
    double sum = 0;
    int nz = 0;
    for (int64_t k = 0; k < len; ++k)
      if (k * L / len == j) {
        sum += static_cast<double>(h[static_cast<size_t>(a + k)]);
        nz += P[static_cast<size_t>(k)] != 0;
      }
    for (int64_t k = 0; k < len; ++k)
      if (k * L / len == j && P[static_cast<size_t>(k)] != 0) Q[static_cast<size_t>(k)] = sum / nz;
  }
  auto smooth = [](std::vector<double>& v) {
    const double nz = static_cast<double>(std::count_if(v.begin(), v.end(), [](double x) { return x != 0; }));
    const double eps1 = 1e-4 * (static_cast<double>(v.size()) - nz) / nz;
    for (double& x : v) x = x == 0 ? 1e-4 : (x > eps1 ? x - eps1 : 1e-4);
    const double s = std::accumulate(v.begin(), v.end(), 0.0);
    for (double& x : v) x /= s;
  };
  smooth(P);
  smooth(Q);
  double kl = 0;
  for (size_t k = 0; k < P.size(); ++k) kl += P[k] * std::log(P[k] / Q[k]);
  return kl;
}

}  // namespace

TEST_CASE("calib select: KL windows (dense series path and sparse path) match the bin-by-bin formula", "[calib]") {
  using calib_detail::KlHist;
  using calib_detail::kl_window;
  // A bell of large counts over 2048 bins with a few empty bins, and a sparse comb.
  std::vector<uint64_t> dense(2048), sparse(2048);
  for (size_t k = 0; k < dense.size(); ++k) {
    const double x = (static_cast<double>(k) - 700.0) / 260.0;
    dense[k] = k % 97 == 5 ? 0 : static_cast<uint64_t>(2e6 * std::exp(-x * x / 2)) + k % 3;
    sparse[k] = k % 40 == 0 ? 1000 + k : (k == 2001 ? 7 : 0);
  }
  for (const auto* h : {&dense, &sparse}) {
    const KlHist kh(h->data(), static_cast<int64_t>(h->size()));
    for (auto [a, b, L] : {std::tuple<int64_t, int64_t, int64_t>{0, 2048, 128}, {0, 2048, 256}, {150, 1900, 256},
                           {0, 700, 128}, {300, 1000, 256}, {1200, 2048, 16}, {5, 600, 8}}) {
      INFO("a=" << a << " b=" << b << " L=" << L << (h == &dense ? " dense" : " sparse"));
      const double want = reference_kl(*h, a, b, L);
      CHECK(kl_window(kh, a, b, L) == Approx(want).epsilon(1e-9).margin(1e-13));
    }
  }
}

TEST_CASE("calib select: the score is the lowest output SQNR, NaN counting as -inf", "[calib]") {
  auto out = [](double sqnr) {
    OutputMetrics m;
    m.sqnr_db = sqnr;
    return m;
  };
  CHECK(selection_score({{"a", out(31.5)}, {"b", out(24.0)}, {"c", out(40.0)}}) == 24.0);
  CHECK(selection_score({{"a", out(INFINITY)}}) == INFINITY);
  CHECK(selection_score({{"a", out(30.0)}, {"b", out(std::nan(""))}}) == -INFINITY);
  CHECK(selection_score({}) == -INFINITY);
}

TEST_CASE("calib select: ranges computed up front give the same model; a missing range leaves the tensor float", "[calib]") {
  Model m;
  m.opsets.push_back({"", 13});
  m.graph.inputs.push_back({"x", DType::Float32, true, {Dim{1, ""}, Dim{2, ""}, Dim{5, ""}, Dim{5, ""}}});
  m.graph.outputs.push_back({"y", DType::Float32, false, {}});
  m.graph.initializers["W"] = test::wave({3, 2, 3, 3}, 0.4f, 0.1f);
  m.graph.nodes.push_back(test::make("Conv", {"x", "W"}, {"c"}));
  m.graph.nodes.push_back(test::make("Sigmoid", {"c"}, {"y"}));
  KernelRegistry reg = make_default_registry();
  Executor ex(m, reg);
  StatsCollector col;
  for (float ph : {0.0f, 1.0f, 2.5f}) ex.run({{"x", test::wave({1, 2, 5, 5}, 3.0f, ph)}}, &col);
  for (CalibMethod method : {CalibMethod::MinMax, CalibMethod::KL, CalibMethod::MSE}) {
    QuantOptions o;
    o.method = method;
    QuantPlan plan = build_plan(m, o, col.dtypes(), make_default_rules());
    REQUIRE(plan.activations().size() == 3);  // x, c, y
    const std::string per_plan = serialize_model(rewrite_qdq(m, plan, col.stats(), o, nullptr));
    for (int threads : {1, 2}) {
      RangeMap all = choose_ranges(col.stats(), activation_range_request(o), threads);
      CHECK(serialize_model(rewrite_qdq(m, plan, all, o, nullptr)) == per_plan);
    }
    RangeMap without_c = activation_ranges(plan, col.stats(), o);
    REQUIRE(without_c.erase("c") == 1);
    QuantizeSummary sum;
    rewrite_qdq(m, plan, without_c, o, &sum);
    CHECK(sum.q_nodes == 2);
    bool reported = false;
    for (const auto& f : sum.float_nodes) reported = reported || (f.node == "c" && f.reason == "no calibration data reached this tensor");
    CHECK(reported);
  }
}

TEST_CASE("calib select: stacking samples for --batch", "[calib]") {
  auto sample = [](const std::string& id, Shape shape, float first) {
    Sample s;
    s.id = id;
    Tensor t(DType::Float32, shape);
    for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = first + static_cast<float>(i);
    s.inputs["x"] = t;
    return s;
  };
  Sample a = sample("a.npy", {1, 2}, 0), b = sample("b.npy", {2, 2}, 10), c = sample("c.npy", {1, 3}, 20);
  CHECK(stackable(a, b));
  CHECK_FALSE(stackable(a, c));
  auto st = stack_samples({a, b});
  REQUIRE(st.at("x").shape() == Shape{3, 2});
  test::require_close(st.at("x"), {0, 1, 10, 11, 12, 13});
  CHECK(batch_id({a, b}) == "a.npy .. b.npy (2 samples)");
  CHECK(batch_id({c}) == "c.npy");

  ValueInfo dyn{"x", DType::Float32, true, {Dim{-1, "N"}, Dim{2, ""}}};
  ValueInfo unknown{"u", DType::Float32, true, {Dim{-1, ""}, Dim{2, ""}}};
  ValueInfo fixed{"f", DType::Float32, true, {Dim{1, ""}, Dim{2, ""}}};
  ValueInfo noshape{"s", DType::Float32, false, {}};
  CHECK(batching_blocker({&dyn, &unknown}).empty());
  CHECK(batching_blocker({&dyn, &fixed}) == "input 'f' has a fixed first dim [1,2]");
  CHECK(batching_blocker({&noshape}).find("input 's' declares no shape") == 0);
}
