// Comparisons (bool results), And/Or/Xor, and Where (three-way broadcast, any fixed-size dtype).
#include "exec/kernels/elementwise_impl.h"

namespace ptq::kern::ew {
namespace {

class WhereKernel : public Kernel {
 public:
  void run(KernelContext& ctx) override {
    const Tensor& c = ctx.in(0);
    const Tensor& x = ctx.in(1);
    const Tensor& y = ctx.in(2);
    if (c.dtype() != DType::Bool)
      bad_input("condition must be bool, got {}", dtype_name(c.dtype()));
    require_same_type(ctx, x, y);
    // Only bytes move, so the element size is all that matters.
    switch (dtype_size(x.dtype())) {
      case 1: ctx.outputs[0] = select<uint8_t>(c, x, y, ctx.threads); break;
      case 2: ctx.outputs[0] = select<uint16_t>(c, x, y, ctx.threads); break;
      case 4: ctx.outputs[0] = select<uint32_t>(c, x, y, ctx.threads); break;
      case 8: ctx.outputs[0] = select<uint64_t>(c, x, y, ctx.threads); break;
      default: unsupported_type(ctx, x.dtype());
    }
  }

 private:
  template <class S>
  static Tensor select(const Tensor& c, const Tensor& x, const Tensor& y, int threads) {
    Bcast<3> bc({&c.shape(), &x.shape(), &y.shape()});
    Tensor out = new_tensor(x.dtype(), bc.out_shape);
    const bool* pc = c.data<bool>();
    const S* px = static_cast<const S*>(x.raw());
    const S* py = static_cast<const S*>(y.raw());
    S* po = static_cast<S*>(out.raw());
    const int64_t sc = bc.step[0], sx = bc.step[1], sy = bc.step[2];
    bc.for_each_run(threads, [&](int64_t o, const std::array<int64_t, 3>& off, int64_t len) {
      const bool* cc = pc + off[0];
      const S* xx = px + off[1];
      const S* yy = py + off[2];
      S* oo = po + o;
      if (sc && sx && sy) {
        for (int64_t i = 0; i < len; ++i) oo[i] = cc[i] ? xx[i] : yy[i];
      } else {
        for (int64_t i = 0; i < len; ++i) oo[i] = cc[i * sc] ? xx[i * sx] : yy[i * sy];
      }
    });
    return out;
  }
};

}  // namespace

void register_logic(KernelRegistry& r) {
  constexpr bool kBool = true;
  add_binary<EqualTypes, kBool>(r, "Equal", 7, [](auto a, auto b) { return a == b; });
  add_binary<NumericTypes, kBool>(r, "Less", 7, [](auto a, auto b) { return a < b; });
  add_binary<NumericTypes, kBool>(r, "Greater", 7, [](auto a, auto b) { return a > b; });
  add_binary<NumericTypes, kBool>(r, "LessOrEqual", 12, [](auto a, auto b) { return a <= b; });
  add_binary<NumericTypes, kBool>(r, "GreaterOrEqual", 12, [](auto a, auto b) { return a >= b; });
  add_binary<BoolTypes, kBool>(r, "And", 7, [](bool a, bool b) { return a && b; });
  add_binary<BoolTypes, kBool>(r, "Or", 7, [](bool a, bool b) { return a || b; });
  add_binary<BoolTypes, kBool>(r, "Xor", 7, [](bool a, bool b) { return a != b; });
  r.add("", "Where", 9, kMaxOpset, [](const KernelInit&) { return std::make_unique<WhereKernel>(); });
}

}  // namespace ptq::kern::ew
