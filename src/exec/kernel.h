// Kernel interface and registry. A kernel is created once per node (so it can precompute, e.g.
// reorder weights for oneDNN) and run once per sample. Kernels never modify their inputs.
#pragma once
#include <climits>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include "core/tensor.h"
#include "onnx_io/model.h"

namespace ptq {

constexpr int64_t kMaxOpset = INT_MAX;

// Values visible to a subgraph from its enclosing graphs (If/Loop bodies read outer-scope values).
class Scope {
 public:
  virtual ~Scope() = default;
  // nullptr when the name is not visible.
  virtual const Tensor* lookup(const std::string& name) const = 0;
};

// A compiled subgraph (If branch, Loop body) that a control-flow kernel can run.
class SubgraphExec {
 public:
  virtual ~SubgraphExec() = default;
  // formal_inputs bind to the subgraph's declared inputs in order; outer resolves captured names.
  virtual std::vector<Tensor> run(const std::vector<Tensor>& formal_inputs, const Scope& outer) = 0;
};

// y = min(max(x, lo), hi): Relu (lo 0, hi +inf) or Clip with constant bounds, applied by a
// LayoutPolicy::ConvLike kernel to its output when the executor fuses the activation into it.
struct ClipBounds {
  float lo, hi;
};

struct KernelContext {
  const Node& node;
  std::vector<const Tensor*> inputs;  // nullptr for an omitted optional input
  std::vector<Tensor> outputs;        // one slot per node output; the kernel fills them
  const Scope* scope = nullptr;       // the values of the graph being run (for subgraphs)
  int threads = 1;
  // LayoutPolicy::ConvLike kernels may write output 0 channels-last (every reader accepts it).
  bool channels_last_out = false;
  // Kernels that fuse activations apply this to output 0 (the executor skips the activation node).
  const ClipBounds* post_clip = nullptr;

  size_t num_inputs() const { return inputs.size(); }
  bool has_input(size_t i) const { return i < inputs.size() && inputs[i] != nullptr; }
  // Input i; throws Error(BadInput) naming the node when it is missing.
  const Tensor& in(size_t i) const;
};

struct KernelInit {
  const Node& node;
  int64_t opset;  // the model's opset for the node's domain
  // Input i when it is a constant (initializer) known before running, else nullptr.
  std::function<const Tensor*(size_t)> constant;
  // Compiles a graph attribute of this node (If/Loop/Scan bodies).
  std::function<std::unique_ptr<SubgraphExec>(const Graph&)> compile_subgraph;
  int threads = 1;
  // Matrix products must compute each row as they would for any batch size (ExecOptions).
  bool batch_invariant = false;
};

// Which inputs of a kernel may arrive channels-last (core/tensor.h Layout). The executor plans
// layouts from this: a value is kept channels-last only when all its readers accept it, and
// converted to plain for everyone else (graph outputs, observers that want plain, other kernels).
enum class LayoutPolicy {
  Plain,        // every input and output plain (the default)
  ConvLike,     // input 0 may be channels-last; output 0 channels-last when ctx.channels_last_out
  Elementwise,  // elementwise with numpy broadcasting: the executor runs it on channels-last
                // inputs of one shape as if they were plain (inputs of one element may be mixed in)
};

class Kernel {
 public:
  virtual ~Kernel() = default;
  virtual void run(KernelContext& ctx) = 0;
  virtual LayoutPolicy layout_policy() const { return LayoutPolicy::Plain; }
  // Whether run() applies ctx.post_clip (a following Relu/Clip fused into this node).
  virtual bool fuses_activation() const { return false; }
};

using KernelFactory = std::function<std::unique_ptr<Kernel>(const KernelInit&)>;
using KernelFn = std::function<void(KernelContext&)>;

// Maps (domain, op_type, opset) to a factory. Entries cover an inclusive opset range [since, until].
class KernelRegistry {
 public:
  void add(const std::string& domain, const std::string& op_type, int64_t since, int64_t until, KernelFactory f);
  // Stateless kernel from a function.
  void add_fn(const std::string& domain, const std::string& op_type, int64_t since, int64_t until, KernelFn fn);
  // Factory for (domain, op, opset), or nullptr.
  const KernelFactory* find(const std::string& domain, const std::string& op_type, int64_t opset) const;
  bool has_op(const std::string& domain, const std::string& op_type) const;
  // "Op[since-until]" for every entry, sorted; for diagnostics and the conformance runner.
  std::vector<std::string> describe() const;

 private:
  struct Entry {
    int64_t since, until;
    KernelFactory factory;
  };
  std::map<std::pair<std::string, std::string>, std::vector<Entry>> entries_;
};

// The registry with every built-in kernel. Built fresh by each caller (no global state).
KernelRegistry make_default_registry();

}  // namespace ptq
