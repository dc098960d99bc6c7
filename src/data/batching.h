// Stacking samples into one executor run (--batch N): N samples concatenated along axis 0, for
// models whose every runtime input has a dynamic first dim. Calibration statistics do not depend
// on how samples are grouped (calib/tensor_stats.h), so batching changes speed only, provided the
// executor computes each row of a batch exactly as it computes that sample alone.
#pragma once
#include <map>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "data/sample_source.h"
#include "onnx_io/model.h"

namespace ptq {

// "" when every input declares a rank >= 1 shape whose first dim is dynamic (a dim_param or no
// value); otherwise why not, naming the first input that blocks batching, e.g.
// "input 'x' has a fixed first dim ([1,3,224,224])".
std::string batching_blocker(const std::vector<const ValueInfo*>& inputs);

// Whether `b` can join a batch of `a`: the same inputs, dtypes and ranks, equal dims after the first.
bool stackable(const Sample& a, const Sample& b);

// One input map holding every sample's tensors concatenated along axis 0, in sample order (the
// samples must be pairwise stackable; Error(Internal) otherwise). One sample is returned as is.
std::map<std::string, Tensor> stack_samples(const std::vector<Sample>& samples);

// "a.npy" for one sample, "a.npy .. h.npy (8 samples)" for several: names a batch in messages.
std::string batch_id(const std::vector<Sample>& samples);

}  // namespace ptq
