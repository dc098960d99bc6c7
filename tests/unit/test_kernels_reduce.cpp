// Unit tests for the reduce family: Reduce*, Softmax/LogSoftmax/Hardmax, ArgMax/ArgMin, TopK,
// CumSum, Resize/Upsample. Expected values are worked out by hand in the comments.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <numeric>

#include "test_util.h"

using namespace ptq;
using ptq::test::require_close;
using ptq::test::run_single_node;

namespace {

Tensor f32(std::vector<float> v, Shape s) { return Tensor::from_vector<float>(v, std::move(s)); }
Tensor i64(std::vector<int64_t> v, Shape s) { return Tensor::from_vector<int64_t>(v, std::move(s)); }

Attribute floats_attr(const std::string& name, std::vector<float> v) {
  Attribute a;
  a.name = name;
  a.type = AttrType::Floats;
  a.floats = std::move(v);
  return a;
}

std::vector<int64_t> ints_of(const Tensor& t) { return t.to_int64_vector(); }

// 0, 1, ..., n-1 as float32 of shape s.
Tensor iota_f32(Shape s) {
  std::vector<float> v(static_cast<size_t>(shape_numel(s)));
  std::iota(v.begin(), v.end(), 0.f);
  return f32(v, s);
}

}  // namespace

TEST_CASE("ReduceSum: axes attribute (opset 11) and axes input (opset 13) agree", "[reduce]") {
  Tensor x = iota_f32({2, 3, 4});
  auto a = run_single_node("ReduceSum", {x}, {Attribute::make_ints("axes", {1}), Attribute::make_int("keepdims", 0)}, 11);
  auto b = run_single_node("ReduceSum", {x, i64({1}, {1})}, {Attribute::make_int("keepdims", 0)}, 13);
  auto c = run_single_node("ReduceSum", {x, i64({-2}, {1})}, {Attribute::make_int("keepdims", 0)}, 13, 1, {1});
  // Row sums over the middle axis: [0+4+8, 1+5+9, ...] = [12,15,18,21], [48,51,54,57].
  std::vector<float> want = {12, 15, 18, 21, 48, 51, 54, 57};
  for (auto* r : {&a, &b, &c}) {
    REQUIRE((*r)[0].shape() == Shape{2, 4});
    require_close((*r)[0], want);
  }
}

TEST_CASE("Reduce ops over inner, outer, middle and split axes", "[reduce]") {
  Tensor x = iota_f32({2, 3, 4});
  // Innermost axis, keepdims.
  auto m = run_single_node("ReduceMean", {x}, {Attribute::make_ints("axes", {2})}, 13);
  REQUIRE(m[0].shape() == Shape{2, 3, 1});
  require_close(m[0], {1.5f, 5.5f, 9.5f, 13.5f, 17.5f, 21.5f});
  // Outermost axis.
  auto mx = run_single_node("ReduceMax", {x}, {Attribute::make_ints("axes", {0}), Attribute::make_int("keepdims", 0)}, 13);
  require_close(mx[0], {12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23});
  // Axes 0 and 2 (not adjacent): general path. Sum over i,k of 12i + 4j + k = 12*4 + 8*4j + 2*6 = 60 + 32j.
  auto s = run_single_node("ReduceSum", {x, i64({0, 2}, {2})}, {Attribute::make_int("keepdims", 0)}, 13);
  require_close(s[0], {60, 92, 124});
  // All axes by default.
  auto all = run_single_node("ReduceMin", {x}, {}, 13);
  REQUIRE(all[0].shape() == Shape{1, 1, 1});
  require_close(all[0], {0});
}

