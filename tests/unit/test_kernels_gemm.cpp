// Gemm / MatMul / normalization / Einsum kernels against naive reference loops, plus
// thread-count independence (1 vs 2 threads must give bit-identical results).
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <random>

#include "exec/executor.h"
#include "test_util.h"

using namespace ptq;
using ptq::test::require_close;

namespace {

Tensor random_tensor(const Shape& s, uint32_t seed, float lo = -1.0f, float hi = 1.0f) {
  std::mt19937 g(seed);
  std::uniform_real_distribution<float> d(lo, hi);
  Tensor t(DType::Float32, s);
  float* p = t.data<float>();
  for (int64_t i = 0; i < t.numel(); ++i) p[i] = d(g);
  return t;
}

std::vector<float> values(const Tensor& t) { return std::vector<float>(t.data<float>(), t.data<float>() + t.numel()); }

// Runs a one-node model with the given thread count.
std::vector<Tensor> run_threads(const std::string& op, const std::vector<Tensor>& inputs, std::vector<Attribute> attrs,
                                int64_t opset, int threads, size_t n_outputs = 1) {
  Model m = test::single_node_model(op, inputs, std::move(attrs), opset, n_outputs);
  KernelRegistry reg = make_default_registry();
  Executor ex(m, reg, ExecOptions{threads});
  std::map<std::string, Tensor> feeds;
  for (size_t i = 0; i < inputs.size(); ++i)
    if (!inputs[i].empty()) feeds["in" + std::to_string(i)] = inputs[i];
  return ex.run(feeds);
}

void require_identical(const Tensor& a, const Tensor& b) {
  REQUIRE(a.shape() == b.shape());
  REQUIRE(a.dtype() == b.dtype());
  REQUIRE(std::memcmp(a.raw(), b.raw(), a.nbytes()) == 0);
}

// Reference: Y = alpha * A' * B' + beta * C, C broadcast from shape cs.
std::vector<float> gemm_ref(const Tensor& a, const Tensor& b, const Tensor* c, bool ta, bool tb, float alpha,
                            float beta) {
  int64_t M = ta ? a.dim(1) : a.dim(0), K = ta ? a.dim(0) : a.dim(1), N = tb ? b.dim(0) : b.dim(1);
  const float *A = a.data<float>(), *B = b.data<float>();
  std::vector<float> y(static_cast<size_t>(M * N));
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = 0; j < N; ++j) {
      double s = 0;
      for (int64_t k = 0; k < K; ++k) s += double(ta ? A[k * M + i] : A[i * K + k]) * (tb ? B[j * K + k] : B[k * N + j]);
      double cv = 0;
      if (c) {
        Shape cs = c->shape();
        int64_t ci = cs.size() == 2 ? (cs[0] == 1 ? 0 : i) : 0, cj = cs.empty() ? 0 : (cs.back() == 1 ? 0 : j);
        cv = c->data<float>()[ci * (cs.empty() ? 1 : cs.back()) + cj];
      }
      y[static_cast<size_t>(i * N + j)] = static_cast<float>(alpha * s + beta * cv);
    }
  return y;
}

// Reference numpy.matmul for float tensors of rank >= 2 with broadcast batch dims.
std::vector<float> matmul_ref(const Tensor& a, const Tensor& b, Shape& out_shape) {
  Shape as = a.shape(), bs = b.shape();
  bool av = as.size() == 1, bv = bs.size() == 1;
  if (av) as.insert(as.begin(), 1);
  if (bv) bs.push_back(1);
  size_t r = std::max(as.size(), bs.size());
  while (as.size() < r) as.insert(as.begin(), 1);
  while (bs.size() < r) bs.insert(bs.begin(), 1);
  int64_t M = as[r - 2], K = as[r - 1], N = bs[r - 1];
  Shape batch(r - 2);
  for (size_t d = 0; d + 2 < r; ++d) batch[d] = std::max(as[d], bs[d]);
  int64_t nb = shape_numel(batch);
  std::vector<float> out(static_cast<size_t>(nb * M * N));
  for (int64_t p = 0; p < nb; ++p) {
    int64_t rem = p, oa = 0, ob = 0, sa = 1, sb = 1;
    for (size_t d = r - 2; d-- > 0;) {
      int64_t idx = rem % batch[d];
      rem /= batch[d];
      oa += (as[d] == 1 ? 0 : idx) * sa;
      ob += (bs[d] == 1 ? 0 : idx) * sb;
      sa *= as[d];
      sb *= bs[d];
    }
    const float* A = a.data<float>() + oa * M * K;
    const float* B = b.data<float>() + ob * K * N;
    for (int64_t i = 0; i < M; ++i)
      for (int64_t j = 0; j < N; ++j) {
        double s = 0;
        for (int64_t k = 0; k < K; ++k) s += double(A[i * K + k]) * B[k * N + j];
        out[static_cast<size_t>((p * M + i) * N + j)] = static_cast<float>(s);
      }
  }
  out_shape = batch;
  if (!av) out_shape.push_back(M);
  if (!bv) out_shape.push_back(N);
  return out;
}

}  // namespace

