// Control-flow and recurrent kernels: If/Loop with outer-scope captures, LSTM/GRU against a
// straightforward reference of the ONNX equations.
#include <catch2/catch.hpp>

#include <cmath>

#include "exec/executor.h"
#include "test_util.h"

using namespace ptq;
using ptq::test::require_close;
using ptq::test::run_single_node;

namespace {

Node make_node(const std::string& op, std::vector<std::string> ins, std::vector<std::string> outs, std::vector<Attribute> attrs = {}) {
  Node n;
  n.op_type = op;
  n.name = op + "_" + (outs.empty() ? std::string() : outs[0]);
  n.inputs = std::move(ins);
  n.outputs = std::move(outs);
  n.attrs = std::move(attrs);
  return n;
}

ValueInfo vi(const std::string& name, DType t = DType::Undefined) {
  ValueInfo v;
  v.name = name;
  v.dtype = t;
  return v;
}

Attribute graph_attr(const std::string& name, Graph g) {
  Attribute a;
  a.name = name;
  a.type = AttrType::Graph;
  a.g = std::make_shared<Graph>(std::move(g));
  return a;
}

Model model_with(Graph g, int64_t opset) {
  Model m;
  m.opsets.push_back({"", opset});
  m.graph = std::move(g);
  return m;
}

std::vector<Tensor> run_model(const Model& m, const std::map<std::string, Tensor>& feeds) {
  KernelRegistry reg = make_default_registry();
  Executor ex(m, reg);
  return ex.run(feeds);
}

std::vector<float> det_values(size_t n, float seed) {
  std::vector<float> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = 0.5f * std::sin(seed + 0.7f * static_cast<float>(i));
  return v;
}

float sigm(float x) { return 1.f / (1.f + std::exp(-x)); }

}  // namespace

TEST_CASE("If runs the chosen branch and reads outer-scope values", "[control]") {
  Graph then_g;
  then_g.name = "then";
  then_g.nodes.push_back(make_node("Mul", {"x", "x"}, {"sq"}));
  then_g.outputs.push_back(vi("sq", DType::Float32));
  Graph else_g;  // returns the outer value directly, with no node in the branch
  else_g.name = "else";
  else_g.outputs.push_back(vi("x", DType::Float32));

  Graph g;
  g.name = "main";
  g.inputs = {vi("c", DType::Bool), vi("x", DType::Float32)};
  g.nodes.push_back(make_node("If", {"c"}, {"y"}, {graph_attr("then_branch", then_g), graph_attr("else_branch", else_g)}));
  g.outputs.push_back(vi("y", DType::Float32));
  Model m = model_with(g, 13);
  Tensor x = Tensor::from_vector<float>({1, -2, 3}, {3});
  require_close(run_model(m, {{"c", Tensor::scalar<bool>(true)}, {"x", x}})[0], {1, 4, 9});
  require_close(run_model(m, {{"c", Tensor::scalar<bool>(false)}, {"x", x}})[0], {1, -2, 3});
}

namespace {
// Loop body: counter c += one (outer), acc += step (outer), cond = c < limit (outer); scan out acc.
Model loop_model(bool with_m, bool with_cond) {
  Graph body;
  body.name = "body";
  body.inputs = {vi("i", DType::Int64), vi("cond_in", DType::Bool), vi("c_in", DType::Float32), vi("acc_in", DType::Float32)};
  body.nodes.push_back(make_node("Add", {"c_in", "one"}, {"c_out"}));
  body.nodes.push_back(make_node("Add", {"acc_in", "step"}, {"acc_out"}));
  body.nodes.push_back(make_node("Less", {"c_out", "limit"}, {"cond_out"}));
  body.nodes.push_back(make_node("Identity", {"acc_out"}, {"scan"}));
  ValueInfo scan = vi("scan", DType::Float32);
  scan.has_shape = true;
  scan.shape = {Dim{2, ""}};
  body.outputs = {vi("cond_out", DType::Bool), vi("c_out", DType::Float32), vi("acc_out", DType::Float32), scan};

  Graph g;
  g.name = "main";
  g.inputs = {vi("M", DType::Int64), vi("cond", DType::Bool), vi("step", DType::Float32), vi("limit", DType::Float32)};
  g.initializers["one"] = Tensor::scalar<float>(1.f);
  g.initializers["c0"] = Tensor::scalar<float>(0.f);
  g.initializers["acc0"] = Tensor::from_vector<float>({0, 0}, {2});
  g.nodes.push_back(make_node("Loop", {with_m ? "M" : "", with_cond ? "cond" : "", "c0", "acc0"}, {"c_final", "acc_final", "scans"},
                              {graph_attr("body", body)}));
  g.outputs = {vi("c_final"), vi("acc_final"), vi("scans")};
  return model_with(g, 13);
}
}  // namespace