TEST_CASE("Reduce L1/L2/SumSquare/Prod/LogSum/LogSumExp", "[reduce]") {
  Tensor x = f32({1, -2, 2, 3, -4, 0}, {2, 3});
  auto ax = [](int64_t a) { return std::vector<Attribute>{Attribute::make_ints("axes", {a}), Attribute::make_int("keepdims", 0)}; };
  require_close(run_single_node("ReduceL1", {x}, ax(1), 13)[0], {5, 7});
  require_close(run_single_node("ReduceL2", {x}, ax(1), 13)[0], {3, 5});
  require_close(run_single_node("ReduceSumSquare", {x}, ax(1), 13)[0], {9, 25});
  require_close(run_single_node("ReduceProd", {x}, ax(0), 13)[0], {3, 8, 0});
  Tensor p = f32({1, 2, 3, 4}, {2, 2});
  require_close(run_single_node("ReduceLogSum", {p}, ax(1), 13)[0], {std::log(3.f), std::log(7.f)});
  // Large values stay finite: log(e^1000 + e^1000) = 1000 + log 2.
  Tensor big = f32({1000, 1000, 0, 0}, {2, 2});
  require_close(run_single_node("ReduceLogSumExp", {big}, ax(1), 13)[0],
                {1000 + std::log(2.f), std::log(2.f)}, 1e-3f);
}

TEST_CASE("Reduce opset 18: axes input, empty axes and noop_with_empty_axes", "[reduce]") {
  Tensor x = f32({1, 2, 3, 4}, {2, 2});
  auto a = run_single_node("ReduceMean", {x, i64({1}, {1})}, {}, 18);
  require_close(a[0], {1.5f, 3.5f});
  // Omitted axes: reduce everything.
  auto all = run_single_node("ReduceMax", {x}, {Attribute::make_int("keepdims", 0)}, 18);
  REQUIRE(all[0].shape() == Shape{});
  require_close(all[0], {4});
  // Empty axes with noop: nothing reduced (SumSquare still squares each element).
  auto noop = run_single_node("ReduceSum", {x, i64({}, {0})}, {Attribute::make_int("noop_with_empty_axes", 1)}, 13);
  REQUIRE(noop[0].shape() == Shape{2, 2});
  require_close(noop[0], {1, 2, 3, 4});
  auto sq = run_single_node("ReduceSumSquare", {x, i64({}, {0})}, {Attribute::make_int("noop_with_empty_axes", 1)}, 18);
  require_close(sq[0], {1, 4, 9, 16});
  // int64 input.
  auto is = run_single_node("ReduceSum", {i64({1, 2, 3, 4}, {2, 2}), i64({0}, {1})}, {}, 13);
  REQUIRE(ints_of(is[0]) == std::vector<int64_t>{4, 6});
}

TEST_CASE("Reduce over a large innermost axis is thread-count independent", "[reduce]") {
  Shape s{300, 1000};
  std::vector<float> v(300000);
  for (size_t i = 0; i < v.size(); ++i) v[i] = std::sin(static_cast<float>(i)) * 3.f;
  Tensor x = f32(v, s);
  Model m = test::single_node_model("ReduceMean", {x}, {Attribute::make_ints("axes", {1})}, 13);
  KernelRegistry reg = make_default_registry();
  Executor e1(m, reg, {1}), e2(m, reg, {2});
  Tensor a = e1.run({{"in0", x}})[0], b = e2.run({{"in0", x}})[0];
  REQUIRE(std::memcmp(a.raw(), b.raw(), a.nbytes()) == 0);
  double want = 0;
  for (int i = 0; i < 1000; ++i) want += v[static_cast<size_t>(i)];
  REQUIRE(std::fabs(a.data<float>()[0] - want / 1000) < 1e-5);
}

