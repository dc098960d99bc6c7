// Control flow: If, Loop, Scan. Subgraphs are compiled once at kernel creation and run through
// SubgraphExec; they read outer-scope values through ctx.scope. The recurrent ops (LSTM, GRU, RNN)
// live in rnn.cpp.
#include <cstring>
#include <limits>

#include "exec/kernels/families.h"
#include "exec/kernels/kernel_util.h"

namespace ptq::kern {

void register_rnn(KernelRegistry& r);  // rnn.cpp

namespace {

const Graph& graph_attr(const Node& node, const char* name) {
  const Attribute* a = node.find_attr(name);
  if (!a || !a->g) bad_input("node {}: missing graph attribute '{}'", node.label(), name);
  return *a->g;
}

bool truthy(const Tensor& t, const Node& node, const char* what) {
  if (t.numel() != 1) bad_input("node {}: {} must hold exactly one element, got shape {}", node.label(), what, shape_str(t.shape()));
  return t.get_as_double(0) != 0;
}

void check_count(const std::vector<Tensor>& outs, size_t want, const Node& node, const char* what) {
  if (outs.size() != want) bad_input("node {}: {} produced {} outputs, expected {}", node.label(), what, outs.size(), want);
}

// Elements [outer, axis, inner] of `t`: the slice at index `idx` of `axis` (copied; axis removed).
Tensor take_along(const Tensor& t, int64_t axis, int64_t idx) {
  Shape s = t.shape();
  int64_t outer = 1;
  for (int64_t d = 0; d < axis; ++d) outer *= s[static_cast<size_t>(d)];
  int64_t n = s[static_cast<size_t>(axis)];
  s.erase(s.begin() + axis);
  Tensor out(t.dtype(), s);
  size_t inner = out.nbytes() / static_cast<size_t>(outer ? outer : 1);
  const auto* src = static_cast<const uint8_t*>(t.raw());
  auto* dst = static_cast<uint8_t*>(out.raw());
  for (int64_t o = 0; o < outer; ++o)
    std::memcpy(dst + static_cast<size_t>(o) * inner, src + (static_cast<size_t>(o * n + idx)) * inner, inner);
  return out;
}

// Stacks `parts` (equal shapes) along a new axis `axis` of a result of length `len` >= parts.size();
// part i lands at position pos(i); positions without a part stay zero.
template <typename Pos>
Tensor stack_along(const std::vector<Tensor>& parts, int64_t axis, int64_t len, DType dtype, const Shape& elem_shape,
                   Pos pos, const Node& node) {
  Shape s = elem_shape;
  if (axis < 0 || axis > static_cast<int64_t>(s.size())) bad_input("node {}: scan output axis {} out of range", node.label(), axis);
  s.insert(s.begin() + axis, len);
  Tensor out(dtype, s);
  int64_t outer = 1;
  for (int64_t d = 0; d < axis; ++d) outer *= s[static_cast<size_t>(d)];
  size_t inner = parts.empty() ? 0 : parts[0].nbytes() / static_cast<size_t>(outer ? outer : 1);
  auto* dst = static_cast<uint8_t*>(out.raw());
  for (size_t i = 0; i < parts.size(); ++i) {
    if (parts[i].shape() != elem_shape || parts[i].dtype() != dtype)
      bad_input("node {}: scan output changes shape or type across iterations ({} {} vs {} {})", node.label(),
                dtype_name(parts[i].dtype()), shape_str(parts[i].shape()), dtype_name(dtype), shape_str(elem_shape));
    const auto* src = static_cast<const uint8_t*>(parts[i].raw());
    int64_t p = pos(static_cast<int64_t>(i));
    for (int64_t o = 0; o < outer; ++o)
      std::memcpy(dst + static_cast<size_t>(o * len + p) * inner, src + static_cast<size_t>(o) * inner, inner);
  }
  return out;
}

// Stacks per-iteration scan values along a new first axis (in iteration order).
Tensor stack_first(const std::vector<Tensor>& parts, const ValueInfo& decl, const Node& node) {
  if (parts.empty()) {
    // Zero iterations: the declared element type/shape gives the result's type and trailing dims.
    if (decl.dtype == DType::Undefined)
      bad_input("node {}: loop ran zero iterations and scan output '{}' has no declared type", node.label(), decl.name);
    Shape s{0};
    for (const auto& d : decl.shape) s.push_back(d.value >= 0 ? d.value : 0);
    return Tensor(decl.dtype, decl.has_shape ? s : Shape{0});
  }
  return stack_along(parts, 0, static_cast<int64_t>(parts.size()), parts[0].dtype(), parts[0].shape(),
                     [](int64_t i) { return i; }, node);
}

class IfKernel : public Kernel {
 public:
  explicit IfKernel(const KernelInit& init)
      : then_(init.compile_subgraph(graph_attr(init.node, "then_branch"))),
        else_(init.compile_subgraph(graph_attr(init.node, "else_branch"))) {}

