// Channels-last activations and Conv+activation fusion in the executor (exec/layout.h,
// exec/fusion.h): results must equal running every node alone on plain tensors, whatever the
// observer asks for.
#include <catch2/catch.hpp>

#include <map>
#include <set>

#include "exec/executor.h"
#include "exec/layout.h"
#include "test_util.h"

using namespace ptq;
using ptq::test::make;
using ptq::test::run_single_node;
using ptq::test::wave;

namespace {

ValueInfo vinfo(const std::string& name) {
  ValueInfo v;
  v.name = name;
  v.dtype = DType::Float32;
  return v;
}

void require_same(const Tensor& got, const Tensor& want, const std::string& what) {
  INFO(what);
  REQUIRE(got.shape() == want.shape());
  Tensor g = to_plain(got);
  for (int64_t i = 0; i < want.numel(); ++i) REQUIRE(g.data<float>()[i] == Approx(want.data<float>()[i]).margin(1e-5));
}

// x -> Conv+Relu -> MaxPool -> depthwise Conv -> Clip(Constant bounds) -> Add(residual) -> 1x1 Conv -> Sigmoid
//   -> Mul(scalar) -> GlobalAveragePool;  outputs: the pool and the Clip.
struct LayoutModel {
  Model m;
  std::map<std::string, Tensor> ref;  // every value, computed node by node on plain tensors

  LayoutModel() {
    m.set_opset("", 13);
    Graph& g = m.graph;
    g.name = "layout";
    g.inputs.push_back(vinfo("x"));
    g.initializers["W1"] = wave({8, 8, 3, 3}, 0.3f, 0.1f);
    g.initializers["B1"] = wave({8}, 0.5f, 0.2f);
    g.initializers["W2"] = wave({8, 1, 3, 3}, 0.5f, 0.3f);
    g.initializers["W3"] = wave({16, 8, 1, 1}, 0.4f, 0.4f);
    g.initializers["half"] = Tensor::scalar<float>(0.5f);
    auto pads = Attribute::make_ints("pads", {1, 1, 1, 1});
    g.nodes = {make("Conv", {"x", "W1", "B1"}, {"c1"}, {pads}),
               make("Relu", {"c1"}, {"r1"}),
               make("MaxPool", {"r1"}, {"q1"}, {pads, Attribute::make_ints("kernel_shape", {3, 3})}),
               make("Conv", {"q1", "W2"}, {"c2"}, {pads, Attribute::make_int("group", 8)}),
               make("Constant", {}, {"lo"}, {Attribute::make_tensor("value", Tensor::scalar<float>(-0.25f))}),
               make("Constant", {}, {"hi"}, {Attribute::make_tensor("value", Tensor::scalar<float>(0.75f))}),
               make("Clip", {"c2", "lo", "hi"}, {"k2"}),
               make("Add", {"k2", "r1"}, {"a"}),
               make("Conv", {"a", "W3"}, {"c3"}),
               make("Sigmoid", {"c3"}, {"s"}),
               make("Mul", {"s", "half"}, {"mm"}),
               make("GlobalAveragePool", {"mm"}, {"p"})};
    g.outputs = {vinfo("p"), vinfo("k2")};

    auto& I = g.initializers;
    ref["x"] = wave({1, 8, 6, 6}, 2.f, 0.f);
    ref["c1"] = run_single_node("Conv", {ref["x"], I["W1"], I["B1"]}, {pads}, 13)[0];
    ref["r1"] = run_single_node("Relu", {ref["c1"]}, {}, 13)[0];
    ref["q1"] = run_single_node("MaxPool", {ref["r1"]}, {pads, Attribute::make_ints("kernel_shape", {3, 3})}, 13)[0];
    ref["c2"] = run_single_node("Conv", {ref["q1"], I["W2"]}, {pads, Attribute::make_int("group", 8)}, 13)[0];
    ref["k2"] = run_single_node("Clip", {ref["c2"], Tensor::scalar<float>(-0.25f), Tensor::scalar<float>(0.75f)}, {}, 13)[0];
    ref["a"] = run_single_node("Add", {ref["k2"], ref["r1"]}, {}, 13)[0];
    ref["c3"] = run_single_node("Conv", {ref["a"], I["W3"]}, {}, 13)[0];
    ref["s"] = run_single_node("Sigmoid", {ref["c3"]}, {}, 13)[0];
    ref["mm"] = run_single_node("Mul", {ref["s"], I["half"]}, {}, 13)[0];
    ref["p"] = run_single_node("GlobalAveragePool", {ref["mm"]}, {}, 13)[0];
  }
};

struct Recorder : ValueObserver {
  bool cl = false;
  std::set<std::string> skip;  // values it does not need (lets the executor fuse activations)
  std::map<std::string, Tensor> seen;
  void on_value(const std::string& name, const Tensor& v, const Node*) override { seen[name] = v.clone(); }
  bool accepts_channels_last() const override { return cl; }
  bool needs(const std::string& name) const override { return !skip.count(name); }
};

}  // namespace

