// Elementwise kernels: broadcasting (incl. the per-channel fast path and the parallel split),
// integer division, Round, Clip in both forms, Cast, Where, variadic ops, Dropout.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <limits>

#include "test_util.h"

using namespace ptq;
using ptq::test::require_close;
using ptq::test::run_single_node;

namespace {

template <class T>
std::vector<T> values(const Tensor& t) {
  const T* p = t.data<T>();
  return std::vector<T>(p, p + t.numel());
}

std::vector<float> iota_f(int64_t n, float scale = 1.0f, float offset = 0.0f) {
  std::vector<float> v(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) v[static_cast<size_t>(i)] = static_cast<float>(i % 1000) * scale + offset;
  return v;
}

// Runs a one-node model with an explicit thread count (run_single_node always uses one thread).
std::vector<Tensor> run_threads(const std::string& op, const std::vector<Tensor>& inputs, int threads,
                                std::vector<Attribute> attrs = {}, int64_t opset = 17) {
  Model m = ptq::test::single_node_model(op, inputs, std::move(attrs), opset);
  KernelRegistry reg = make_default_registry();
  Executor ex(m, reg, ExecOptions{threads});
  std::map<std::string, Tensor> feeds;
  for (size_t i = 0; i < inputs.size(); ++i)
    if (!inputs[i].empty()) feeds["in" + std::to_string(i)] = inputs[i];
  return ex.run(feeds);
}

}  // namespace

TEST_CASE("Add broadcasts numpy style", "[elementwise]") {
  auto a = Tensor::from_vector<float>({1, 2, 3, 4, 5, 6}, {2, 3, 1});
  auto b = Tensor::from_vector<float>({10, 20}, {1, 2});
  auto out = run_single_node("Add", {a, b}, {}, 13);
  REQUIRE(out[0].shape() == Shape{2, 3, 2});
  require_close(out[0], {11, 21, 12, 22, 13, 23, 14, 24, 15, 25, 16, 26});

  // Scalar on the left, rank-0 result when both are scalars.
  out = run_single_node("Sub", {Tensor::scalar<float>(1.0f), b}, {}, 13);
  require_close(out[0], {-9, -19});
  out = run_single_node("Mul", {Tensor::scalar<float>(3.0f), Tensor::scalar<float>(4.0f)}, {}, 7);
  REQUIRE(out[0].shape().empty());
  require_close(out[0], {12});

  auto bad = Tensor::from_vector<float>({1, 2, 3}, {3});
  REQUIRE_THROWS_AS(run_single_node("Add", {b, bad}, {}, 13), Error);
  REQUIRE_THROWS_AS(run_single_node("Add", {b, Tensor::from_vector<int32_t>({1, 2}, {2})}, {}, 13), Error);
}

TEST_CASE("Per-channel broadcast and parallel split match a direct computation", "[elementwise]") {
  const int64_t n = 2, c = 3, hw = 40000;  // 240k elements: above the parallel threshold
  auto x = Tensor::from_vector<float>(iota_f(n * c * hw, 0.5f, -100.0f), {n, c, 200, 200});
  auto bias = Tensor::from_vector<float>({1.0f, -2.0f, 3.5f}, {1, c, 1, 1});
  for (int threads : {1, 2}) {
    auto out = run_threads("Add", {x, bias}, threads);
    REQUIRE(out[0].shape() == x.shape());
    const float* px = x.data<float>();
    const float* po = out[0].data<float>();
    for (int64_t i = 0; i < n * c * hw; ++i)
      REQUIRE(po[i] == px[i] + bias.data<float>()[(i / hw) % c]);
    // Same-shape Mul and a long-run broadcast ([N,C,H,W] * [H,W]) on the parallel paths.
    auto sq = run_threads("Mul", {x, x}, threads);
    auto plane = Tensor::from_vector<float>(iota_f(hw, 0.001f), {200, 200});
    auto pm = run_threads("Mul", {x, plane}, threads);
    for (int64_t i = 0; i < n * c * hw; i += 997) {
      REQUIRE(sq[0].data<float>()[i] == px[i] * px[i]);
      REQUIRE(pm[0].data<float>()[i] == px[i] * plane.data<float>()[i % hw]);
    }
  }
  // Many short runs ([.., W] + [.., 1]) split across threads.
  auto col = Tensor::from_vector<float>(iota_f(n * c * 200), {n, c, 200, 1});
  auto out = run_threads("Sub", {x, col}, 2);
  for (int64_t i = 0; i < n * c * hw; i += 1009)
    REQUIRE(out[0].data<float>()[i] == x.data<float>()[i] - col.data<float>()[i / 200]);
}

