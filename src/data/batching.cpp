#include "data/batching.h"

#include <cstring>

#include "data/input_check.h"

namespace ptq {

std::string batching_blocker(const std::vector<const ValueInfo*>& inputs) {
  for (const ValueInfo* v : inputs) {
    if (!v->has_shape) return fmt::format("input '{}' declares no shape (its first dim may not be a batch dim)", v->name);
    if (v->shape.empty()) return fmt::format("input '{}' is a scalar", v->name);
    if (v->shape[0].value >= 0)
      return fmt::format("input '{}' has a fixed first dim {}", v->name, decl_shape_str(*v));
  }
  return "";
}

bool stackable(const Sample& a, const Sample& b) {
  if (a.inputs.size() != b.inputs.size()) return false;
  for (const auto& [name, ta] : a.inputs) {
    auto it = b.inputs.find(name);
    if (it == b.inputs.end()) return false;
    const Tensor& tb = it->second;
    if (ta.dtype() != tb.dtype() || ta.rank() != tb.rank() || ta.rank() == 0) return false;
    for (int64_t k = 1; k < ta.rank(); ++k)
      if (ta.dim(k) != tb.dim(k)) return false;
  }
  return true;
}

std::map<std::string, Tensor> stack_samples(const std::vector<Sample>& samples) {
  if (samples.empty()) internal_error("stack_samples: no samples");
  if (samples.size() == 1) return samples[0].inputs;
  std::map<std::string, Tensor> out;
  for (const auto& [name, first] : samples[0].inputs) {
    Shape shape = first.shape();
    shape[0] = 0;
    for (const Sample& s : samples) {
      if (!stackable(samples[0], s)) internal_error("stack_samples: sample '{}' does not stack with '{}'", s.id, samples[0].id);
      shape[0] += s.inputs.at(name).dim(0);
    }
    Tensor t(first.dtype(), shape);
    auto* dst = static_cast<uint8_t*>(t.raw());
    for (const Sample& s : samples) {
      const Tensor& part = s.inputs.at(name);
      if (part.nbytes()) std::memcpy(dst, part.raw(), part.nbytes());
      dst += part.nbytes();
    }
    out.emplace(name, std::move(t));
  }
  return out;
}

std::string batch_id(const std::vector<Sample>& samples) {
  if (samples.empty()) return "";
  if (samples.size() == 1) return samples[0].id;
  return fmt::format("{} .. {} ({} samples)", samples.front().id, samples.back().id, samples.size());
}

}  // namespace ptq