TEST_CASE("Softmax opset 1-12 coerces to 2-D; opset 13 uses the single axis", "[reduce]") {
  Tensor x = f32({0, 1, 2, 3}, {2, 2});
  // Opset 11, axis 0: one row of 4 values: e^k / (1 + e + e^2 + e^3).
  double z = 1 + std::exp(1.0) + std::exp(2.0) + std::exp(3.0);
  auto a = run_single_node("Softmax", {x}, {Attribute::make_int("axis", 0)}, 11);
  require_close(a[0], {float(1 / z), float(std::exp(1.0) / z), float(std::exp(2.0) / z), float(std::exp(3.0) / z)});
  // Opset 13, axis 0: each column [0,2] / [1,3] normalized: 1/(1+e^2), e^2/(1+e^2).
  float lo = float(1 / (1 + std::exp(2.0))), hi = float(std::exp(2.0) / (1 + std::exp(2.0)));
  auto b = run_single_node("Softmax", {x}, {Attribute::make_int("axis", 0)}, 13);
  require_close(b[0], {lo, lo, hi, hi});
  // Defaults: opset 11 axis=1 (rows), opset 13 axis=-1 (rows) agree on 2-D.
  float p = float(1 / (1 + std::exp(1.0))), q = 1 - p;
  require_close(run_single_node("Softmax", {x}, {}, 11)[0], {p, q, p, q});
  require_close(run_single_node("Softmax", {x}, {}, 13)[0], {p, q, p, q});
  // 3-D with opset 11 default axis 1 flattens the last two dims; opset 13 default only the last.
  Tensor y = f32({0, 0, 0, 0, 1, 1, 1, 1}, {2, 2, 2});
  require_close(run_single_node("Softmax", {y}, {}, 11)[0], {0.25f, 0.25f, 0.25f, 0.25f, 0.25f, 0.25f, 0.25f, 0.25f});
  require_close(run_single_node("Softmax", {y}, {Attribute::make_int("axis", 1)}, 13)[0],
                {0.5f, 0.5f, 0.5f, 0.5f, 0.5f, 0.5f, 0.5f, 0.5f});
}

TEST_CASE("Softmax is stable for large inputs; LogSoftmax and Hardmax", "[reduce]") {
  Tensor x = f32({1000, 1001, -1000, -1001}, {2, 2});
  float p = float(1 / (1 + std::exp(1.0)));
  require_close(run_single_node("Softmax", {x}, {}, 13)[0], {p, 1 - p, 1 - p, p});
  require_close(run_single_node("LogSoftmax", {x}, {}, 13)[0],
                {std::log(p), std::log(1 - p), std::log(1 - p), std::log(p)}, 1e-5f);
  // Hardmax: first maximum wins on ties.
  Tensor h = f32({1, 3, 3, 0, 2, 2, 1, 2}, {2, 4});
  require_close(run_single_node("Hardmax", {h}, {}, 13)[0], {0, 1, 0, 0, 1, 0, 0, 0});
  // Opset 11 axis 0 over a [2,4] tensor: one row of 8; the max 3 first appears at 1.
  require_close(run_single_node("Hardmax", {h}, {Attribute::make_int("axis", 0)}, 11)[0], {0, 1, 0, 0, 0, 0, 0, 0});
  // Opset 13 axis 0: per column.
  require_close(run_single_node("Hardmax", {h}, {Attribute::make_int("axis", 0)}, 13)[0], {0, 1, 1, 0, 1, 0, 0, 1});
}

TEST_CASE("Softmax over a long last axis matches a double reference", "[reduce]") {
  Shape s{64, 1500};
  std::vector<float> v(64 * 1500);
  for (size_t i = 0; i < v.size(); ++i) v[i] = std::cos(static_cast<float>(i) * 0.37f) * 20.f;
  auto y = run_single_node("Softmax", {f32(v, s)}, {}, 13);
  const float* yd = y[0].data<float>();
  for (int r = 0; r < 64; r += 21) {
    double m = -1e30, z = 0;
    for (int i = 0; i < 1500; ++i) m = std::max(m, double(v[r * 1500 + i]));
    for (int i = 0; i < 1500; ++i) z += std::exp(double(v[r * 1500 + i]) - m);
    for (int i = 0; i < 1500; i += 7) {
      double want = std::exp(double(v[r * 1500 + i]) - m) / z;
      REQUIRE(std::fabs(yd[r * 1500 + i] - want) <= 1e-6 * want + 1e-12);
    }
  }
}