TEST_CASE("to_channels_last / to_plain reorder (N, C, H, W) <-> (N, H, W, C)", "[exec][layout]") {
  Tensor t = Tensor::from_vector<float>({0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}, {1, 3, 2, 2});
  Tensor cl = to_channels_last(t);
  CHECK(cl.layout() == Layout::ChannelsLast);
  CHECK(cl.shape() == t.shape());
  // element (c, h, w) = 4c + 2h + w now sits at (h, w, c): 0 4 8 1 5 9 2 6 10 3 7 11
  std::vector<float> want{0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11};
  for (size_t i = 0; i < want.size(); ++i) CHECK(cl.data<float>()[i] == want[i]);
  Tensor back = to_plain(cl);
  CHECK(back.layout() == Layout::Plain);
  for (int64_t i = 0; i < t.numel(); ++i) CHECK(back.data<float>()[i] == t.data<float>()[i]);
  // Larger than one 32x32 tile, int64 and 5-D.
  Tensor big = wave({2, 37, 5, 9, 3}, 1.f, 0.f);
  Tensor rt = to_plain(to_channels_last(big, 2), 2);
  for (int64_t i = 0; i < big.numel(); ++i) REQUIRE(rt.data<float>()[i] == big.data<float>()[i]);
  Tensor ints = Tensor::from_vector<int64_t>({1, 2, 3, 4, 5, 6}, {1, 2, 3});
  Tensor icl = to_channels_last(ints);
  CHECK(icl.data<int64_t>()[1] == 4);  // (c=1, w=0) follows (c=0, w=0)
}

TEST_CASE("executor keeps conv activations channels-last and still matches plain node-by-node results", "[exec][layout]") {
  LayoutModel lm;
  KernelRegistry reg = make_default_registry();
  for (int threads : {1, 2}) {
    Executor ex(lm.m, reg, {threads});
    SECTION("no observer: outputs plain and equal (activations fused)") {
      auto out = ex.run({{"x", lm.ref["x"]}});
      REQUIRE(out.size() == 2);
      CHECK(out[0].layout() == Layout::Plain);
      CHECK(out[1].layout() == Layout::Plain);
      require_same(out[0], lm.ref["p"], "p");
      require_same(out[1], lm.ref["k2"], "k2");
    }
    SECTION("an observer that wants plain tensors sees every value, plain and exact") {
      Recorder rec;
      ex.run({{"x", lm.ref["x"]}}, &rec);
      for (const auto& [name, want] : lm.ref) {
        REQUIRE(rec.seen.count(name));
        CHECK(rec.seen[name].layout() == Layout::Plain);
        require_same(rec.seen[name], want, name);
      }
    }
    SECTION("an observer that accepts channels-last sees it where every reader accepts it") {
      Recorder rec;
      rec.cl = true;
      ex.run({{"x", lm.ref["x"]}}, &rec);
      for (const char* name : {"c1", "r1", "q1", "c2", "a", "c3", "s", "mm"}) {
        INFO(name);
        CHECK(rec.seen[name].layout() == Layout::ChannelsLast);
      }
      // graph outputs and the input stay plain
      for (const char* name : {"x", "k2", "p"}) {
        INFO(name);
        CHECK(rec.seen[name].layout() == Layout::Plain);
      }
      for (const auto& [name, want] : lm.ref) require_same(rec.seen[name], want, name);
    }
    SECTION("conv outputs the observer does not need are fused away; the activations are still exact") {
      Recorder rec;
      rec.skip = {"c1", "c2"};
      auto out = ex.run({{"x", lm.ref["x"]}}, &rec);
      CHECK_FALSE(rec.seen.count("c1"));
      CHECK_FALSE(rec.seen.count("c2"));
      require_same(rec.seen["r1"], lm.ref["r1"], "r1");
      require_same(rec.seen["k2"], lm.ref["k2"], "k2");
      require_same(out[0], lm.ref["p"], "p");
    }
  }
}

TEST_CASE("Clip fusion follows the spec's bounds: attributes before opset 11, none when lo > hi", "[exec][layout]") {
  Tensor x = wave({1, 2, 4, 4}, 3.f, 0.5f);
  Tensor w = wave({2, 2, 1, 1}, 1.f, 0.1f);
  auto conv_clip = [&](int64_t opset, std::vector<Attribute> clip_attrs, std::vector<std::string> bounds,
                       std::map<std::string, Tensor> inits) {
    Model m;
    m.set_opset("", opset);
    m.graph.name = "g";
    m.graph.inputs.push_back(vinfo("x"));
    m.graph.initializers = std::move(inits);
    m.graph.initializers["W"] = w;
    std::vector<std::string> clip_in{"c"};
    clip_in.insert(clip_in.end(), bounds.begin(), bounds.end());
    m.graph.nodes = {make("Conv", {"x", "W"}, {"c"}), make("Clip", clip_in, {"y"}, std::move(clip_attrs))};
    m.graph.outputs = {vinfo("y")};
    KernelRegistry reg = make_default_registry();
    Executor ex(m, reg);
    return ex.run({{"x", x}})[0];
  };
  Tensor c = run_single_node("Conv", {x, w}, {}, 13)[0];
  auto expect_clipped = [&](const Tensor& y, float lo, float hi) {
    for (int64_t i = 0; i < c.numel(); ++i)
      REQUIRE(y.data<float>()[i] == Approx(std::min(std::max(c.data<float>()[i], lo), hi)).margin(1e-6));
  };
  expect_clipped(conv_clip(6, {Attribute::make_float("min", -0.5f), Attribute::make_float("max", 1.f)}, {}, {}), -0.5f, 1.f);
  expect_clipped(conv_clip(13, {}, {"", "hi"}, {{"hi", Tensor::scalar<float>(0.25f)}}), -1e30f, 0.25f);
  // lo > hi: every element becomes hi
  Tensor y = conv_clip(13, {}, {"lo", "hi"}, {{"lo", Tensor::scalar<float>(2.f)}, {"hi", Tensor::scalar<float>(1.f)}});
  for (int64_t i = 0; i < y.numel(); ++i) REQUIRE(y.data<float>()[i] == 1.f);
}
