#include "exec/kernel.h"

#include <algorithm>

#include <fmt/format.h>

namespace ptq {

const Tensor& KernelContext::in(size_t i) const {
  if (!has_input(i)) bad_input("node {}: required input {} is missing", node.label(), i);
  return *inputs[i];
}

namespace {
std::string norm_domain(const std::string& d) { return d == "ai.onnx" ? std::string() : d; }

class FnKernel : public Kernel {
 public:
  explicit FnKernel(KernelFn fn) : fn_(std::move(fn)) {}
  void run(KernelContext& ctx) override { fn_(ctx); }

 private:
  KernelFn fn_;
};
}  // namespace

void KernelRegistry::add(const std::string& domain, const std::string& op_type, int64_t since, int64_t until,
                         KernelFactory f) {
  entries_[{norm_domain(domain), op_type}].push_back({since, until, std::move(f)});
}

void KernelRegistry::add_fn(const std::string& domain, const std::string& op_type, int64_t since, int64_t until,
                            KernelFn fn) {
  add(domain, op_type, since, until, [fn](const KernelInit&) { return std::make_unique<FnKernel>(fn); });
}

const KernelFactory* KernelRegistry::find(const std::string& domain, const std::string& op_type, int64_t opset) const {
  auto it = entries_.find({norm_domain(domain), op_type});
  if (it == entries_.end()) return nullptr;
  for (const auto& e : it->second)
    if (opset >= e.since && opset <= e.until) return &e.factory;
  return nullptr;
}

bool KernelRegistry::has_op(const std::string& domain, const std::string& op_type) const {
  return entries_.count({norm_domain(domain), op_type}) > 0;
}

std::vector<std::string> KernelRegistry::describe() const {
  std::vector<std::string> r;
  for (const auto& [key, list] : entries_)
    for (const auto& e : list)
      r.push_back(fmt::format("{}{}{}[{}-{}]", key.first, key.first.empty() ? "" : ".", key.second, e.since,
                              e.until == kMaxOpset ? std::string("") : std::to_string(e.until)));
  std::sort(r.begin(), r.end());
  return r;
}

}  // namespace ptq
