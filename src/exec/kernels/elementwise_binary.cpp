// Binary arithmetic (Add, Sub, Mul, Div, Mod, Pow, PRelu) and the variadic Sum/Mean/Min/Max, all
// on the broadcasting driver binary_apply. Integer arithmetic wraps like the hardware; integer
// Div/Mod truncate toward zero like C (Mod follows the divisor's sign unless fmod=1), and a zero
// divisor gives 0 instead of trapping.
#include <cmath>
#include <limits>
#include <type_traits>

#include "exec/kernels/elementwise_impl.h"

namespace ptq::kern::ew {
namespace {

// Unsigned type at least as wide as int for T: wrapping arithmetic without signed-overflow UB.
template <class T>
using Wrap = std::make_unsigned_t<std::common_type_t<T, int>>;

template <class T>
T add_op(T a, T b) {
  if constexpr (std::is_integral_v<T>) return static_cast<T>(Wrap<T>(a) + Wrap<T>(b));
  else return a + b;
}
template <class T>
T sub_op(T a, T b) {
  if constexpr (std::is_integral_v<T>) return static_cast<T>(Wrap<T>(a) - Wrap<T>(b));
  else return a - b;
}
template <class T>
T mul_op(T a, T b) {
  if constexpr (std::is_integral_v<T>) return static_cast<T>(Wrap<T>(a) * Wrap<T>(b));
  else return a * b;
}
template <class T>
T div_op(T a, T b) {
  if constexpr (std::is_floating_point_v<T>) {
    return a / b;
  } else {
    if (b == 0) return 0;
    if constexpr (std::is_signed_v<T>)
      if (b == -1) return sub_op<T>(0, a);  // avoids the INT_MIN / -1 trap
    return static_cast<T>(a / b);
  }
}
template <class T>
T mod_op(T a, T b, bool c_style) {
  if constexpr (std::is_floating_point_v<T>) {
    T r = std::fmod(a, b);
    if (!c_style && r != 0 && ((r < 0) != (b < 0))) r += b;
    return r;
  } else if constexpr (std::is_signed_v<T>) {
    if (b == 0 || b == -1) return 0;
    T r = static_cast<T>(a % b);
    if (!c_style && r != 0 && ((r < 0) != (b < 0))) r = static_cast<T>(r + b);
    return r;
  } else {
    return b == 0 ? T(0) : static_cast<T>(a % b);
  }
}

// Integer power by squaring (wrapping); negative exponents give 0 except for bases 1 and -1.
template <class A, class B>
A int_pow(A base, B e) {
  if constexpr (std::is_signed_v<B>) {
    if (e < 0) {
      if (base == 1) return 1;
      if constexpr (std::is_signed_v<A>)
        if (base == -1) return (e % 2) ? A(-1) : A(1);
      return 0;
    }
  }
  A r = 1;
  while (e) {
    if (e & 1) r = mul_op(r, base);
    base = mul_op(base, base);
    e = static_cast<B>(e >> 1);
  }
  return r;
}

// Pow: the result has the base's type; exponent may be any numeric type (opset >= 12).
struct PowOp {
  template <class A, class B>
  A operator()(A a, B b) const {
    if constexpr (std::is_same_v<A, float> && std::is_same_v<B, float>) return std::pow(a, b);
    else if constexpr (std::is_integral_v<A> && std::is_integral_v<B>) return int_pow(a, b);
    else return from_double<A>(std::pow(static_cast<double>(a), static_cast<double>(b)));
  }
  // Truncates like numpy's astype; values the integer type cannot hold give its minimum (x86).
  template <class A>
  static A from_double(double r) {
    if constexpr (std::is_integral_v<A>) {
      constexpr double lo = static_cast<double>(std::numeric_limits<A>::min());
      return r >= lo && r < -lo ? static_cast<A>(r) : std::numeric_limits<A>::min();
    } else {
      return static_cast<A>(r);
    }
  }
};

class PowKernel : public Kernel {
 public:
  void run(KernelContext& ctx) override {
    const Tensor& a = ctx.in(0);
    const Tensor& b = ctx.in(1);
    bool exp_ok = true;
    bool ok = dispatch(Types<float, double, int32_t, int64_t>{}, a.dtype(), [&](auto ta) {
      using A = typename decltype(ta)::type;
      exp_ok = dispatch(NumericTypes{}, b.dtype(), [&](auto tb) {
        using B = typename decltype(tb)::type;
        ctx.outputs[0] = binary_apply<A, B, A>(a, b, PowOp{}, ctx.threads);
      });
    });
    if (!ok) unsupported_type(ctx, a.dtype());
    if (!exp_ok) unsupported_type(ctx, b.dtype());
  }
};

// Sum/Mean/Min/Max over any number of inputs with multidirectional broadcasting: folded pairwise
// left to right (fixed order, so results do not depend on threads), in place after the first step.
template <class List, class Op>
class VariadicKernel : public Kernel {
 public:
  VariadicKernel(Op op, bool mean) : op_(op), mean_(mean) {}
  void run(KernelContext& ctx) override {
    size_t n = ctx.num_inputs();
    if (n == 0) bad_input("{} needs at least one input", ctx.node.op_type);
    const Tensor& first = ctx.in(0);
    for (size_t i = 1; i < n; ++i) require_same_type(ctx, first, ctx.in(i));
    bool ok = dispatch(List{}, first.dtype(), [&](auto tag) {
      using T = typename decltype(tag)::type;
      if (n == 1) {
        ctx.outputs[0] = first;
        return;
      }
      Tensor acc = binary_apply<T, T, T>(first, ctx.in(1), op_, ctx.threads);
      for (size_t i = 2; i < n; ++i) acc = binary_apply<T, T, T>(acc, ctx.in(i), op_, ctx.threads, &acc);
      if (mean_) {
        T count = static_cast<T>(n);
        unary_into<T, T>(acc, acc, [count](T v) { return v / count; }, ctx.threads);
      }
      ctx.outputs[0] = acc;
    });
    if (!ok) unsupported_type(ctx, first.dtype());
  }

