// Conv / ConvTranspose / pooling kernels (src/exec/kernels/conv*.cpp, pool.cpp), checked against
// naive direct-loop references written here.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <random>

#include "exec/executor.h"
#include "test_util.h"

using namespace ptq;
using ptq::test::run_single_node;

namespace {

Tensor random_tensor(Shape shape, uint32_t seed) {
  Tensor t(DType::Float32, std::move(shape));
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  float* d = t.data<float>();
  for (int64_t i = 0; i < t.numel(); ++i) d[i] = dist(gen);
  return t;
}

// Explicit conv parameters per spatial axis (pads: begin..., end...).
struct ConvParams {
  int64_t group = 1;
  std::vector<int64_t> strides, dilations, pads;
};

// Shape padded to 3 spatial axes (leading size-1 axes) so one loop nest covers 1-D..3-D.
std::vector<int64_t> spatial3(const Shape& s) {
  std::vector<int64_t> r(s.begin() + 2, s.end());
  while (r.size() < 3) r.insert(r.begin(), 1);
  return r;
}
std::vector<int64_t> pad3(std::vector<int64_t> v, int64_t fill) {
  while (v.size() < 3) v.insert(v.begin(), fill);
  return v;
}

// Naive reference conv: out[n][m][o] = b[m] + sum_{c in group, k} x[n][c][o*s - pb + k*d] * w[m][c][k].
Tensor ref_conv(const Tensor& x, const Tensor& w, const Tensor* b, const ConvParams& p) {
  const size_t nsp = static_cast<size_t>(x.rank() - 2);
  std::vector<int64_t> pb(p.pads.begin(), p.pads.begin() + static_cast<std::ptrdiff_t>(nsp));
  std::vector<int64_t> pe(p.pads.begin() + static_cast<std::ptrdiff_t>(nsp), p.pads.end());
  auto in = spatial3(x.shape()), k = spatial3(w.shape());
  auto s = pad3(p.strides, 1), d = pad3(p.dilations, 1), b3 = pad3(pb, 0), e3 = pad3(pe, 0);
  const int64_t n_batch = x.dim(0), c = x.dim(1), m = w.dim(0), cg = c / p.group, mg = m / p.group;
  std::vector<int64_t> out(3);
  Shape ys{n_batch, m};
  for (size_t i = 0; i < 3; ++i) out[i] = (in[i] + b3[i] + e3[i] - ((k[i] - 1) * d[i] + 1)) / s[i] + 1;
  for (size_t i = 3 - nsp; i < 3; ++i) ys.push_back(out[i]);
  Tensor y(DType::Float32, ys);
  const float *xp = x.data<float>(), *wp = w.data<float>();
  float* yp = y.data<float>();
  for (int64_t n = 0; n < n_batch; ++n)
    for (int64_t oc = 0; oc < m; ++oc)
      for (int64_t o0 = 0; o0 < out[0]; ++o0)
        for (int64_t o1 = 0; o1 < out[1]; ++o1)
          for (int64_t o2 = 0; o2 < out[2]; ++o2) {
            double acc = b ? b->data<float>()[oc] : 0.0;
            for (int64_t ci = 0; ci < cg; ++ci) {
              const int64_t ic = (oc / mg) * cg + ci;
              for (int64_t k0 = 0; k0 < k[0]; ++k0)
                for (int64_t k1 = 0; k1 < k[1]; ++k1)
                  for (int64_t k2 = 0; k2 < k[2]; ++k2) {
                    int64_t i0 = o0 * s[0] - b3[0] + k0 * d[0], i1 = o1 * s[1] - b3[1] + k1 * d[1],
                            i2 = o2 * s[2] - b3[2] + k2 * d[2];
                    if (i0 < 0 || i0 >= in[0] || i1 < 0 || i1 >= in[1] || i2 < 0 || i2 >= in[2]) continue;
                    acc += static_cast<double>(xp[(((n * c + ic) * in[0] + i0) * in[1] + i1) * in[2] + i2]) *
                           wp[(((oc * cg + ci) * k[0] + k0) * k[1] + k1) * k[2] + k2];
                  }
            }
            yp[(((n * m + oc) * out[0] + o0) * out[1] + o1) * out[2] + o2] = static_cast<float>(acc);
          }
  return y;
}

// Naive reference ConvTranspose (scatter): y[n][g*mg+oc][i*s - pb + k*d] += x[n][ic][i] * w[ic][oc][k].
Tensor ref_conv_transpose(const Tensor& x, const Tensor& w, const Tensor* b, const ConvParams& p, const Shape& ys) {
  const size_t nsp = static_cast<size_t>(x.rank() - 2);
  std::vector<int64_t> pb(p.pads.begin(), p.pads.begin() + static_cast<std::ptrdiff_t>(nsp));
  auto in = spatial3(x.shape()), k = spatial3(w.shape()), out = spatial3(ys);
  auto s = pad3(p.strides, 1), d = pad3(p.dilations, 1), b3 = pad3(pb, 0);
  const int64_t n_batch = x.dim(0), c = x.dim(1), mg = w.dim(1), m = ys[1], cg = c / p.group;
  std::vector<double> acc(static_cast<size_t>(shape_numel(ys)), 0.0);
  const float *xp = x.data<float>(), *wp = w.data<float>();
  for (int64_t n = 0; n < n_batch; ++n)
    for (int64_t ic = 0; ic < c; ++ic)
      for (int64_t oc = 0; oc < mg; ++oc) {
        const int64_t om = (ic / cg) * mg + oc;
        for (int64_t i0 = 0; i0 < in[0]; ++i0)
          for (int64_t i1 = 0; i1 < in[1]; ++i1)
            for (int64_t i2 = 0; i2 < in[2]; ++i2)
              for (int64_t k0 = 0; k0 < k[0]; ++k0)
                for (int64_t k1 = 0; k1 < k[1]; ++k1)
                  for (int64_t k2 = 0; k2 < k[2]; ++k2) {
                    int64_t o0 = i0 * s[0] - b3[0] + k0 * d[0], o1 = i1 * s[1] - b3[1] + k1 * d[1],
                            o2 = i2 * s[2] - b3[2] + k2 * d[2];
                    if (o0 < 0 || o0 >= out[0] || o1 < 0 || o1 >= out[1] || o2 < 0 || o2 >= out[2]) continue;
                    acc[static_cast<size_t>((((n * m + om) * out[0] + o0) * out[1] + o1) * out[2] + o2)] +=
                        static_cast<double>(xp[(((n * c + ic) * in[0] + i0) * in[1] + i1) * in[2] + i2]) *
                        wp[(((ic * mg + oc) * k[0] + k0) * k[1] + k1) * k[2] + k2];
                  }
      }
  Tensor y(DType::Float32, ys);
  const int64_t plane = out[0] * out[1] * out[2];
  for (int64_t i = 0; i < y.numel(); ++i)
    y.data<float>()[i] = static_cast<float>(acc[static_cast<size_t>(i)] + (b ? b->data<float>()[(i / plane) % m] : 0.0));
  return y;
}

void require_near(const Tensor& got, const Tensor& want, double tol = 1e-4) {
  REQUIRE(got.shape() == want.shape());
  for (int64_t i = 0; i < want.numel(); ++i) {
    double g = got.data<float>()[i], w = want.data<float>()[i];
    INFO("element " << i << ": got " << g << ", want " << w);
    REQUIRE(std::fabs(g - w) <= tol + tol * std::fabs(w));
  }
}

std::vector<Attribute> conv_attrs(const ConvParams& p) {
  std::vector<Attribute> a{Attribute::make_int("group", p.group)};
  if (!p.strides.empty()) a.push_back(Attribute::make_ints("strides", p.strides));
  if (!p.dilations.empty()) a.push_back(Attribute::make_ints("dilations", p.dilations));
  if (!p.pads.empty()) a.push_back(Attribute::make_ints("pads", p.pads));
  return a;
}

std::vector<Tensor> run_threads(const std::string& op, const std::vector<Tensor>& in, std::vector<Attribute> attrs,
                                int threads, const std::vector<size_t>& init) {
  Model m = test::single_node_model(op, in, std::move(attrs), 13, 1, init);
  KernelRegistry reg = make_default_registry();
  Executor ex(m, reg, {threads});
  std::map<std::string, Tensor> feeds;
  for (size_t i = 0; i < in.size(); ++i)
    if (std::find(init.begin(), init.end(), i) == init.end()) feeds["in" + std::to_string(i)] = in[i];
  return ex.run(feeds);
}

}  // namespace

