// Reduce* ops (Sum, Mean, Max, Min, Prod, L1, L2, SumSquare, LogSum, LogSumExp). Axes come from
// the `axes` attribute before opset 13 (ReduceSum) / 18 (the others) and from the optional second
// input after, with noop_with_empty_axes. Reductions are brought to a canonical [outer, red, inner]
// view (adjacent reduced/kept dims merged); other layouts are transposed to [kept, reduced] first.
// Every output element is reduced by one thread in a fixed order, so results do not depend on the
// thread count.
#include <algorithm>
#include <cmath>
#include <limits>
#include <type_traits>

#include "exec/kernels/families.h"
#include "exec/kernels/kernel_util.h"

namespace ptq::kern {

// Other files of this family (softmax.cpp, resize.cpp, index_ops.cpp).
void register_softmax(KernelRegistry& r);
void register_resize(KernelRegistry& r);
void register_index_ops(KernelRegistry& r);

namespace {

constexpr int64_t kParallelMin = 1 << 16;  // elements of work before OpenMP pays off
constexpr int64_t kChunk = 256;            // inner columns reduced together in the strided case

enum class ROp { Sum, Mean, Max, Min, Prod, L1, L2, SumSquare, LogSum, LogSumExp };

// Accumulator: the float type itself, int64 for integers.
template <typename T>
using AccOf = std::conditional_t<std::is_floating_point_v<T>, T, int64_t>;

// A reduction = pre(x) per element, combined with join() from ident(), then post(acc, count).
template <ROp op, typename T>
struct Red {
  using A = AccOf<T>;
  static A ident() {
    if constexpr (op == ROp::Max) {
      if constexpr (std::is_floating_point_v<T>) return -std::numeric_limits<T>::infinity();
      else return static_cast<A>(std::numeric_limits<T>::lowest());
    } else if constexpr (op == ROp::Min) {
      if constexpr (std::is_floating_point_v<T>) return std::numeric_limits<T>::infinity();
      else return static_cast<A>(std::numeric_limits<T>::max());
    } else if constexpr (op == ROp::Prod) {
      return A(1);
    } else {
      return A(0);
    }
  }
  static A pre(T x) {
    A a = static_cast<A>(x);
    if constexpr (op == ROp::L1) return a < 0 ? -a : a;
    else if constexpr (op == ROp::L2 || op == ROp::SumSquare) return a * a;
    else return a;
  }
  static A join(A a, A b) {
    if constexpr (op == ROp::Max) return b > a ? b : a;
    else if constexpr (op == ROp::Min) return b < a ? b : a;
    else if constexpr (op == ROp::Prod) return a * b;
    else return a + b;
  }
  static T post(A a, int64_t n) {
    if constexpr (op == ROp::Mean) {
      if constexpr (std::is_floating_point_v<T>) return a / static_cast<A>(n);
      else return n == 0 ? T(0) : static_cast<T>(a / n);
    } else if constexpr (op == ROp::L2) {
      return static_cast<T>(std::sqrt(static_cast<double>(a)));
    } else if constexpr (op == ROp::LogSum) {
      return static_cast<T>(std::log(static_cast<double>(a)));
    } else {
      return static_cast<T>(a);
    }
  }
};

// Contiguous row reduction with 8 independent lanes (vectorizable, fixed order).
template <class P, typename T>
typename P::A reduce_row(const T* x, int64_t n) {
  using A = typename P::A;
  constexpr int L = 8;
  A acc[L];
  for (int j = 0; j < L; ++j) acc[j] = P::ident();
  int64_t i = 0;
  for (; i + L <= n; i += L)
    for (int j = 0; j < L; ++j) acc[j] = P::join(acc[j], P::pre(x[i + j]));
  for (; i < n; ++i) acc[0] = P::join(acc[0], P::pre(x[i]));
  A r = acc[0];
  for (int j = 1; j < L; ++j) r = P::join(r, acc[j]);
  return r;
}

// acc[k] = reduction over r < red of x[r * stride + k], for k < len.
template <class P, typename T>
void reduce_cols(const T* x, int64_t red, int64_t stride, int64_t len, typename P::A* acc) {
  for (int64_t k = 0; k < len; ++k) acc[k] = P::ident();
  for (int64_t r = 0; r < red; ++r) {
    const T* xr = x + r * stride;
    for (int64_t k = 0; k < len; ++k) acc[k] = P::join(acc[k], P::pre(xr[k]));
  }
}

template <ROp op, typename T>
void reduce_canonical(const T* x, T* y, int64_t outer, int64_t red, int64_t inner) {
  using P = Red<op, T>;
  using A = typename P::A;
  bool par = outer * red * inner > kParallelMin;
  if (inner == 1) {
#pragma omp parallel for schedule(static) if (par && outer > 1)
    for (int64_t o = 0; o < outer; ++o) y[o] = P::post(reduce_row<P>(x + o * red, red), red);
    return;
  }
  int64_t nchunk = (inner + kChunk - 1) / kChunk;
#pragma omp parallel for schedule(static) if (par && outer * nchunk > 1)
  for (int64_t t = 0; t < outer * nchunk; ++t) {
    int64_t o = t / nchunk, c0 = (t % nchunk) * kChunk, len = std::min(kChunk, inner - c0);
    A acc[kChunk];
    reduce_cols<P>(x + o * red * inner + c0, red, inner, len, acc);
    T* yo = y + o * inner + c0;
    for (int64_t k = 0; k < len; ++k) yo[k] = P::post(acc[k], red);
  }
}

// log(sum(exp(x - m))) + m with m the (finite) maximum.
template <typename T>
void logsumexp_canonical(const T* x, T* y, int64_t outer, int64_t red, int64_t inner) {
  using PM = Red<ROp::Max, T>;
  auto shift_of = [](T m) { return std::isfinite(m) ? m : T(0); };
  bool par = outer * red * inner > kParallelMin;
  if (inner == 1) {
#pragma omp parallel for schedule(static) if (par && outer > 1)
    for (int64_t o = 0; o < outer; ++o) {
      const T* xo = x + o * red;
      T m = shift_of(reduce_row<PM>(xo, red));
      T s = 0;
      for (int64_t i = 0; i < red; ++i) s += std::exp(xo[i] - m);
      y[o] = std::log(s) + m;
    }
    return;
  }
  int64_t nchunk = (inner + kChunk - 1) / kChunk;
#pragma omp parallel for schedule(static) if (par && outer * nchunk > 1)
  for (int64_t t = 0; t < outer * nchunk; ++t) {
    int64_t o = t / nchunk, c0 = (t % nchunk) * kChunk, len = std::min(kChunk, inner - c0);
    const T* xo = x + o * red * inner + c0;
    T m[kChunk], s[kChunk];
    reduce_cols<PM>(xo, red, inner, len, m);
    for (int64_t k = 0; k < len; ++k) {
      m[k] = shift_of(m[k]);
      s[k] = 0;
    }
    for (int64_t r = 0; r < red; ++r)
      for (int64_t k = 0; k < len; ++k) s[k] += std::exp(xo[r * inner + k] - m[k]);
    T* yo = y + o * inner + c0;
    for (int64_t k = 0; k < len; ++k) yo[k] = std::log(s[k]) + m[k];
  }
}

// Output dims and input strides of x (shape `shape`) transposed by `perm`.
struct PermutedView {
  Shape dims;
  std::vector<int64_t> strides;
};

PermutedView permuted_view(const Shape& shape, const std::vector<int64_t>& perm) {
  auto in_strides = strides_of(shape);
  PermutedView v;
  for (int64_t p : perm) {
    v.dims.push_back(shape[p]);
    v.strides.push_back(in_strides[p]);
  }
  return v;
}

// Copies the transposed view of x into y (contiguous), walking y in order with an odometer.
template <typename T>
void permute_copy(const T* x, T* y, const PermutedView& v, std::vector<int64_t>& idx) {
  size_t r = v.dims.size();
  int64_t n = shape_numel(v.dims);
  int64_t off = 0;
  for (int64_t i = 0; i < n; ++i) {
    y[i] = x[off];
    for (size_t d = r; d-- > 0;) {
      off += v.strides[d];
      if (++idx[d] < v.dims[d]) break;
      off -= v.strides[d] * v.dims[d];
      idx[d] = 0;
    }
  }
}

template <ROp op, typename T>
void reduce_typed(const Tensor& xt, Tensor& yt, const std::vector<bool>& reduced, const Node& node) {
  if constexpr (op == ROp::LogSumExp && !std::is_floating_point_v<T>) {
    unsupported("node {}: ReduceLogSumExp needs a float input, got {}", node.label(), dtype_name(xt.dtype()));
  } else {
    const T* x = xt.data<T>();
    T* y = yt.data<T>();
    auto run = [&](const T* src, int64_t outer, int64_t red, int64_t inner) {
      if constexpr (op == ROp::LogSumExp) logsumexp_canonical(src, y, outer, red, inner);
      else reduce_canonical<op>(src, y, outer, red, inner);
    };
    const Shape& s = xt.shape();
    if (xt.numel() == 0) {  // empty reduction (a reduced dim is 0) or empty output
      T v = op == ROp::LogSumExp ? static_cast<T>(-std::numeric_limits<double>::infinity())
                                 : Red<op, T>::post(Red<op, T>::ident(), 0);
      std::fill(y, y + yt.numel(), v);
      return;
    }
    // Merge runs of kept / reduced dims, ignoring size-1 dims.
    std::vector<std::pair<int64_t, bool>> blocks;
    for (size_t i = 0; i < s.size(); ++i) {
      if (s[i] == 1) continue;
      if (!blocks.empty() && blocks.back().second == reduced[i]) blocks.back().first *= s[i];
      else blocks.emplace_back(s[i], reduced[i]);
    }
    int64_t outer = 1, red = 1, inner = 1;
    size_t b = 0;
    if (b < blocks.size() && !blocks[b].second) outer = blocks[b++].first;
    if (b < blocks.size() && blocks[b].second) red = blocks[b++].first;
    if (b < blocks.size() && !blocks[b].second) inner = blocks[b++].first;
    if (b == blocks.size()) {
      run(x, outer, red, inner);
      return;
    }
    // General layout: transpose to [kept..., reduced...] and reduce contiguous rows.
    std::vector<int64_t> perm;
    red = 1;
    for (size_t i = 0; i < s.size(); ++i)
      if (!reduced[i]) perm.push_back(static_cast<int64_t>(i));
    for (size_t i = 0; i < s.size(); ++i)
      if (reduced[i]) {
        perm.push_back(static_cast<int64_t>(i));
        red *= s[i];
      }
    std::vector<T> tmp(static_cast<size_t>(xt.numel()));
    std::vector<int64_t> idx(s.size(), 0);
    permute_copy(x, tmp.data(), permuted_view(s, perm), idx);
    run(tmp.data(), xt.numel() / red, red, 1);
  }
}

template <ROp op>
void reduce_dispatch(const Tensor& x, Tensor& y, const std::vector<bool>& reduced, const Node& node) {
  switch (x.dtype()) {
    case DType::Float32: return reduce_typed<op, float>(x, y, reduced, node);
    case DType::Float64: return reduce_typed<op, double>(x, y, reduced, node);
    case DType::Int32: return reduce_typed<op, int32_t>(x, y, reduced, node);
    case DType::Int64: return reduce_typed<op, int64_t>(x, y, reduced, node);
    case DType::Int8: return reduce_typed<op, int8_t>(x, y, reduced, node);
    case DType::UInt8: return reduce_typed<op, uint8_t>(x, y, reduced, node);
    case DType::UInt32: return reduce_typed<op, uint32_t>(x, y, reduced, node);
    case DType::UInt64: return reduce_typed<op, uint64_t>(x, y, reduced, node);
    default:
      unsupported("node {}: input type {} is not supported", node.label(), dtype_name(x.dtype()));
  }
}

using ReduceFn = void (*)(const Tensor&, Tensor&, const std::vector<bool>&, const Node&);

class ReduceKernel : public Kernel {
 public:
  ReduceKernel(const KernelInit& init, ReduceFn fn, bool axes_input)
      : fn_(fn), axes_input_(axes_input) {
    keepdims_ = init.node.attr_int("keepdims", 1) != 0;
    noop_ = axes_input && init.node.attr_int("noop_with_empty_axes", 0) != 0;
    if (!axes_input) attr_axes_ = init.node.attr_ints("axes");
  }

