// Checks that sample data fits a model input declaration (the data-side twin of the executor's
// check_input_matches; data/ cannot depend on exec/). `what` names the file in messages.
#pragma once
#include <string>

#include "core/tensor.h"
#include "onnx_io/model.h"

namespace ptq {

// dtype equal, rank equal and fixed dims equal (dynamic dims accept anything). Works from a header.
void check_input_decl(const ValueInfo& decl, DType dtype, const Shape& shape, const std::string& what);
// The above plus: float data holds no NaN/Inf (the error names the first bad index).
void check_input_tensor(const ValueInfo& decl, const Tensor& t, const std::string& what);
// A sample stored without its batch dim: when `shape` has rank one less than the declaration and
// the declared batch dim is dynamic or 1, returns shape with a leading 1; otherwise shape unchanged.
Shape add_batch_dim(const ValueInfo& decl, const Shape& shape);
// "[N,3,224,224]" (dynamic dims by their parameter name, or '?').
std::string decl_shape_str(const ValueInfo& decl);

}  // namespace ptq
