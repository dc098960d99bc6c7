// One registration function per kernel family; each lives in its own file under exec/kernels/.
#pragma once
#include "exec/kernel.h"

namespace ptq::kern {

void register_elementwise(KernelRegistry& r);    // elementwise*.cpp: math, compare, logic, Where, Cast, Clip, activations
void register_shape_ops(KernelRegistry& r);      // shape_ops*.cpp: Reshape, Transpose, Concat, Slice, Gather, Pad, ...
void register_conv_pool(KernelRegistry& r);      // conv.cpp, pool.cpp: Conv, ConvTranspose, pools (oneDNN)
void register_gemm_norm(KernelRegistry& r);      // gemm.cpp, norm.cpp: Gemm, MatMul, BatchNorm, InstanceNorm, LayerNorm
void register_reduce(KernelRegistry& r);         // reduce.cpp, softmax.cpp, resize.cpp: Reduce*, Softmax, ArgMax, TopK, CumSum, Einsum, Resize
void register_control_flow(KernelRegistry& r);   // control_flow.cpp, rnn.cpp: If, Loop, LSTM, GRU
void register_quant_ops(KernelRegistry& r);      // quant_ops.cpp: QuantizeLinear, DequantizeLinear, DynamicQuantizeLinear

}  // namespace ptq::kern