TEST_CASE("Conv matches a naive reference", "[conv]") {
  struct Case {
    const char* name;
    Shape x, w;
    ConvParams p;
    bool bias;
  };
  std::vector<Case> cases = {
      {"2d 3x3 pad1", {1, 8, 10, 9}, {16, 8, 3, 3}, {1, {}, {}, {1, 1, 1, 1}}, true},
      {"2d groups=2", {2, 6, 7, 7}, {4, 3, 3, 3}, {2, {}, {}, {1, 1, 1, 1}}, true},
      {"2d depthwise", {1, 32, 12, 12}, {32, 1, 3, 3}, {32, {}, {}, {1, 1, 1, 1}}, true},
      {"2d depthwise x2 multiplier stride2", {1, 16, 11, 11}, {32, 1, 3, 3}, {16, {2, 2}, {}, {1, 1, 1, 1}}, false},
      {"2d dilation 2", {1, 4, 13, 11}, {5, 4, 3, 3}, {1, {}, {2, 2}, {2, 2, 2, 2}}, true},
      {"2d stride 2 asymmetric pads", {1, 3, 15, 14}, {8, 3, 3, 5}, {1, {2, 2}, {}, {0, 1, 2, 0}}, true},
      {"2d stride (2,3) dilation (1,2)", {1, 5, 17, 19}, {6, 5, 2, 3}, {1, {2, 3}, {1, 2}, {1, 0, 0, 1}}, false},
      {"1d", {2, 4, 20}, {6, 4, 5}, {1, {1}, {}, {2, 2}}, true},
      {"1d groups stride dilation", {1, 6, 31}, {9, 2, 3}, {3, {2}, {3}, {1, 4}}, true},
      {"3d", {1, 3, 6, 7, 5}, {4, 3, 3, 2, 3}, {1, {1, 2, 1}, {}, {1, 0, 1, 1, 1, 0}}, true},
      {"1x1 many channels", {1, 64, 9, 9}, {48, 64, 1, 1}, {1, {}, {}, {0, 0, 0, 0}}, true},
  };
  uint32_t seed = 1;
  for (const auto& c : cases) {
    SECTION(c.name) {
      Tensor x = random_tensor(c.x, seed++), w = random_tensor(c.w, seed++);
      Tensor b = c.bias ? random_tensor({c.w[0]}, seed++) : Tensor();
      Tensor want = ref_conv(x, w, c.bias ? &b : nullptr, c.p);
      std::vector<Tensor> in{x, w};
      if (c.bias) in.push_back(b);
      // Constant weights (reordered once) and runtime weights (reordered per run).
      require_near(run_single_node("Conv", in, conv_attrs(c.p), 13, 1, {1, 2}).at(0), want);
      require_near(run_single_node("Conv", in, conv_attrs(c.p), 11, 1, {}).at(0), want);
    }
  }
}

