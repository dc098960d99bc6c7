// Float-vs-quantized comparison metrics, accumulated over samples in one streaming pass.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/tensor.h"

namespace ptq {

struct OutputMetrics {
  double sqnr_db = 0;       // 10*log10(sum ref^2 / sum (ref-q)^2); +inf when identical
  double cosine = 0;        // cosine similarity of the flattened outputs
  double mse = 0;
  double max_abs_error = 0;
  double rel_l2 = 0;        // ||ref - q|| / ||ref||
  bool classification = false;  // rows of class scores ([N, C], C > 1)
  int64_t rows = 0;
  double top1_agreement = 0;    // argmax equal
  double top5_agreement = 0;    // float's argmax within quantized top-5
  bool has_labels = false;
  double top1_float = 0;        // accuracy against labels
  double top1_quant = 0;
};

class MetricsAccumulator {
 public:
  // ref and q must have the same shape (float32 or convertible). labels: one per row, or empty.
  void add(const Tensor& ref, const Tensor& q, const std::vector<int64_t>& labels = {});
  OutputMetrics result() const;
  int64_t elements() const { return n_; }

 private:
  double sum_ref2_ = 0, sum_q2_ = 0, sum_err2_ = 0, sum_dot_ = 0, max_abs_ = 0;
  int64_t n_ = 0;
  bool classification_ = true;
  int64_t rows_ = 0, top1_ = 0, top5_ = 0, labeled_ = 0, correct_f_ = 0, correct_q_ = 0;
};

// SQNR in dB from signal and noise energy (inf for zero noise, -inf for zero signal with noise).
double sqnr_db(double signal, double noise);

}  // namespace ptq
