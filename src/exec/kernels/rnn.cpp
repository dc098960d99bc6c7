// Recurrent ops RNN, GRU (gates z,r,h) and LSTM (gates i,o,f,c), float32. Per direction, the input
// projection X*W^T of all time steps is one sgemm; each step adds H*R^T with another sgemm and then
// applies the gate math row by row. Internally everything uses layout 0 ([seq, batch, ...]);
// layout=1 (opset 14+) is converted at the edges.
#include <oneapi/dnnl/dnnl.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstring>

#include "exec/kernels/families.h"
#include "exec/kernels/fast_math.h"
#include "exec/kernels/kernel_util.h"

namespace ptq::kern {

void register_rnn(KernelRegistry& r);

namespace {

enum class Act { Relu, Tanh, Sigmoid, Affine, LeakyRelu, ThresholdedRelu, ScaledTanh, HardSigmoid, Elu, Softsign, Softplus };

struct ActInfo {
  const char* name;  // lowercase
  Act kind;
  bool uses_alpha, uses_beta;
  float alpha, beta;  // defaults when activation_alpha/beta run out
};

constexpr ActInfo kActs[] = {
    {"relu", Act::Relu, false, false, 0.f, 0.f},
    {"tanh", Act::Tanh, false, false, 0.f, 0.f},
    {"sigmoid", Act::Sigmoid, false, false, 0.f, 0.f},
    {"affine", Act::Affine, true, true, 1.f, 0.f},
    {"leakyrelu", Act::LeakyRelu, true, false, 0.01f, 0.f},
    {"thresholdedrelu", Act::ThresholdedRelu, true, false, 1.f, 0.f},
    {"scaledtanh", Act::ScaledTanh, true, true, 1.f, 1.f},
    {"hardsigmoid", Act::HardSigmoid, true, true, 0.2f, 0.5f},
    {"elu", Act::Elu, true, false, 1.f, 0.f},
    {"softsign", Act::Softsign, false, false, 0.f, 0.f},
    {"softplus", Act::Softplus, false, false, 0.f, 0.f},
};

struct Activation {
  Act kind = Act::Tanh;
  float alpha = 0, beta = 0;

