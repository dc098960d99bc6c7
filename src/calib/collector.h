// The calibration observer: attached to the executor through its ValueObserver hook, it folds
// every float32 activation into per-tensor statistics and keeps nothing else, so memory does not
// grow with the number of samples.
#pragma once
#include <map>
#include <string>

#include "calib/tensor_stats.h"
#include "core/dtype.h"
#include "exec/executor.h"

namespace ptq {

class StatsCollector : public ValueObserver {
 public:
  // Sample id used in error messages (e.g. NaN found in tensor X of sample Y).
  void set_sample(std::string id) { sample_ = std::move(id); }
  void on_value(const std::string& name, const Tensor& value, const Node* producer) override;

  const std::map<std::string, TensorStats>& stats() const { return stats_; }
  // dtype of every value seen (float or not): the quantizer only quantizes float32 tensors.
  const std::map<std::string, DType>& dtypes() const { return dtypes_; }
  size_t samples() const { return samples_; }
  void count_sample() { ++samples_; }

 private:
  std::string sample_;
  std::map<std::string, TensorStats> stats_;
  std::map<std::string, DType> dtypes_;
  size_t samples_ = 0;
};

}  // namespace ptq
