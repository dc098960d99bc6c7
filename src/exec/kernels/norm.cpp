// Normalizations (float32): BatchNormalization (inference; opsets 1-8 with `spatial`, 9+),
// InstanceNormalization, LayerNormalization (17+), GroupNormalization (18-20 per-group scale,
// 21+ per-channel), LRN, MeanVarianceNormalization. Statistics are summed in double, serially per
// normalized group, so results do not depend on the thread count.
#include <algorithm>
#include <cmath>
#include <vector>

#include "exec/kernels/gemm.h"
#include "exec/kernels/kernel_util.h"

namespace ptq::kern {

namespace {

constexpr int64_t kParallelWork = 1 << 16;

struct Stats {
  double mean = 0, var = 0;
};

// Mean and (population) variance of n values, two-pass in double.
Stats stats_of(const float* x, int64_t n) {
  Stats s;
  if (n == 0) return s;
  double sum = 0;
  for (int64_t i = 0; i < n; ++i) sum += x[i];
  s.mean = sum / static_cast<double>(n);
  double sq = 0;
  for (int64_t i = 0; i < n; ++i) {
    double d = x[i] - s.mean;
    sq += d * d;
  }
  s.var = sq / static_cast<double>(n);
  return s;
}

// The product of dims [from, rank).
int64_t tail_numel(const Shape& s, size_t from) {
  int64_t n = 1;
  for (size_t i = from; i < s.size(); ++i) n *= s[i];
  return n;
}

std::vector<float> float_values(const Tensor& t) {
  Tensor f = t.to_float();
  const float* d = f.data<float>();
  return std::vector<float>(d, d + f.numel());
}

void require_rank2(const Tensor& x, const char* op) {
  if (x.rank() < 2) bad_input("{} needs an input of rank >= 2 (N, C, ...), got {}", op, shape_str(x.shape()));
}

// ---- BatchNormalization (inference) ----

class BatchNormKernel : public Kernel {
 public:
  explicit BatchNormKernel(const KernelInit& init)
      : eps_(init.node.attr_float("epsilon", 1e-5f)),
        spatial_(init.opset >= 9 || init.node.attr_int("spatial", 1) != 0) {  // spatial exists in opsets 1-8
    if (init.opset >= 14 && init.node.attr_int("training_mode", 0) != 0)
      unsupported("BatchNormalization with training_mode=1 is not supported (inference only)");
    if (init.opset < 7 && init.node.attr_int("is_test", 0) == 0)
      unsupported("BatchNormalization with is_test=0 (training) is not supported (inference only)");
    const Tensor *s = init.constant(1), *b = init.constant(2), *m = init.constant(3), *v = init.constant(4);
    if (s && b && m && v) fold(*s, *b, *m, *v, mul_, add_);
  }

  void run(KernelContext& ctx) override {
    require_float(ctx, 0);
    const Tensor& x = ctx.in(0);
    require_rank2(x, "BatchNormalization");
    std::vector<float> run_mul, run_add;  // parameters that are not constants: folded per run
    if (mul_.empty()) fold(ctx.in(1), ctx.in(2), ctx.in(3), ctx.in(4), run_mul, run_add);
    const std::vector<float>& mul = mul_.empty() ? run_mul : mul_;
    const std::vector<float>& add = mul_.empty() ? run_add : add_;
    const int64_t N = x.dim(0), C = x.dim(1), S = tail_numel(x.shape(), 2);
    // spatial=0 (opsets 7-8): one parameter per (channel, position) instead of per channel.
    const int64_t groups = spatial_ ? C : C * S, inner = spatial_ ? S : 1;
    if (static_cast<int64_t>(mul.size()) != groups)
      bad_input("BatchNormalization: parameters have {} elements, expected {}", mul.size(), groups);
    const float* xd = x.data<float>();
    Tensor y = Tensor::uninitialized(DType::Float32, x.shape()).with_layout(x.layout());
    float* yd = y.data<float>();
    if (x.layout() == Layout::ChannelsLast) {  // spatial (ConvLike: only then is it kept channels-last)
      const float *a = mul.data(), *b = add.data();
#pragma omp parallel for schedule(static) if (x.numel() > kParallelWork && N * S > 1)
      for (int64_t p = 0; p < N * S; ++p)
        for (int64_t c = 0; c < C; ++c) yd[p * C + c] = xd[p * C + c] * a[c] + b[c];
    } else {
      const int64_t planes = N * groups;
#pragma omp parallel for schedule(static) if (x.numel() > kParallelWork && planes > 1)
      for (int64_t p = 0; p < planes; ++p) {
        const float a = mul[static_cast<size_t>(p % groups)], b = add[static_cast<size_t>(p % groups)];
        const float* xp = xd + p * inner;
        float* yp = yd + p * inner;
        for (int64_t i = 0; i < inner; ++i) yp[i] = xp[i] * a + b;
      }
    }
    ctx.outputs[0] = y;
    // Inference mode: the running statistics pass through unchanged (opsets 7-13 may list them).
    if (ctx.outputs.size() > 1) ctx.outputs[1] = ctx.in(3);
    if (ctx.outputs.size() > 2) ctx.outputs[2] = ctx.in(4);
  }