  void apply(float* x, int64_t n) const {
    const float a = alpha, b = beta;
    switch (kind) {
      case Act::Relu: for (int64_t i = 0; i < n; ++i) x[i] = x[i] > 0 ? x[i] : 0.f; break;
      case Act::Tanh: for (int64_t i = 0; i < n; ++i) x[i] = tanh_fast(x[i]); break;
      case Act::Sigmoid: for (int64_t i = 0; i < n; ++i) x[i] = sigmoid_fast(x[i]); break;
      case Act::Affine: for (int64_t i = 0; i < n; ++i) x[i] = a * x[i] + b; break;
      case Act::LeakyRelu: for (int64_t i = 0; i < n; ++i) x[i] = x[i] >= 0 ? x[i] : a * x[i]; break;
      case Act::ThresholdedRelu: for (int64_t i = 0; i < n; ++i) x[i] = x[i] > a ? x[i] : 0.f; break;
      case Act::ScaledTanh: for (int64_t i = 0; i < n; ++i) x[i] = a * tanh_fast(b * x[i]); break;
      case Act::HardSigmoid: for (int64_t i = 0; i < n; ++i) x[i] = std::min(1.f, std::max(0.f, a * x[i] + b)); break;
      case Act::Elu: for (int64_t i = 0; i < n; ++i) x[i] = x[i] >= 0 ? x[i] : a * (std::exp(x[i]) - 1.f); break;
      case Act::Softsign: for (int64_t i = 0; i < n; ++i) x[i] = x[i] / (1.f + std::fabs(x[i])); break;
      case Act::Softplus: for (int64_t i = 0; i < n; ++i) x[i] = std::log1p(std::exp(x[i])); break;
    }
  }
};

// `per_dir` functions per direction; alphas/betas are consumed in order by the functions using them.
std::vector<Activation> parse_activations(const Node& node, const std::vector<std::string>& defaults, int64_t dirs) {
  std::vector<std::string> names;
  if (const Attribute* a = node.find_attr("activations")) names = a->strings;
  size_t per = defaults.size(), want = per * static_cast<size_t>(dirs);
  if (names.empty())
    for (int64_t d = 0; d < dirs; ++d) names.insert(names.end(), defaults.begin(), defaults.end());
  else if (names.size() == per && want == 2 * per)
    names.insert(names.end(), names.begin(), names.begin() + static_cast<std::ptrdiff_t>(per));
  if (names.size() != want) bad_input("node {}: expected {} activations, got {}", node.label(), want, names.size());
  auto alphas = node.attr_floats("activation_alpha"), betas = node.attr_floats("activation_beta");
  size_t ia = 0, ib = 0;
  std::vector<Activation> r;
  for (const auto& name : names) {
    std::string lower = name;
    for (auto& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    const ActInfo* info = nullptr;
    for (const auto& e : kActs)
      if (lower == e.name) info = &e;
    if (!info) unsupported("node {}: activation '{}' is not supported", node.label(), name);
    Activation act{info->kind, info->alpha, info->beta};
    if (info->uses_alpha && ia < alphas.size()) act.alpha = alphas[ia++];
    if (info->uses_beta && ib < betas.size()) act.beta = betas[ib++];
    r.push_back(act);
  }
  return r;
}

enum class Cell { Rnn, Gru, Lstm };

void sgemm(char tb, int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, const float* b, int64_t ldb, float beta,
           float* c, int64_t ldc) {
  if (m == 0 || n == 0) return;
  SerialIfSmall serial(m * n * k, m * n);
  if (dnnl_sgemm('N', tb, m, n, k, 1.f, a, lda, b, ldb, beta, c, ldc) != dnnl_success)
    internal_error("dnnl_sgemm failed (M={}, N={}, K={})", m, n, k);
}

void clip_to(float* x, int64_t n, float c) {
  for (int64_t i = 0; i < n; ++i) x[i] = std::min(c, std::max(-c, x[i]));
}

// Runs f(b) for every batch row; rows are independent, so the result does not depend on threads.
template <typename F>
void for_rows(int64_t rows, int64_t work, F f) {
#pragma omp parallel for schedule(static) if (work >= 65536)
  for (int64_t b = 0; b < rows; ++b) f(b);
}

class RecurrentKernel : public Kernel {
 public:
  RecurrentKernel(const KernelInit& init, Cell cell) : cell_(cell) {
    const Node& n = init.node;
    std::string dir = n.attr_string("direction", "forward");
    if (dir == "forward") dirs_ = 1;
    else if (dir == "reverse") dirs_ = 1, reverse_ = true;
    else if (dir == "bidirectional") dirs_ = 2;
    else bad_input("node {}: unknown direction '{}'", n.label(), dir);
    hidden_ = n.attr_int("hidden_size", -1);
    layout_ = init.opset >= 14 ? n.attr_int("layout", 0) : 0;
    if (layout_ != 0 && layout_ != 1) bad_input("node {}: layout must be 0 or 1, got {}", n.label(), layout_);
    if (n.find_attr("clip")) {
      clip_ = n.attr_float("clip", 0.f);
      if (!(clip_ > 0)) bad_input("node {}: clip must be positive, got {}", n.label(), clip_);
    }
    lbr_ = cell == Cell::Gru && n.attr_int("linear_before_reset", 0) != 0;
    input_forget_ = cell == Cell::Lstm && n.attr_int("input_forget", 0) != 0;
    std::vector<std::string> defaults = cell == Cell::Rnn   ? std::vector<std::string>{"Tanh"}
                                        : cell == Cell::Gru ? std::vector<std::string>{"Sigmoid", "Tanh"}
                                                            : std::vector<std::string>{"Sigmoid", "Tanh", "Tanh"};
    acts_ = parse_activations(n, defaults, dirs_);
    per_dir_ = defaults.size();
    gates_ = cell == Cell::Rnn ? 1 : cell == Cell::Gru ? 3 : 4;
  }

  void run(KernelContext& ctx) override;

 private:
  struct Dims {
    int64_t T, B, I, H, D;
  };
  void direction(const KernelContext& ctx, const Dims& dm, int64_t d, bool rev, const float* xs, const std::vector<int64_t>& lens,
                 float* y, float* yh, float* yc) const;

  Cell cell_;
  int64_t dirs_ = 1, hidden_ = -1, layout_ = 0, gates_ = 1;
  bool reverse_ = false, lbr_ = false, input_forget_ = false;
  float clip_ = 0.f;  // 0: no clipping
  std::vector<Activation> acts_;
  size_t per_dir_ = 1;
};

void RecurrentKernel::run(KernelContext& ctx) {
  const Node& node = ctx.node;
  for (size_t i : {size_t(0), size_t(1), size_t(2)}) require_float(ctx, i);
  const Tensor &X = ctx.in(0), &W = ctx.in(1), &R = ctx.in(2);
  if (X.rank() != 3 || W.rank() != 3 || R.rank() != 3)
    bad_input("node {}: X, W and R must be 3-D, got {}, {}, {}", node.label(), shape_str(X.shape()), shape_str(W.shape()), shape_str(R.shape()));
  Dims dm{};
  dm.T = X.dim(layout_ ? 1 : 0);
  dm.B = X.dim(layout_ ? 0 : 1);
  dm.I = X.dim(2);
  dm.H = hidden_ > 0 ? hidden_ : R.dim(2);
  dm.D = dirs_;
  const int64_t GH = gates_ * dm.H;
  if (W.shape() != Shape{dm.D, GH, dm.I} || R.shape() != Shape{dm.D, GH, dm.H})
    bad_input("node {}: W {} / R {} do not match directions {}, hidden_size {}, input size {}", node.label(),
              shape_str(W.shape()), shape_str(R.shape()), dm.D, dm.H, dm.I);
  for (size_t i = 3; i < ctx.inputs.size(); ++i)
    if (i != 4 && ctx.has_input(i)) require_float(ctx, i);
  if (ctx.has_input(3) && ctx.in(3).shape() != Shape{dm.D, 2 * GH})
    bad_input("node {}: B must have shape [{},{}], got {}", node.label(), dm.D, 2 * GH, shape_str(ctx.in(3).shape()));
  Shape state_shape = layout_ ? Shape{dm.B, dm.D, dm.H} : Shape{dm.D, dm.B, dm.H};
  for (size_t i : {size_t(5), size_t(6)})
    if (ctx.has_input(i) && (i == 5 || cell_ == Cell::Lstm) && ctx.in(i).shape() != state_shape)
      bad_input("node {}: initial state input {} must have shape {}, got {}", node.label(), i, shape_str(state_shape), shape_str(ctx.in(i).shape()));
  if (cell_ == Cell::Lstm && ctx.has_input(7) && ctx.in(7).shape() != Shape{dm.D, 3 * dm.H})
    bad_input("node {}: P must have shape [{},{}], got {}", node.label(), dm.D, 3 * dm.H, shape_str(ctx.in(7).shape()));

  std::vector<int64_t> lens(static_cast<size_t>(dm.B), dm.T);
  if (ctx.has_input(4)) {
    lens = int_values(ctx.in(4));
    if (static_cast<int64_t>(lens.size()) != dm.B) bad_input("node {}: sequence_lens needs {} values, got {}", node.label(), dm.B, lens.size());
    for (int64_t l : lens)
      if (l < 0 || l > dm.T) bad_input("node {}: sequence length {} outside [0, {}]", node.label(), l, dm.T);
  }

  // X as [T, B, I].
  const float* xs = X.data<float>();
  std::vector<float> xt;
  if (layout_) {
    xt.resize(static_cast<size_t>(X.numel()));
    for (int64_t t = 0; t < dm.T; ++t)
      for (int64_t b = 0; b < dm.B; ++b)
        std::memcpy(&xt[static_cast<size_t>((t * dm.B + b) * dm.I)], xs + (b * dm.T + t) * dm.I, static_cast<size_t>(dm.I) * sizeof(float));
    xs = xt.data();
  }
  Tensor y(DType::Float32, {dm.T, dm.D, dm.B, dm.H});
  Tensor yh(DType::Float32, {dm.D, dm.B, dm.H}), yc(DType::Float32, {dm.D, dm.B, dm.H});
  for (int64_t d = 0; d < dm.D; ++d)
    direction(ctx, dm, d, dm.D == 2 ? d == 1 : reverse_, xs, lens, y.data<float>(), yh.data<float>(), yc.data<float>());

  auto wanted = [&](size_t k) { return k < ctx.outputs.size() && k < node.outputs.size() && !node.outputs[k].empty(); };
  // [A, B, H] -> [B, A, H]
  auto swap01 = [](const Tensor& t) {
    int64_t a = t.dim(0), b = t.dim(1), h = t.dim(2);
    Tensor r(DType::Float32, {b, a, h});
    for (int64_t i = 0; i < a; ++i)
      for (int64_t j = 0; j < b; ++j)
        std::memcpy(r.data<float>() + (j * a + i) * h, t.data<float>() + (i * b + j) * h, static_cast<size_t>(h) * sizeof(float));
    return r;
  };
  if (wanted(0)) {
    // layout 1: [T, D, B, H] -> [B, T, D, H] is a swap of T with the merged (D, B) axes per batch row.
    ctx.outputs[0] = layout_ ? swap01(y.reshaped({dm.T * dm.D, dm.B, dm.H})).reshaped({dm.B, dm.T, dm.D, dm.H}) : y;
  }
  if (wanted(1)) ctx.outputs[1] = layout_ ? swap01(yh) : yh;
  if (cell_ == Cell::Lstm && wanted(2)) ctx.outputs[2] = layout_ ? swap01(yc) : yc;
}

void RecurrentKernel::direction(const KernelContext& ctx, const Dims& dm, int64_t d, bool rev, const float* xs,
                                const std::vector<int64_t>& lens, float* y, float* yh, float* yc) const {
  const int64_t T = dm.T, B = dm.B, H = dm.H, GH = gates_ * H;
  const float* W = ctx.in(1).data<float>() + d * GH * dm.I;
  const float* R = ctx.in(2).data<float>() + d * GH * H;
  const Activation* act = &acts_[static_cast<size_t>(d) * per_dir_];
  const bool lstm = cell_ == Cell::Lstm, gru = cell_ == Cell::Gru;

  // Biases folded into the input projection; GRU with linear_before_reset keeps Rbh apart.
  std::vector<float> xbias(static_cast<size_t>(GH), 0.f), rbh(static_cast<size_t>(H), 0.f);
  if (ctx.has_input(3)) {
    const float* wb = ctx.in(3).data<float>() + d * 2 * GH;
    const float* rb = wb + GH;
    for (int64_t j = 0; j < GH; ++j) xbias[static_cast<size_t>(j)] = wb[j] + rb[j];
    if (lbr_)
      for (int64_t j = 0; j < H; ++j) {
        xbias[static_cast<size_t>(2 * H + j)] = wb[2 * H + j];
        rbh[static_cast<size_t>(j)] = rb[2 * H + j];
      }
  }
  std::vector<float> xw(static_cast<size_t>(T * B * GH));
  sgemm('T', T * B, GH, dm.I, xs, dm.I, W, dm.I, 0.f, xw.data(), GH);
  for (int64_t row = 0; row < T * B; ++row) {
    float* p = &xw[static_cast<size_t>(row * GH)];
    for (int64_t j = 0; j < GH; ++j) p[j] += xbias[static_cast<size_t>(j)];
  }

  // State in layout-0 order; initial values from inputs 5 (h) and 6 (c, LSTM).
  std::vector<float> h(static_cast<size_t>(B * H), 0.f), c(lstm ? static_cast<size_t>(B * H) : 0, 0.f);
  auto load = [&](size_t input, std::vector<float>& dst) {
    if (!ctx.has_input(input)) return;
    const float* src = ctx.in(input).data<float>();
    for (int64_t b = 0; b < B; ++b)
      std::memcpy(&dst[static_cast<size_t>(b * H)], src + (layout_ ? b * dm.D + d : d * B + b) * H, static_cast<size_t>(H) * sizeof(float));
  };
  load(5, h);
  if (lstm) load(6, c);
  const float* P = lstm && ctx.has_input(7) ? ctx.in(7).data<float>() + d * 3 * H : nullptr;

  std::vector<float> g(static_cast<size_t>(B * GH)), aux(gru ? static_cast<size_t>(B * (lbr_ ? GH : H)) : 0);
  const int64_t max_len = lens.empty() ? 0 : *std::max_element(lens.begin(), lens.end());
  auto time_of = [&](int64_t b, int64_t s) { return rev ? lens[static_cast<size_t>(b)] - 1 - s : s; };
  auto active = [&](int64_t b, int64_t s) { return s < lens[static_cast<size_t>(b)]; };
  auto emit = [&](int64_t b, int64_t s, const float* hb) {
    std::memcpy(&h[static_cast<size_t>(b * H)], hb, static_cast<size_t>(H) * sizeof(float));
    float* dst = y + ((time_of(b, s) * dm.D + d) * B + b) * H;
    std::memcpy(dst, hb, static_cast<size_t>(H) * sizeof(float));
  };
  const float cl = clip_;
  auto pre = [cl](float* x, int64_t n, const Activation& a) {
    if (cl > 0) clip_to(x, n, cl);
    a.apply(x, n);
  };

  for (int64_t s = 0; s < max_len; ++s) {
    for (int64_t b = 0; b < B; ++b)
      if (active(b, s))
        std::memcpy(&g[static_cast<size_t>(b * GH)], &xw[static_cast<size_t>((time_of(b, s) * B + b) * GH)], static_cast<size_t>(GH) * sizeof(float));
    const int64_t work = B * GH;
    if (cell_ == Cell::Rnn) {
      sgemm('T', B, H, H, h.data(), H, R, H, 1.f, g.data(), H);
      for_rows(B, work, [&](int64_t b) {
        if (!active(b, s)) return;
        float* gb = &g[static_cast<size_t>(b * H)];
        pre(gb, H, act[0]);
        emit(b, s, gb);
      });
    } else if (lstm) {
      sgemm('T', B, GH, H, h.data(), H, R, H, 1.f, g.data(), GH);
      for_rows(B, work, [&](int64_t b) {
        if (!active(b, s)) return;
        float* gi = &g[static_cast<size_t>(b * GH)];
        float *go = gi + H, *gf = gi + 2 * H, *gc = gi + 3 * H;
        float* cb = &c[static_cast<size_t>(b * H)];
        if (P)
          for (int64_t j = 0; j < H; ++j) {
            gi[j] += P[j] * cb[j];
            gf[j] += P[2 * H + j] * cb[j];
          }
        pre(gi, H, act[0]);
        if (input_forget_) {
          for (int64_t j = 0; j < H; ++j) gf[j] = 1.f - gi[j];
        } else {
          pre(gf, H, act[0]);
        }
        pre(gc, H, act[1]);
        for (int64_t j = 0; j < H; ++j) cb[j] = gf[j] * cb[j] + gi[j] * gc[j];
        if (P)
          for (int64_t j = 0; j < H; ++j) go[j] += P[H + j] * cb[j];
        pre(go, H, act[0]);
        // gc is free now: h = o * h_act(C).
        std::memcpy(gc, cb, static_cast<size_t>(H) * sizeof(float));
        act[2].apply(gc, H);
        for (int64_t j = 0; j < H; ++j) gc[j] *= go[j];
        emit(b, s, gc);
      });
    } else if (lbr_) {
      sgemm('T', B, GH, H, h.data(), H, R, H, 0.f, aux.data(), GH);
      for_rows(B, work, [&](int64_t b) {
        if (!active(b, s)) return;
        float *gz = &g[static_cast<size_t>(b * GH)], *gr = gz + H, *gh = gz + 2 * H;
        const float* a = &aux[static_cast<size_t>(b * GH)];
        const float* hb = &h[static_cast<size_t>(b * H)];
        for (int64_t j = 0; j < H; ++j) {
          gz[j] += a[j];
          gr[j] += a[H + j];
        }
        pre(gz, H, act[0]);
        pre(gr, H, act[0]);
        for (int64_t j = 0; j < H; ++j) gh[j] += gr[j] * (a[2 * H + j] + rbh[static_cast<size_t>(j)]);
        pre(gh, H, act[1]);
        for (int64_t j = 0; j < H; ++j) gh[j] = (1.f - gz[j]) * gh[j] + gz[j] * hb[j];
        emit(b, s, gh);
      });
    } else {
      // z and r first, then (r . H) * Rh^T.
      sgemm('T', B, 2 * H, H, h.data(), H, R, H, 1.f, g.data(), GH);
      for_rows(B, work, [&](int64_t b) {
        float *gz = &g[static_cast<size_t>(b * GH)], *gr = gz + H;
        const float* hb = &h[static_cast<size_t>(b * H)];
        float* rh = &aux[static_cast<size_t>(b * H)];
        if (!active(b, s)) {
          std::fill(rh, rh + H, 0.f);
          return;
        }
        pre(gz, H, act[0]);
        pre(gr, H, act[0]);
        for (int64_t j = 0; j < H; ++j) rh[j] = gr[j] * hb[j];
      });
      sgemm('T', B, H, H, aux.data(), H, R + 2 * H * H, H, 1.f, g.data() + 2 * H, GH);
      for_rows(B, work, [&](int64_t b) {
        if (!active(b, s)) return;
        float *gz = &g[static_cast<size_t>(b * GH)], *gh = gz + 2 * H;
        const float* hb = &h[static_cast<size_t>(b * H)];
        pre(gh, H, act[1]);
        for (int64_t j = 0; j < H; ++j) gh[j] = (1.f - gz[j]) * gh[j] + gz[j] * hb[j];
        emit(b, s, gh);
      });
    }
  }
  // Final states; a zero-length sequence yields zeros.
  for (int64_t b = 0; b < B; ++b) {
    bool any = lens[static_cast<size_t>(b)] > 0;
    float* dh = yh + (d * B + b) * H;
    const float* sh = &h[static_cast<size_t>(b * H)];
    for (int64_t j = 0; j < H; ++j) dh[j] = any ? sh[j] : 0.f;
    if (lstm) {
      float* dc = yc + (d * B + b) * H;
      const float* sc = &c[static_cast<size_t>(b * H)];
      for (int64_t j = 0; j < H; ++j) dc[j] = any ? sc[j] : 0.f;
    }
  }
}

KernelFactory recurrent(Cell cell) {
  return [cell](const KernelInit& init) -> std::unique_ptr<Kernel> { return std::make_unique<RecurrentKernel>(init, cell); };
}

}  // namespace

void register_rnn(KernelRegistry& r) {
  r.add("", "RNN", 1, kMaxOpset, recurrent(Cell::Rnn));
  r.add("", "GRU", 1, kMaxOpset, recurrent(Cell::Gru));
  r.add("", "LSTM", 1, kMaxOpset, recurrent(Cell::Lstm));
}

}  // namespace ptq::kern
