// Shape / data-movement kernels (src/exec/kernels/shape_ops*.cpp).
#include <catch2/catch.hpp>

#include <numeric>

#include "exec/executor.h"
#include "test_util.h"

using namespace ptq;
using ptq::test::require_close;
using ptq::test::run_single_node;

namespace {

template <typename T>
Tensor iota(Shape shape, T start = T(0)) {
  std::vector<T> v(static_cast<size_t>(shape_numel(shape)));
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<T>(start + static_cast<T>(i));
  return Tensor::from_vector<T>(v, std::move(shape));
}

Tensor i64(std::vector<int64_t> v) {
  int64_t n = static_cast<int64_t>(v.size());
  return Tensor::from_vector<int64_t>(v, {n});
}

template <typename T>
std::vector<T> values(const Tensor& t) {
  return std::vector<T>(t.data<T>(), t.data<T>() + t.numel());
}

Tensor run1(const std::string& op, const std::vector<Tensor>& in, std::vector<Attribute> attrs, int64_t opset) {
  return run_single_node(op, in, std::move(attrs), opset).at(0);
}

// Runs one node with an executor using `threads` threads.
std::vector<Tensor> run_threads(const std::string& op, const std::vector<Tensor>& in, std::vector<Attribute> attrs,
                                int64_t opset, int threads) {
  Model m = test::single_node_model(op, in, std::move(attrs), opset);
  KernelRegistry reg = make_default_registry();
  Executor ex(m, reg, ExecOptions{threads});
  std::map<std::string, Tensor> feeds;
  for (size_t i = 0; i < in.size(); ++i) feeds["in" + std::to_string(i)] = in[i];
  return ex.run(feeds);
}

}  // namespace

TEST_CASE("Reshape: 0 copies, -1 infers, output aliases the input", "[shape]") {
  Tensor x = iota<float>({2, 3, 4});
  Tensor y = run1("Reshape", {x, i64({0, -1})}, {}, 13);
  CHECK(y.shape() == Shape{2, 12});
  CHECK(y.raw() == x.raw());
  CHECK(run1("Reshape", {x, i64({-1, 0, 2})}, {}, 13).shape() == Shape{4, 3, 2});
  // Opset 1-4: shape attribute.
  CHECK(run1("Reshape", {x}, {Attribute::make_ints("shape", {4, -1})}, 4).shape() == Shape{4, 6});
  CHECK_THROWS(run1("Reshape", {x, i64({-1, -1})}, {}, 13));
  CHECK_THROWS(run1("Reshape", {x, i64({5, -1})}, {}, 13));
}

TEST_CASE("Reshape: allowzero keeps 0 as a real dimension", "[shape]") {
  Tensor empty(DType::Float32, {0, 3, 4});
  Tensor y = run1("Reshape", {empty, i64({3, 4, 0})}, {Attribute::make_int("allowzero", 1)}, 14);
  CHECK(y.shape() == Shape{3, 4, 0});
  // Without allowzero the 0 copies the input dim: [3,4,0] -> dim 2 of [0,3,4] would be 4, and the
  // element counts differ unless it matches.
  Tensor x = iota<float>({2, 3});
  CHECK(run1("Reshape", {x, i64({0, 3})}, {}, 14).shape() == Shape{2, 3});
  CHECK_THROWS(run1("Reshape", {x, i64({0, 3})}, {Attribute::make_int("allowzero", 1)}, 14));
}

