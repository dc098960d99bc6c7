// The calibration observer: attached to the executor through its ValueObserver hook, it folds
// every float32 activation into per-tensor statistics and keeps nothing else, so memory does not
// grow with the number of samples (2 x bins counters per tensor).
#pragma once
#include <map>
#include <set>
#include <string>

#include "calib/tensor_stats.h"
#include "core/dtype.h"
#include "exec/executor.h"

namespace ptq {

struct StatsOptions {
  int bins = kDefaultBins;  // histogram bins per tensor (kMinBins..kMaxBins)
  int threads = 1;          // OpenMP threads for binning large tensors (results do not depend on it)
};

class StatsCollector : public ValueObserver {
 public:
  explicit StatsCollector(StatsOptions opts = {});

  // Sample id used in error messages (e.g. NaN found in tensor X of sample Y).
  void set_sample(std::string id) { sample_ = std::move(id); }
  // Throws Error(BadInput) naming the sample, tensor and producer if the value has a NaN/Inf.
  void on_value(const std::string& name, const Tensor& value, const Node* producer) override;
  // min/max/histogram counts do not depend on element order.
  bool accepts_channels_last() const override { return true; }
  // Keeps statistics of these values only (dtypes are still recorded for every value seen); the
  // executor may then skip producing the others (fusion). Default: every float32 value.
  void observe_only(std::set<std::string> names) {
    only_ = std::move(names);
    filtered_ = true;
  }
  bool needs(const std::string& name) const override { return !filtered_ || only_.count(name) > 0; }

  const std::map<std::string, TensorStats>& stats() const { return data_.tensors; }
  // dtype of every value seen (float or not): the quantizer only quantizes float32 tensors.
  const std::map<std::string, DType>& dtypes() const { return data_.dtypes; }
  size_t samples() const { return static_cast<size_t>(data_.samples); }
  void count_sample() { ++data_.samples; }

  // Everything collected (for save_stats / merging with other shards).
  const CalibStats& result() const { return data_; }
  CalibStats take() { return std::move(data_); }

 private:
  StatsOptions opts_;
  bool filtered_ = false;
  std::set<std::string> only_;
  std::string sample_;
  CalibStats data_;
};

}  // namespace ptq