TEST_CASE("Integer Div truncates toward zero and Mod follows fmod", "[elementwise]") {
  auto a = Tensor::from_vector<int32_t>({7, -7, 7, -7, 5, std::numeric_limits<int32_t>::min()}, {6});
  auto b = Tensor::from_vector<int32_t>({2, 2, -2, -2, 0, -1}, {6});
  auto q = run_single_node("Div", {a, b}, {}, 13);
  REQUIRE(q[0].dtype() == DType::Int32);
  REQUIRE(values<int32_t>(q[0]) == std::vector<int32_t>{3, -3, -3, 3, 0, std::numeric_limits<int32_t>::min()});

  auto a64 = Tensor::from_vector<int64_t>({7, -7, 7, -7}, {4});
  auto b64 = Tensor::from_vector<int64_t>({3, 3, -3, -3}, {4});
  auto m = run_single_node("Mod", {a64, b64}, {}, 13);
  REQUIRE(values<int64_t>(m[0]) == std::vector<int64_t>{1, 2, -2, -1});
  m = run_single_node("Mod", {a64, b64}, {Attribute::make_int("fmod", 1)}, 13);
  REQUIRE(values<int64_t>(m[0]) == std::vector<int64_t>{1, -1, 1, -1});
  auto fm = run_single_node("Mod", {Tensor::from_vector<float>({5.5f, -5.5f}, {2}), Tensor::scalar<float>(2.0f)},
                            {Attribute::make_int("fmod", 1)}, 13);
  require_close(fm[0], {1.5f, -1.5f});

  auto u8 = run_single_node("Add", {Tensor::from_vector<uint8_t>({250, 3}, {2}), Tensor::scalar<uint8_t>(10)}, {}, 14);
  REQUIRE(values<uint8_t>(u8[0]) == std::vector<uint8_t>{4, 13});
}

TEST_CASE("Pow keeps the base type", "[elementwise]") {
  auto out = run_single_node("Pow", {Tensor::from_vector<float>({2, 3, 4}, {3}), Tensor::from_vector<int64_t>({3, 2, -1}, {3})}, {}, 15);
  require_close(out[0], {8, 9, 0.25f});
  out = run_single_node("Pow", {Tensor::from_vector<int32_t>({2, 3, -2}, {3}), Tensor::from_vector<float>({2.5f, 2, 3}, {3})}, {}, 15);
  REQUIRE(values<int32_t>(out[0]) == std::vector<int32_t>{5, 9, -8});
  out = run_single_node("Pow", {Tensor::from_vector<int64_t>({3, -2, 5}, {3}), Tensor::from_vector<int64_t>({4, 3, 0}, {3})}, {}, 15);
  REQUIRE(values<int64_t>(out[0]) == std::vector<int64_t>{81, -8, 1});
}

TEST_CASE("Round is half to even; unary table spot checks", "[elementwise]") {
  auto x = Tensor::from_vector<float>({0.5f, 1.5f, 2.5f, -0.5f, -1.5f, 2.4f, -2.6f}, {7});
  require_close(run_single_node("Round", {x}, {}, 11)[0], {0, 2, 2, 0, -2, 2, -3});
  require_close(run_single_node("Floor", {x}, {}, 13)[0], {0, 1, 2, -1, -2, 2, -3});
  require_close(run_single_node("Sign", {x}, {}, 13)[0], {1, 1, 1, -1, -1, 1, -1});
  require_close(run_single_node("Relu", {x}, {}, 14)[0], {0.5f, 1.5f, 2.5f, 0, 0, 2.4f, 0});
  require_close(run_single_node("LeakyRelu", {x}, {Attribute::make_float("alpha", 0.1f)}, 16)[0],
                {0.5f, 1.5f, 2.5f, -0.05f, -0.15f, 2.4f, -0.26f});
  require_close(run_single_node("HardSwish", {Tensor::from_vector<float>({-4, -1, 0, 1, 4}, {5})}, {}, 14)[0],
                {0, -1.0f / 3, 0, 2.0f / 3, 4});
  require_close(run_single_node("Sigmoid", {Tensor::from_vector<float>({0, -100}, {2})}, {}, 13)[0], {0.5f, 0});

  auto i = Tensor::from_vector<int32_t>({-3, 0, 4}, {3});
  REQUIRE(values<int32_t>(run_single_node("Abs", {i}, {}, 13)[0]) == std::vector<int32_t>{3, 0, 4});
  REQUIRE(values<int32_t>(run_single_node("Neg", {i}, {}, 13)[0]) == std::vector<int32_t>{3, 0, -4});
  REQUIRE_THROWS_AS(run_single_node("Exp", {i}, {}, 13), Error);  // float-only op

  auto special = Tensor::from_vector<float>({1.0f, std::nanf(""), INFINITY, -INFINITY}, {4});
  REQUIRE(values<bool>(run_single_node("IsNaN", {special}, {}, 13)[0]) == std::vector<bool>{false, true, false, false});
  REQUIRE(values<bool>(run_single_node("IsInf", {special}, {Attribute::make_int("detect_negative", 0)}, 10)[0]) ==
          std::vector<bool>{false, false, true, false});
}