TEST_CASE("Conv auto_pad SAME_UPPER / SAME_LOWER / VALID", "[conv]") {
  Tensor x = random_tensor({1, 2, 7, 8}, 11), w = random_tensor({3, 2, 4, 3}, 12);
  auto attrs = [](const char* mode) {
    return std::vector<Attribute>{Attribute::make_string("auto_pad", mode), Attribute::make_ints("strides", {2, 2})};
  };
  // H: out 4, total pad (4-1)*2+4-7 = 3; W: out 4, total (4-1)*2+3-8 = 1.
  require_near(run_single_node("Conv", {x, w}, attrs("SAME_UPPER"), 13).at(0), ref_conv(x, w, nullptr, {1, {2, 2}, {}, {1, 0, 2, 1}}));
  require_near(run_single_node("Conv", {x, w}, attrs("SAME_LOWER"), 13).at(0), ref_conv(x, w, nullptr, {1, {2, 2}, {}, {2, 1, 1, 0}}));
  require_near(run_single_node("Conv", {x, w}, attrs("VALID"), 13).at(0), ref_conv(x, w, nullptr, {1, {2, 2}, {}, {0, 0, 0, 0}}));
}

TEST_CASE("Conv handles changing input shapes", "[conv]") {
  Tensor w = random_tensor({4, 3, 3, 3}, 21), b = random_tensor({4}, 22);
  ConvParams p{1, {}, {}, {1, 1, 1, 1}};
  Model m = test::single_node_model("Conv", {random_tensor({1, 3, 5, 5}, 1), w, b}, conv_attrs(p), 13, 1, {1, 2});
  KernelRegistry reg = make_default_registry();
  Executor ex(m, reg);
  for (Shape s : {Shape{1, 3, 5, 5}, Shape{2, 3, 9, 6}, Shape{1, 3, 5, 5}, Shape{1, 3, 4, 11}}) {
    Tensor x = random_tensor(s, static_cast<uint32_t>(s[2] * 100 + s[3]));
    require_near(ex.run({{"in0", x}}).at(0), ref_conv(x, w, &b, p));
  }
}