 private:
  // y = x * mul + add with mul = scale / sqrt(var + eps), add = bias - mean * mul.
  void fold(const Tensor& s, const Tensor& b, const Tensor& m, const Tensor& v, std::vector<float>& mul,
            std::vector<float>& add) const {
    std::vector<float> sv = float_values(s), bv = float_values(b), mv = float_values(m), vv = float_values(v);
    if (bv.size() != sv.size() || mv.size() != sv.size() || vv.size() != sv.size())
      bad_input("BatchNormalization: scale, B, mean and var sizes differ ({}, {}, {}, {})", sv.size(), bv.size(),
                mv.size(), vv.size());
    mul.resize(sv.size());
    add.resize(sv.size());
    for (size_t c = 0; c < sv.size(); ++c) {
      double a = sv[c] / std::sqrt(static_cast<double>(vv[c]) + eps_);
      mul[c] = static_cast<float>(a);
      add[c] = static_cast<float>(bv[c] - mv[c] * a);
    }
  }

  // Channels-last input only for per-channel (spatial) parameters; others come plain.
  LayoutPolicy layout_policy() const override { return spatial_ ? LayoutPolicy::ConvLike : LayoutPolicy::Plain; }

  float eps_;
  bool spatial_;
  std::vector<float> mul_, add_;
};

// ---- InstanceNormalization / GroupNormalization ----

// Normalizes each of N*G groups of `group_len` contiguous values; channel c (of C, `per_group`
// channels per group, S positions each) then gets y = norm * scale[c] + bias[c].
void group_normalize(const float* x, float* y, int64_t N, int64_t G, int64_t C, int64_t S, const float* scale,
                     const float* bias, float eps) {
  const int64_t per_group = C / G, group_len = per_group * S, n_groups = N * G;
#pragma omp parallel for schedule(static) if (N * C * S > kParallelWork && n_groups > 1)
  for (int64_t ng = 0; ng < n_groups; ++ng) {
    const float* xg = x + ng * group_len;
    float* yg = y + ng * group_len;
    Stats st = stats_of(xg, group_len);
    const double inv = 1.0 / std::sqrt(st.var + eps);
    const int64_t c0 = (ng % G) * per_group;
    for (int64_t k = 0; k < per_group; ++k) {
      const float a = static_cast<float>(scale[c0 + k] * inv);
      const float b = static_cast<float>(bias[c0 + k] - st.mean * scale[c0 + k] * inv);
      const float* xc = xg + k * S;
      float* yc = yg + k * S;
      for (int64_t i = 0; i < S; ++i) yc[i] = xc[i] * a + b;
    }
  }
}

void instance_norm(KernelContext& ctx) {
  require_float(ctx, 0);
  const Tensor& x = ctx.in(0);
  require_rank2(x, "InstanceNormalization");
  const int64_t N = x.dim(0), C = x.dim(1), S = tail_numel(x.shape(), 2);
  std::vector<float> scale = float_values(ctx.in(1)), bias = float_values(ctx.in(2));
  if (static_cast<int64_t>(scale.size()) != C || static_cast<int64_t>(bias.size()) != C)
    bad_input("InstanceNormalization: scale/B must have {} elements, got {} and {}", C, scale.size(), bias.size());
  Tensor y(DType::Float32, x.shape());
  group_normalize(x.data<float>(), y.data<float>(), N, C, C, S, scale.data(), bias.data(),
                  ctx.node.attr_float("epsilon", 1e-5f));
  ctx.outputs[0] = y;
}

// GroupNormalization: opsets 18-20 take scale/bias per group, 21+ per channel.
class GroupNormKernel : public Kernel {
 public:
  explicit GroupNormKernel(const KernelInit& init) : per_channel_(init.opset >= 21) {}
  void run(KernelContext& ctx) override {
    require_float(ctx, 0);
    const Tensor& x = ctx.in(0);
    require_rank2(x, "GroupNormalization");
    const int64_t N = x.dim(0), C = x.dim(1), S = tail_numel(x.shape(), 2);
    const int64_t G = ctx.node.attr_int("num_groups", 0);
    if (G <= 0 || C % G != 0) bad_input("GroupNormalization: num_groups {} does not divide {} channels", G, C);
    std::vector<float> scale = float_values(ctx.in(1)), bias = float_values(ctx.in(2));
    const int64_t want = per_channel_ ? C : G;
    if (static_cast<int64_t>(scale.size()) != want || static_cast<int64_t>(bias.size()) != want)
      bad_input("GroupNormalization: scale/bias must have {} elements, got {} and {}", want, scale.size(), bias.size());
    if (!per_channel_) {  // expand per-group values to channels
      std::vector<float> s(C), b(C);
      for (int64_t c = 0; c < C; ++c) {
        s[c] = scale[c / (C / G)];
        b[c] = bias[c / (C / G)];
      }
      scale.swap(s);
      bias.swap(b);
    }
    Tensor y(DType::Float32, x.shape());
    group_normalize(x.data<float>(), y.data<float>(), N, G, C, S, scale.data(), bias.data(),
                    ctx.node.attr_float("epsilon", 1e-5f));
    ctx.outputs[0] = y;
  }

