#include "report/layer_metrics.h"

#include <algorithm>
#include <cmath>

#include "core/quant_math.h"
#include "report/metrics.h"

namespace ptq {

TensorMetricsAccumulator::TensorMetricsAccumulator(const QuantizedTensorInfo& info) : info_(info) {
  if (info_.scales.empty()) supported_ = false;
  if (is_integer(info_.type)) qr_ = qrange(info_.type);
  else supported_ = false;
  // Histogram: the calibration range widened by a quarter on each side, so clipped mass shows.
  double lo = std::isfinite(info_.range.lo) ? info_.range.lo : 0.0;
  double hi = std::isfinite(info_.range.hi) ? info_.range.hi : 0.0;
  double pad = (hi - lo) * 0.25;
  if (!(pad > 0)) pad = std::max(1e-6, std::fabs(hi) * 0.25 + 1e-6);
  hist_.lo = lo - pad;
  hist_.hi = hi + pad;
  hist_.counts.assign(kLayerHistogramBins, 0);
}

void TensorMetricsAccumulator::add_local(const Tensor& x_in) {
  Tensor x = x_in.to_float();
  const float* d = x.data<float>();
  int64_t n = x.numel();
  size_t groups = info_.scales.size();
  int64_t axis = info_.axis;
  int64_t inner = 1, dim = 1;
  if (groups > 1) {
    if (axis < 0 || axis >= x.rank() || x.dim(axis) != static_cast<int64_t>(groups)) {
      supported_ = false;  // blocked scales: not measured
    } else {
      dim = x.dim(axis);
      for (int64_t k = axis + 1; k < x.rank(); ++k) inner *= x.dim(k);
    }
  }
  double width = (hist_.hi - hist_.lo) / kLayerHistogramBins;
  for (int64_t i = 0; i < n; ++i) {
    float v = d[i];
    if (v < hist_.lo) ++hist_.underflow;
    else if (v >= hist_.hi) ++hist_.overflow;
    else hist_.counts[std::min<size_t>(kLayerHistogramBins - 1, static_cast<size_t>((v - hist_.lo) / width))]++;
  }
  count_ += n;
  if (!supported_) return;
  for (int64_t i = 0; i < n; ++i) {
    size_t g = groups > 1 ? static_cast<size_t>((i / inner) % dim) : 0;
    float s = info_.scales[g];
    int32_t zp = info_.zero_points.size() > g ? info_.zero_points[g] : 0;
    float v = d[i];
    float rlo = dequantize_value(qr_.lo, s, zp), rhi = dequantize_value(qr_.hi, s, zp);
    if (v < rlo || v > rhi) ++clipped_;
    float fq = dequantize_value(quantize_value(v, s, zp, qr_), s, zp);
    double e = static_cast<double>(v) - fq;
    sig_ += static_cast<double>(v) * v;
    noise_ += e * e;
  }
}

void TensorMetricsAccumulator::add_accumulated(const Tensor& ref_in, const Tensor& q_in) {
  if (ref_in.shape() != q_in.shape())
    bad_input("tensor '{}': float and quantized values differ in shape: {} vs {}", info_.name, shape_str(ref_in.shape()),
              shape_str(q_in.shape()));
  Tensor ref = ref_in.to_float(), q = q_in.to_float();
  const float* r = ref.data<float>();
  const float* s = q.data<float>();
  for (int64_t i = 0; i < ref.numel(); ++i) {
    double a = r[i], e = a - s[i];
    acc_sig_ += a * a;
    acc_noise_ += e * e;
  }
  acc_count_ += ref.numel();
}

TensorMetrics TensorMetricsAccumulator::result() const {
  TensorMetrics m;
  m.name = info_.name;
  m.kind = info_.kind;
  m.range = info_.range;
  if (supported_) {
    m.repr_lo = m.repr_hi = 0;
    for (size_t g = 0; g < info_.scales.size(); ++g) {
      int32_t zp = info_.zero_points.size() > g ? info_.zero_points[g] : 0;
      m.repr_lo = std::min<double>(m.repr_lo, dequantize_value(qr_.lo, info_.scales[g], zp));
      m.repr_hi = std::max<double>(m.repr_hi, dequantize_value(qr_.hi, info_.scales[g], zp));
    }
  }
  m.count = count_;
  m.clipped = clipped_;
  m.clip_rate = count_ && supported_ ? static_cast<double>(clipped_) / static_cast<double>(count_) : 0;
  m.local_sqnr_db = supported_ && count_ ? sqnr_db(sig_, noise_) : std::nan("");
  m.has_accumulated = acc_count_ > 0;
  m.accumulated_sqnr_db = m.has_accumulated ? sqnr_db(acc_sig_, acc_noise_) : std::nan("");
  m.histogram = hist_;
  return m;
}

std::vector<TensorMetrics> worst_layers(const std::vector<TensorMetrics>& all, size_t n) {
  std::vector<TensorMetrics> v;
  for (const auto& m : all)
    if (m.has_accumulated) v.push_back(m);
  std::stable_sort(v.begin(), v.end(), [](const TensorMetrics& a, const TensorMetrics& b) {
    double x = std::isnan(a.accumulated_sqnr_db) ? -INFINITY : a.accumulated_sqnr_db;
    double y = std::isnan(b.accumulated_sqnr_db) ? -INFINITY : b.accumulated_sqnr_db;
    if (x != y) return x < y;
    return a.name < b.name;
  });
  if (v.size() > n) v.resize(n);
  return v;
}

}  // namespace ptq
