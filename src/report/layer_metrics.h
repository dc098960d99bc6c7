// Per-tensor accuracy metrics, accumulated over evaluation samples in one streaming pass (memory
// does not grow with the number of samples):
//  - clipping rate: fraction of values outside the representable range [(qmin-zp)*s, (qmax-zp)*s]
//  - local SQNR: x vs fake-quant(x) with the tensor's own scale/zero point (isolated error)
//  - accumulated SQNR: the float model's value of T vs the QDQ model's dequantized T (all error
//    accumulated up to that point of the quantized graph)
//  - a small histogram of the float values around the chosen range (for the HTML report)
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "quant/quantizer.h"

namespace ptq {

constexpr int kLayerHistogramBins = 48;

struct LayerHistogram {
  double lo = 0, hi = 0;         // bin edges span [lo, hi]; values outside go to underflow/overflow
  std::vector<int64_t> counts;   // kLayerHistogramBins
  int64_t underflow = 0, overflow = 0;
};

struct TensorMetrics {
  std::string name, kind;        // kind as in QuantizedTensorInfo ("activation", "weight", ...)
  Range range;                   // calibration range
  double repr_lo = 0, repr_hi = 0;  // representable range (per-tensor; the widest over channels)
  int64_t count = 0;             // values seen
  int64_t clipped = 0;           // values outside the representable range
  double clip_rate = 0;
  double local_sqnr_db = 0;
  bool has_accumulated = false;
  double accumulated_sqnr_db = 0;
  LayerHistogram histogram;
};

class TensorMetricsAccumulator {
 public:
  explicit TensorMetricsAccumulator(const QuantizedTensorInfo& info);
  // x: the float value of the tensor (any float dtype). Updates clipping, local SQNR, histogram.
  void add_local(const Tensor& x);
  // ref: the float model's value; q: the QDQ model's dequantized value (same shape).
  void add_accumulated(const Tensor& ref, const Tensor& q);
  TensorMetrics result() const;
  const QuantizedTensorInfo& info() const { return info_; }

 private:
  QuantizedTensorInfo info_;
  QRange qr_{0, 0};
  bool supported_ = true;  // false for blocked scales (not measured locally)
  double sig_ = 0, noise_ = 0, acc_sig_ = 0, acc_noise_ = 0;
  int64_t count_ = 0, clipped_ = 0, acc_count_ = 0;
  LayerHistogram hist_;
};

// The `n` activations with the lowest accumulated SQNR, worst first (ties by name).
std::vector<TensorMetrics> worst_layers(const std::vector<TensorMetrics>& all, size_t n);

}  // namespace ptq