TEST_CASE("Gemm matches the reference for every transpose and C broadcast", "[gemm]") {
  const std::vector<std::pair<int64_t, int64_t>> mns = {{5, 7}, {1, 6}, {4, 1}, {1, 1}};
  for (auto [M, N] : mns) {
    const int64_t K = 9;
    std::vector<Shape> c_shapes = {Shape{}, Shape{1}, Shape{N}, Shape{1, N}, Shape{M, 1}, Shape{M, N}, Shape{1, 1}};
    for (int ta = 0; ta < 2; ++ta)
      for (int tb = 0; tb < 2; ++tb)
        for (int ci = -1; ci < static_cast<int>(c_shapes.size()); ++ci) {
          INFO("M=" << M << " N=" << N << " transA=" << ta << " transB=" << tb << " C#" << ci);
          Tensor a = random_tensor(ta ? Shape{K, M} : Shape{M, K}, 1);
          Tensor b = random_tensor(tb ? Shape{N, K} : Shape{K, N}, 2);
          Tensor c = ci >= 0 ? random_tensor(c_shapes[static_cast<size_t>(ci)], 3) : Tensor();
          std::vector<Attribute> attrs = {Attribute::make_int("transA", ta), Attribute::make_int("transB", tb),
                                          Attribute::make_float("alpha", 0.5f), Attribute::make_float("beta", 2.0f)};
          std::vector<Tensor> ins = {a, b};
          if (ci >= 0) ins.push_back(c);
          auto out = test::run_single_node("Gemm", ins, attrs, 13, 1, {1});
          REQUIRE(out[0].shape() == Shape{M, N});
          require_close(out[0], gemm_ref(a, b, ci >= 0 ? &c : nullptr, ta, tb, 0.5f, 2.0f), 1e-5f);
        }
  }
}

TEST_CASE("Gemm defaults and integer types", "[gemm]") {
  Tensor a = Tensor::from_vector<int64_t>({1, 2, 3, 4, 5, 6}, {2, 3});
  Tensor b = Tensor::from_vector<int64_t>({1, 0, 0, 1, 1, 1}, {3, 2});
  Tensor c = Tensor::from_vector<int64_t>({10, 20}, {2});
  auto out = test::run_single_node("Gemm", {a, b, c}, {}, 11);
  REQUIRE(out[0].to_int64_vector() == std::vector<int64_t>{14, 25, 20, 31});
}

TEST_CASE("MatMul broadcasts batch dimensions and handles 1-D operands", "[gemm]") {
  const std::vector<std::pair<Shape, Shape>> cases = {
      {{3, 4}, {4, 5}},       {{2, 3, 4}, {4, 5}},       {{3, 4}, {2, 4, 5}},       {{2, 1, 3, 4}, {5, 4, 6}},
      {{2, 3, 4}, {2, 4, 5}}, {{4}, {2, 4, 5}},          {{2, 3, 4}, {4}},          {{4}, {4}},
      {{1, 4}, {4, 300}},     {{2, 1, 64}, {2, 64, 1}},  {{1, 2, 3, 4}, {3, 1, 4, 2}}, {{6, 0, 4}, {4, 3}}};
  uint32_t seed = 10;
  for (const auto& [sa, sb] : cases) {
    INFO(shape_str(sa) << " x " << shape_str(sb));
    Tensor a = random_tensor(sa, seed++), b = random_tensor(sb, seed++);
    Shape want_shape;
    std::vector<float> want = matmul_ref(a, b, want_shape);
    auto out = test::run_single_node("MatMul", {a, b}, {}, 13);
    REQUIRE(out[0].shape() == want_shape);
    require_close(out[0], want, 1e-5f);
  }
}

