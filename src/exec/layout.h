// Conversions between the plain (N, C, spatial...) order and the channels-last order (N, spatial...,
// C) of core/tensor.h's Layout. The executor keeps convolution activations channels-last between
// kernels that accept it (oneDNN's fast convolutions want NHWC) and converts at the edges.
#pragma once
#include "core/tensor.h"

namespace ptq {

// True when the tensor's rank allows a channels-last order (3-D to 5-D).
inline bool channels_last_rank(const Tensor& t) { return t.rank() >= 3 && t.rank() <= 5; }

// The same logical tensor in plain order (returns t itself when it already is).
Tensor to_plain(const Tensor& t, int threads = 1);
// The same logical tensor in channels-last order (returns t itself when it already is).
Tensor to_channels_last(const Tensor& t, int threads = 1);

}  // namespace ptq
