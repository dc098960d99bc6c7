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
// each group's range by min/max, or with mse_search the clipped range [r*lo, r*hi] (r in
// kClipRatios) with the least squared weight error in that group (used for 4-bit weights, where
// one outlier would otherwise cost most of the 15 levels).
QuantizedTensor quantize_weight(const Tensor& w, QuantAxis ax, DType type, bool symmetric, bool mse_search = false);
inline constexpr float kClipRatios[] = {1.0f, 0.95f, 0.9f, 0.85f, 0.8f, 0.75f, 0.7f, 0.65f, 0.6f, 0.55f, 0.5f};

// Builds scale/zero-point tensors of the right shape for a granularity from per-group params.
Tensor make_scale_tensor(const std::vector<QParams>& p, const Shape& param_shape);
Tensor make_zero_point_tensor(const std::vector<QParams>& p, const Shape& param_shape, DType type);

}  // namespace ptq
