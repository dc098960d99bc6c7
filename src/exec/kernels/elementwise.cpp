// Elementwise kernel family. The ops live in elementwise_{unary,binary,logic,cast}.cpp, built on
// the shared drivers of elementwise_impl.h.
#include "exec/kernels/elementwise_impl.h"
#include "exec/kernels/families.h"

namespace ptq::kern {

void register_elementwise(KernelRegistry& r) {
  ew::register_unary(r);
  ew::register_binary(r);
  ew::register_logic(r);
  ew::register_cast(r);
}

}  // namespace ptq::kern
