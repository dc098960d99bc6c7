// Graph preparation passes. Each is small, works on one pattern, and is tested on its own.
#pragma once
#include "onnx_io/model.h"

namespace ptq {

// Before: c = Constant(value=T); y = Conv(x, c)
// After:  initializer c = T;      y = Conv(x, c)
// Applies to Constant nodes of the top-level graph (value, value_float(s), value_int(s)), so
// weights held in Constants are handled exactly like initializers. Returns the number moved.
size_t constants_to_initializers(Graph& g);

// Before: y = Identity(x); z = Relu(y)      (also Dropout in inference, with no mask consumer)
// After:  z = Relu(x)
// A graph output produced by Identity keeps its name (the Identity stays). Returns nodes removed.
size_t remove_identity_nodes(Graph& g);

// Before: inputs declared with initializer names (IR < 4 exporters list weights as inputs)
// After:  those inputs removed, so they are not mistaken for values a user must feed.
size_t drop_initializer_inputs(Graph& g);

// Before: y = Conv(x, W, B); z = BatchNormalization(y, gamma, beta, mean, var)
// After:  z = Conv(x, W', B')  with s = gamma / sqrt(var + eps), W' = W * s (per output channel),
//                              B' = (B - mean) * s + beta (B = 0 when absent)
// Also for ConvTranspose (output channels on weight axis 1, per group) and Gemm (2-D output,
// channel = column: W rows with transB=1, columns with transB=0; C of shape [M]/[1,M] or absent).
// Only when y feeds just the BN (and is no graph output), all parameters are float32 initializers
// and the BN has a single output. New weights get new names; the originals are dropped by
// remove_unused_initializers when nothing else reads them. Returns the number of BNs folded.
size_t fold_batchnorm(Graph& g);

// Raises the default-domain opset from 17..20 to 21 (ONNX 1.12's converter stops at 17), adapting
// ops whose signature changed (recursively in subgraphs):
// Before (17): y = ReduceMean<axes=[1]>(x)        ; s0, s1 = Split(x)            (two outputs)
// After  (21): y = ReduceMean(x, axes_init=[1])   ; s0, s1 = Split<num_outputs=2>(x)
// Also GridSample mode bilinear/bicubic -> linear/cubic (20). ir_version becomes at least 10.
// Throws Error(Unsupported) naming the node for ops changed incompatibly that are not adapted
// (DFT axis -> input at 20, GroupNormalization at 21).
void upgrade_opset_to_21(Model& m);

// Before: initializers nothing reads (e.g. the BN parameters after fold_batchnorm)
// After:  removed (values read inside subgraphs and graph outputs count as read).
size_t remove_unused_initializers(Graph& g);

}  // namespace ptq
