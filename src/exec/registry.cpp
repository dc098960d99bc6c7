// Assembles the built-in kernel registry from the per-family registration functions.
#include "exec/kernel.h"
#include "exec/kernels/families.h"

namespace ptq {

KernelRegistry make_default_registry() {
  KernelRegistry r;
  kern::register_elementwise(r);
  kern::register_shape_ops(r);
  kern::register_conv_pool(r);
  kern::register_gemm_norm(r);
  kern::register_reduce(r);
  kern::register_control_flow(r);
  kern::register_quant_ops(r);
  return r;
}

}  // namespace ptq