TEST_CASE("MatMul on int32 and MatMulInteger with zero points", "[gemm]") {
  Tensor a = Tensor::from_vector<int32_t>({1, 2, 3, 4}, {2, 2});
  Tensor b = Tensor::from_vector<int32_t>({5, 6, 7, 8}, {2, 2});
  auto out = test::run_single_node("MatMul", {a, b}, {}, 13);
  REQUIRE(out[0].dtype() == DType::Int32);
  REQUIRE(out[0].to_int64_vector() == std::vector<int64_t>{19, 22, 43, 50});

  Tensor qa = Tensor::from_vector<uint8_t>({10, 20, 30, 40}, {2, 2});
  Tensor qb = Tensor::from_vector<int8_t>({1, -2, 3, 4}, {2, 2});
  Tensor za = Tensor::from_vector<uint8_t>({10, 20}, {2});  // per row
  Tensor zb = Tensor::from_vector<int8_t>({1, 0}, {2});     // per column
  out = test::run_single_node("MatMulInteger", {qa, qb, za, zb}, {}, 10);
  REQUIRE(out[0].dtype() == DType::Int32);
  // A - za = [[0, 10], [10, 20]], B - zb = [[0, -2], [2, 4]]
  REQUIRE(out[0].to_int64_vector() == std::vector<int64_t>{20, 40, 40, 60});
}

TEST_CASE("LayerNormalization matches the reference", "[gemm]") {
  const Shape xs{2, 3, 8};
  Tensor x = random_tensor(xs, 20, -3.0f, 5.0f);
  for (int64_t axis : {-1, 1, 0}) {
    INFO("axis " << axis);
    int64_t a = axis < 0 ? axis + 3 : axis;
    Shape ps(xs.begin() + a, xs.end());
    Tensor scale = random_tensor(ps, 21), bias = random_tensor(ps, 22);
    int64_t inner = shape_numel(ps), outer = x.numel() / inner;
    std::vector<float> want(x.numel()), want_mean(outer), want_inv(outer);
    const float* xd = x.data<float>();
    for (int64_t o = 0; o < outer; ++o) {
      double m = 0, v = 0;
      for (int64_t i = 0; i < inner; ++i) m += xd[o * inner + i];
      m /= inner;
      for (int64_t i = 0; i < inner; ++i) v += (xd[o * inner + i] - m) * (xd[o * inner + i] - m);
      v /= inner;
      double inv = 1.0 / std::sqrt(v + 1e-3);
      want_mean[o] = float(m);
      want_inv[o] = float(inv);
      for (int64_t i = 0; i < inner; ++i)
        want[o * inner + i] = float((xd[o * inner + i] - m) * inv * scale.data<float>()[i] + bias.data<float>()[i]);
    }
    auto out = test::run_single_node("LayerNormalization", {x, scale, bias},
                                     {Attribute::make_int("axis", axis), Attribute::make_float("epsilon", 1e-3f)}, 17, 3);
    require_close(out[0], want, 1e-5f);
    Shape stat_shape = xs;
    for (size_t d = a; d < 3; ++d) stat_shape[d] = 1;
    REQUIRE(out[1].shape() == stat_shape);
    require_close(out[1], want_mean, 1e-5f);
    require_close(out[2], want_inv, 1e-5f);
  }
  // No bias, scale broadcast from a lower-rank shape.
  Tensor scale = Tensor::from_vector<float>({2.0f}, {1});
  auto out = test::run_single_node("LayerNormalization", {x, scale}, {}, 17);
  auto full = test::run_single_node("LayerNormalization", {x, Tensor::from_vector<float>(std::vector<float>(8, 2.0f), {8})}, {}, 17);
  require_close(out[0], values(full[0]), 1e-6f);
}