  void run(KernelContext& ctx) override {
    const Tensor& x = ctx.in(0);
    int64_t rank = x.rank();
    std::vector<int64_t> axes = attr_axes_;
    if (axes_input_ && ctx.has_input(1)) axes = int_values(ctx.in(1));
    std::vector<bool> reduced(static_cast<size_t>(rank), axes.empty() && !noop_);
    for (int64_t a : axes) {
      int64_t n = a < 0 ? a + rank : a;
      if (n < 0 || n >= rank)
        bad_input("node {}: axis {} is out of range for rank {}", ctx.node.label(), a, rank);
      if (reduced[n]) bad_input("node {}: axis {} is listed twice", ctx.node.label(), a);
      reduced[n] = true;
    }
    Shape out_shape;
    for (int64_t i = 0; i < rank; ++i) {
      if (!reduced[i]) out_shape.push_back(x.dim(i));
      else if (keepdims_) out_shape.push_back(1);
    }
    Tensor y(x.dtype(), out_shape);
    fn_(x, y, reduced, ctx.node);
    ctx.outputs[0] = y;
  }

 private:
  ReduceFn fn_;
  bool axes_input_;
  bool keepdims_ = true;
  bool noop_ = false;
  std::vector<int64_t> attr_axes_;
};

struct ReduceOpInfo {
  const char* name;
  ReduceFn fn;
  int64_t axes_input_since;  // first opset where axes is an input
};

}  // namespace

void register_reduce(KernelRegistry& r) {
  const ReduceOpInfo ops[] = {
      {"ReduceSum", reduce_dispatch<ROp::Sum>, 13},
      {"ReduceMean", reduce_dispatch<ROp::Mean>, 18},
      {"ReduceMax", reduce_dispatch<ROp::Max>, 18},
      {"ReduceMin", reduce_dispatch<ROp::Min>, 18},
      {"ReduceProd", reduce_dispatch<ROp::Prod>, 18},
      {"ReduceL1", reduce_dispatch<ROp::L1>, 18},
      {"ReduceL2", reduce_dispatch<ROp::L2>, 18},
      {"ReduceSumSquare", reduce_dispatch<ROp::SumSquare>, 18},
      {"ReduceLogSum", reduce_dispatch<ROp::LogSum>, 18},
      {"ReduceLogSumExp", reduce_dispatch<ROp::LogSumExp>, 18},
  };
  for (const auto& op : ops) {
    ReduceFn fn = op.fn;
    r.add("", op.name, 1, op.axes_input_since - 1,
          [fn](const KernelInit& init) { return std::make_unique<ReduceKernel>(init, fn, false); });
    r.add("", op.name, op.axes_input_since, kMaxOpset,
          [fn](const KernelInit& init) { return std::make_unique<ReduceKernel>(init, fn, true); });
  }
  register_softmax(r);
  register_resize(r);
  register_index_ops(r);
}

}  // namespace ptq::kern