  void run(KernelContext& ctx) override {
    bool c = truthy(ctx.in(0), ctx.node, "condition");
    auto outs = (c ? then_ : else_)->run({}, *ctx.scope);
    check_count(outs, ctx.outputs.size(), ctx.node, c ? "then_branch" : "else_branch");
    for (size_t k = 0; k < outs.size(); ++k) ctx.outputs[k] = std::move(outs[k]);
  }

 private:
  std::unique_ptr<SubgraphExec> then_, else_;
};

// Loop(M?, cond?, carried...) -> (carried..., scans...); body(i, cond, carried...) -> (cond, carried..., scans...).
class LoopKernel : public Kernel {
 public:
  explicit LoopKernel(const KernelInit& init)
      : graph_(graph_attr(init.node, "body")), body_(init.compile_subgraph(graph_)) {
    size_t n_in = init.node.inputs.size();
    n_carried_ = n_in > 2 ? n_in - 2 : 0;
    if (init.node.outputs.size() < n_carried_)
      bad_input("node {}: Loop has {} loop-carried inputs but only {} outputs", init.node.label(), n_carried_, init.node.outputs.size());
    n_scan_ = init.node.outputs.size() - n_carried_;
    if (graph_.outputs.size() != 1 + n_carried_ + n_scan_)
      bad_input("node {}: Loop body has {} outputs, expected {} (cond + {} carried + {} scan)", init.node.label(),
                graph_.outputs.size(), 1 + n_carried_ + n_scan_, n_carried_, n_scan_);
  }

  void run(KernelContext& ctx) override {
    const Node& node = ctx.node;
    bool has_m = ctx.has_input(0), has_cond = ctx.has_input(1);
    if (!has_m && !has_cond) bad_input("node {}: Loop without trip count and condition would never end", node.label());
    if (has_m && ctx.in(0).numel() != 1) bad_input("node {}: trip count must be a scalar", node.label());
    int64_t trip = has_m ? ctx.in(0).get_as_int64(0) : std::numeric_limits<int64_t>::max();
    bool cond = has_cond ? truthy(ctx.in(1), node, "condition") : true;

    std::vector<Tensor> formal(2 + n_carried_);
    for (size_t k = 0; k < n_carried_; ++k) formal[2 + k] = ctx.in(2 + k);
    std::vector<std::vector<Tensor>> scans(n_scan_);
    for (int64_t i = 0; i < trip && cond; ++i) {
      formal[0] = Tensor::scalar<int64_t>(i);
      formal[1] = Tensor::scalar<bool>(cond);
      auto outs = body_->run(formal, *ctx.scope);
      check_count(outs, 1 + n_carried_ + n_scan_, node, "body");
      if (has_cond) cond = truthy(outs[0], node, "body condition output");
      for (size_t k = 0; k < n_carried_; ++k) formal[2 + k] = std::move(outs[1 + k]);
      for (size_t k = 0; k < n_scan_; ++k) scans[k].push_back(std::move(outs[1 + n_carried_ + k]));
    }
    for (size_t k = 0; k < n_carried_; ++k) ctx.outputs[k] = std::move(formal[2 + k]);
    for (size_t k = 0; k < n_scan_; ++k)
      ctx.outputs[n_carried_ + k] = stack_first(scans[k], graph_.outputs[1 + n_carried_ + k], node);
  }