TEST_CASE("BatchNormalization (inference) matches the reference", "[gemm]") {
  Tensor x = random_tensor({2, 3, 4, 5}, 30);
  Tensor s = random_tensor({3}, 31), b = random_tensor({3}, 32), m = random_tensor({3}, 33);
  Tensor v = random_tensor({3}, 34, 0.1f, 2.0f);
  std::vector<float> want(x.numel());
  for (int64_t i = 0; i < x.numel(); ++i) {
    int64_t c = (i / 20) % 3;
    want[i] = float((x.data<float>()[i] - m.data<float>()[c]) / std::sqrt(double(v.data<float>()[c]) + 1e-5) *
                        s.data<float>()[c] + b.data<float>()[c]);
  }
  for (int64_t opset : {7, 9, 15}) {
    INFO("opset " << opset);
    require_close(test::run_single_node("BatchNormalization", {x, s, b, m, v}, {}, opset)[0], want, 1e-5f);
    // Parameters as initializers take the precomputed path.
    require_close(test::run_single_node("BatchNormalization", {x, s, b, m, v}, {}, opset, 1, {1, 2, 3, 4})[0], want, 1e-5f);
  }
  // opset 7 spatial=0: parameters per (channel, position).
  Tensor x2 = random_tensor({2, 3, 4}, 35);
  Tensor s2 = random_tensor({3, 4}, 36), b2 = random_tensor({3, 4}, 37), m2 = random_tensor({3, 4}, 38);
  Tensor v2 = random_tensor({3, 4}, 39, 0.1f, 2.0f);
  std::vector<float> want2(x2.numel());
  for (int64_t i = 0; i < x2.numel(); ++i) {
    int64_t p = i % 12;
    want2[i] = float((x2.data<float>()[i] - m2.data<float>()[p]) / std::sqrt(double(v2.data<float>()[p]) + 1e-5) *
                         s2.data<float>()[p] + b2.data<float>()[p]);
  }
  require_close(test::run_single_node("BatchNormalization", {x2, s2, b2, m2, v2}, {Attribute::make_int("spatial", 0)}, 7)[0],
                want2, 1e-5f);
  // Training mode is refused.
  try {
    test::run_single_node("BatchNormalization", {x, s, b, m, v}, {Attribute::make_int("training_mode", 1)}, 15);
    FAIL("expected an error");
  } catch (const Error& e) {
    REQUIRE(e.kind() == ErrorKind::Unsupported);
  }
}

TEST_CASE("InstanceNormalization, GroupNormalization and LRN match the reference", "[gemm]") {
  Tensor x = random_tensor({2, 4, 3, 3}, 40, -2.0f, 3.0f);
  Tensor s = random_tensor({4}, 41), b = random_tensor({4}, 42);
  const float* xd = x.data<float>();
  auto group_ref = [&](int64_t G, const std::vector<float>& sc, const std::vector<float>& bi) {
    std::vector<float> y(x.numel());
    int64_t len = x.numel() / (2 * G);
    for (int64_t g = 0; g < 2 * G; ++g) {
      double m = 0, v = 0;
      for (int64_t i = 0; i < len; ++i) m += xd[g * len + i];
      m /= len;
      for (int64_t i = 0; i < len; ++i) v += (xd[g * len + i] - m) * (xd[g * len + i] - m);
      v /= len;
      for (int64_t i = 0; i < len; ++i) {
        int64_t c = (g * len + i) / 9 % 4;
        y[g * len + i] = float((xd[g * len + i] - m) / std::sqrt(v + 1e-5) * sc[c] + bi[c]);
      }
    }
    return y;
  };
  require_close(test::run_single_node("InstanceNormalization", {x, s, b}, {}, 6)[0], group_ref(4, values(s), values(b)), 1e-5f);
  require_close(test::run_single_node("GroupNormalization", {x, s, b}, {Attribute::make_int("num_groups", 2)}, 21)[0],
                group_ref(2, values(s), values(b)), 1e-5f);
  Tensor sg = Tensor::from_vector<float>({0.5f, 2.0f}, {2}), bg = Tensor::from_vector<float>({1.0f, -1.0f}, {2});
  require_close(test::run_single_node("GroupNormalization", {x, sg, bg}, {Attribute::make_int("num_groups", 2)}, 18)[0],
                group_ref(2, {0.5f, 0.5f, 2.0f, 2.0f}, {1.0f, 1.0f, -1.0f, -1.0f}), 1e-5f);

  // LRN, size 3: window c-1..c+1.
  std::vector<float> want(x.numel());
  for (int64_t i = 0; i < x.numel(); ++i) {
    int64_t n = i / 36, c = i / 9 % 4, sp = i % 9;
    double sum = 0;
    for (int64_t cc = std::max<int64_t>(0, c - 1); cc <= std::min<int64_t>(3, c + 1); ++cc) {
      double v = xd[n * 36 + cc * 9 + sp];
      sum += v * v;
    }
    want[i] = float(xd[i] / std::pow(2.0 + 0.3 / 3 * sum, 0.6));
  }
  require_close(test::run_single_node("LRN", {x},
                                      {Attribute::make_int("size", 3), Attribute::make_float("alpha", 0.3f),
                                       Attribute::make_float("beta", 0.6f), Attribute::make_float("bias", 2.0f)},
                                      13)[0],
                want, 1e-5f);
}