TEST_CASE("Flatten, Squeeze and Unsqueeze in both axes forms", "[shape]") {
  Tensor x = iota<float>({2, 1, 3, 1});
  CHECK(run1("Flatten", {x}, {Attribute::make_int("axis", -1)}, 13).shape() == Shape{6, 1});
  CHECK(run1("Flatten", {x}, {Attribute::make_int("axis", 0)}, 9).shape() == Shape{1, 6});
  CHECK(run1("Squeeze", {x}, {}, 13).shape() == Shape{2, 3});
  CHECK(run1("Squeeze", {x}, {Attribute::make_ints("axes", {-1})}, 11).shape() == Shape{2, 1, 3});
  CHECK(run1("Squeeze", {x, i64({1})}, {}, 13).shape() == Shape{2, 3, 1});
  CHECK_THROWS(run1("Squeeze", {x, i64({0})}, {}, 13));

  Tensor v = iota<int64_t>({3});
  CHECK(run1("Unsqueeze", {v}, {Attribute::make_ints("axes", {0, 2})}, 11).shape() == Shape{1, 3, 1});
  CHECK(run1("Unsqueeze", {v, i64({-1, 0})}, {}, 13).shape() == Shape{1, 3, 1});
  Tensor u = run1("Unsqueeze", {v, i64({1})}, {}, 13);
  CHECK(u.shape() == Shape{3, 1});
  CHECK(values<int64_t>(u) == std::vector<int64_t>{0, 1, 2});
  CHECK_THROWS(run1("Unsqueeze", {v, i64({0, 0})}, {}, 13));
}

TEST_CASE("Slice: negative steps, clamping and the attribute form", "[shape]") {
  Tensor x = iota<float>({10});
  const int64_t big = std::numeric_limits<int64_t>::max();
  require_close(run1("Slice", {x, i64({-1}), i64({-big}), i64({0}), i64({-3})}, {}, 13), {9, 6, 3, 0});
  require_close(run1("Slice", {x, i64({100}), i64({2}), i64({0}), i64({-2})}, {}, 13), {9, 7, 5, 3});
  require_close(run1("Slice", {x, i64({-3}), i64({big})}, {}, 13), {7, 8, 9});
  CHECK(run1("Slice", {x, i64({5}), i64({2})}, {}, 13).numel() == 0);

  Tensor m = iota<int32_t>({3, 4});
  Tensor r = run1("Slice", {m, i64({-1, 1}), i64({-big, 3}), i64({0, 1}), i64({-1, 1})}, {}, 13);
  CHECK(r.shape() == Shape{3, 2});
  CHECK(values<int32_t>(r) == std::vector<int32_t>{9, 10, 5, 6, 1, 2});
  // Opset 1-9: starts/ends/axes attributes.
  Tensor a = run1("Slice", {m},
                  {Attribute::make_ints("starts", {1}), Attribute::make_ints("ends", {1000}), Attribute::make_ints("axes", {1})}, 9);
  CHECK(values<int32_t>(a) == std::vector<int32_t>{1, 2, 3, 5, 6, 7, 9, 10, 11});
  CHECK_THROWS(run1("Slice", {x, i64({0}), i64({5}), i64({0}), i64({0})}, {}, 13));
}

TEST_CASE("Gather: negative indices, any axis, int8 data", "[shape]") {
  Tensor x = iota<float>({3, 4});
  Tensor idx = Tensor::from_vector<int32_t>({-1, 0}, {2});
  require_close(run1("Gather", {x, idx}, {}, 13), {8, 9, 10, 11, 0, 1, 2, 3});
  Tensor y = run1("Gather", {x, Tensor::from_vector<int64_t>({-2, 3, 1, 1}, {2, 2})}, {Attribute::make_int("axis", 1)}, 13);
  CHECK(y.shape() == Shape{3, 2, 2});
  require_close(y, {2, 3, 1, 1, 6, 7, 5, 5, 10, 11, 9, 9});
  Tensor q = iota<int8_t>({5}, int8_t(-2));
  CHECK(values<int8_t>(run1("Gather", {q, Tensor::scalar<int64_t>(-5)}, {}, 13)) == std::vector<int8_t>{-2});
  CHECK_THROWS(run1("Gather", {x, Tensor::from_vector<int64_t>({3}, {1})}, {}, 13));
  // Scalar data has no axis to gather from or concatenate along.
  CHECK_THROWS_AS(run1("Gather", {Tensor::scalar<float>(1), Tensor::scalar<int64_t>(0)}, {}, 13), Error);
  CHECK_THROWS_AS(run1("Concat", {Tensor::scalar<float>(1), Tensor::scalar<float>(2)}, {Attribute::make_int("axis", 0)}, 13), Error);
}