 private:
  Op op_;
  bool mean_;
};

template <class List, class Op>
void add_variadic(KernelRegistry& r, const char* op_type, Op op, bool mean = false) {
  r.add("", op_type, 6, kMaxOpset, [op, mean](const KernelInit&) -> std::unique_ptr<Kernel> {
    return std::make_unique<VariadicKernel<List, Op>>(op, mean);
  });
}

}  // namespace

void register_binary(KernelRegistry& r) {
  // Opset 7 introduced numpy broadcasting; the older broadcast/axis attributes are not supported.
  add_binary<NumericTypes>(r, "Add", 7, [](auto a, auto b) { return add_op(a, b); });
  add_binary<NumericTypes>(r, "Sub", 7, [](auto a, auto b) { return sub_op(a, b); });
  add_binary<NumericTypes>(r, "Mul", 7, [](auto a, auto b) { return mul_op(a, b); });
  add_binary<NumericTypes>(r, "Div", 7, [](auto a, auto b) { return div_op(a, b); });
  add_binary<SignedTypes>(r, "PRelu", 7, [](auto x, auto slope) { return x < 0 ? mul_op(slope, x) : x; });
  r.add("", "Mod", 10, kMaxOpset, [](const KernelInit& init) -> std::unique_ptr<Kernel> {
    bool c_style = init.node.attr_int("fmod", 0) != 0;
    auto f = [c_style](auto a, auto b) { return mod_op(a, b, c_style); };
    return std::make_unique<BinaryKernel<NumericTypes, false, decltype(f)>>(f);
  });
  r.add("", "Pow", 7, kMaxOpset, [](const KernelInit&) { return std::make_unique<PowKernel>(); });

  // Variadic (opset 6 had no broadcasting; broadcasting is a superset of its semantics).
  auto sum = [](auto a, auto b) { return add_op(a, b); };
  add_variadic<NumericTypes>(r, "Sum", sum);
  add_variadic<FloatTypes>(r, "Mean", sum, true);
  add_variadic<NumericTypes>(r, "Min", [](auto a, auto b) { return b < a ? b : a; });
  add_variadic<NumericTypes>(r, "Max", [](auto a, auto b) { return a < b ? b : a; });
}

}  // namespace ptq::kern::ew