TEST_CASE("Einsum forms match the reference", "[gemm]") {
  Tensor a = random_tensor({3, 4}, 50), b = random_tensor({4, 5}, 51);
  Shape shp;
  // ij,jk->ik == MatMul
  auto mm = matmul_ref(a, b, shp);
  require_close(test::run_single_node("Einsum", {a, b}, {Attribute::make_string("equation", "ij,jk->ik")}, 12)[0], mm, 1e-5f);
  // Implicit output: "ij,jk" -> ik too.
  require_close(test::run_single_node("Einsum", {a, b}, {Attribute::make_string("equation", "ij,jk")}, 12)[0], mm, 1e-5f);
  // Operands used transposed as stored: ki,kj->ij == A^T * A.
  {
    Tensor at = Tensor::from_vector<float>(std::vector<float>(12), {4, 3});
    for (int64_t i = 0; i < 3; ++i)
      for (int64_t j = 0; j < 4; ++j) at.data<float>()[j * 3 + i] = a.data<float>()[i * 4 + j];
    Tensor bt = Tensor::from_vector<float>(std::vector<float>(20), {5, 4});
    for (int64_t i = 0; i < 4; ++i)
      for (int64_t j = 0; j < 5; ++j) bt.data<float>()[j * 4 + i] = b.data<float>()[i * 5 + j];
    require_close(test::run_single_node("Einsum", {at, bt}, {Attribute::make_string("equation", "ji,kj->ik")}, 12)[0], mm, 1e-5f);
  }
  // Transpose and row sums.
  auto tr = test::run_single_node("Einsum", {a}, {Attribute::make_string("equation", "ij->ji")}, 12)[0];
  REQUIRE(tr.shape() == Shape{4, 3});
  auto sum = test::run_single_node("Einsum", {a}, {Attribute::make_string("equation", "ij->i")}, 12)[0];
  for (int64_t i = 0; i < 3; ++i) {
    float s = 0;
    for (int64_t j = 0; j < 4; ++j) {
      REQUIRE(tr.data<float>()[j * 3 + i] == a.data<float>()[i * 4 + j]);
      s += a.data<float>()[i * 4 + j];
    }
    REQUIRE(std::fabs(sum.data<float>()[i] - s) < 1e-5f);
  }
  // Attention-style bhid,bhjd->bhij.
  Tensor q = random_tensor({2, 3, 4, 5}, 52), k = random_tensor({2, 3, 6, 5}, 53);
  auto att = test::run_single_node("Einsum", {q, k}, {Attribute::make_string("equation", "bhid,bhjd->bhij")}, 12)[0];
  REQUIRE(att.shape() == Shape{2, 3, 4, 6});
  std::vector<float> want(2 * 3 * 4 * 6);
  for (int64_t bh = 0; bh < 6; ++bh)
    for (int64_t i = 0; i < 4; ++i)
      for (int64_t j = 0; j < 6; ++j) {
        double s = 0;
        for (int64_t d = 0; d < 5; ++d) s += double(q.data<float>()[(bh * 4 + i) * 5 + d]) * k.data<float>()[(bh * 6 + j) * 5 + d];
        want[(bh * 4 + i) * 6 + j] = float(s);
      }
  require_close(att, want, 1e-5f);
  // Diagonal, trace, three operands, and ellipsis broadcasting.
  Tensor sq = random_tensor({2, 3, 3}, 54);
  auto diag = test::run_single_node("Einsum", {sq}, {Attribute::make_string("equation", "...ii->...i")}, 12)[0];
  REQUIRE(diag.shape() == Shape{2, 3});
  for (int64_t n = 0; n < 2; ++n)
    for (int64_t i = 0; i < 3; ++i) REQUIRE(diag.data<float>()[n * 3 + i] == sq.data<float>()[n * 9 + i * 4]);
  // A repeated label on dimensions of different sizes is an error.
  REQUIRE_THROWS_AS(test::run_single_node("Einsum", {a.reshaped({2, 6})}, {Attribute::make_string("equation", "ii")}, 12), Error);
  Tensor c = random_tensor({5, 2}, 55);
  auto three = test::run_single_node("Einsum", {a, b, c}, {Attribute::make_string("equation", "ij,jk,kl->il")}, 12)[0];
  Shape s1, s2;
  Tensor ab = Tensor::from_vector<float>(matmul_ref(a, b, s1), {3, 5});
  require_close(three, matmul_ref(ab, c, s2), 1e-5f);
  Tensor e1 = random_tensor({2, 1, 3, 4}, 56), e2 = random_tensor({5, 4, 2}, 57);
  auto ell = test::run_single_node("Einsum", {e1, e2}, {Attribute::make_string("equation", "...ij,...jk->...ik")}, 12)[0];
  Shape es;
  auto ew = matmul_ref(e1, e2, es);
  REQUIRE(ell.shape() == es);
  require_close(ell, ew, 1e-5f);
}