TEST_CASE("GatherElements, GatherND and ScatterND", "[shape]") {
  Tensor x = iota<float>({2, 3});
  Tensor ge = run1("GatherElements", {x, Tensor::from_vector<int64_t>({-1, 0, 1, 1}, {2, 2})}, {Attribute::make_int("axis", 1)}, 13);
  require_close(ge, {2, 0, 4, 4});
  Tensor nd = run1("GatherND", {iota<float>({2, 2, 2}), Tensor::from_vector<int64_t>({1, 0}, {2, 1})},
                   {Attribute::make_int("batch_dims", 1)}, 13);
  CHECK(nd.shape() == Shape{2, 2});
  require_close(nd, {2, 3, 4, 5});
  Tensor sc = run1("ScatterND", {iota<int64_t>({4}), Tensor::from_vector<int64_t>({1, 1, -1}, {3, 1}), i64({10, 20, 5})},
                   {Attribute::make_string("reduction", "add")}, 16);
  CHECK(values<int64_t>(sc) == std::vector<int64_t>{0, 31, 2, 8});
}

TEST_CASE("Pad: reflect, edge, wrap, constant and the opset-2 attribute form", "[shape]") {
  Tensor x = Tensor::from_vector<float>({1, 2, 3}, {1, 3});
  auto mode = [](const char* m) { return Attribute::make_string("mode", m); };
  require_close(run1("Pad", {x, i64({0, 2, 0, 2})}, {mode("reflect")}, 13), {3, 2, 1, 2, 3, 2, 1});
  require_close(run1("Pad", {x, i64({0, 1, 0, 2})}, {mode("edge")}, 13), {1, 1, 2, 3, 3, 3});
  require_close(run1("Pad", {x, i64({0, 2, 0, 1})}, {mode("wrap")}, 19), {2, 3, 1, 2, 3, 1});
  require_close(run1("Pad", {x, i64({1, 1, 0, -1}), Tensor::scalar<float>(7)}, {}, 13), {7, 7, 7, 7, 1, 2});
  // Opset 18: pads only for the listed axes.
  require_close(run1("Pad", {x, i64({1, 0}), Tensor(), i64({-1})}, {}, 18), {0, 1, 2, 3});
  require_close(run1("Pad", {x}, {Attribute::make_ints("pads", {0, 1, 0, 0}), Attribute::make_float("value", -1)}, 2),
                {-1, 1, 2, 3});
  // Reflect over 2-D, both dims.
  Tensor m = iota<int32_t>({2, 2});
  Tensor r = run1("Pad", {m, i64({1, 1, 0, 0})}, {mode("reflect")}, 13);
  CHECK(r.shape() == Shape{3, 3});
  CHECK(values<int32_t>(r) == std::vector<int32_t>{3, 2, 3, 1, 0, 1, 3, 2, 3});
}

TEST_CASE("Split: attribute, input, num_outputs and equal forms", "[shape]") {
  Tensor x = iota<float>({2, 5});
  auto axis1 = Attribute::make_int("axis", 1);
  auto a = run_single_node("Split", {x}, {axis1, Attribute::make_ints("split", {2, 3})}, 11, 2);
  require_close(a[0], {0, 1, 5, 6});
  require_close(a[1], {2, 3, 4, 7, 8, 9});
  auto b = run_single_node("Split", {x, i64({4, 1})}, {axis1}, 13, 2);
  require_close(b[1], {4, 9});
  auto c = run_single_node("Split", {x}, {axis1, Attribute::make_int("num_outputs", 2)}, 18, 2);
  CHECK(c[0].shape() == Shape{2, 3});
  CHECK(c[1].shape() == Shape{2, 2});
  auto d = run_single_node("Split", {x}, {}, 13, 2);
  require_close(d[1], {5, 6, 7, 8, 9});
  CHECK_THROWS(run_single_node("Split", {x}, {axis1}, 13, 2));
}

