#include "report/metrics.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

namespace ptq {

double sqnr_db(double signal, double noise) {
  if (noise <= 0) return std::numeric_limits<double>::infinity();
  if (signal <= 0) return -std::numeric_limits<double>::infinity();
  return 10.0 * std::log10(signal / noise);
}

void MetricsAccumulator::add(const Tensor& ref_in, const Tensor& q_in, const std::vector<int64_t>& labels) {
  if (ref_in.shape() != q_in.shape())
    bad_input("float and quantized outputs differ in shape: {} vs {}", shape_str(ref_in.shape()), shape_str(q_in.shape()));
  Tensor ref = ref_in.to_float(), q = q_in.to_float();
  const float* r = ref.data<float>();
  const float* s = q.data<float>();
  for (int64_t i = 0; i < ref.numel(); ++i) {
    double a = r[i], b = s[i], e = a - b;
    sum_ref2_ += a * a;
    sum_q2_ += b * b;
    sum_err2_ += e * e;
    sum_dot_ += a * b;
    max_abs_ = std::max(max_abs_, std::fabs(e));
  }
  n_ += ref.numel();
  bool cls = ref.rank() == 2 && ref.dim(1) > 1;
  classification_ = classification_ && cls;
  if (!cls) return;
  int64_t rows = ref.dim(0), c = ref.dim(1);
  for (int64_t i = 0; i < rows; ++i) {
    const float* rr = r + i * c;
    const float* qr = s + i * c;
    int64_t af = std::max_element(rr, rr + c) - rr;
    int64_t aq = std::max_element(qr, qr + c) - qr;
    top1_ += af == aq;
    // float's top-1 among the quantized model's 5 largest scores
    int64_t better = 0;
    for (int64_t k = 0; k < c; ++k) better += qr[k] > qr[af] || (qr[k] == qr[af] && k < af);
    top5_ += better < 5;
    if (static_cast<size_t>(i) < labels.size()) {
      ++labeled_;
      correct_f_ += af == labels[static_cast<size_t>(i)];
      correct_q_ += aq == labels[static_cast<size_t>(i)];
    }
  }
  rows_ += rows;
}

OutputMetrics MetricsAccumulator::result() const {
  OutputMetrics m;
  m.sqnr_db = sqnr_db(sum_ref2_, sum_err2_);
  double denom = std::sqrt(sum_ref2_) * std::sqrt(sum_q2_);
  m.cosine = denom > 0 ? sum_dot_ / denom : (sum_ref2_ == sum_q2_ ? 1.0 : 0.0);
  m.mse = n_ ? sum_err2_ / static_cast<double>(n_) : 0;
  m.max_abs_error = max_abs_;
  m.rel_l2 = sum_ref2_ > 0 ? std::sqrt(sum_err2_ / sum_ref2_) : 0;
  m.classification = classification_ && rows_ > 0;
  m.rows = rows_;
  if (m.classification) {
    m.top1_agreement = static_cast<double>(top1_) / static_cast<double>(rows_);
    m.top5_agreement = static_cast<double>(top5_) / static_cast<double>(rows_);
  }
  if (labeled_ > 0) {
    m.has_labels = true;
    m.top1_float = static_cast<double>(correct_f_) / static_cast<double>(labeled_);
    m.top1_quant = static_cast<double>(correct_q_) / static_cast<double>(labeled_);
  }
  return m;
}

}  // namespace ptq