TEST_CASE("Conv rejects bad shapes and types", "[conv]") {
  Tensor x = random_tensor({1, 4, 5, 5}, 1), w = random_tensor({2, 3, 3, 3}, 2);
  try {
    run_single_node("Conv", {x, w}, {}, 13);
    FAIL("expected an error");
  } catch (const Error& e) {
    CHECK(e.kind() == ErrorKind::BadInput);
    CHECK(std::string(e.what()).find("node") != std::string::npos);
  }
  Tensor xd(DType::Float64, {1, 3, 5, 5});
  try {
    run_single_node("Conv", {xd, w}, {}, 13);
    FAIL("expected an error");
  } catch (const Error& e) {
    CHECK(e.kind() == ErrorKind::Unsupported);
  }
}

TEST_CASE("Conv results do not depend on the thread count", "[conv]") {
  struct Case {
    Shape x, w;
    int64_t group;
  };
  for (const Case& c : {Case{{1, 64, 56, 56}, {64, 64, 3, 3}, 1}, Case{{1, 96, 28, 28}, {96, 1, 3, 3}, 96},
                        Case{{2, 256, 14, 14}, {512, 256, 1, 1}, 1}}) {
    Tensor x = random_tensor(c.x, 31), w = random_tensor(c.w, 32), b = random_tensor({c.w[0]}, 33);
    std::vector<Attribute> attrs{Attribute::make_ints("pads", c.w[2] == 3 ? std::vector<int64_t>{1, 1, 1, 1}
                                                                          : std::vector<int64_t>{0, 0, 0, 0}),
                                 Attribute::make_int("group", c.group)};
    Tensor y1 = run_threads("Conv", {x, w, b}, attrs, 1, {1, 2}).at(0);
    Tensor y2 = run_threads("Conv", {x, w, b}, attrs, 2, {1, 2}).at(0);
    REQUIRE(y1.shape() == y2.shape());
    CHECK(std::memcmp(y1.raw(), y2.raw(), y1.nbytes()) == 0);
  }
}