TEST_CASE("Transpose, Concat, Tile, Expand on several dtypes", "[shape]") {
  Tensor x = iota<int8_t>({2, 3});
  CHECK(values<int8_t>(run1("Transpose", {x}, {}, 13)) == std::vector<int8_t>{0, 3, 1, 4, 2, 5});
  Tensor c = run1("Concat", {iota<int64_t>({2, 1}), iota<int64_t>({2, 2}, 10)}, {Attribute::make_int("axis", -1)}, 13);
  CHECK(values<int64_t>(c) == std::vector<int64_t>{0, 10, 11, 1, 12, 13});
  Tensor t = run1("Tile", {iota<float>({2}), i64({3})}, {}, 13);
  require_close(t, {0, 1, 0, 1, 0, 1});
  Tensor e = run1("Expand", {iota<int32_t>({3, 1}), i64({2, 1, 2})}, {}, 13);
  CHECK(e.shape() == Shape{2, 3, 2});
  CHECK(values<int32_t>(e) == std::vector<int32_t>{0, 0, 1, 1, 2, 2, 0, 0, 1, 1, 2, 2});
  Tensor bools = Tensor::from_vector<bool>({true, false}, {2});
  Tensor bt = run1("Tile", {bools, i64({2})}, {}, 13);
  CHECK(bt.dtype() == DType::Bool);
  CHECK(values<bool>(bt) == std::vector<bool>{true, false, true, false});
}

TEST_CASE("Transpose: large NCHW<->NHWC and 5-D views match a naive copy with 2 threads", "[shape]") {
  Tensor x = iota<float>({2, 37, 29, 31});
  Tensor y = run_threads("Transpose", {x}, {Attribute::make_ints("perm", {0, 2, 3, 1})}, 13, 2).at(0);
  REQUIRE(y.shape() == Shape{2, 29, 31, 37});
  const float* in = x.data<float>();
  const float* out = y.data<float>();
  bool ok = true;
  for (int64_t n = 0; n < 2; ++n)
    for (int64_t h = 0; h < 29; ++h)
      for (int64_t w = 0; w < 31; ++w)
        for (int64_t c = 0; c < 37; ++c) ok &= out[((n * 29 + h) * 31 + w) * 37 + c] == in[((n * 37 + c) * 29 + h) * 31 + w];
  CHECK(ok);
  Tensor back = run_threads("Transpose", {y}, {Attribute::make_ints("perm", {0, 3, 1, 2})}, 13, 2).at(0);
  CHECK(values<float>(back) == values<float>(x));

  Tensor z = iota<int64_t>({3, 4, 5, 6, 7});
  Tensor p = run1("Transpose", {z}, {Attribute::make_ints("perm", {4, 1, 3, 0, 2})}, 13);
  std::vector<int64_t> zs = {4 * 5 * 6 * 7, 5 * 6 * 7, 6 * 7, 7, 1};
  const int64_t* pv = p.data<int64_t>();
  int64_t i = 0;
  ok = true;
  for (int64_t a = 0; a < 7; ++a)
    for (int64_t b = 0; b < 4; ++b)
      for (int64_t c = 0; c < 6; ++c)
        for (int64_t d = 0; d < 3; ++d)
          for (int64_t e = 0; e < 5; ++e) ok &= pv[i++] == a * zs[4] + b * zs[1] + c * zs[3] + d * zs[0] + e * zs[2];
  CHECK(ok);
}

TEST_CASE("DepthToSpace (DCR, CRD) and SpaceToDepth", "[shape]") {
  Tensor x = iota<float>({1, 8, 2, 3});
  auto bs = Attribute::make_int("blocksize", 2);
  Tensor dcr = run1("DepthToSpace", {x}, {bs}, 13);
  CHECK(dcr.shape() == Shape{1, 2, 4, 6});
  // DCR: out[0, c, h*2+i, w*2+j] = in[0, (i*2+j)*2 + c, h, w].
  CHECK(dcr.data<float>()[(0 * 4 + 1) * 6 + 1] == x.data<float>()[((1 * 2 + 1) * 2 + 0) * 6 + 0]);
  Tensor back = run1("SpaceToDepth", {dcr}, {bs}, 13);
  CHECK(values<float>(back) == values<float>(x));
  Tensor crd = run1("DepthToSpace", {x}, {bs, Attribute::make_string("mode", "CRD")}, 13);
  // CRD: out[0, c, h*2+i, w*2+j] = in[0, c*4 + i*2 + j, h, w].
  CHECK(crd.data<float>()[(1 * 4 + 3) * 6 + 4] == x.data<float>()[((1 * 4 + 1 * 2 + 0) * 2 + 1) * 3 + 2]);
}