TEST_CASE("Clip: attributes before opset 11, optional inputs after", "[elementwise]") {
  auto x = Tensor::from_vector<float>({-5, -1, 0, 1, 5}, {5});
  auto out = run_single_node("Clip", {x}, {Attribute::make_float("min", -2), Attribute::make_float("max", 2)}, 6);
  require_close(out[0], {-2, -1, 0, 1, 2});
  out = run_single_node("Clip", {x}, {Attribute::make_float("max", 0.5f)}, 6);
  require_close(out[0], {-5, -1, 0, 0.5f, 0.5f});

  out = run_single_node("Clip", {x, Tensor::scalar<float>(0.0f), Tensor::scalar<float>(6.0f)}, {}, 13, 1, {1, 2});
  require_close(out[0], {0, 0, 0, 1, 5});
  out = run_single_node("Clip", {x, Tensor(), Tensor::scalar<float>(0.0f)}, {}, 12);  // only max
  require_close(out[0], {-5, -1, 0, 0, 0});
  out = run_single_node("Clip", {x, Tensor::scalar<float>(-1.0f)}, {}, 11);  // only min
  require_close(out[0], {-1, -1, 0, 1, 5});
  out = run_single_node("Clip", {x}, {}, 13);  // no bounds
  require_close(out[0], {-5, -1, 0, 1, 5});
  out = run_single_node("Clip", {x, Tensor::scalar<float>(2.0f), Tensor::scalar<float>(1.0f)}, {}, 13);  // min > max
  require_close(out[0], {1, 1, 1, 1, 1});

  auto i8 = Tensor::from_vector<int8_t>({-128, -3, 7, 127}, {4});
  out = run_single_node("Clip", {i8, Tensor::scalar<int8_t>(-5), Tensor::scalar<int8_t>(5)}, {}, 13);
  REQUIRE(values<int8_t>(out[0]) == std::vector<int8_t>{-5, -3, 5, 5});
  REQUIRE_THROWS_AS(run_single_node("Clip", {x, Tensor::scalar<double>(0.0)}, {}, 13), Error);
}

