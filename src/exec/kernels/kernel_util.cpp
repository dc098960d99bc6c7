#include "exec/kernels/kernel_util.h"

#include <algorithm>

#include <omp.h>

namespace ptq::kern {

Shape broadcast_shapes(const Shape& a, const Shape& b) {
  size_t r = std::max(a.size(), b.size());
  Shape out(r);
  for (size_t i = 0; i < r; ++i) {
    int64_t da = i < r - a.size() ? 1 : a[i - (r - a.size())];
    int64_t db = i < r - b.size() ? 1 : b[i - (r - b.size())];
    if (da != db && da != 1 && db != 1)
      bad_input("shapes {} and {} cannot be broadcast", shape_str(a), shape_str(b));
    out[i] = da == 1 ? db : da;
  }
  return out;
}

Shape broadcast_shapes(const std::vector<const Shape*>& shapes) {
  Shape out;
  for (const Shape* s : shapes) out = broadcast_shapes(out, *s);
  return out;
}

std::vector<int64_t> broadcast_strides(const Shape& in, const Shape& out) {
  std::vector<int64_t> s(out.size(), 0);
  int64_t stride = 1;
  size_t off = out.size() - in.size();
  for (size_t i = in.size(); i-- > 0;) {
    s[i + off] = in[i] == 1 ? 0 : stride;
    stride *= in[i];
  }
  return s;
}

int64_t normalize_axis(int64_t axis, int64_t rank, const Node& node) {
  int64_t a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= std::max<int64_t>(rank, 1))
    bad_input("node {}: axis {} is out of range for rank {}", node.label(), axis, rank);
  return a;
}

std::vector<int64_t> strides_of(const Shape& s) {
  std::vector<int64_t> st(s.size(), 1);
  for (size_t i = s.size(); i-- > 1;) st[i - 1] = st[i] * s[i];
  return st;
}

std::vector<int64_t> int_values(const Tensor& t) {
  if (t.dtype() != DType::Int64 && t.dtype() != DType::Int32)
    bad_input("expected an int64/int32 tensor, got {}", dtype_name(t.dtype()));
  return t.to_int64_vector();
}

void require_float(const KernelContext& ctx, size_t input) {
  const Tensor& t = ctx.in(input);
  if (t.dtype() != DType::Float32)
    unsupported("node {}: input {} has type {}; only float32 is supported", ctx.node.label(), input, dtype_name(t.dtype()));
}

SerialIfSmall::SerialIfSmall(int64_t work, int64_t outputs) {
  if (work >= kDnnlParallelWork || (work >= kDnnlParallelWorkWide && outputs >= kDnnlParallelOutputs)) return;
  int n = omp_get_max_threads();
  if (n <= 1) return;
  saved_ = n;
  omp_set_num_threads(1);
}

SerialIfSmall::~SerialIfSmall() {
  if (saved_ > 0) omp_set_num_threads(saved_);
}

}  // namespace ptq::kern