TEST_CASE("Shape, Size, Constant, ConstantOfShape, Range, NonZero, Trilu", "[shape]") {
  Tensor x = iota<float>({2, 3, 4});
  CHECK(values<int64_t>(run1("Shape", {x}, {Attribute::make_int("start", -2)}, 15)) == std::vector<int64_t>{3, 4});
  CHECK(values<int64_t>(run1("Size", {x}, {}, 13)) == std::vector<int64_t>{24});
  CHECK(values<int64_t>(run1("Constant", {}, {Attribute::make_ints("value_ints", {4, 5})}, 13)) == std::vector<int64_t>{4, 5});
  Tensor cs = run1("ConstantOfShape", {i64({2, 2})}, {Attribute::make_tensor("value", Tensor::scalar<int32_t>(7))}, 13);
  CHECK(values<int32_t>(cs) == std::vector<int32_t>{7, 7, 7, 7});
  Tensor rg = run1("Range", {Tensor::scalar<int32_t>(10), Tensor::scalar<int32_t>(3), Tensor::scalar<int32_t>(-3)}, {}, 13);
  CHECK(values<int32_t>(rg) == std::vector<int32_t>{10, 7, 4});
  require_close(run1("Range", {Tensor::scalar<float>(0), Tensor::scalar<float>(1), Tensor::scalar<float>(0.25f)}, {}, 13),
                {0, 0.25f, 0.5f, 0.75f});
  Tensor nz = run1("NonZero", {Tensor::from_vector<float>({0, 1, -0.0f, 2}, {2, 2})}, {}, 13);
  CHECK(nz.shape() == Shape{2, 2});
  CHECK(values<int64_t>(nz) == std::vector<int64_t>{0, 1, 1, 1});
  Tensor tl = run1("Trilu", {iota<int32_t>({3, 3}, 1), Tensor::scalar<int64_t>(-1)}, {Attribute::make_int("upper", 0)}, 14);
  CHECK(values<int32_t>(tl) == std::vector<int32_t>{0, 0, 0, 4, 0, 0, 7, 8, 0});
}

TEST_CASE("ScatterElements, Compress, EyeLike, OneHot", "[shape]") {
  Tensor x = iota<float>({2, 3});
  Tensor se = run1("ScatterElements", {x, Tensor::from_vector<int64_t>({-1, 0}, {1, 2}), Tensor::from_vector<float>({10, 20}, {1, 2})},
                   {Attribute::make_int("axis", 0)}, 13);
  require_close(se, {0, 20, 2, 10, 4, 5});
  Tensor cond = Tensor::from_vector<bool>({false, true, true}, {3});
  require_close(run1("Compress", {x, cond}, {Attribute::make_int("axis", 1)}, 13), {1, 2, 4, 5});
  require_close(run1("Compress", {x, cond}, {}, 13), {1, 2});
  Tensor eye = run1("EyeLike", {Tensor(DType::Int32, {2, 3})}, {Attribute::make_int("k", 1)}, 13);
  CHECK(values<int32_t>(eye) == std::vector<int32_t>{0, 1, 0, 0, 0, 1});
  Tensor oh = run1("OneHot", {i64({1, -1}), Tensor::scalar<int64_t>(3), Tensor::from_vector<float>({0, 5}, {2})},
                   {Attribute::make_int("axis", 0)}, 13);
  CHECK(oh.shape() == Shape{3, 2});
  require_close(oh, {0, 0, 5, 0, 0, 5});
}