TEST_CASE("Cast converts like numpy", "[elementwise]") {
  auto x = Tensor::from_vector<float>({1.9f, -1.9f, 127.9f, -128.7f, 0.0f, 300.0f}, {6});
  auto to = [](DType t) { return std::vector<Attribute>{Attribute::make_int("to", static_cast<int64_t>(t))}; };
  auto i8 = run_single_node("Cast", {x}, to(DType::Int8), 13);
  REQUIRE(i8[0].dtype() == DType::Int8);
  REQUIRE(values<int8_t>(i8[0]) == std::vector<int8_t>{1, -1, 127, -128, 0, 44});  // 300 wraps to 44
  auto u8 = run_single_node("Cast", {Tensor::from_vector<float>({-1.0f, 255.5f}, {2})}, to(DType::UInt8), 13);
  REQUIRE(values<uint8_t>(u8[0]) == std::vector<uint8_t>{255, 255});
  auto i64 = run_single_node("Cast", {x}, to(DType::Int64), 13);
  REQUIRE(values<int64_t>(i64[0]) == std::vector<int64_t>{1, -1, 127, -128, 0, 300});
  auto b = run_single_node("Cast", {x}, to(DType::Bool), 13);
  REQUIRE(values<bool>(b[0]) == std::vector<bool>{true, true, true, true, false, true});
  auto back = run_single_node("Cast", {b[0]}, to(DType::Float32), 13);
  require_close(back[0], {1, 1, 1, 1, 0, 1});
  auto big = run_single_node("Cast", {Tensor::from_vector<int64_t>({(int64_t(1) << 40) + 3, -7}, {2})}, to(DType::Int32), 13);
  REQUIRE(values<int32_t>(big[0]) == std::vector<int32_t>{3, -7});
  auto d = run_single_node("Cast", {x}, to(DType::Float64), 13);
  REQUIRE(d[0].get_as_double(0) == static_cast<double>(1.9f));

  // float16: round to nearest even, and back.
  auto h = run_single_node("Cast", {Tensor::from_vector<float>({1.0f, 65504.0f, 70000.0f, 1.0f + 1.0f / 2048, 5.96e-8f}, {5})},
                           to(DType::Float16), 13);
  REQUIRE(h[0].dtype() == DType::Float16);
  const auto* hb = static_cast<const uint16_t*>(h[0].raw());
  CHECK(hb[0] == 0x3c00);
  CHECK(hb[1] == 0x7bff);
  CHECK(hb[2] == 0x7c00);
  CHECK(hb[3] == 0x3c00);  // tie rounds to even
  CHECK(hb[4] == 0x0001);  // smallest subnormal
  auto hf = values<float>(run_single_node("Cast", {h[0]}, to(DType::Float32), 13)[0]);
  REQUIRE(hf == std::vector<float>{1, 65504, INFINITY, 1, std::ldexp(1.0f, -24)});

  // bfloat16: round to nearest even (0x3ef5eeb0 -> 0x3ef6), exact on the way back.
  float f32;
  uint32_t u = 0x3ef5eeb0;
  std::memcpy(&f32, &u, 4);
  auto bf = run_single_node("Cast", {Tensor::from_vector<float>({f32, 1.0f}, {2})}, to(DType::BFloat16), 13);
  const auto* bb = static_cast<const uint16_t*>(bf[0].raw());
  CHECK(bb[0] == 0x3ef6);
  CHECK(bb[1] == 0x3f80);
  auto bff = values<float>(run_single_node("Cast", {bf[0]}, to(DType::Float32), 13)[0]);
  uint32_t back_bits;
  std::memcpy(&back_bits, &bff[0], 4);
  CHECK(back_bits == 0x3ef60000u);

  // CastLike takes the type of its second input; casting to the same type aliases.
  auto cl = run_single_node("CastLike", {x, Tensor::scalar<int32_t>(0)}, {}, 15);
  REQUIRE(values<int32_t>(cl[0]) == std::vector<int32_t>{1, -1, 127, -128, 0, 300});
}

TEST_CASE("Where broadcasts condition and branches", "[elementwise]") {
  auto c = Tensor::from_vector<bool>({true, false}, {2, 1});
  auto x = Tensor::from_vector<int64_t>({1, 2, 3}, {1, 3});
  auto y = Tensor::scalar<int64_t>(-1);
  auto out = run_single_node("Where", {c, x, y}, {}, 16);
  REQUIRE(out[0].shape() == Shape{2, 3});
  REQUIRE(values<int64_t>(out[0]) == std::vector<int64_t>{1, 2, 3, -1, -1, -1});
  auto cf = Tensor::from_vector<bool>({true, false, true}, {3});
  auto f = run_single_node("Where", {cf, Tensor::from_vector<float>({1, 2, 3}, {3}), Tensor::from_vector<float>({9, 8, 7}, {3})}, {}, 9);
  require_close(f[0], {1, 8, 3});
  REQUIRE_THROWS_AS(run_single_node("Where", {x, x, x}, {}, 16), Error);  // non-bool condition
}

TEST_CASE("Comparisons and logic produce bool", "[elementwise]") {
  auto a = Tensor::from_vector<int32_t>({1, 2, 3}, {3});
  auto b = Tensor::scalar<int32_t>(2);
  REQUIRE(values<bool>(run_single_node("Less", {a, b}, {}, 13)[0]) == std::vector<bool>{true, false, false});
  REQUIRE(values<bool>(run_single_node("GreaterOrEqual", {a, b}, {}, 16)[0]) == std::vector<bool>{false, true, true});
  REQUIRE(values<bool>(run_single_node("Equal", {a, b}, {}, 13)[0]) == std::vector<bool>{false, true, false});
  auto p = Tensor::from_vector<bool>({true, true, false, false}, {2, 2});
  auto q = Tensor::from_vector<bool>({true, false}, {2});
  REQUIRE(values<bool>(run_single_node("And", {p, q}, {}, 7)[0]) == std::vector<bool>{true, false, false, false});
  REQUIRE(values<bool>(run_single_node("Xor", {p, q}, {}, 7)[0]) == std::vector<bool>{false, true, true, false});
  REQUIRE(values<bool>(run_single_node("Not", {q}, {}, 1)[0]) == std::vector<bool>{false, true});
}