 private:
  bool per_channel_;
};

// ---- LayerNormalization ----

// A parameter broadcast against x (shape xs) and laid out for rows of `inner` values: returns the
// values and the stride between rows (0 when the parameter is the same for every row).
std::vector<float> expand_param(const Tensor& p, const Shape& xs, size_t axis, int64_t inner, int64_t& row_stride) {
  if (broadcast_shapes(p.shape(), xs) != xs)
    bad_input("LayerNormalization: parameter of shape {} does not broadcast to {}", shape_str(p.shape()), shape_str(xs));
  Tensor pf = p.to_float();
  const float* pd = pf.data<float>();
  auto strides = broadcast_strides(p.shape(), xs);
  bool per_row = false;
  for (size_t d = 0; d < axis; ++d) per_row |= strides[d] != 0;
  Shape inner_shape(xs.begin() + static_cast<std::ptrdiff_t>(axis), xs.end());
  const Shape& full = per_row ? xs : inner_shape;
  Shape ps = p.shape();
  if (!per_row && ps.size() > inner_shape.size())  // leading dims are all 1 here
    ps.erase(ps.begin(), ps.begin() + static_cast<std::ptrdiff_t>(ps.size() - inner_shape.size()));
  std::vector<float> out(static_cast<size_t>(shape_numel(full)));
  for_each_broadcast(full, ps, full, [&](int64_t i, int64_t, int64_t ip) { out[i] = pd[ip]; });
  row_stride = per_row ? inner : 0;
  return out;
}

class LayerNormKernel : public Kernel {
 public:
  explicit LayerNormKernel(const KernelInit& init)
      : axis_(init.node.attr_int("axis", -1)), eps_(init.node.attr_float("epsilon", 1e-5f)) {}

  void run(KernelContext& ctx) override {
    require_float(ctx, 0);
    const Tensor& x = ctx.in(0);
    const size_t axis = static_cast<size_t>(normalize_axis(axis_, x.rank(), ctx.node));
    const int64_t inner = tail_numel(x.shape(), axis), outer = inner ? x.numel() / inner : 0;
    int64_t s_stride = 0, b_stride = 0;
    std::vector<float> scale = expand_param(ctx.in(1), x.shape(), axis, inner, s_stride);
    std::vector<float> bias;
    if (ctx.has_input(2)) bias = expand_param(ctx.in(2), x.shape(), axis, inner, b_stride);
    Shape stat_shape = x.shape();
    for (size_t d = axis; d < stat_shape.size(); ++d) stat_shape[d] = 1;
    Tensor y(DType::Float32, x.shape()), mean(DType::Float32, stat_shape), inv_std(DType::Float32, stat_shape);
    const float* xd = x.data<float>();
    float *yd = y.data<float>(), *md = mean.data<float>(), *id = inv_std.data<float>();
    const float* bd = bias.empty() ? nullptr : bias.data();
#pragma omp parallel for schedule(static) if (x.numel() > kParallelWork && outer > 1)
    for (int64_t o = 0; o < outer; ++o) {
      const float* xr = xd + o * inner;
      float* yr = yd + o * inner;
      Stats st = stats_of(xr, inner);
      const float m = static_cast<float>(st.mean), inv = static_cast<float>(1.0 / std::sqrt(st.var + eps_));
      md[o] = m;
      id[o] = inv;
      const float* sr = scale.data() + o * s_stride;
      if (bd) {
        const float* br = bd + o * b_stride;
        for (int64_t i = 0; i < inner; ++i) yr[i] = (xr[i] - m) * inv * sr[i] + br[i];
      } else {
        for (int64_t i = 0; i < inner; ++i) yr[i] = (xr[i] - m) * inv * sr[i];
      }
    }
    ctx.outputs[0] = y;
    if (ctx.outputs.size() > 1) ctx.outputs[1] = mean;
    if (ctx.outputs.size() > 2) ctx.outputs[2] = inv_std;
  }

