// Bias correction (--bias-correction, empirical bias correction after Nagel et al. 2019): quantizing
// a Conv/Gemm weight W to W~ shifts the mean of output channel o by sum (W~ - W)[o, c, ...] * E[x_c];
// E[x_c] is the mean of the node's float input channel over the calibration data, and the shift is
// subtracted from the float bias before the final quantization. Each layer is corrected for its own
// weight error only (errors propagated from earlier layers are corrected there).
#pragma once
#include <set>
#include <string>

#include "app/sensitivity.h"

namespace ptq {

// Returns a copy of ctx.model with the bias of each quantized Conv/Gemm (float initializer bias,
// Gemm with alpha = 1 and transA = 0) shifted by (W - W~) E[x].
// `corrected` (optional) receives the number of biases changed.
Model correct_biases(const QuantizeContext& ctx, const QuantizeJob& job, const std::set<std::string>& extra_float,
                     JobObserver& obs, size_t* corrected = nullptr);

}  // namespace ptq