TEST_CASE("ConvTranspose matches a naive reference", "[conv]") {
  struct Case {
    const char* name;
    Shape x, w;
    ConvParams p;
    std::vector<int64_t> output_padding;
    bool bias;
  };
  std::vector<Case> cases = {
      {"2d stride 2 pad 1", {1, 8, 7, 6}, {8, 4, 4, 4}, {1, {2, 2}, {}, {1, 1, 1, 1}}, {}, true},
      {"2d groups output_padding", {2, 6, 5, 5}, {6, 2, 3, 3}, {3, {2, 2}, {}, {1, 0, 1, 1}}, {1, 1}, true},
      {"2d dilation", {1, 3, 4, 5}, {3, 2, 3, 2}, {1, {1, 2}, {2, 3}, {0, 1, 2, 0}}, {}, false},
      {"1d", {1, 4, 9}, {4, 3, 5}, {1, {3}, {}, {2, 1}}, {2}, true},
      {"3d", {1, 2, 3, 4, 3}, {2, 3, 2, 3, 2}, {1, {2, 1, 2}, {}, {0, 1, 0, 1, 0, 1}}, {}, true},
  };
  uint32_t seed = 100;
  for (const auto& c : cases) {
    SECTION(c.name) {
      Tensor x = random_tensor(c.x, seed++), w = random_tensor(c.w, seed++);
      Tensor b = c.bias ? random_tensor({c.w[1] * c.p.group}, seed++) : Tensor();
      size_t n = c.x.size() - 2;
      Shape ys{c.x[0], c.w[1] * c.p.group};
      for (size_t i = 0; i < n; ++i) {
        int64_t s = c.p.strides.empty() ? 1 : c.p.strides[i], d = c.p.dilations.empty() ? 1 : c.p.dilations[i];
        int64_t op = c.output_padding.empty() ? 0 : c.output_padding[i];
        ys.push_back(s * (c.x[i + 2] - 1) + op + (c.w[i + 2] - 1) * d + 1 - c.p.pads[i] - c.p.pads[i + n]);
      }
      Tensor want = ref_conv_transpose(x, w, c.bias ? &b : nullptr, c.p, ys);
      auto attrs = conv_attrs(c.p);
      if (!c.output_padding.empty()) attrs.push_back(Attribute::make_ints("output_padding", c.output_padding));
      std::vector<Tensor> in{x, w};
      if (c.bias) in.push_back(b);
      require_near(run_single_node("ConvTranspose", in, attrs, 13, 1, {1, 2}).at(0), want);
      require_near(run_single_node("ConvTranspose", in, attrs, 10, 1, {}).at(0), want);
    }
  }
}

TEST_CASE("ConvTranspose output_shape and auto_pad", "[conv]") {
  Tensor x = random_tensor({1, 3, 4, 5}, 201), w = random_tensor({3, 2, 3, 3}, 202), b = random_tensor({2}, 203);
  // Natural size (2*(4-1)+3, 2*(5-1)+3) = (9, 11).
  SECTION("output_shape smaller: pads split with the extra at the beginning") {
    Attribute os = Attribute::make_ints("output_shape", {8, 8});  // totals 1 and 3
    auto y = run_single_node("ConvTranspose", {x, w, b}, {Attribute::make_ints("strides", {2, 2}), os}, 13).at(0);
    require_near(y, ref_conv_transpose(x, w, &b, {1, {2, 2}, {}, {1, 2, 0, 1}}, {1, 2, 8, 8}));
  }
  SECTION("output_shape larger than natural: zero-extended at the end (direct path)") {
    Attribute os = Attribute::make_ints("output_shape", {1, 2, 10, 13});
    auto y = run_single_node("ConvTranspose", {x, w, b}, {Attribute::make_ints("strides", {2, 2}), os}, 13).at(0);
    require_near(y, ref_conv_transpose(x, w, &b, {1, {2, 2}, {}, {0, 0, -1, -2}}, {1, 2, 10, 13}));
  }
  SECTION("SAME_UPPER: output = input * stride") {
    auto y = run_single_node("ConvTranspose", {x, w, b},
                             {Attribute::make_ints("strides", {2, 2}), Attribute::make_string("auto_pad", "SAME_UPPER")},
                             13)
                 .at(0);
    require_near(y, ref_conv_transpose(x, w, &b, {1, {2, 2}, {}, {0, 0, 1, 1}}, {1, 2, 8, 10}));
  }
  SECTION("SAME_LOWER") {
    auto y = run_single_node("ConvTranspose", {x, w, b},
                             {Attribute::make_ints("strides", {2, 2}), Attribute::make_string("auto_pad", "SAME_LOWER")},
                             13)
                 .at(0);
    require_near(y, ref_conv_transpose(x, w, &b, {1, {2, 2}, {}, {1, 1, 0, 0}}, {1, 2, 8, 10}));
  }
}

