// Elementwise kernel family. The ops live in elementwise_{unary,binary,logic,cast}.cpp, built on
// the shared drivers of elementwise_impl.h. This file registers them and adapts the pre-opset-7
// binary ops (explicit `broadcast`/`axis` attributes) onto the numpy-broadcasting kernels.
#include "exec/kernels/elementwise_impl.h"
#include "exec/kernels/families.h"

namespace ptq::kern {
namespace {

// Runs a numpy-broadcasting kernel after reshaping input 1 the way legacy broadcasting aligns it:
//  - Axis: opset <= 6 Add/Mul/... with broadcast=1: B's dims match a contiguous run of A's dims
//    starting at `axis` (suffix when absent), so B gets trailing 1s; broadcast=0 needs equal shapes.
//  - Channel: PRelu-6 exported by old converters with a 1-D per-channel slope for X of rank >= 3.
class LegacyBroadcast : public Kernel {
 public:
  enum class Mode { Axis, Channel };
  LegacyBroadcast(const Node& n, Mode mode, std::unique_ptr<Kernel> inner)
      : inner_(std::move(inner)),
        mode_(mode),
        broadcast_(n.attr_int("broadcast", 0) != 0),
        has_axis_(n.find_attr("axis") != nullptr),
        axis_(n.attr_int("axis", 0)) {}

  void run(KernelContext& ctx) override {
    const Tensor& a = ctx.in(0);
    const Tensor& b = ctx.in(1);
    Shape s = aligned_shape(a.shape(), b.shape());
    if (s == b.shape()) {
      inner_->run(ctx);
      return;
    }
    Tensor b2 = b.reshaped(s);
    KernelContext sub{ctx.node, ctx.inputs, std::vector<Tensor>(ctx.outputs.size()), ctx.scope, ctx.threads};
    sub.inputs[1] = &b2;
    inner_->run(sub);
    ctx.outputs = std::move(sub.outputs);
  }

 private:
  Shape aligned_shape(const Shape& a, const Shape& b) const {
    auto ra = static_cast<int64_t>(a.size()), rb = static_cast<int64_t>(b.size());
    if (mode_ == Mode::Channel) {
      if (rb == 1 && ra >= 3 && b[0] == a[1] && b[0] != 1) {
        Shape s(static_cast<size_t>(ra - 1), 1);
        s[0] = b[0];
        return s;
      }
      return b;
    }
    if (!broadcast_) {
      if (a != b) bad_input("shapes {} and {} differ and broadcast is 0", shape_str(a), shape_str(b));
      return b;
    }
    if (shape_numel(b) == 1) return Shape{};
    int64_t axis = has_axis_ ? (axis_ < 0 ? axis_ + ra : axis_) : ra - rb;
    if (axis < 0 || axis + rb > ra)
      bad_input("legacy broadcast of {} onto {} at axis {} is out of range", shape_str(b), shape_str(a), axis_);
    Shape s = b;
    s.resize(static_cast<size_t>(ra - axis), 1);
    return s;
  }

  std::unique_ptr<Kernel> inner_;
  Mode mode_;
  bool broadcast_, has_axis_;
  int64_t axis_;
};

// Registers op_type for opsets [since, until] as the adapter around its opset-`modern` kernel.
void add_legacy(KernelRegistry& r, const char* op_type, int64_t since, int64_t until, int64_t modern,
                LegacyBroadcast::Mode mode) {
  const KernelFactory* f = r.find("", op_type, modern);
  if (!f) internal_error("elementwise: {} has no opset-{} kernel to adapt", op_type, modern);
  r.add("", op_type, since, until, [inner = *f, mode](const KernelInit& init) -> std::unique_ptr<Kernel> {
    return std::make_unique<LegacyBroadcast>(init.node, mode, inner(init));
  });
}

}  // namespace

void register_elementwise(KernelRegistry& r) {
  ew::register_unary(r);
  ew::register_binary(r);
  ew::register_logic(r);
  ew::register_cast(r);
  for (const char* op : {"Add", "Sub", "Mul", "Div", "Pow", "And", "Or", "Xor", "Equal", "Less", "Greater"})
    add_legacy(r, op, 1, 6, 7, LegacyBroadcast::Mode::Axis);
  add_legacy(r, "PRelu", 1, 6, 7, LegacyBroadcast::Mode::Channel);
}

}  // namespace ptq::kern
