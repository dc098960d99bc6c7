#include "calib/collector.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "exec/layout.h"

namespace ptq {

StatsCollector::StatsCollector(StatsOptions opts) : opts_(opts) {
  Histogram check(opts.bins);  // validates the bin count up front (Error(Usage))
  data_.bins = opts.bins;
}

void StatsCollector::on_value(const std::string& name, const Tensor& value, const Node* producer) {
  data_.dtypes[name] = value.dtype();
  if (value.dtype() != DType::Float32 || !needs(name)) return;
  TensorStats& st = data_.tensors.try_emplace(name, opts_.bins).first->second;
  int64_t bad = st.update(value.data<float>(), value.numel(), opts_.threads);
  if (bad >= 0) {
    Tensor plain = to_plain(value);  // the message names the element by its logical index
    const float* p = plain.data<float>();
    if (value.layout() != Layout::Plain)
      bad = std::find_if(p, p + plain.numel(), [](float x) { return !std::isfinite(x); }) - p;
    std::string where = producer ? " (output of node " + producer->label() + ")" : " (model input)";
    bad_input("sample '{}': tensor '{}'{} contains {} at flat index {}", sample_, name, where, p[bad], bad);
  }
}

}  // namespace ptq
