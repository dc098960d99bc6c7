// ArgMax / ArgMin (axis, keepdims, select_last_index), TopK (k attribute before opset 10, input
// after; largest, sorted; equal values keep the lower index first) and CumSum (exclusive, reverse,
// axis input). All work on the [outer, n, inner] view around the single axis.
#include <algorithm>
#include <numeric>
#include <type_traits>

#include "exec/kernels/families.h"
#include "exec/kernels/kernel_util.h"

namespace ptq::kern {

namespace {

constexpr int64_t kParallelMin = 1 << 16;
constexpr int64_t kChunk = 256;

struct AxisView {
  int64_t outer = 1, n = 1, inner = 1;
};

AxisView view_of(const Shape& s, int64_t axis) {
  AxisView v;
  for (size_t i = 0; i < s.size(); ++i) {
    int64_t a = static_cast<int64_t>(i);
    if (a < axis) v.outer *= s[i];
    else if (a == axis) v.n = s[i];
    else v.inner *= s[i];
  }
  return v;
}

// Calls f(T{}) with T the C++ type of a numeric dtype.
template <typename F>
void dispatch_numeric(DType t, const Node& node, F&& f) {
  switch (t) {
    case DType::Float32: return f(float{});
    case DType::Float64: return f(double{});
    case DType::Int32: return f(int32_t{});
    case DType::Int64: return f(int64_t{});
    case DType::Int8: return f(int8_t{});
    case DType::UInt8: return f(uint8_t{});
    case DType::Int16: return f(int16_t{});
    case DType::UInt16: return f(uint16_t{});
    case DType::UInt32: return f(uint32_t{});
    case DType::UInt64: return f(uint64_t{});
    default:
      unsupported("node {}: input type {} is not supported", node.label(), dtype_name(t));
  }
}

// ---------------------------------------------------------------- ArgMax / ArgMin

// True when v should replace the current best b.
template <bool is_max, typename T>
inline bool better(T v, T b, bool last) {
  if constexpr (is_max) return last ? v >= b : v > b;
  else return last ? v <= b : v < b;
}

template <bool is_max, typename T>
void arg_typed(const T* x, int64_t* y, const AxisView& v, bool last) {
  bool par = v.outer * v.n * v.inner > kParallelMin;
  if (v.inner == 1) {
#pragma omp parallel for schedule(static) if (par && v.outer > 1)
    for (int64_t o = 0; o < v.outer; ++o) {
      const T* xo = x + o * v.n;
      T best = xo[0];
      int64_t bi = 0;
      for (int64_t i = 1; i < v.n; ++i)
        if (better<is_max>(xo[i], best, last)) {
          best = xo[i];
          bi = i;
        }
      y[o] = bi;
    }
    return;
  }
  int64_t nchunk = (v.inner + kChunk - 1) / kChunk;
#pragma omp parallel for schedule(static) if (par && v.outer * nchunk > 1)
  for (int64_t t = 0; t < v.outer * nchunk; ++t) {
    int64_t o = t / nchunk, c0 = (t % nchunk) * kChunk, len = std::min(kChunk, v.inner - c0);
    const T* xo = x + o * v.n * v.inner + c0;
    T best[kChunk];
    int64_t* yo = y + o * v.inner + c0;
    for (int64_t k = 0; k < len; ++k) {
      best[k] = xo[k];
      yo[k] = 0;
    }
    for (int64_t r = 1; r < v.n; ++r)
      for (int64_t k = 0; k < len; ++k)
        if (better<is_max>(xo[r * v.inner + k], best[k], last)) {
          best[k] = xo[r * v.inner + k];
          yo[k] = r;
        }
  }
}

template <bool is_max>
class ArgKernel : public Kernel {
 public:
  explicit ArgKernel(const KernelInit& init)
      : axis_(init.node.attr_int("axis", 0)),
        keepdims_(init.node.attr_int("keepdims", 1) != 0),
        last_(init.node.attr_int("select_last_index", 0) != 0) {}

  void run(KernelContext& ctx) override {
    const Tensor& x = ctx.in(0);
    int64_t rank = x.rank();
    int64_t a = normalize_axis(axis_, rank, ctx.node);
    if (rank > 0 && x.dim(a) == 0) bad_input("node {}: cannot take the arg of an empty axis", ctx.node.label());
    Shape out_shape;
    for (int64_t i = 0; i < rank; ++i) {
      if (i != a) out_shape.push_back(x.dim(i));
      else if (keepdims_) out_shape.push_back(1);
    }
    Tensor y(DType::Int64, out_shape);
    AxisView v = view_of(x.shape(), a);
    if (y.numel() > 0)
      dispatch_numeric(x.dtype(), ctx.node, [&](auto tag) {
        using T = decltype(tag);
        arg_typed<is_max>(x.data<T>(), y.data<int64_t>(), v, last_);
      });
    ctx.outputs[0] = y;
  }

