#include "exec/executor.h"

#include <omp.h>

#include <chrono>
#include <new>
#include <optional>

#include "data/input_check.h"
#include "exec/fusion.h"
#include "exec/layout.h"
#include "graph/graph_utils.h"

namespace ptq {

namespace {
constexpr int kNoValue = -1;
std::string norm_domain(const std::string& d) { return d == "ai.onnx" ? std::string() : d; }
}  // namespace

// A compiled graph: kernels in execution order, value slots, and when each slot can be freed.
class GraphPlan : public SubgraphExec {
 public:
  GraphPlan(const Model& model, const Graph& g, const KernelRegistry& reg, const ExecOptions& opts,
            const std::set<std::string>& outer)
      : graph_(g), threads_(opts.threads) {
    auto order = topological_order(g, outer);
    auto slot = [&](const std::string& name) {
      auto it = ids_.find(name);
      if (it != ids_.end()) return it->second;
      int id = static_cast<int>(names_.size());
      ids_.emplace(name, id);
      names_.push_back(name);
      return id;
    };
    for (const auto& [name, t] : g.initializers) constants_.emplace_back(slot(name), t);
    for (const auto& vi : g.inputs) {
      if (g.initializers.count(vi.name)) continue;
      formal_inputs_.push_back(slot(vi.name));
    }
    std::set<std::string> defined;
    for (const auto& [n, t] : g.initializers) defined.insert(n);
    for (const auto& vi : g.inputs) defined.insert(vi.name);
    for (const auto& n : g.nodes)
      for (const auto& o : n.outputs) defined.insert(o);
    std::set<std::string> visible(outer);
    visible.insert(defined.begin(), defined.end());

    // Outputs of Constant nodes are constants for the kernels too (weights held in Constants).
    for (const auto& n : g.nodes) {
      Tensor t = constant_node_value(n);
      if (!t.empty() && !g.find_initializer(n.outputs[0])) node_constants_.emplace(n.outputs[0], std::move(t));
    }
    std::vector<std::string> unsupported_list;
    for (size_t idx : order) {
      const Node& node = g.nodes[idx];
      Step st{&node, {}, {}, nullptr, {}, LayoutPolicy::Plain, false, std::nullopt, -1};
      for (const auto& in : node.inputs) st.in.push_back(in.empty() ? kNoValue : slot(in));
      for (const auto& out : node.outputs) st.out.push_back(out.empty() ? kNoValue : slot(out));
      int64_t opset = model.opset(norm_domain(node.domain));
      const KernelFactory* f = reg.find(node.domain, node.op_type, opset);
      if (!f) {
        unsupported_list.push_back(fmt::format("{} (op {}{}{}, opset {})", node.label(), node.domain,
                                               node.domain.empty() ? "" : ".", node.op_type, opset));
        steps_.push_back(std::move(st));
        continue;
      }
      KernelInit init{node, opset, nullptr, nullptr, opts.threads, opts.batch_invariant};
      init.constant = [this, &g, &node](size_t i) -> const Tensor* {
        if (i >= node.inputs.size() || node.inputs[i].empty()) return nullptr;
        if (const Tensor* t = g.find_initializer(node.inputs[i])) return t;
        auto it = node_constants_.find(node.inputs[i]);
        return it == node_constants_.end() ? nullptr : &it->second;
      };
      init.compile_subgraph = [&model, &reg, opts, visible](const Graph& sub) -> std::unique_ptr<SubgraphExec> {
        return std::make_unique<GraphPlan>(model, sub, reg, opts, visible);
      };
      st.activation = fusable_activation(node, opset, init.constant);
      try {
        st.kernel = (*f)(init);
      } catch (const Error& e) {
        throw Error(e.kind(), fmt::format("node {}: {}", node.label(), e.what()));
      }
      steps_.push_back(std::move(st));
    }
    if (!unsupported_list.empty()) {
      std::string more = unsupported_list.size() > 1 ? fmt::format(" (and {} more unsupported node(s))", unsupported_list.size() - 1) : "";
      unsupported("no kernel for node {}{}", unsupported_list[0], more);
    }
    // Output slots first: a subgraph may return an outer-scope value directly (no producing node).
    for (const auto& o : g.outputs) outputs_.push_back(slot(o.name));
    // Captured outer values get slots too.
    for (const auto& [name, id] : ids_)
      if (!defined.count(name)) captures_.push_back(id);

    // Free each value after its last reader, except graph outputs and constants.
    std::vector<int> last_use(names_.size(), -1);
    for (size_t s = 0; s < steps_.size(); ++s) {
      for (int id : steps_[s].in)
        if (id != kNoValue) last_use[static_cast<size_t>(id)] = static_cast<int>(s);
      // Subgraph captures: keep everything the node's subgraphs read alive until the node runs.
      for (const auto& a : steps_[s].node->attrs) {
        auto keep = [&](const Graph& sg) {
          for (const auto& c : captured_names(sg)) {
            auto it = ids_.find(c);
            if (it != ids_.end()) last_use[static_cast<size_t>(it->second)] = static_cast<int>(s);
          }
        };
        if (a.g) keep(*a.g);
        for (const auto& sg : a.graphs) keep(*sg);
      }
    }
    std::vector<bool> pinned(names_.size(), false);
    for (int id : outputs_) pinned[static_cast<size_t>(id)] = true;
    for (const auto& c : constants_) pinned[static_cast<size_t>(c.first)] = true;
    for (auto& st : steps_) st.free_after.clear();
    for (size_t id = 0; id < names_.size(); ++id)
      if (!pinned[id] && last_use[id] >= 0) steps_[static_cast<size_t>(last_use[id])].free_after.push_back(static_cast<int>(id));
    plan_layouts(pinned);
  }