TEST_CASE("Loop: for, while and combined forms with a scan output", "[control]") {
  Tensor step = Tensor::from_vector<float>({1, 2}, {2});
  auto feeds = [&](int64_t m, bool cond, float limit) {
    return std::map<std::string, Tensor>{{"M", Tensor::scalar<int64_t>(m)},
                                         {"cond", Tensor::scalar<bool>(cond)},
                                         {"step", step},
                                         {"limit", Tensor::scalar<float>(limit)}};
  };
  SECTION("for: trip count only, body condition ignored") {
    auto out = run_model(loop_model(true, false), feeds(4, true, 1.f));
    require_close(out[0], {4});
    require_close(out[1], {4, 8});
    REQUIRE(out[2].shape() == Shape{4, 2});
    require_close(out[2], {1, 2, 2, 4, 3, 6, 4, 8});
  }
  SECTION("while: condition only") {
    auto out = run_model(loop_model(false, true), feeds(0, true, 3.f));
    require_close(out[0], {3});
    REQUIRE(out[2].shape() == Shape{3, 2});
    require_close(out[2], {1, 2, 2, 4, 3, 6});
  }
  SECTION("both: the trip count stops first") {
    auto out = run_model(loop_model(true, true), feeds(2, true, 10.f));
    require_close(out[1], {2, 4});
  }
  SECTION("zero iterations keep the initial values; scan output takes the declared shape") {
    auto out = run_model(loop_model(true, true), feeds(5, false, 10.f));
    require_close(out[0], {0});
    REQUIRE(out[2].shape() == Shape{0, 2});
  }
  SECTION("neither trip count nor condition is refused") {
    try {
      run_model(loop_model(false, false), feeds(0, true, 1.f));
      FAIL("expected an error");
    } catch (const Error& e) {
      REQUIRE(e.kind() == ErrorKind::BadInput);
    }
  }
}

namespace {
struct RnnCase {
  int64_t T = 3, B = 2, I = 2, H = 3;
  std::vector<int> lens{3, 2};
};

// Reference of the ONNX LSTM equations (iofc, peepholes iof) for one direction.
void ref_lstm(const RnnCase& c, const std::vector<float>& X, const float* W, const float* R, const float* Bb, const float* P,
              const float* h0, const float* c0, bool rev, int d, int D, std::vector<float>& Y, float* yh, float* yc) {
  int64_t H = c.H;
  for (int64_t b = 0; b < c.B; ++b) {
    std::vector<float> h(h0 + b * H, h0 + (b + 1) * H), cs(c0 + b * H, c0 + (b + 1) * H);
    int len = c.lens[static_cast<size_t>(b)];
    for (int s = 0; s < len; ++s) {
      int t = rev ? len - 1 - s : s;
      std::vector<float> gate(static_cast<size_t>(4 * H));
      for (int64_t k = 0; k < 4 * H; ++k) {
        float v = Bb[k] + Bb[4 * H + k];
        for (int64_t i = 0; i < c.I; ++i) v += X[static_cast<size_t>((t * c.B + b) * c.I + i)] * W[k * c.I + i];
        for (int64_t j = 0; j < H; ++j) v += h[static_cast<size_t>(j)] * R[k * H + j];
        gate[static_cast<size_t>(k)] = v;
      }
      for (int64_t j = 0; j < H; ++j) {
        size_t J = static_cast<size_t>(j);
        float ig = sigm(gate[J] + P[j] * cs[J]);
        float fg = sigm(gate[J + 2 * H] + P[2 * H + j] * cs[J]);
        float cg = std::tanh(gate[J + 3 * H]);
        cs[J] = fg * cs[J] + ig * cg;
        float og = sigm(gate[J + H] + P[H + j] * cs[J]);
        h[J] = og * std::tanh(cs[J]);
        Y[static_cast<size_t>(((t * D + d) * c.B + b) * H + j)] = h[J];
      }
    }
    for (int64_t j = 0; j < H; ++j) {
      yh[b * H + j] = h[static_cast<size_t>(j)];
      yc[b * H + j] = cs[static_cast<size_t>(j)];
    }
  }
}

// Reference GRU (zrh) for one direction, both linear_before_reset variants.
void ref_gru(const RnnCase& c, const std::vector<float>& X, const float* W, const float* R, const float* Bb, const float* h0,
             bool lbr, std::vector<float>& Y, float* yh) {
  int64_t H = c.H;
  for (int64_t b = 0; b < c.B; ++b) {
    std::vector<float> h(h0 + b * H, h0 + (b + 1) * H);
    for (int t = 0; t < c.lens[static_cast<size_t>(b)]; ++t) {
      std::vector<float> xw(static_cast<size_t>(3 * H)), hr(static_cast<size_t>(3 * H));
      for (int64_t k = 0; k < 3 * H; ++k) {
        float v = Bb[k];
        for (int64_t i = 0; i < c.I; ++i) v += X[static_cast<size_t>((t * c.B + b) * c.I + i)] * W[k * c.I + i];
        xw[static_cast<size_t>(k)] = v;
        float u = Bb[3 * H + k];
        for (int64_t j = 0; j < H; ++j) u += h[static_cast<size_t>(j)] * R[k * H + j];
        hr[static_cast<size_t>(k)] = u;
      }
      std::vector<float> z(static_cast<size_t>(H)), r(static_cast<size_t>(H)), nh(static_cast<size_t>(H));
      for (int64_t j = 0; j < H; ++j) {
        z[static_cast<size_t>(j)] = sigm(xw[static_cast<size_t>(j)] + hr[static_cast<size_t>(j)]);
        r[static_cast<size_t>(j)] = sigm(xw[static_cast<size_t>(H + j)] + hr[static_cast<size_t>(H + j)]);
      }
      for (int64_t j = 0; j < H; ++j) {
        float v = xw[static_cast<size_t>(2 * H + j)];
        if (lbr) {
          v += r[static_cast<size_t>(j)] * hr[static_cast<size_t>(2 * H + j)];
        } else {
          v += Bb[3 * H + 2 * H + j];
          for (int64_t k = 0; k < H; ++k) v += r[static_cast<size_t>(k)] * h[static_cast<size_t>(k)] * R[(2 * H + j) * H + k];
        }
        nh[static_cast<size_t>(j)] = std::tanh(v);
      }
      for (int64_t j = 0; j < H; ++j) {
        size_t J = static_cast<size_t>(j);
        h[J] = (1 - z[J]) * nh[J] + z[J] * h[J];
        Y[static_cast<size_t>((t * c.B + b) * H + j)] = h[J];
      }
    }
    for (int64_t j = 0; j < H; ++j) yh[b * H + j] = h[static_cast<size_t>(j)];
  }
}
}  // namespace