TEST_CASE("Variadic Sum/Mean/Max/Min broadcast all inputs", "[elementwise]") {
  auto a = Tensor::from_vector<float>({1, 2}, {2, 1});
  auto b = Tensor::from_vector<float>({10, 20, 30}, {3});
  auto c = Tensor::scalar<float>(100.0f);
  require_close(run_single_node("Sum", {a, b, c}, {}, 13)[0], {111, 121, 131, 112, 122, 132});
  require_close(run_single_node("Mean", {a, b, c}, {}, 13)[0], {37, 121.0f / 3, 131.0f / 3, 112.0f / 3, 122.0f / 3, 44});
  require_close(run_single_node("Max", {b, Tensor::scalar<float>(25.0f)}, {}, 13)[0], {25, 25, 30});
  require_close(run_single_node("Min", {b}, {}, 13)[0], {10, 20, 30});
  auto i = run_single_node("Max", {Tensor::from_vector<int64_t>({-1, 5}, {2}), Tensor::from_vector<int64_t>({3, 2}, {2})}, {}, 13);
  REQUIRE(values<int64_t>(i[0]) == std::vector<int64_t>{3, 5});
}

TEST_CASE("PRelu broadcasts the slope", "[elementwise]") {
  auto x = Tensor::from_vector<float>({-1, 1, -2, 2, -3, 3}, {1, 3, 2});
  auto slope = Tensor::from_vector<float>({0.1f, 0.2f, 0.3f}, {3, 1});
  require_close(run_single_node("PRelu", {x, slope}, {}, 16, 1, {1})[0], {-0.1f, 1, -0.4f, 2, -0.9f, 3});
}

TEST_CASE("Dropout and Identity pass the input through", "[elementwise]") {
  auto x = Tensor::from_vector<float>({1, -2, 3}, {3});
  auto out = run_single_node("Dropout", {x, Tensor::scalar<float>(0.5f)}, {}, 13, 2);
  require_close(out[0], {1, -2, 3});
  REQUIRE(values<bool>(out[1]) == std::vector<bool>{true, true, true});
  out = run_single_node("Dropout", {x}, {Attribute::make_float("ratio", 0.3f)}, 7, 2);
  REQUIRE(out[1].dtype() == DType::Float32);
  require_close(out[1], {1, 1, 1});
  REQUIRE_THROWS_AS(run_single_node("Dropout", {x, Tensor::scalar<float>(0.5f), Tensor::scalar<bool>(true)}, {}, 13), Error);
  require_close(run_single_node("Identity", {x}, {}, 13)[0], {1, -2, 3});
}

TEST_CASE("Opset <= 6 binary ops use the legacy broadcast attributes", "[elementwise]") {
  auto a = Tensor::from_vector<float>({1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}, {2, 3, 2});
  auto b = Tensor::from_vector<float>({100, 200, 300}, {3});
  auto bc = std::vector<Attribute>{Attribute::make_int("broadcast", 1), Attribute::make_int("axis", 1)};
  require_close(run_single_node("Add", {a, b}, bc, 6)[0], {101, 102, 203, 204, 305, 306, 107, 108, 209, 210, 311, 312});
  auto suffix = Tensor::from_vector<float>({10, 20}, {2});
  require_close(run_single_node("Mul", {a, suffix}, {Attribute::make_int("broadcast", 1)}, 6)[0],
                {10, 40, 30, 80, 50, 120, 70, 160, 90, 200, 110, 240});
  REQUIRE_THROWS_AS(run_single_node("Add", {a, suffix}, {}, 6), Error);  // broadcast=0 needs equal shapes
  // PRelu-6 with a per-channel 1-D slope.
  auto x = Tensor::from_vector<float>({-1, 1, -2, 2, -3, 3}, {1, 3, 2});
  auto slope = Tensor::from_vector<float>({0.1f, 0.2f, 0.3f}, {3});
  require_close(run_single_node("PRelu", {x, slope}, {}, 6, 1, {1})[0], {-0.1f, 1, -0.4f, 2, -0.9f, 3});
}