  // A value may stay channels-last when its producer can write it so and all its readers accept
  // it (graph outputs, constants and values read by subgraphs stay plain). See LayoutPolicy.
  void plan_layouts(std::vector<bool> blocked) {
    for (const auto& st : steps_)
      for (const auto& a : st.node->attrs) {
        auto block = [&](const Graph& sg) {
          for (const auto& c : captured_names(sg)) {
            auto it = ids_.find(c);
            if (it != ids_.end()) blocked[static_cast<size_t>(it->second)] = true;
          }
        };
        if (a.g) block(*a.g);
        for (const auto& sg : a.graphs) block(*sg);
      }
    for (auto& st : steps_) st.policy = st.kernel ? st.kernel->layout_policy() : LayoutPolicy::Plain;
    std::vector<int> readers(names_.size(), 0);
    for (const auto& st : steps_)
      for (size_t k = 0; k < st.in.size(); ++k) {
        if (st.in[k] == kNoValue) continue;
        auto id = static_cast<size_t>(st.in[k]);
        ++readers[id];
        bool accepts = st.policy == LayoutPolicy::Elementwise || (st.policy == LayoutPolicy::ConvLike && k == 0);
        if (!accepts) blocked[id] = true;
      }
    for (auto& st : steps_)
      st.cl_out = st.policy != LayoutPolicy::Plain && !st.out.empty() && st.out[0] != kNoValue &&
                  !blocked[static_cast<size_t>(st.out[0])] && readers[static_cast<size_t>(st.out[0])] > 0;
    plan_fusions(blocked, readers);
  }

  // Pairs each step whose kernel fuses activations with the Relu/Clip that is the only reader of
  // its output.
  void plan_fusions(const std::vector<bool>& blocked, const std::vector<int>& readers) {
    std::vector<int> producer(names_.size(), -1);
    for (size_t s = 0; s < steps_.size(); ++s)
      if (!steps_[s].out.empty() && steps_[s].out[0] != kNoValue) producer[static_cast<size_t>(steps_[s].out[0])] = static_cast<int>(s);
    for (size_t a = 0; a < steps_.size(); ++a) {
      Step& act = steps_[a];
      if (!act.activation || act.in.empty() || act.in[0] == kNoValue || act.out.size() != 1 || act.out[0] == kNoValue) continue;
      auto v = static_cast<size_t>(act.in[0]);
      int p = producer[v];
      if (p < 0 || !steps_[static_cast<size_t>(p)].kernel || !steps_[static_cast<size_t>(p)].kernel->fuses_activation() ||
          readers[v] != 1)
        continue;
      if (blocked[v]) continue;  // a graph output or a value some subgraph reads (its one reader is act)
      steps_[static_cast<size_t>(p)].fused_act = static_cast<int>(a);
    }
  }