 private:
  const Graph& graph_;
  std::unique_ptr<SubgraphExec> body_;
  size_t n_carried_ = 0, n_scan_ = 0;
};

// Scan-9+: (states..., scan_inputs...) -> (states..., scan_outputs...). Scan-8 adds a leading
// optional sequence_lens input and a batch dimension on every input and output.
class ScanKernel : public Kernel {
 public:
  explicit ScanKernel(const KernelInit& init)
      : body_(init.compile_subgraph(graph_attr(init.node, "body"))), v8_(init.opset < 9) {
    const Node& node = init.node;
    n_scan_in_ = node.attr_int("num_scan_inputs", -1);
    int64_t n_in = static_cast<int64_t>(node.inputs.size()) - (v8_ ? 1 : 0);
    if (n_scan_in_ < 1 || n_scan_in_ > n_in) bad_input("node {}: invalid num_scan_inputs {}", node.label(), n_scan_in_);
    n_state_ = n_in - n_scan_in_;
    n_scan_out_ = static_cast<int64_t>(node.outputs.size()) - n_state_;
    if (n_scan_out_ < 0) bad_input("node {}: fewer outputs than state variables", node.label());
    auto per = [&](const char* name, int64_t n) {
      auto v = node.attr_ints(name, std::vector<int64_t>(static_cast<size_t>(n), 0));
      if (static_cast<int64_t>(v.size()) != n) bad_input("node {}: attribute '{}' needs {} values", node.label(), name, n);
      return v;
    };
    in_dirs_ = per(v8_ ? "directions" : "scan_input_directions", n_scan_in_);
    if (!v8_) {
      in_axes_ = per("scan_input_axes", n_scan_in_);
      out_axes_ = per("scan_output_axes", n_scan_out_);
      out_dirs_ = per("scan_output_directions", n_scan_out_);
    } else {
      in_axes_.assign(static_cast<size_t>(n_scan_in_), 0);
      out_axes_.assign(static_cast<size_t>(n_scan_out_), 0);
      out_dirs_.assign(static_cast<size_t>(n_scan_out_), 0);
    }
  }

  void run(KernelContext& ctx) override {
    const Node& node = ctx.node;
    size_t first = v8_ ? 1 : 0;
    std::vector<Tensor> ins;
    for (size_t i = first; i < ctx.inputs.size(); ++i) ins.push_back(ctx.in(i));
    if (!v8_) {
      auto outs = scan(ins, -1, *ctx.scope, node);
      for (size_t k = 0; k < outs.size(); ++k) ctx.outputs[k] = std::move(outs[k]);
      return;
    }
    // Scan-8: run each batch entry separately, then stack along the batch axis.
    if (ins.empty() || ins[0].rank() < 1) bad_input("node {}: Scan-8 inputs need a batch dimension", node.label());
    int64_t batch = ins[0].dim(0);
    std::vector<int64_t> lens;
    if (ctx.has_input(0)) lens = int_values(ctx.in(0));
    if (!lens.empty() && static_cast<int64_t>(lens.size()) != batch)
      bad_input("node {}: sequence_lens has {} entries for batch {}", node.label(), lens.size(), batch);
    std::vector<std::vector<Tensor>> per_out(ctx.outputs.size());
    for (int64_t b = 0; b < batch; ++b) {
      std::vector<Tensor> sub;
      for (const auto& t : ins) {
        if (t.rank() < 1 || t.dim(0) != batch) bad_input("node {}: inputs disagree on the batch size", node.label());
        sub.push_back(take_along(t, 0, b));
      }
      auto outs = scan(sub, lens.empty() ? -1 : lens[static_cast<size_t>(b)], *ctx.scope, node);
      for (size_t k = 0; k < outs.size(); ++k) per_out[k].push_back(std::move(outs[k]));
    }
    for (size_t k = 0; k < per_out.size(); ++k) {
      if (per_out[k].empty()) bad_input("node {}: Scan-8 with batch size 0", node.label());
      ctx.outputs[k] = stack_along(per_out[k], 0, batch, per_out[k][0].dtype(), per_out[k][0].shape(),
                                   [](int64_t i) { return i; }, node);
    }
  }

