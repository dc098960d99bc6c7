#include "quant/options.h"

#include "core/error.h"

namespace ptq {

WeightScheme parse_weight_scheme(const std::string& s) {
  if (s == "per-tensor") return WeightScheme::PerTensor;
  if (s == "per-channel") return WeightScheme::PerChannel;
  if (s == "per-block") return WeightScheme::PerBlock;
  fail(ErrorKind::Usage, "unknown scheme '{}' (expected per-tensor, per-channel or per-block)", s);
}

std::string weight_scheme_name(WeightScheme s) {
  switch (s) {
    case WeightScheme::PerTensor: return "per-tensor";
    case WeightScheme::PerChannel: return "per-channel";
    case WeightScheme::PerBlock: return "per-block";
  }
  return "?";
}

DType parse_quant_type(const std::string& s) {
  if (s == "int8") return DType::Int8;
  if (s == "uint8") return DType::UInt8;
  if (s == "int4") return DType::Int4;
  if (s == "uint4") return DType::UInt4;
  if (s == "int16") return DType::Int16;
  if (s == "uint16") return DType::UInt16;
  fail(ErrorKind::Usage, "unknown quantized type '{}' (expected int8, uint8, int4, uint4, int16 or uint16)", s);
}

}  // namespace ptq