TEST_CASE("ArgMax / ArgMin with keepdims and select_last_index", "[reduce]") {
  Tensor x = f32({2, 5, 5, 1, 1, 0}, {2, 3});
  auto a = run_single_node("ArgMax", {x}, {Attribute::make_int("axis", 1)}, 13);
  REQUIRE(a[0].shape() == Shape{2, 1});
  REQUIRE(ints_of(a[0]) == std::vector<int64_t>{1, 0});
  auto b = run_single_node("ArgMax", {x}, {Attribute::make_int("axis", 1), Attribute::make_int("select_last_index", 1)}, 13);
  REQUIRE(ints_of(b[0]) == std::vector<int64_t>{2, 1});
  auto c = run_single_node("ArgMin", {x}, {Attribute::make_int("keepdims", 0)}, 13);  // axis 0
  REQUIRE(c[0].shape() == Shape{3});
  REQUIRE(ints_of(c[0]) == std::vector<int64_t>{1, 1, 1});
}

TEST_CASE("TopK: ties keep the lower index first; smallest; attribute k before opset 10", "[reduce]") {
  Tensor x = f32({3, 1, 3, 2, 3, 0}, {1, 6});
  auto a = run_single_node("TopK", {x, i64({2}, {1})}, {}, 11, 2);
  require_close(a[0], {3, 3});
  REQUIRE(ints_of(a[1]) == std::vector<int64_t>{0, 2});
  auto b = run_single_node("TopK", {x, i64({3}, {1})}, {Attribute::make_int("largest", 0)}, 11, 2);
  require_close(b[0], {0, 1, 2});
  REQUIRE(ints_of(b[1]) == std::vector<int64_t>{5, 1, 3});
  auto c = run_single_node("TopK", {x}, {Attribute::make_int("k", 4)}, 9, 2);
  require_close(c[0], {3, 3, 3, 2});
  REQUIRE(ints_of(c[1]) == std::vector<int64_t>{0, 2, 4, 3});
  // Along axis 0 of a [3,2] tensor.
  Tensor y = f32({1, 6, 5, 2, 5, 4}, {3, 2});
  auto d = run_single_node("TopK", {y, i64({2}, {1})}, {Attribute::make_int("axis", 0)}, 11, 2);
  require_close(d[0], {5, 6, 5, 4});
  REQUIRE(ints_of(d[1]) == std::vector<int64_t>{1, 0, 2, 2});
}

TEST_CASE("CumSum: exclusive, reverse and axis", "[reduce]") {
  Tensor x = f32({1, 2, 3, 4, 5, 6}, {2, 3});
  require_close(run_single_node("CumSum", {x, i64({1}, {})}, {}, 14)[0], {1, 3, 6, 4, 9, 15});
  require_close(run_single_node("CumSum", {x, i64({0}, {})}, {}, 14)[0], {1, 2, 3, 5, 7, 9});
  require_close(run_single_node("CumSum", {x, i64({-1}, {1})}, {Attribute::make_int("exclusive", 1)}, 14)[0],
                {0, 1, 3, 0, 4, 9});
  require_close(run_single_node("CumSum", {x, i64({1}, {})},
                                {Attribute::make_int("exclusive", 1), Attribute::make_int("reverse", 1)}, 14)[0],
                {5, 3, 0, 11, 6, 0});
}

