#include "calib/collector.h"

#include "core/error.h"

namespace ptq {

void StatsCollector::on_value(const std::string& name, const Tensor& value, const Node* producer) {
  dtypes_[name] = value.dtype();
  if (value.dtype() != DType::Float32) return;
  int64_t bad = stats_[name].update(value.data<float>(), value.numel());
  if (bad >= 0) {
    float v = value.data<float>()[bad];
    std::string where = producer ? " (output of node " + producer->label() + ")" : " (model input)";
    bad_input("sample '{}': tensor '{}'{} contains {} at flat index {}", sample_, name, where, v, bad);
  }
}

}  // namespace ptq
