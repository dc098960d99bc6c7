// Cast / CastLike between float32/64, float16, bfloat16, all 8-64 bit integers and bool; plus the
// pass-through ops Identity and Dropout (inference only).
//
// Float -> integer conversion truncates toward zero and, for values the target cannot hold,
// mirrors what numpy does on x86 (the ONNX reference): through int32 for targets of up to 32 bits
// (out of range -> INT32_MIN, then wrapped), through int64 for the wider ones. Float -> float16 /
// bfloat16 rounds to nearest even.
#include <cmath>
#include <cstring>
#include <limits>

#include "exec/kernels/elementwise_impl.h"

namespace ptq::kern::ew {
namespace {

struct Half {
  uint16_t bits;
};
struct BF16 {
  uint16_t bits;
};

float half_to_float(uint16_t h) {
  int exp = (h >> 10) & 0x1f, man = h & 0x3ff;
  float v;
  if (exp == 0) v = std::ldexp(static_cast<float>(man), -24);
  else if (exp == 31) v = man ? std::numeric_limits<float>::quiet_NaN() : std::numeric_limits<float>::infinity();
  else v = std::ldexp(static_cast<float>(man | 0x400), exp - 25);
  return (h & 0x8000) ? -v : v;
}

// Exact round-to-nearest-even from double (no double rounding through float).
uint16_t half_bits(double d) {
  uint16_t sign = std::signbit(d) ? 0x8000 : 0;
  double a = std::fabs(d);
  if (std::isnan(a)) return sign | 0x7e00;
  if (a >= 65520.0) return sign | 0x7c00;  // 65520 is the midpoint above the largest half, 65504
  if (a < std::ldexp(1.0, -14))            // subnormal (a result of 0x400 is the smallest normal)
    return sign | static_cast<uint16_t>(std::nearbyint(a * 16777216.0));
  int e;
  double m = std::frexp(a, &e);  // a = m * 2^e, m in [0.5, 1)
  auto q = static_cast<uint32_t>(std::nearbyint((2 * m - 1) * 1024));  // 1024 carries into the exponent
  return sign | static_cast<uint16_t>((static_cast<uint32_t>(e - 1 + 15) << 10) + q);
}

float bf16_to_float(uint16_t b) {
  uint32_t u = static_cast<uint32_t>(b) << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

uint16_t bf16_bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  if (std::isnan(f)) return static_cast<uint16_t>((u >> 16) | 0x40);
  u += 0x7fff + ((u >> 16) & 1);
  return static_cast<uint16_t>(u >> 16);
}

template <class D>
D float_to_int(double v) {
  if constexpr (sizeof(D) <= 2 || std::is_same_v<D, int32_t>) {
    int32_t i = (v > -2147483649.0 && v < 2147483648.0) ? static_cast<int32_t>(v) : INT32_MIN;
    return static_cast<D>(i);
  } else if constexpr (std::is_same_v<D, uint64_t>) {
    if (v >= 9223372036854775808.0)
      return v < 18446744073709551616.0 ? static_cast<uint64_t>(v) : uint64_t(1) << 63;
    return static_cast<uint64_t>(float_to_int<int64_t>(v));
  } else {
    int64_t i = (v >= -9223372036854775808.0 && v < 9223372036854775808.0) ? static_cast<int64_t>(v) : INT64_MIN;
    return static_cast<D>(i);
  }
}

template <class D, class S>
D convert(S s) {
  if constexpr (std::is_same_v<S, Half>) return convert<D>(half_to_float(s.bits));
  else if constexpr (std::is_same_v<S, BF16>) return convert<D>(bf16_to_float(s.bits));
  else if constexpr (std::is_same_v<D, Half>) return Half{half_bits(static_cast<double>(s))};
  else if constexpr (std::is_same_v<D, BF16>) return BF16{bf16_bits(static_cast<float>(s))};
  else if constexpr (std::is_same_v<D, bool>) return s != S(0);
  else if constexpr (std::is_floating_point_v<S> && std::is_integral_v<D>) return float_to_int<D>(static_cast<double>(s));
  else return static_cast<D>(s);
}

template <class T>
constexpr DType code_of() {
  if constexpr (std::is_same_v<T, Half>) return DType::Float16;
  else if constexpr (std::is_same_v<T, BF16>) return DType::BFloat16;
  else return DTypeOf<T>::value;
}

template <class... Ts, class F>
bool cast_dispatch(Types<Ts...>, DType t, F&& f) {
  return ((t == code_of<Ts>() ? (f(Tag<Ts>{}), true) : false) || ...);
}

using CastTypes =
    Types<float, double, Half, BF16, int8_t, uint8_t, int16_t, uint16_t, int32_t, uint32_t, int64_t, uint64_t, bool>;

Tensor cast_tensor(const KernelContext& ctx, const Tensor& x, DType to) {
  if (x.dtype() == to) return x;
  Tensor out;
  bool to_ok = true;
  bool from_ok = cast_dispatch(CastTypes{}, x.dtype(), [&](auto ts) {
    using S = typename decltype(ts)::type;
    to_ok = cast_dispatch(CastTypes{}, to, [&](auto td) {
      using D = typename decltype(td)::type;
      out = new_tensor(to, x.shape());
      const S* in = static_cast<const S*>(x.raw());
      D* o = static_cast<D*>(out.raw());
      parallel_range(x.numel(), ctx.threads, [&](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; ++i) o[i] = convert<D>(in[i]);
      });
    });
  });
  if (!from_ok || !to_ok)
    unsupported("cast from {} to {} is not supported", dtype_name(x.dtype()), dtype_name(to));
  return out;
}

class CastKernel : public Kernel {
 public:
  explicit CastKernel(const KernelInit& init) {
    const Attribute* a = init.node.find_attr("to");
    if (!a) bad_input("Cast needs the 'to' attribute");
    int64_t code = init.node.attr_int("to", 0);
    to_ = dtype_from_onnx(static_cast<int32_t>(code));
    if (to_ == DType::Undefined) unsupported("Cast to data type {} is not supported", code);
  }
  void run(KernelContext& ctx) override { ctx.outputs[0] = cast_tensor(ctx, ctx.in(0), to_); }