TEST_CASE("LSTM bidirectional with peepholes and sequence_lens matches the reference", "[control]") {
  RnnCase c;
  const int D = 2;
  auto X = det_values(static_cast<size_t>(c.T * c.B * c.I), 0.1f);
  auto W = det_values(static_cast<size_t>(D * 4 * c.H * c.I), 1.3f);
  auto R = det_values(static_cast<size_t>(D * 4 * c.H * c.H), 2.7f);
  auto Bb = det_values(static_cast<size_t>(D * 8 * c.H), 3.1f);
  auto P = det_values(static_cast<size_t>(D * 3 * c.H), 4.2f);
  auto h0 = det_values(static_cast<size_t>(D * c.B * c.H), 5.5f);
  auto c0 = det_values(static_cast<size_t>(D * c.B * c.H), 6.6f);
  std::vector<float> Y(static_cast<size_t>(c.T * D * c.B * c.H), 0.f), yh(static_cast<size_t>(D * c.B * c.H)), yc(yh.size());
  for (int d = 0; d < D; ++d)
    ref_lstm(c, X, &W[static_cast<size_t>(d * 4 * c.H * c.I)], &R[static_cast<size_t>(d * 4 * c.H * c.H)], &Bb[static_cast<size_t>(d * 8 * c.H)],
             &P[static_cast<size_t>(d * 3 * c.H)], &h0[static_cast<size_t>(d * c.B * c.H)], &c0[static_cast<size_t>(d * c.B * c.H)], d == 1, d, D,
             Y, &yh[static_cast<size_t>(d * c.B * c.H)], &yc[static_cast<size_t>(d * c.B * c.H)]);
  auto out = run_single_node(
      "LSTM",
      {Tensor::from_vector(X, {c.T, c.B, c.I}), Tensor::from_vector(W, {D, 4 * c.H, c.I}), Tensor::from_vector(R, {D, 4 * c.H, c.H}),
       Tensor::from_vector(Bb, {D, 8 * c.H}), Tensor::from_vector<int32_t>({3, 2}, {2}), Tensor::from_vector(h0, {D, c.B, c.H}),
       Tensor::from_vector(c0, {D, c.B, c.H}), Tensor::from_vector(P, {D, 3 * c.H})},
      {Attribute::make_int("hidden_size", c.H), Attribute::make_string("direction", "bidirectional")}, 14, 3);
  REQUIRE(out[0].shape() == Shape{c.T, D, c.B, c.H});
  require_close(out[0], Y, 1e-5f);
  require_close(out[1], yh, 1e-5f);
  require_close(out[2], yc, 1e-5f);
}

