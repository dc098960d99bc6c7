// Scalar reference quantization math (the one definition every other module uses):
//   q = saturate(round_half_to_even(x / scale) + zero_point),  x' = (q - zero_point) * scale.
// Granularity is described by QuantAxis: per-tensor (axis < 0), per-axis (axis >= 0, block 0) or
// blocked along an axis (block_size > 0; scale has the input's rank with ceil(dim/block) there).
#pragma once
#include <cmath>
#include <cstdint>

#include "core/tensor.h"

namespace ptq {

inline int32_t quantize_value(float x, float scale, int32_t zero_point, QRange r) {
  // nearbyint rounds half to even in the default FE_TONEAREST mode; the division matches ONNX.
  float v = std::nearbyint(x / scale);
  double q = static_cast<double>(v) + zero_point;
  if (std::isnan(v)) q = zero_point;
  if (q < r.lo) return r.lo;
  if (q > r.hi) return r.hi;
  return static_cast<int32_t>(q);
}

inline float dequantize_value(int32_t q, float scale, int32_t zero_point) {
  return static_cast<float>(static_cast<int64_t>(q) - zero_point) * scale;
}

struct QuantAxis {
  int64_t axis = -1;       // < 0: per-tensor
  int64_t block_size = 0;  // > 0: blocked along axis
};

// Quantizes float32 x to `out_type` (int8/uint8/int16/uint16/int32/int4/uint4). scale is float32;
// zero_point (may be empty = 0) has the output type and the scale's shape.
Tensor quantize_tensor(const Tensor& x, const Tensor& scale, const Tensor& zero_point, QuantAxis ax, DType out_type);
// Dequantizes any integer tensor to float32.
Tensor dequantize_tensor(const Tensor& q, const Tensor& scale, const Tensor& zero_point, QuantAxis ax);
// Validates scale/zero-point shapes for x and granularity; throws Error(BadInput) with `what`.
void check_quant_params(const Shape& x, const Tensor& scale, const Tensor& zero_point, QuantAxis ax, const std::string& what);

}  // namespace ptq