 private:
  int64_t axis_;
  float eps_;
};

// ---- LRN: y = x / (bias + alpha / size * sum of x^2 over a channel window)^beta ----

void lrn(KernelContext& ctx) {
  require_float(ctx, 0);
  const Tensor& x = ctx.in(0);
  require_rank2(x, "LRN");
  const Node& n = ctx.node;
  const float alpha = n.attr_float("alpha", 1e-4f), beta = n.attr_float("beta", 0.75f), bias = n.attr_float("bias", 1.0f);
  const int64_t size = n.attr_int("size", 0);
  if (size <= 0) bad_input("LRN: attribute 'size' must be positive");
  const int64_t N = x.dim(0), C = x.dim(1), S = tail_numel(x.shape(), 2);
  const int64_t lo = (size - 1) / 2, hi = size - 1 - lo;  // floor / ceil of (size-1)/2
  const float k = alpha / static_cast<float>(size);
  Tensor y(DType::Float32, x.shape());
  const float* xd = x.data<float>();
  float* yd = y.data<float>();
#pragma omp parallel if (x.numel() > kParallelWork && N * C > 1)
  {
    std::vector<float> acc(static_cast<size_t>(S));
#pragma omp for schedule(static)
    for (int64_t p = 0; p < N * C; ++p) {
      const int64_t b = p / C, c = p % C;
      std::fill(acc.begin(), acc.end(), 0.0f);
      for (int64_t cc = std::max<int64_t>(0, c - lo); cc <= std::min(C - 1, c + hi); ++cc) {
        const float* xc = xd + (b * C + cc) * S;
        for (int64_t i = 0; i < S; ++i) acc[i] += xc[i] * xc[i];
      }
      const float* xp = xd + p * S;
      float* yp = yd + p * S;
      for (int64_t i = 0; i < S; ++i) yp[i] = xp[i] / std::pow(bias + k * acc[i], beta);
    }
  }
  ctx.outputs[0] = y;
}

// ---- MeanVarianceNormalization: (x - E[x]) / (sqrt(E[x^2] - E[x]^2) + 1e-9) over `axes` ----

void mean_variance_norm(KernelContext& ctx) {
  require_float(ctx, 0);
  const Tensor& x = ctx.in(0);
  Shape stat_shape = x.shape();
  for (int64_t a : ctx.node.attr_ints("axes", {0, 2, 3})) stat_shape[static_cast<size_t>(normalize_axis(a, x.rank(), ctx.node))] = 1;
  const int64_t ns = shape_numel(stat_shape);
  const double count = ns ? static_cast<double>(x.numel()) / static_cast<double>(ns) : 1.0;
  std::vector<double> sum(static_cast<size_t>(ns)), sq(static_cast<size_t>(ns));
  const float* xd = x.data<float>();
  for_each_broadcast(x.shape(), stat_shape, x.shape(), [&](int64_t i, int64_t, int64_t s) {
    sum[s] += xd[i];
    sq[s] += static_cast<double>(xd[i]) * xd[i];
  });
  std::vector<float> mean(sum.size()), denom(sum.size());
  for (size_t s = 0; s < sum.size(); ++s) {
    double m = sum[s] / count;
    mean[s] = static_cast<float>(m);
    denom[s] = static_cast<float>(std::sqrt(std::max(0.0, sq[s] / count - m * m)) + 1e-9);
  }
  Tensor y(DType::Float32, x.shape());
  float* yd = y.data<float>();
  for_each_broadcast(x.shape(), stat_shape, x.shape(),
                     [&](int64_t i, int64_t, int64_t s) { yd[i] = (xd[i] - mean[s]) / denom[s]; });
  ctx.outputs[0] = y;
}

}  // namespace

void register_norm(KernelRegistry& r) {
  r.add("", "BatchNormalization", 1, kMaxOpset, [](const KernelInit& init) { return std::make_unique<BatchNormKernel>(init); });
  r.add_fn("", "InstanceNormalization", 1, kMaxOpset, instance_norm);
  r.add("", "LayerNormalization", 17, kMaxOpset, [](const KernelInit& init) { return std::make_unique<LayerNormKernel>(init); });
  r.add("", "GroupNormalization", 18, kMaxOpset, [](const KernelInit& init) { return std::make_unique<GroupNormKernel>(init); });
  r.add_fn("", "LRN", 1, kMaxOpset, lrn);
  r.add_fn("", "MeanVarianceNormalization", 9, kMaxOpset, mean_variance_norm);
}

}  // namespace ptq::kern
