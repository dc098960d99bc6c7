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

}  // namespace ptq
