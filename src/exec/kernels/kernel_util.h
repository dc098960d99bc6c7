// Small helpers shared by kernel families: broadcasting, axis handling, attribute/input access.
#pragma once
#include <cstdint>
#include <vector>

#include "core/tensor.h"
#include "exec/kernel.h"

namespace ptq::kern {

// Numpy-style broadcast of two shapes; throws Error(BadInput) when incompatible.
Shape broadcast_shapes(const Shape& a, const Shape& b);
Shape broadcast_shapes(const std::vector<const Shape*>& shapes);

// Element strides of `in` viewed in the broadcast shape `out` (0 on broadcast dimensions).
std::vector<int64_t> broadcast_strides(const Shape& in, const Shape& out);

// Calls f(out_index, a_index, b_index) for every element of the broadcast result. Fast paths for
// equal shapes and scalar operands.
template <typename F>
void for_each_broadcast(const Shape& a, const Shape& b, const Shape& out, F f) {
  int64_t n = shape_numel(out);
  int64_t na = shape_numel(a), nb = shape_numel(b);
  if (na == n && nb == n && a == b) {
    for (int64_t i = 0; i < n; ++i) f(i, i, i);
    return;
  }
  if (nb == 1 && na == n) {
    for (int64_t i = 0; i < n; ++i) f(i, i, 0);
    return;
  }
  if (na == 1 && nb == n) {
    for (int64_t i = 0; i < n; ++i) f(i, 0, i);
    return;
  }
  auto sa = broadcast_strides(a, out), sb = broadcast_strides(b, out);
  size_t r = out.size();
  std::vector<int64_t> idx(r, 0);
  int64_t ia = 0, ib = 0;
  for (int64_t i = 0; i < n; ++i) {
    f(i, ia, ib);
    for (size_t d = r; d-- > 0;) {
      ++idx[d];
      ia += sa[d];
      ib += sb[d];
      if (idx[d] < out[d]) break;
      ia -= sa[d] * out[d];
      ib -= sb[d] * out[d];
      idx[d] = 0;
    }
  }
}

// Normalizes a possibly negative axis for a tensor of `rank`; throws naming the node if out of range.
int64_t normalize_axis(int64_t axis, int64_t rank, const Node& node);

// Row-major strides of a shape.
std::vector<int64_t> strides_of(const Shape& s);

// An int64/int32 tensor input as int64 values (shape inputs, axes, indices).
std::vector<int64_t> int_values(const Tensor& t);

// Throws Error(Unsupported) naming the node when the input's dtype is not float32.
void require_float(const KernelContext& ctx, size_t input);

// Whether a oneDNN call is worth a second thread. Measured at 2 threads on this 2-core machine:
// waking a thread costs more than it saves for the bundled 28x28 CNN's convolutions (up to 0.9 M
// multiply-adds over 1.5-12.5 K outputs: 0.061 ms serial vs 0.08-0.10 ms threaded), while
// mobilenet_v2's small depthwise and 1x1 convolutions (>= 0.25 M multiply-adds over >= 8 K
// outputs) gain (3.2-3.4 ms vs 4.3-4.6 ms with everything below 4 M serial).
constexpr int64_t kDnnlParallelWork = int64_t{4} << 20;     // multiply-adds (or comparable operations)
constexpr int64_t kDnnlParallelWorkWide = int64_t{1} << 18;  // ... when there are enough outputs
constexpr int64_t kDnnlParallelOutputs = int64_t{1} << 13;

// Runs the oneDNN calls in its scope (primitive creation included: primitives keep the thread
// count they were created with) on one thread when `work` operations over `outputs` output
// elements are too few to share (see kDnnlParallelWork).
class SerialIfSmall {
 public:
  SerialIfSmall(int64_t work, int64_t outputs);
  ~SerialIfSmall();
  SerialIfSmall(const SerialIfSmall&) = delete;
  SerialIfSmall& operator=(const SerialIfSmall&) = delete;

 private:
  int saved_ = 0;  // 0: the count was not changed
};

}  // namespace ptq::kern