TEST_CASE("Einsum on double and int64", "[gemm]") {
  Tensor a = Tensor::from_vector<double>({1, 2, 3, 4, 5, 6}, {2, 3});
  auto out = test::run_single_node("Einsum", {a, a}, {Attribute::make_string("equation", "ij,ij->i")}, 12)[0];
  REQUIRE(out.dtype() == DType::Float64);
  REQUIRE(out.data<double>()[0] == 14.0);
  REQUIRE(out.data<double>()[1] == 77.0);
  Tensor i = Tensor::from_vector<int64_t>({1, 2, 3, 4}, {2, 2});
  auto tr = test::run_single_node("Einsum", {i}, {Attribute::make_string("equation", "ii->")}, 12)[0];
  REQUIRE(tr.shape().empty());
  REQUIRE(tr.to_int64_vector() == std::vector<int64_t>{5});
}

TEST_CASE("gemm-family results are identical with 1 and 2 threads", "[gemm]") {
  struct Case {
    std::string op;
    std::vector<Tensor> in;
    std::vector<Attribute> attrs;
    int64_t opset;
  };
  std::vector<Case> cases = {
      {"Gemm", {random_tensor({1, 2048}, 60), random_tensor({2048, 1000}, 61), random_tensor({1000}, 62)}, {}, 13},
      {"Gemm", {random_tensor({2048, 300}, 63), random_tensor({2048, 1}, 64)}, {Attribute::make_int("transA", 1)}, 13},
      {"Gemm", {random_tensor({64, 512}, 65), random_tensor({1000, 512}, 66)}, {Attribute::make_int("transB", 1)}, 13},
      {"MatMul", {random_tensor({4, 128, 256}, 67), random_tensor({256, 256}, 68)}, {}, 13},
      {"MatMul", {random_tensor({1, 60000}, 69), random_tensor({60000, 4}, 70)}, {}, 13},
      {"MatMul", {random_tensor({8, 64, 96}, 71), random_tensor({8, 96, 64}, 72)}, {}, 13},
      {"LayerNormalization", {random_tensor({64, 32, 768}, 73), random_tensor({768}, 74), random_tensor({768}, 75)}, {}, 17},
      {"BatchNormalization",
       {random_tensor({4, 32, 32, 32}, 76), random_tensor({32}, 77), random_tensor({32}, 78), random_tensor({32}, 79),
        random_tensor({32}, 80, 0.5f, 1.5f)},
       {},
       15},
      {"InstanceNormalization", {random_tensor({4, 32, 32, 32}, 81), random_tensor({32}, 82), random_tensor({32}, 83)}, {}, 6},
      {"LRN", {random_tensor({4, 32, 32, 32}, 84)}, {Attribute::make_int("size", 5)}, 13},
      {"Einsum", {random_tensor({4, 12, 64, 32}, 85), random_tensor({4, 12, 64, 32}, 86)}, {Attribute::make_string("equation", "bhid,bhjd->bhij")}, 12},
  };
  for (const auto& c : cases) {
    INFO(c.op << " " << shape_str(c.in[0].shape()));
    auto one = run_threads(c.op, c.in, c.attrs, c.opset, 1);
    auto two = run_threads(c.op, c.in, c.attrs, c.opset, 2);
    require_identical(one[0], two[0]);
  }
}