  std::vector<Tensor> run(const std::vector<Tensor>& formal_inputs, const Scope& outer) override {
    return execute(formal_inputs, &outer, nullptr);
  }

  void enable_profile() {
    profile_.resize(steps_.size());
    is_constant_.assign(names_.size(), false);
    for (const auto& c : constants_) is_constant_[static_cast<size_t>(c.first)] = true;
  }
  size_t peak_live_bytes() const { return peak_live_; }
  // Bytes held by non-constant values after a step (profiling only: it walks every slot).
  void track_live_bytes(const std::vector<Tensor>& v) {
    size_t live = 0;
    for (size_t i = 0; i < v.size(); ++i)
      if (!is_constant_[i] && !v[i].empty()) live += v[i].nbytes();
    peak_live_ = std::max(peak_live_, live);
  }
  std::vector<NodeProfile> profile() const {
    std::vector<NodeProfile> r;
    for (size_t s = 0; s < profile_.size(); ++s) r.push_back({steps_[s].node, profile_[s].first, profile_[s].second});
    return r;
  }

  std::vector<Tensor> execute(const std::vector<Tensor>& formal_inputs, const Scope* outer, ValueObserver* obs) {
    Values values(*this, outer);
    for (const auto& [id, t] : constants_) values.v[static_cast<size_t>(id)] = t;
    if (formal_inputs.size() < formal_inputs_.size())
      bad_input("graph '{}' needs {} inputs, got {}", graph_.name, formal_inputs_.size(), formal_inputs.size());
    for (size_t i = 0; i < formal_inputs_.size(); ++i) {
      values.v[static_cast<size_t>(formal_inputs_[i])] = formal_inputs[i];
      if (obs) obs->on_value(names_[static_cast<size_t>(formal_inputs_[i])], formal_inputs[i], nullptr);
    }
    for (int id : captures_) {
      const Tensor* t = outer ? outer->lookup(names_[static_cast<size_t>(id)]) : nullptr;
      if (!t) bad_input("graph '{}': value '{}' is not defined in any enclosing scope", graph_.name, names_[static_cast<size_t>(id)]);
      values.v[static_cast<size_t>(id)] = *t;
    }
    std::vector<char> absorbed(steps_.size(), 0);  // activations computed by their convolution
    for (size_t si = 0; si < steps_.size(); ++si) {
      Step& st = steps_[si];
      if (absorbed[si]) {
        for (int id : st.free_after) values.v[static_cast<size_t>(id)] = Tensor();
        continue;
      }
      // With a fused activation the step writes the activation's output instead of its own.
      bool fuse = st.fused_act >= 0 && (!obs || !obs->needs(names_[static_cast<size_t>(st.out[0])]));
      const Step& producer = fuse ? steps_[static_cast<size_t>(st.fused_act)] : st;
      KernelContext ctx{*st.node, {}, {}, &values, threads_};
      ctx.inputs.reserve(st.in.size());
      for (int id : st.in) {
        if (id == kNoValue) { ctx.inputs.push_back(nullptr); continue; }
        const Tensor& t = values.v[static_cast<size_t>(id)];
        if (t.empty()) bad_input("node {}: input '{}' has no value", st.node->label(), names_[static_cast<size_t>(id)]);
        ctx.inputs.push_back(&t);
      }
      ctx.outputs.resize(st.out.size());
      ctx.channels_last_out = producer.cl_out;
      if (fuse) {
        ctx.post_clip = &*producer.activation;
        absorbed[static_cast<size_t>(st.fused_act)] = 1;
      }
      std::vector<Tensor> converted;  // plain (or retagged) copies of channels-last inputs
      bool cl_elementwise = adapt_inputs(st, ctx, converted);
      try {
        if (profile_.empty()) {
          st.kernel->run(ctx);
        } else {
          auto t0 = std::chrono::steady_clock::now();
          st.kernel->run(ctx);
          profile_[si].first += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
          ++profile_[si].second;
        }
      } catch (const Error& e) {
        throw Error(e.kind(), fmt::format("node {}: {}", st.node->label(), e.what()));
      } catch (const std::bad_alloc&) {
        bad_input("node {}: out of memory", st.node->label());
      }
      if (cl_elementwise && !ctx.outputs.empty() && !ctx.outputs[0].empty())
        ctx.outputs[0] = ctx.outputs[0].with_layout(Layout::ChannelsLast);
      for (size_t k = 0; k < producer.out.size(); ++k) {
        int id = producer.out[k];
        if (id == kNoValue) continue;
        if (ctx.outputs[k].empty()) {
          // Optional trailing outputs may legitimately stay unset; only a reader would notice.
          continue;
        }
        Tensor& v = values.v[static_cast<size_t>(id)];
        v = std::move(ctx.outputs[k]);
        if (v.layout() != Layout::Plain && !(k == 0 && producer.cl_out)) v = to_plain(v, threads_);
        if (obs) {
          const std::string& name = names_[static_cast<size_t>(id)];
          if (v.layout() != Layout::Plain && !obs->accepts_channels_last())
            obs->on_value(name, to_plain(v, threads_), producer.node);
          else
            obs->on_value(name, v, producer.node);
        }
      }
      for (int id : st.free_after) values.v[static_cast<size_t>(id)] = Tensor();
      if (!profile_.empty()) track_live_bytes(values.v);
    }
    std::vector<Tensor> out;
    out.reserve(outputs_.size());
    for (int id : outputs_) {
      const Tensor& t = values.v[static_cast<size_t>(id)];
      if (t.empty()) bad_input("graph '{}': output '{}' was not computed", graph_.name, names_[static_cast<size_t>(id)]);
      out.push_back(t);
    }
    return out;
  }