TEST_CASE("ConvTranspose results do not depend on the thread count", "[conv]") {
  Tensor x = random_tensor({1, 64, 28, 28}, 301), w = random_tensor({64, 32, 4, 4}, 302), b = random_tensor({32}, 303);
  std::vector<Attribute> attrs{Attribute::make_ints("strides", {2, 2}), Attribute::make_ints("pads", {1, 1, 1, 1})};
  Tensor y1 = run_threads("ConvTranspose", {x, w, b}, attrs, 1, {1, 2}).at(0);
  Tensor y2 = run_threads("ConvTranspose", {x, w, b}, attrs, 2, {1, 2}).at(0);
  CHECK(std::memcmp(y1.raw(), y2.raw(), y1.nbytes()) == 0);
}

namespace {

struct PoolParams {
  std::vector<int64_t> kernel, strides, dilations, pads;
  bool ceil = false, include_pad = false;
};

// Naive reference pooling (kind "max", "avg", "lp2") with the ONNX rules: ceil-mode windows that
// start in the end padding are dropped; count_include_pad counts taps inside input + pads.
// Also returns row-major argmax indices for "max".
Tensor ref_pool(const Tensor& x, PoolParams p, const std::string& kind, Tensor* indices = nullptr) {
  const size_t nsp = static_cast<size_t>(x.rank() - 2);
  if (p.pads.empty()) p.pads.assign(2 * nsp, 0);
  auto in = spatial3(x.shape()), k = pad3(p.kernel, 1), s = pad3(p.strides, 1), d = pad3(p.dilations, 1);
  auto pb = pad3(std::vector<int64_t>(p.pads.begin(), p.pads.begin() + static_cast<std::ptrdiff_t>(nsp)), 0);
  auto pe = pad3(std::vector<int64_t>(p.pads.begin() + static_cast<std::ptrdiff_t>(nsp), p.pads.end()), 0);
  std::vector<int64_t> out(3);
  Shape ys{x.dim(0), x.dim(1)};
  for (size_t i = 0; i < 3; ++i) {
    int64_t span = in[i] + pb[i] + pe[i] - ((k[i] - 1) * d[i] + 1);
    out[i] = (p.ceil ? (span + s[i] - 1) / s[i] : span / s[i]) + 1;
    if (p.ceil && (out[i] - 1) * s[i] >= in[i] + pb[i]) --out[i];
    if (i >= 3 - nsp) ys.push_back(out[i]);
  }
  Tensor y(DType::Float32, ys);
  if (indices) *indices = Tensor(DType::Int64, ys);
  const int64_t planes = x.dim(0) * x.dim(1), in_sp = in[0] * in[1] * in[2];
  int64_t yi = 0;
  for (int64_t pl = 0; pl < planes; ++pl)
    for (int64_t o0 = 0; o0 < out[0]; ++o0)
      for (int64_t o1 = 0; o1 < out[1]; ++o1)
        for (int64_t o2 = 0; o2 < out[2]; ++o2, ++yi) {
          double sum = 0, best = -INFINITY;
          int64_t valid = 0, counted = 0, best_at = 0;
          for (int64_t k0 = 0; k0 < k[0]; ++k0)
            for (int64_t k1 = 0; k1 < k[1]; ++k1)
              for (int64_t k2 = 0; k2 < k[2]; ++k2) {
                int64_t i[3] = {o0 * s[0] - pb[0] + k0 * d[0], o1 * s[1] - pb[1] + k1 * d[1], o2 * s[2] - pb[2] + k2 * d[2]};
                bool inside = true, in_padded = true;
                for (int a = 0; a < 3; ++a) {
                  inside &= i[a] >= 0 && i[a] < in[a];
                  in_padded &= i[a] < in[a] + pe[a];
                }
                counted += in_padded;
                if (!inside) continue;
                ++valid;
                int64_t at = (i[0] * in[1] + i[1]) * in[2] + i[2];
                double v = x.data<float>()[pl * in_sp + at];
                sum += kind == "lp2" ? v * v : v;
                if (v > best) best = v, best_at = pl * in_sp + at;
              }
          float r = kind == "max" ? static_cast<float>(best)
                    : kind == "avg" ? static_cast<float>(sum / static_cast<double>(p.include_pad ? counted : valid))
                                    : static_cast<float>(std::sqrt(sum));
          y.data<float>()[yi] = r;
          if (indices) indices->data<int64_t>()[yi] = best_at;
        }
  return y;
}

std::vector<Attribute> pool_attrs(const PoolParams& p) {
  std::vector<Attribute> a{Attribute::make_ints("kernel_shape", p.kernel)};
  if (!p.strides.empty()) a.push_back(Attribute::make_ints("strides", p.strides));
  if (!p.dilations.empty()) a.push_back(Attribute::make_ints("dilations", p.dilations));
  if (!p.pads.empty()) a.push_back(Attribute::make_ints("pads", p.pads));
  if (p.ceil) a.push_back(Attribute::make_int("ceil_mode", 1));
  if (p.include_pad) a.push_back(Attribute::make_int("count_include_pad", 1));
  return a;
}

}  // namespace

