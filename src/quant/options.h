// Quantization options, typed (no string-keyed dicts). The CLI fills these; library users can too.
#pragma once
#include <cstdint>
#include <set>
#include <string>

#include "calib/range.h"
#include "core/dtype.h"

namespace ptq {

enum class WeightScheme { PerTensor, PerChannel, PerBlock };

WeightScheme parse_weight_scheme(const std::string& s);  // per-tensor|per-channel|per-block
std::string weight_scheme_name(WeightScheme s);
DType parse_quant_type(const std::string& s);  // int8|uint8|int4|uint4|int16|uint16

struct QuantOptions {
  WeightScheme scheme = WeightScheme::PerTensor;
  int64_t block_size = 128;
  DType activation_type = DType::UInt8;
  DType weight_type = DType::Int8;
  bool activation_symmetric = false;
  bool weight_symmetric = true;
  bool weight_only = false;                // quantize weights only; activations stay float (no Q/DQ)
  CalibMethod method = CalibMethod::MinMax;
  double percentile = kDefaultPercentile;  // --method percentile
  int histogram_bins = kDefaultBins;       // calibration histogram bins per tensor
  std::set<std::string> exclude_nodes;     // node names kept in float
  std::set<std::string> exclude_op_types;  // op types kept in float
};

}  // namespace ptq