TEST_CASE("GRU matches the reference for both linear_before_reset values; layout=1", "[control]") {
  RnnCase c;
  auto X = det_values(static_cast<size_t>(c.T * c.B * c.I), 0.4f);
  auto W = det_values(static_cast<size_t>(3 * c.H * c.I), 1.9f);
  auto R = det_values(static_cast<size_t>(3 * c.H * c.H), 2.2f);
  auto Bb = det_values(static_cast<size_t>(6 * c.H), 3.7f);
  auto h0 = det_values(static_cast<size_t>(c.B * c.H), 5.1f);
  for (int lbr : {0, 1}) {
    INFO("linear_before_reset " << lbr);
    std::vector<float> Y(static_cast<size_t>(c.T * c.B * c.H), 0.f), yh(static_cast<size_t>(c.B * c.H));
    ref_gru(c, X, W.data(), R.data(), Bb.data(), h0.data(), lbr != 0, Y, yh.data());
    std::vector<Attribute> attrs{Attribute::make_int("hidden_size", c.H), Attribute::make_int("linear_before_reset", lbr)};
    auto out = run_single_node("GRU",
                               {Tensor::from_vector(X, {c.T, c.B, c.I}), Tensor::from_vector(W, {1, 3 * c.H, c.I}),
                                Tensor::from_vector(R, {1, 3 * c.H, c.H}), Tensor::from_vector(Bb, {1, 6 * c.H}),
                                Tensor::from_vector<int32_t>({3, 2}, {2}), Tensor::from_vector(h0, {1, c.B, c.H})},
                               attrs, 14, 2);
    require_close(out[0], Y, 1e-5f);
    require_close(out[1], yh, 1e-5f);

    // Same computation with batch-major layout: X [B, T, I], Y [B, T, 1, H], Y_h [B, 1, H].
    std::vector<float> Xb(X.size()), Yb(Y.size());
    for (int64_t t = 0; t < c.T; ++t)
      for (int64_t b = 0; b < c.B; ++b)
        for (int64_t k = 0; k < c.I; ++k) Xb[static_cast<size_t>((b * c.T + t) * c.I + k)] = X[static_cast<size_t>((t * c.B + b) * c.I + k)];
    for (int64_t t = 0; t < c.T; ++t)
      for (int64_t b = 0; b < c.B; ++b)
        for (int64_t k = 0; k < c.H; ++k) Yb[static_cast<size_t>((b * c.T + t) * c.H + k)] = Y[static_cast<size_t>((t * c.B + b) * c.H + k)];
    attrs.push_back(Attribute::make_int("layout", 1));
    out = run_single_node("GRU",
                          {Tensor::from_vector(Xb, {c.B, c.T, c.I}), Tensor::from_vector(W, {1, 3 * c.H, c.I}),
                           Tensor::from_vector(R, {1, 3 * c.H, c.H}), Tensor::from_vector(Bb, {1, 6 * c.H}),
                           Tensor::from_vector<int32_t>({3, 2}, {2}), Tensor::from_vector(h0, {c.B, 1, c.H})},
                          attrs, 14, 2);
    REQUIRE(out[0].shape() == Shape{c.B, c.T, 1, c.H});
    require_close(out[0], Yb, 1e-5f);
    require_close(out[1], yh, 1e-5f);
  }
}

TEST_CASE("Scan-9 with reversed input, output axis 1 and both output directions", "[control]") {
  for (int64_t out_dir : {0, 1}) {
    Graph body;
    body.name = "body";
    body.inputs = {vi("s_in", DType::Float32), vi("x_in", DType::Float32)};
    body.nodes.push_back(make_node("Add", {"s_in", "x_in"}, {"s_out"}));
    body.nodes.push_back(make_node("Identity", {"s_out"}, {"scan"}));
    body.outputs = {vi("s_out", DType::Float32), vi("scan", DType::Float32)};
    Graph g;
    g.name = "main";
    g.inputs = {vi("s0", DType::Float32), vi("x", DType::Float32)};
    g.nodes.push_back(make_node("Scan", {"s0", "x"}, {"s", "ys"},
                                {graph_attr("body", body), Attribute::make_int("num_scan_inputs", 1),
                                 Attribute::make_ints("scan_input_directions", {1}), Attribute::make_ints("scan_output_axes", {1}),
                                 Attribute::make_ints("scan_output_directions", {out_dir})}));
    g.outputs = {vi("s"), vi("ys")};
    auto out = run_model(model_with(g, 11), {{"s0", Tensor::from_vector<float>({0, 0}, {2})},
                                             {"x", Tensor::from_vector<float>({1, 2, 3, 4, 5, 6}, {3, 2})}});
    require_close(out[0], {9, 12});
    REQUIRE(out[1].shape() == Shape{2, 3});
    if (out_dir == 0) require_close(out[1], {5, 8, 9, 6, 10, 12});
    else require_close(out[1], {9, 8, 5, 12, 10, 6});
  }
}