 private:
  struct Step {
    const Node* node;
    std::vector<int> in, out;
    std::unique_ptr<Kernel> kernel;
    std::vector<int> free_after;
    LayoutPolicy policy = LayoutPolicy::Plain;
    bool cl_out = false;  // output 0 may be kept channels-last
    std::optional<ClipBounds> activation;  // this node is a fusable Relu/Clip (exec/fusion.h)
    int fused_act = -1;   // ConvLike: the step of the activation it can absorb
  };

  // Gives the kernel inputs in a layout it accepts; returns true when an Elementwise kernel runs
  // on channels-last inputs, whose output is then channels-last too. That happens when its
  // non-scalar inputs share one shape, one of them is channels-last and its output may stay so
  // (plain ones are converted: as cheap as converting the others and it keeps the next conv's
  // input channels-last). Otherwise channels-last inputs are converted to plain. Converted
  // tensors live in `converted`.
  bool adapt_inputs(const Step& st, KernelContext& ctx, std::vector<Tensor>& converted) const {
    const Tensor* cl = nullptr;
    for (const Tensor* t : ctx.inputs)
      if (t && t->layout() != Layout::Plain) cl = t;
    if (!cl) return false;
    bool cl_mode = st.policy == LayoutPolicy::Elementwise;
    auto scalar = [&](const Tensor& t) { return t.numel() == 1 && t.rank() <= cl->rank(); };
    for (const Tensor* t : ctx.inputs) {
      if (!t || !cl_mode || scalar(*t)) continue;
      if (t->shape() != cl->shape() || (t->layout() == Layout::Plain && !st.cl_out)) cl_mode = false;
    }
    converted.resize(ctx.inputs.size());
    for (size_t k = 0; k < ctx.inputs.size(); ++k) {
      const Tensor* t = ctx.inputs[k];
      if (!t) continue;
      if (cl_mode) {
        if (scalar(*t)) continue;
        // same bytes viewed as plain: the op is elementwise over identical shapes
        converted[k] = to_channels_last(*t, threads_).with_layout(Layout::Plain);
      } else if (t->layout() == Layout::Plain || (st.policy == LayoutPolicy::ConvLike && k == 0)) {
        continue;
      } else {
        converted[k] = to_plain(*t, threads_);
      }
      ctx.inputs[k] = &converted[k];
    }
    return cl_mode;
  }
  // The live values of one execution, visible to subgraphs through Scope.
  struct Values : Scope {
    Values(const GraphPlan& p, const Scope* o) : plan(p), outer(o), v(p.names_.size()) {}
    const Tensor* lookup(const std::string& name) const override {
      auto it = plan.ids_.find(name);
      if (it != plan.ids_.end() && !v[static_cast<size_t>(it->second)].empty()) return &v[static_cast<size_t>(it->second)];
      return outer ? outer->lookup(name) : nullptr;
    }
    const GraphPlan& plan;
    const Scope* outer;
    std::vector<Tensor> v;
  };

