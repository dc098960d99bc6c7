// Unary elementwise ops: one driver (UnaryKernel) and a table of functors, plus Clip whose bounds
// come from attributes (opset < 11) or optional inputs (opset >= 11).
#include <cmath>
#include <limits>
#include <string>

#include "exec/kernels/elementwise_impl.h"
#include "exec/kernels/families.h"
#include "exec/kernels/fast_math.h"

namespace ptq::kern::ew {
namespace {

template <class List, bool kBoolOut, class Op>
class UnaryKernel : public Kernel {
 public:
  explicit UnaryKernel(Op op) : op_(std::move(op)) {}
  LayoutPolicy layout_policy() const override { return LayoutPolicy::Elementwise; }
  void run(KernelContext& ctx) override {
    const Tensor& x = ctx.in(0);
    bool ok = dispatch(List{}, x.dtype(), [&](auto tag) {
      using T = typename decltype(tag)::type;
      using R = std::conditional_t<kBoolOut, bool, T>;
      ctx.outputs[0] = unary_apply<T, R>(x, op_, ctx.threads);
    });
    if (!ok) unsupported_type(ctx, x.dtype());
  }

 private:
  Op op_;
};

// Registers `op` for opsets [since, max]; make(node) builds the functor (reading attributes).
template <class List, bool kBoolOut = false, class Make>
void add_unary(KernelRegistry& r, const char* op, int64_t since, Make make) {
  r.add("", op, since, kMaxOpset, [make](const KernelInit& init) -> std::unique_ptr<Kernel> {
    auto f = make(init.node);
    return std::make_unique<UnaryKernel<List, kBoolOut, decltype(f)>>(std::move(f));
  });
}

// An op without attributes.
template <class List, bool kBoolOut = false, class F>
void add_simple(KernelRegistry& r, const char* op, int64_t since, F f) {
  add_unary<List, kBoolOut>(r, op, since, [f](const Node&) { return f; });
}

// -x without signed-overflow UB for integers (wraps like the hardware).
template <class T>
T negate(T x) {
  if constexpr (std::is_integral_v<T>) {
    using U = std::make_unsigned_t<std::common_type_t<T, int>>;
    return static_cast<T>(U(0) - static_cast<U>(x));
  } else {
    return -x;
  }
}

template <class T>
T softplus(T x) {
  return x > 0 ? x + std::log1p(std::exp(-x)) : std::log1p(std::exp(x));
}

// Clip: y = min(max(x, lo), hi); with lo > hi every element becomes hi (as the spec says).
class ClipKernel : public Kernel {
 public:
  explicit ClipKernel(const KernelInit& init)
      : attrs_(init.opset < 11), has_lo_(init.node.find_attr("min")), has_hi_(init.node.find_attr("max")) {
    lo_ = init.node.attr_float("min", 0.0f);
    hi_ = init.node.attr_float("max", 0.0f);
  }
  LayoutPolicy layout_policy() const override { return LayoutPolicy::Elementwise; }
  void run(KernelContext& ctx) override {
    const Tensor& x = ctx.in(0);
    bool ok = dispatch(NumericTypes{}, x.dtype(), [&](auto tag) {
      using T = typename decltype(tag)::type;
      T lo = std::numeric_limits<T>::lowest(), hi = std::numeric_limits<T>::max();
      if (attrs_) {
        if (has_lo_) lo = static_cast<T>(lo_);
        if (has_hi_) hi = static_cast<T>(hi_);
      } else {
        lo = bound<T>(ctx, 1, lo);
        hi = bound<T>(ctx, 2, hi);
      }
      ctx.outputs[0] = unary_apply<T, T>(x, [lo, hi](T v) { return std::min(std::max(v, lo), hi); }, ctx.threads);
    });
    if (!ok) unsupported_type(ctx, x.dtype());
  }