 private:
  // One scan over unbatched inputs; `steps` < 0 means the full length (Scan-8 sequence_lens otherwise;
  // scan outputs keep the full length, zero-padded).
  std::vector<Tensor> scan(const std::vector<Tensor>& ins, int64_t steps, const Scope& scope, const Node& node) {
    size_t ns = static_cast<size_t>(n_state_), nsi = static_cast<size_t>(n_scan_in_), nso = static_cast<size_t>(n_scan_out_);
    std::vector<int64_t> axes(nsi);
    int64_t len = -1;
    for (size_t j = 0; j < nsi; ++j) {
      const Tensor& t = ins[ns + j];
      axes[j] = normalize_axis(in_axes_[j], t.rank(), node);
      if (len < 0) len = t.dim(axes[j]);
      if (t.dim(axes[j]) != len) bad_input("node {}: scan inputs have different sequence lengths", node.label());
    }
    if (steps < 0) steps = len;
    if (steps > len) bad_input("node {}: sequence length {} exceeds the input length {}", node.label(), steps, len);
    std::vector<Tensor> formal(ins.begin(), ins.begin() + static_cast<std::ptrdiff_t>(ns));
    formal.resize(ns + nsi);
    std::vector<std::vector<Tensor>> outs_k(nso);
    for (int64_t i = 0; i < steps; ++i) {
      for (size_t j = 0; j < nsi; ++j)
        formal[ns + j] = take_along(ins[ns + j], axes[j], in_dirs_[j] ? steps - 1 - i : i);
      auto outs = body_->run(formal, scope);
      check_count(outs, ns + nso, node, "body");
      for (size_t k = 0; k < ns; ++k) formal[k] = std::move(outs[k]);
      for (size_t k = 0; k < nso; ++k) outs_k[k].push_back(std::move(outs[ns + k]));
    }
    std::vector<Tensor> result(formal.begin(), formal.begin() + static_cast<std::ptrdiff_t>(ns));
    for (size_t k = 0; k < nso; ++k) {
      if (outs_k[k].empty()) bad_input("node {}: Scan over an empty sequence cannot type its scan outputs", node.label());
      const Tensor& e = outs_k[k][0];
      int64_t axis = out_axes_[k] < 0 ? out_axes_[k] + e.rank() + 1 : out_axes_[k];
      bool rev = out_dirs_[k] != 0;
      int64_t n = steps;
      result.push_back(stack_along(outs_k[k], axis, len, e.dtype(), e.shape(),
                                   [rev, n](int64_t i) { return rev ? n - 1 - i : i; }, node));
    }
    return result;
  }

  std::unique_ptr<SubgraphExec> body_;
  bool v8_;
  int64_t n_scan_in_ = 0, n_state_ = 0, n_scan_out_ = 0;
  std::vector<int64_t> in_dirs_, in_axes_, out_axes_, out_dirs_;
};

template <typename K>
KernelFactory factory() {
  return [](const KernelInit& init) -> std::unique_ptr<Kernel> { return std::make_unique<K>(init); };
}

}  // namespace

void register_control_flow(KernelRegistry& r) {
  r.add("", "If", 1, kMaxOpset, factory<IfKernel>());
  r.add("", "Loop", 1, kMaxOpset, factory<LoopKernel>());
  r.add("", "Scan", 8, kMaxOpset, factory<ScanKernel>());
  register_rnn(r);
}

}  // namespace ptq::kern