 private:
  DType to_;
};

// Dropout at inference: output 0 is the input; the optional mask is all ones (bool from opset 10,
// the input's type before). Training mode with a non-zero ratio would need randomness: refused.
class DropoutKernel : public Kernel {
 public:
  explicit DropoutKernel(const KernelInit& init) : opset_(init.opset) {}
  void run(KernelContext& ctx) override {
    const Tensor& x = ctx.in(0);
    if (ctx.has_input(2) && ctx.in(2).numel() > 0 && ctx.in(2).get_as_double(0) != 0) {
      double ratio = ctx.has_input(1) && ctx.in(1).numel() > 0 ? ctx.in(1).get_as_double(0) : 0.5;
      if (ratio != 0) unsupported("Dropout in training mode is not supported");
    }
    ctx.outputs[0] = x;
    if (ctx.outputs.size() > 1) {
      Tensor mask = new_tensor(DType::Bool, x.shape());
      if (mask.nbytes() > 0) std::memset(mask.raw(), 1, mask.nbytes());
      ctx.outputs[1] = opset_ < 10 ? cast_tensor(ctx, mask, x.dtype()) : mask;
    }
  }

 private:
  int64_t opset_;
};

}  // namespace

void register_cast(KernelRegistry& r) {
  // Cast-19 adds `saturate`, which only affects float8 targets (not supported), so one entry.
  r.add("", "Cast", 6, kMaxOpset, [](const KernelInit& init) { return std::make_unique<CastKernel>(init); });
  r.add_fn("", "CastLike", 15, kMaxOpset,
           [](KernelContext& ctx) { ctx.outputs[0] = cast_tensor(ctx, ctx.in(0), ctx.in(1).dtype()); });
  r.add_fn("", "Identity", 1, kMaxOpset, [](KernelContext& ctx) { ctx.outputs[0] = ctx.in(0); });
  r.add("", "Dropout", 7, kMaxOpset, [](const KernelInit& init) { return std::make_unique<DropoutKernel>(init); });
}

}  // namespace ptq::kern::ew