TEST_CASE("MaxPool / AveragePool / LpPool match a naive reference", "[conv]") {
  struct Case {
    const char* name;
    Shape x;
    PoolParams p;
  };
  std::vector<Case> cases = {
      {"2d k3 s2 p1", {1, 16, 14, 13}, {{3, 3}, {2, 2}, {}, {1, 1, 1, 1}}},
      {"2d ceil", {2, 3, 9, 10}, {{3, 2}, {2, 3}, {}, {0, 1, 1, 0}, true}},
      {"2d ceil include_pad", {1, 4, 9, 10}, {{3, 3}, {2, 2}, {}, {1, 1, 1, 1}, true, true}},
      {"2d include_pad", {1, 4, 8, 7}, {{3, 3}, {1, 2}, {}, {1, 2, 2, 1}, false, true}},
      {"2d dilation", {1, 5, 12, 11}, {{2, 3}, {1, 2}, {2, 2}, {1, 1, 0, 2}}},
      {"1d ceil", {1, 3, 17}, {{4}, {3}, {}, {1, 2}, true}},
      {"3d", {1, 2, 6, 7, 8}, {{2, 3, 2}, {2, 1, 2}, {}, {0, 1, 1, 1, 0, 1}}},
  };
  uint32_t seed = 400;
  for (const auto& c : cases) {
    SECTION(c.name) {
      Tensor x = random_tensor(c.x, seed++);
      require_near(run_single_node("MaxPool", {x}, pool_attrs(c.p), 12).at(0), ref_pool(x, c.p, "max"), 1e-6);
      if (c.p.dilations.empty()) {
        require_near(run_single_node("AveragePool", {x}, pool_attrs(c.p), 11).at(0), ref_pool(x, c.p, "avg"), 1e-5);
        require_near(run_single_node("LpPool", {x}, pool_attrs(c.p), 18).at(0), ref_pool(x, c.p, "lp2"), 1e-5);
      }
      // AveragePool-19 has dilations.
      require_near(run_single_node("AveragePool", {x}, pool_attrs(c.p), 19).at(0), ref_pool(x, c.p, "avg"), 1e-5);
      // With the Indices output the direct loop runs: same values plus row-major argmax.
      Tensor want_idx;
      Tensor want = ref_pool(x, c.p, "max", &want_idx);
      auto outs = run_single_node("MaxPool", {x}, pool_attrs(c.p), 12, 2);
      require_near(outs.at(0), want, 1e-6);
      REQUIRE(outs.at(1).shape() == want_idx.shape());
      for (int64_t i = 0; i < want_idx.numel(); ++i) CHECK(outs[1].data<int64_t>()[i] == want_idx.data<int64_t>()[i]);
    }
  }
}