TEST_CASE("Resize nearest: modes and coordinate transforms", "[reduce]") {
  Tensor x = f32({1, 2, 3, 4}, {1, 1, 2, 2});
  Tensor scales = f32({1, 1, 2, 2}, {4});
  // half_pixel + round_prefer_floor, 2x: x_ori = (j + 0.5) / 2 - 0.5 = -0.25, 0.25, 0.75, 1.25
  // -> 0, 0, 1, 1 (0.25 rounds down, 0.75 up), i.e. plain pixel repetition.
  auto a = run_single_node("Resize", {x, Tensor(), scales}, {Attribute::make_string("mode", "nearest")}, 13);
  REQUIRE(a[0].shape() == Shape{1, 1, 4, 4});
  require_close(a[0], {1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4});
  // 1-D row [1,2,3] to 5 with align_corners: x_ori = j * 2 / 4 = 0, .5, 1, 1.5, 2.
  Tensor r = f32({1, 2, 3}, {1, 3});
  Tensor sizes = i64({1, 5}, {2});
  auto ac = [&](const char* nm) {
    return run_single_node("Resize", {r, Tensor(), Tensor(), sizes},
                           {Attribute::make_string("coordinate_transformation_mode", "align_corners"),
                            Attribute::make_string("nearest_mode", nm)},
                           13)[0];
  };
  require_close(ac("round_prefer_floor"), {1, 1, 2, 2, 3});
  require_close(ac("round_prefer_ceil"), {1, 2, 2, 3, 3});
  require_close(ac("floor"), {1, 1, 2, 2, 3});
  require_close(ac("ceil"), {1, 2, 2, 3, 3});
  // Upsample (opset 9, scales input) = asymmetric + floor: [1,2,3] x2 -> 1,1,2,2,3,3.
  auto u = run_single_node("Upsample", {r, f32({1, 2}, {2})}, {}, 9);
  require_close(u[0], {1, 1, 2, 2, 3, 3});
  // Upsample-7 with the scales attribute.
  auto u7 = run_single_node("Upsample", {r}, {floats_attr("scales", {1.f, 2.f})}, 7);
  require_close(u7[0], {1, 1, 2, 2, 3, 3});
  // Resize-10 (X, scales): same asymmetric/floor semantics.
  require_close(run_single_node("Resize", {r, f32({1, 2}, {2})}, {}, 10)[0], {1, 1, 2, 2, 3, 3});
}

TEST_CASE("Resize opset 18: axes with keep_aspect_ratio_policy", "[reduce]") {
  Tensor x = iota_f32({1, 1, 2, 4});
  auto run = [&](const char* policy) {
    return run_single_node("Resize", {x, Tensor(), Tensor(), i64({4, 4}, {2})},
                           {Attribute::make_ints("axes", {2, 3}), Attribute::make_string("keep_aspect_ratio_policy", policy)},
                           18)[0];
  };
  // not_larger: scale = min(4/2, 4/4) = 1 -> unchanged [2,4].
  Tensor a = run("not_larger");
  REQUIRE(a.shape() == Shape{1, 1, 2, 4});
  require_close(a, {0, 1, 2, 3, 4, 5, 6, 7});
  // not_smaller: scale = 2 -> [4,8], each pixel repeated 2x2 (half_pixel, round_prefer_floor).
  Tensor b = run("not_smaller");
  REQUIRE(b.shape() == Shape{1, 1, 4, 8});
  require_close(b, {0, 0, 1, 1, 2, 2, 3, 3, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 4, 4, 5, 5, 6, 6, 7, 7});
  // stretch (default): exactly the sizes.
  REQUIRE(run("stretch").shape() == Shape{1, 1, 4, 4});
}