  const Graph& graph_;
  int threads_;
  std::map<std::string, int> ids_;
  std::vector<std::string> names_;
  std::vector<std::pair<int, Tensor>> constants_;
  std::map<std::string, Tensor> node_constants_;  // Constant node outputs, by name
  std::vector<int> formal_inputs_, captures_, outputs_;
  std::vector<Step> steps_;
  std::vector<std::pair<double, size_t>> profile_;  // per step: seconds, calls (when profiling)
  size_t peak_live_ = 0;                             // most bytes of activations alive at once
  std::vector<bool> is_constant_;                    // per value slot (when profiling)
};

Executor::Executor(const Model& model, const KernelRegistry& registry, ExecOptions opts)
    : model_(model), threads_(opts.threads < 1 ? 1 : opts.threads) {
  omp_set_num_threads(threads_);
  opts.threads = threads_;
  plan_ = std::make_unique<GraphPlan>(model, model.graph, registry, opts, std::set<std::string>{});
  if (opts.profile) plan_->enable_profile();
  inputs_ = model.graph.runtime_inputs();
  for (const auto& o : model.graph.outputs) output_names_.push_back(o.name);
}

Executor::~Executor() = default;

std::vector<NodeProfile> Executor::profile() const { return plan_->profile(); }
size_t Executor::peak_live_bytes() const { return plan_->peak_live_bytes(); }

std::vector<Tensor> Executor::run(const std::map<std::string, Tensor>& inputs, ValueObserver* observer) {
  std::vector<Tensor> formal;
  for (const ValueInfo* vi : inputs_) {
    auto it = inputs.find(vi->name);
    if (it == inputs.end()) bad_input("model input '{}' was not given", vi->name);
    check_input_matches(*vi, it->second, "run");
    formal.push_back(it->second);
  }
  for (const auto& [name, t] : inputs) {
    bool known = false;
    for (const ValueInfo* vi : inputs_) known |= vi->name == name;
    if (!known) bad_input("'{}' is not an input of the model", name);
  }
  return plan_->execute(formal, nullptr, observer);
}

void check_input_matches(const ValueInfo& decl, const Tensor& t, const std::string& what) {
  check_input_decl(decl, t.dtype(), t.shape(), what);
}

std::vector<std::string> find_unsupported_nodes(const Model& model, const KernelRegistry& registry) {
  std::vector<std::string> r;
  std::function<void(const Graph&)> walk = [&](const Graph& g) {
    for (const auto& n : g.nodes) {
      int64_t opset = model.opset(norm_domain(n.domain));
      if (!registry.find(n.domain, n.op_type, opset))
        r.push_back(fmt::format("{} (op {}{}{}, opset {})", n.label(), n.domain, n.domain.empty() ? "" : ".", n.op_type, opset));
      for (const auto& a : n.attrs) {
        if (a.g) walk(*a.g);
        for (const auto& sg : a.graphs) walk(*sg);
      }
    }
  };
  walk(model.graph);
  return r;
}

}  // namespace ptq