 private:
  int64_t axis_;
  bool keepdims_, last_;
};

// ---------------------------------------------------------------- TopK

template <typename T>
void topk_typed(const T* x, T* vals, int64_t* idx, const AxisView& v, int64_t k, bool largest) {
  int64_t slices = v.outer * v.inner;
  bool par = v.outer * v.n * v.inner > kParallelMin && slices > 1;
#pragma omp parallel if (par)
  {
    std::vector<int64_t> order(static_cast<size_t>(v.n));
    std::vector<T> col(static_cast<size_t>(v.n));
#pragma omp for schedule(static)
    for (int64_t s = 0; s < slices; ++s) {
      int64_t o = s / v.inner, i = s % v.inner;
      const T* xs = x + o * v.n * v.inner + i;
      for (int64_t j = 0; j < v.n; ++j) col[j] = xs[j * v.inner];
      std::iota(order.begin(), order.end(), int64_t{0});
      auto cmp = [&](int64_t a, int64_t b) {
        if (col[a] != col[b]) return largest ? col[a] > col[b] : col[a] < col[b];
        return a < b;
      };
      std::partial_sort(order.begin(), order.begin() + k, order.end(), cmp);
      T* vo = vals + o * k * v.inner + i;
      int64_t* io = idx + o * k * v.inner + i;
      for (int64_t j = 0; j < k; ++j) {
        vo[j * v.inner] = col[order[j]];
        io[j * v.inner] = order[j];
      }
    }
  }
}

class TopKKernel : public Kernel {
 public:
  explicit TopKKernel(const KernelInit& init)
      : k_input_(init.opset >= 10),
        k_attr_(init.node.attr_int("k", -1)),
        axis_(init.node.attr_int("axis", -1)),
        largest_(init.node.attr_int("largest", 1) != 0) {}

  void run(KernelContext& ctx) override {
    const Tensor& x = ctx.in(0);
    int64_t k = k_attr_;
    if (k_input_) {
      auto kv = int_values(ctx.in(1));
      if (kv.size() != 1) bad_input("node {}: K must hold one value, got {}", ctx.node.label(), kv.size());
      k = kv[0];
    }
    int64_t a = normalize_axis(axis_, x.rank(), ctx.node);
    AxisView v = view_of(x.shape(), a);
    if (k < 0 || k > v.n)
      bad_input("node {}: k = {} is out of range for an axis of size {}", ctx.node.label(), k, v.n);
    Shape out_shape = x.shape();
    if (!out_shape.empty()) out_shape[a] = k;
    Tensor vals(x.dtype(), out_shape), idx(DType::Int64, out_shape);
    if (vals.numel() > 0)
      dispatch_numeric(x.dtype(), ctx.node, [&](auto tag) {
        using T = decltype(tag);
        topk_typed(x.data<T>(), vals.data<T>(), idx.data<int64_t>(), v, k, largest_);
      });
    ctx.outputs[0] = vals;
    if (ctx.outputs.size() > 1) ctx.outputs[1] = idx;
  }

 private:
  bool k_input_;
  int64_t k_attr_, axis_;
  bool largest_;
};

// ---------------------------------------------------------------- CumSum

template <typename T>
void cumsum_typed(const T* x, T* y, const AxisView& v, bool exclusive, bool reverse) {
  bool par = v.outer * v.n * v.inner > kParallelMin;
  int64_t nchunk = (v.inner + kChunk - 1) / kChunk;
#pragma omp parallel for schedule(static) if (par && v.outer * nchunk > 1)
  for (int64_t t = 0; t < v.outer * nchunk; ++t) {
    int64_t o = t / nchunk, c0 = (t % nchunk) * kChunk, len = std::min(kChunk, v.inner - c0);
    T acc[kChunk] = {};
    for (int64_t step = 0; step < v.n; ++step) {
      int64_t r = reverse ? v.n - 1 - step : step;
      int64_t off = (o * v.n + r) * v.inner + c0;
      const T* xr = x + off;
      T* yr = y + off;
      if (exclusive) {
        for (int64_t k = 0; k < len; ++k) {
          yr[k] = acc[k];
          acc[k] += xr[k];
        }
      } else {
        for (int64_t k = 0; k < len; ++k) {
          acc[k] += xr[k];
          yr[k] = acc[k];
        }
      }
    }
  }
}

void cumsum(KernelContext& ctx) {
  const Tensor& x = ctx.in(0);
  auto av = int_values(ctx.in(1));
  if (av.size() != 1) bad_input("node {}: axis must hold one value, got {}", ctx.node.label(), av.size());
  int64_t a = normalize_axis(av[0], x.rank(), ctx.node);
  bool exclusive = ctx.node.attr_int("exclusive", 0) != 0, reverse = ctx.node.attr_int("reverse", 0) != 0;
  Tensor y(x.dtype(), x.shape());
  AxisView v = view_of(x.shape(), a);
  if (y.numel() > 0)
    dispatch_numeric(x.dtype(), ctx.node, [&](auto tag) {
      using T = decltype(tag);
      if constexpr (std::is_same_v<T, int8_t> || std::is_same_v<T, uint8_t> || std::is_same_v<T, int16_t> ||
                    std::is_same_v<T, uint16_t>)
        unsupported("node {}: input type {} is not supported", ctx.node.label(), dtype_name(x.dtype()));
      else
        cumsum_typed(x.data<T>(), y.data<T>(), v, exclusive, reverse);
    });
  ctx.outputs[0] = y;
}

}  // namespace

void register_index_ops(KernelRegistry& r) {
  r.add("", "ArgMax", 1, kMaxOpset, [](const KernelInit& init) { return std::make_unique<ArgKernel<true>>(init); });
  r.add("", "ArgMin", 1, kMaxOpset, [](const KernelInit& init) { return std::make_unique<ArgKernel<false>>(init); });
  r.add("", "TopK", 1, kMaxOpset, [](const KernelInit& init) { return std::make_unique<TopKKernel>(init); });
  r.add_fn("", "CumSum", 11, kMaxOpset, cumsum);
}

}  // namespace ptq::kern