TEST_CASE("AveragePool ceil_mode with count_include_pad divides by the clipped window", "[conv]") {
  std::vector<float> v(25);
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<float>(i + 1);
  Tensor x = Tensor::from_vector<float>(v, {1, 1, 5, 5});
  PoolParams p{{2, 2}, {2, 2}, {}, {}, true, true};
  Tensor y = run_single_node("AveragePool", {x}, pool_attrs(p), 11).at(0);
  REQUIRE(y.shape() == Shape{1, 1, 3, 3});
  test::require_close(y, {4, 6, 7.5f, 14, 16, 17.5f, 21.5f, 23.5f, 25});
}

TEST_CASE("MaxPool Indices with storage_order=1, uint8 MaxPool, global pools", "[conv]") {
  Tensor x = Tensor::from_vector<float>({1, 9, 3, 4, 2, 8, 7, 5, 6}, {1, 1, 3, 3});
  auto outs = run_single_node("MaxPool", {x}, {Attribute::make_ints("kernel_shape", {2, 2}),
                                               Attribute::make_int("storage_order", 1)}, 12, 2);
  test::require_close(outs.at(0), {9, 9, 7, 8});
  // Maxima at (0,1), (0,1), (2,0), (1,2): column-major index w*H + h.
  std::vector<int64_t> want{3, 3, 2, 7};
  for (size_t i = 0; i < want.size(); ++i) CHECK(outs[1].data<int64_t>()[i] == want[i]);

  Tensor xu = Tensor::from_vector<uint8_t>({1, 200, 3, 4, 255, 8, 7, 5, 6}, {1, 1, 3, 3});
  Tensor yu = run_single_node("MaxPool", {xu}, {Attribute::make_ints("kernel_shape", {2, 2})}, 12).at(0);
  REQUIRE(yu.dtype() == DType::UInt8);
  CHECK(std::vector<uint8_t>(yu.data<uint8_t>(), yu.data<uint8_t>() + 4) == std::vector<uint8_t>{255, 255, 255, 255});

  Tensor g = random_tensor({2, 3, 4, 5}, 500);
  Tensor ga = run_single_node("GlobalAveragePool", {g}, {}, 13).at(0);
  Tensor gm = run_single_node("GlobalMaxPool", {g}, {}, 13).at(0);
  REQUIRE(ga.shape() == Shape{2, 3, 1, 1});
  PoolParams whole;
  whole.kernel = {4, 5};
  require_near(ga, ref_pool(g, whole, "avg"), 1e-5);
  require_near(gm, ref_pool(g, whole, "max"), 1e-6);
  require_near(run_single_node("GlobalLpPool", {g}, {}, 13).at(0), ref_pool(g, whole, "lp2"), 1e-5);
}

TEST_CASE("Pools do not depend on the thread count", "[conv]") {
  Tensor x = random_tensor({1, 64, 112, 112}, 600);
  PoolParams p{{3, 3}, {2, 2}, {}, {1, 1, 1, 1}, true, true};
  for (const char* op : {"MaxPool", "AveragePool", "GlobalAveragePool"}) {
    auto attrs = std::string(op) == "GlobalAveragePool" ? std::vector<Attribute>{} : pool_attrs(p);
    Tensor y1 = run_threads(op, {x}, attrs, 1, {}).at(0);
    Tensor y2 = run_threads(op, {x}, attrs, 2, {}).at(0);
    CHECK(std::memcmp(y1.raw(), y2.raw(), y1.nbytes()) == 0);
  }
}
