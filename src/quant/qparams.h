// Scale / zero-point selection (ONNX Runtime's conventions):
//  asymmetric: range widened to include 0, scale = (hi - lo) / (qmax - qmin), zp = round(qmin - lo / scale)
//  symmetric:  signed types use the restricted range [-qmax, qmax] (int8: [-127, 127]) with zp 0;
//              unsigned types center at (qmin + qmax + 1) / 2 (uint8: 128).
#pragma once
#include <cstdint>
#include <vector>

#include "calib/range.h"
#include "core/quant_math.h"
#include "core/tensor.h"

namespace ptq {

struct QParams {
  float scale = 1.0f;
  int32_t zero_point = 0;
};

QParams compute_qparams(Range r, DType type, bool symmetric);

// A quantized weight: integer values plus float32 scale and zero point tensors (scalar for
// per-tensor, 1-D along `axis` for per-channel, blocked shape for per-block).
struct QuantizedTensor {
  Tensor values;
  Tensor scale;
  Tensor zero_point;
  QuantAxis axis;
};

// Quantizes a constant float weight per tensor (ax.axis < 0), per channel or per block, choosing
// each group's range by min/max.
QuantizedTensor quantize_weight(const Tensor& w, QuantAxis ax, DType type, bool symmetric);

// Builds scale/zero-point tensors of the right shape for a granularity from per-group params.
Tensor make_scale_tensor(const std::vector<QParams>& p, const Shape& param_shape);
Tensor make_zero_point_tensor(const std::vector<QParams>& p, const Shape& param_shape, DType type);

}  // namespace ptq