TEST_CASE("Resize linear: bilinear by hand", "[reduce]") {
  Tensor x = f32({1, 2, 3, 4}, {1, 1, 2, 2});
  Tensor scales = f32({1, 1, 2, 2}, {4});
  // half_pixel, 2x: per axis x_ori = -0.25, 0.25, 0.75, 1.25 -> clamped coords 0, .25, .75, 1,
  // so the 1-D profile of [a,b] is a, a+.25(b-a), a+.75(b-a), b. Row 0 = [1,2] -> 1, 1.25, 1.75, 2;
  // rows interpolate between [1..] and [3..] with the same weights (+0, +.5, +1.5, +2).
  auto a = run_single_node("Resize", {x, Tensor(), scales}, {Attribute::make_string("mode", "linear")}, 13);
  require_close(a[0], {1, 1.25f, 1.75f, 2, 1.5f, 1.75f, 2.25f, 2.5f, 2.5f, 2.75f, 3.25f, 3.5f, 3, 3.25f, 3.75f, 4});
  // align_corners to 3x3: coords 0, .5, 1 -> centre = mean of all four = 2.5.
  auto b = run_single_node("Resize", {x, Tensor(), Tensor(), i64({1, 1, 3, 3}, {4})},
                           {Attribute::make_string("mode", "linear"),
                            Attribute::make_string("coordinate_transformation_mode", "align_corners")},
                           13);
  require_close(b[0], {1, 1.5f, 2, 2, 2.5f, 3, 3, 3.5f, 4});
  // Opset 18 axes: resize only the last axis of a [2,2] tensor to 4 (asymmetric: 0, .5, 1, 1.5->1).
  auto c = run_single_node("Resize", {f32({1, 2, 3, 4}, {2, 2}), Tensor(), f32({2}, {1})},
                           {Attribute::make_string("mode", "linear"), Attribute::make_ints("axes", {-1}),
                            Attribute::make_string("coordinate_transformation_mode", "asymmetric")},
                           18);
  REQUIRE(c[0].shape() == Shape{2, 4});
  require_close(c[0], {1, 1.5f, 2, 2, 3, 3.5f, 4, 4});
}

TEST_CASE("Resize cubic: spot values by hand", "[reduce]") {
  // Row [0, 10, 20, 30] resized to 8 with asymmetric: output 1 has x_ori = 0.5, neighbours
  // -1 (clamped to 0), 0, 1, 2 at distances 1.5, .5, .5, 1.5. With A = -0.75:
  // w(.5) = (1.25*.5 - 2.25)*.25 + 1 = 0.59375; w(1.5) = ((-.75*1.5 + 3.75)*1.5 - 6)*1.5 + 3 = -0.09375.
  // value = -.09375*0 + .59375*0 + .59375*10 - .09375*20 = 4.0625
  Tensor x = f32({0, 10, 20, 30}, {1, 4});
  std::vector<Attribute> at = {Attribute::make_string("mode", "cubic"),
                               Attribute::make_string("coordinate_transformation_mode", "asymmetric")};
  auto a = run_single_node("Resize", {x, Tensor(), f32({1, 2}, {2})}, at, 13);
  REQUIRE(a[0].shape() == Shape{1, 8});
  const float* y = a[0].data<float>();
  CHECK(y[0] == Approx(0));
  CHECK(y[1] == Approx(4.0625));
  CHECK(y[2] == Approx(10));
  // Output 3 (x_ori 1.5): neighbours 0,1,2,3 -> -.09375*0 + .59375*10 + .59375*20 - .09375*30 = 15
  CHECK(y[3] == Approx(15));
  // exclude_outside: output 1 drops the out-of-range index -1 and renormalizes by
  // .59375*2 - .09375 = 1.09375: 4.0625 / 1.09375.
  at.push_back(Attribute::make_int("exclude_outside", 1));
  auto b = run_single_node("Resize", {x, Tensor(), f32({1, 2}, {2})}, at, 13);
  CHECK(b[0].data<float>()[1] == Approx(4.0625 / 1.09375));
}

TEST_CASE("Resize tf_crop_and_resize extrapolates outside the roi", "[reduce]") {
  Tensor x = f32({1, 2, 3, 4}, {1, 4});
  // roi on the last axis [0.5, 1.5] of a length-4 row, 3 outputs: x_ori = 1.5 + j * 1 * 3 / 2 = 1.5, 3, 4.5.
  Tensor roi = f32({0, 0.5f, 1, 1.5f}, {4});
  auto a = run_single_node("Resize", {x, roi, Tensor(), i64({1, 3}, {2})},
                           {Attribute::make_string("mode", "linear"),
                            Attribute::make_string("coordinate_transformation_mode", "tf_crop_and_resize"),
                            Attribute::make_float("extrapolation_value", -1.f)},
                           13);
  require_close(a[0], {2.5f, 4, -1});
}
