// Runs a Model on CPU. Built once per model (kernels created and validated up front), run once per
// sample. Observers see every value as it is produced (MNN-style callback): calibration never adds
// graph outputs and the executor never keeps values past their last use.
#pragma once
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "exec/kernel.h"
#include "onnx_io/model.h"

namespace ptq {

class ValueObserver {
 public:
  virtual ~ValueObserver() = default;
  // Called for each runtime graph input (producer == nullptr) and each output of each top-level
  // node, right after it is produced. The tensor must not be retained beyond the call unless copied.
  virtual void on_value(const std::string& name, const Tensor& value, const Node* producer) = 0;
  // Whether on_value may be given channels-last tensors (layout-independent statistics); when
  // false the executor converts them to plain first.
  virtual bool accepts_channels_last() const { return false; }
  // Whether on_value must see `name`. When false for a convolution's output, the executor may fuse
  // the Relu/Clip that follows it (exec/fusion.h), and only the activation's output is observed.
  virtual bool needs(const std::string& name) const {
    (void)name;
    return true;
  }
};

struct ExecOptions {
  int threads = 1;
  bool profile = false;  // time every top-level node (see Executor::profile)
  // Each sample of a batch gets exactly the values it gets alone (Gemm/MatMul use fixed row blocks,
  // kernels/gemm.h): calibration sets it so that --batch N cannot change a range. Slower products.
  bool batch_invariant = false;
};

// Accumulated wall time of one top-level node over all runs (ExecOptions::profile).
struct NodeProfile {
  const Node* node;
  double seconds = 0;
  size_t calls = 0;
};

class GraphPlan;

class Executor {
 public:
  // Throws Error(Unsupported) naming node/op/opset if any op has no kernel, Error(BadInput) for a
  // malformed graph (undefined inputs, duplicate producers, cycles).
  Executor(const Model& model, const KernelRegistry& registry, ExecOptions opts = {});
  ~Executor();
  Executor(const Executor&) = delete;
  Executor& operator=(const Executor&) = delete;

  // Feeds inputs by name (all runtime inputs required) and returns graph outputs in declared order.
  std::vector<Tensor> run(const std::map<std::string, Tensor>& inputs, ValueObserver* observer = nullptr);

  const std::vector<const ValueInfo*>& inputs() const { return inputs_; }
  const std::vector<std::string>& output_names() const { return output_names_; }
  int threads() const { return threads_; }
  // One entry per top-level node in execution order; empty unless ExecOptions::profile.
  std::vector<NodeProfile> profile() const;
  // The most bytes of non-constant values alive at once in any run so far (profiling only):
  // values are freed after their last reader, so this is the forward pass's working set.
  size_t peak_live_bytes() const;

 private:
  const Model& model_;
  std::unique_ptr<GraphPlan> plan_;
  std::vector<const ValueInfo*> inputs_;
  std::vector<std::string> output_names_;
  int threads_ = 1;
};

// Checks a runtime input against its declaration (dtype, rank, fixed dims), with the same rule and
// message as the data readers (data/input_check.h); `what` names the source (a file) in the error.
void check_input_matches(const ValueInfo& decl, const Tensor& t, const std::string& what);

// Lists nodes (recursively through subgraphs) whose op has no kernel, as "node (Op, domain, opset)".
std::vector<std::string> find_unsupported_nodes(const Model& model, const KernelRegistry& registry);

}  // namespace ptq
