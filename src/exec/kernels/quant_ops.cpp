// (in progress: kernels of this family are being written)
#include "exec/kernels/families.h"

namespace ptq::kern {

void register_quant_ops(KernelRegistry&) {}

}  // namespace ptq::kern