 private:
  template <class T>
  static T bound(const KernelContext& ctx, size_t i, T dflt) {
    if (!ctx.has_input(i)) return dflt;
    const Tensor& b = ctx.in(i);
    require_same_type(ctx, ctx.in(0), b);
    if (b.numel() == 0) return dflt;
    if (b.numel() != 1) bad_input("Clip bound (input {}) must be a scalar, got shape {}", i, shape_str(b.shape()));
    return b.data<T>()[0];
  }
  bool attrs_, has_lo_, has_hi_;
  float lo_, hi_;
};

}  // namespace

void register_unary(KernelRegistry& r) {
  using F = FloatTypes;
  // Math.
  add_simple<NumericTypes>(r, "Abs", 1, [](auto x) {
    using T = decltype(x);
    if constexpr (std::is_floating_point_v<T>) return std::fabs(x);
    else if constexpr (std::is_unsigned_v<T>) return x;
    else return x < 0 ? negate(x) : x;
  });
  add_simple<SignedTypes>(r, "Neg", 1, [](auto x) { return negate(x); });
  add_simple<NumericTypes>(r, "Sign", 9, [](auto x) {
    using T = decltype(x);
    if constexpr (std::is_unsigned_v<T>) return x > 0 ? T(1) : T(0);
    else return x > 0 ? T(1) : (x < 0 ? T(-1) : x);  // 0 and NaN pass through
  });
  add_simple<F>(r, "Sqrt", 1, [](auto x) { return std::sqrt(x); });
  add_simple<F>(r, "Exp", 1, [](auto x) { return std::exp(x); });
  add_simple<F>(r, "Log", 1, [](auto x) { return std::log(x); });
  add_simple<F>(r, "Reciprocal", 1, [](auto x) { return decltype(x)(1) / x; });
  add_simple<F>(r, "Floor", 1, [](auto x) { return std::floor(x); });
  add_simple<F>(r, "Ceil", 1, [](auto x) { return std::ceil(x); });
  add_simple<F>(r, "Round", 11, [](auto x) { return std::nearbyint(x); });  // default mode: half to even
  add_simple<F>(r, "Erf", 9, [](auto x) { return std::erf(x); });
  add_simple<F>(r, "Sin", 7, [](auto x) { return std::sin(x); });
  add_simple<F>(r, "Cos", 7, [](auto x) { return std::cos(x); });
  add_simple<F>(r, "Tan", 7, [](auto x) { return std::tan(x); });
  add_simple<F>(r, "Asin", 7, [](auto x) { return std::asin(x); });
  add_simple<F>(r, "Acos", 7, [](auto x) { return std::acos(x); });
  add_simple<F>(r, "Atan", 7, [](auto x) { return std::atan(x); });
  add_simple<F>(r, "Sinh", 9, [](auto x) { return std::sinh(x); });
  add_simple<F>(r, "Cosh", 9, [](auto x) { return std::cosh(x); });
  add_simple<F>(r, "Asinh", 9, [](auto x) { return std::asinh(x); });
  add_simple<F>(r, "Acosh", 9, [](auto x) { return std::acosh(x); });
  add_simple<F>(r, "Atanh", 9, [](auto x) { return std::atanh(x); });

  // Activations.
  add_simple<SignedTypes>(r, "Relu", 1, [](auto x) { return x < 0 ? decltype(x)(0) : x; });
  // float32 uses the vectorizable forms of fast_math.h (within a few ulp of libm), double libm.
  add_simple<F>(r, "Sigmoid", 1, [](auto x) {
    if constexpr (std::is_same_v<decltype(x), float>) return sigmoid_fast(x);
    else return decltype(x)(1) / (decltype(x)(1) + std::exp(-x));
  });
  add_simple<F>(r, "Tanh", 1, [](auto x) {
    if constexpr (std::is_same_v<decltype(x), float>) return tanh_fast(x);
    else return std::tanh(x);
  });
  add_simple<F>(r, "Softplus", 1, [](auto x) { return softplus(x); });
  add_simple<F>(r, "Softsign", 1, [](auto x) { return x / (decltype(x)(1) + std::fabs(x)); });
  add_simple<F>(r, "Mish", 18, [](auto x) { return x * std::tanh(softplus(x)); });
  add_simple<F>(r, "HardSwish", 14, [](auto x) {
    using T = decltype(x);
    return x * std::max(T(0), std::min(T(1), x * (T(1) / T(6)) + T(0.5)));
  });
  add_unary<F>(r, "LeakyRelu", 1, [](const Node& n) {
    float a = n.attr_float("alpha", 0.01f);
    return [a](auto x) { return x < 0 ? decltype(x)(a) * x : x; };
  });
  add_unary<F>(r, "Elu", 1, [](const Node& n) {
    float a = n.attr_float("alpha", 1.0f);
    return [a](auto x) { return x < 0 ? decltype(x)(a) * std::expm1(x) : x; };
  });
  add_unary<F>(r, "Celu", 12, [](const Node& n) {
    float a = n.attr_float("alpha", 1.0f);
    return [a](auto x) {
      using T = decltype(x);
      return x < 0 ? T(a) * std::expm1(x / T(a)) : x;
    };
  });
  add_unary<F>(r, "Selu", 1, [](const Node& n) {
    float a = n.attr_float("alpha", 1.67326319217681884765625f);
    float g = n.attr_float("gamma", 1.05070102214813232421875f);
    return [a, g](auto x) {
      using T = decltype(x);
      return x > 0 ? T(g) * x : T(g) * (T(a) * std::exp(x) - T(a));
    };
  });
  add_unary<F>(r, "HardSigmoid", 1, [](const Node& n) {
    float a = n.attr_float("alpha", 0.2f), b = n.attr_float("beta", 0.5f);
    return [a, b](auto x) {
      using T = decltype(x);
      return std::max(T(0), std::min(T(1), T(a) * x + T(b)));
    };
  });
  add_unary<F>(r, "ThresholdedRelu", 10, [](const Node& n) {
    float a = n.attr_float("alpha", 1.0f);
    return [a](auto x) { return x > decltype(x)(a) ? x : decltype(x)(0); };
  });
  add_unary<F>(r, "Gelu", 20, [](const Node& n) {
    bool tanh_approx = n.attr_string("approximate", "none") == "tanh";
    return [tanh_approx](auto x) {
      using T = decltype(x);
      if (tanh_approx)
        return T(0.5) * x * (T(1) + std::tanh(T(0.7978845608028654) * (x + T(0.044715) * x * x * x)));
      return T(0.5) * x * (T(1) + std::erf(x * T(0.7071067811865476)));
    };
  });
  add_unary<NumericTypes>(r, "Shrink", 9, [](const Node& n) {
    double l = n.attr_float("lambd", 0.5f), b = n.attr_float("bias", 0.0f);
    return [l, b](auto x) {
      double v = static_cast<double>(x);
      return static_cast<decltype(x)>(v < -l ? v + b : (v > l ? v - b : 0.0));
    };
  });
  r.add("", "Clip", 6, kMaxOpset, [](const KernelInit& init) { return std::make_unique<ClipKernel>(init); });

  // Predicates and logic.
  add_simple<F, true>(r, "IsNaN", 9, [](auto x) { return std::isnan(x); });
  add_unary<F, true>(r, "IsInf", 10, [](const Node& n) {
    bool neg = n.attr_int("detect_negative", 1) != 0, pos = n.attr_int("detect_positive", 1) != 0;
    return [neg, pos](auto x) { return std::isinf(x) && (x > 0 ? pos : neg); };
  });
  add_simple<BoolTypes, true>(r, "Not", 1, [](auto x) { return !x; });
}

}  // namespace ptq::kern::ew
