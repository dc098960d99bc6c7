// Shared machinery of the elementwise kernel family (elementwise*.cpp): dtype dispatch over type
// lists, a broadcast plan that walks the output in contiguous runs, and the unary/binary drivers
// that every elementwise op is built from (an op is just a functor handed to a driver).
#pragma once
#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <type_traits>
#include <utility>
#include <vector>

#include "exec/kernels/kernel_util.h"

namespace ptq::kern::ew {

// Loops over fewer elements stay serial; larger ones are split into blocks of kBlock elements
// that OpenMP distributes statically. Elementwise results never depend on the split.
constexpr int64_t kParallelMin = 65536;
constexpr int64_t kBlock = 16384;

template <class T>
struct Tag {
  using type = T;
};
template <class... Ts>
struct Types {};

using FloatTypes = Types<float, double>;
using NumericTypes = Types<float, double, int8_t, uint8_t, int16_t, uint16_t, int32_t, uint32_t, int64_t, uint64_t>;
using SignedTypes = Types<float, double, int8_t, int16_t, int32_t, int64_t>;
using EqualTypes =
    Types<float, double, int8_t, uint8_t, int16_t, uint16_t, int32_t, uint32_t, int64_t, uint64_t, bool>;
using BoolTypes = Types<bool>;

// Calls f(Tag<T>{}) for the T of the list whose DType is `t`; false when the list has none.
template <class... Ts, class F>
bool dispatch(Types<Ts...>, DType t, F&& f) {
  return ((t == DTypeOf<Ts>::value ? (f(Tag<Ts>{}), true) : false) || ...);
}

// A tensor whose contents the caller overwrites completely (skips the zero fill of Tensor()).
inline Tensor new_tensor(DType dtype, const Shape& shape) { return Tensor::uninitialized(dtype, shape); }

// body(begin, end) over [0, n): one call when small, else kBlock-sized blocks in parallel.
template <class F>
void parallel_range(int64_t n, int threads, F body) {
  if (threads <= 1 || n < kParallelMin) {
    if (n > 0) body(int64_t{0}, n);
    return;
  }
  int64_t blocks = (n + kBlock - 1) / kBlock;
#pragma omp parallel for schedule(static) num_threads(threads)
  for (int64_t b = 0; b < blocks; ++b) body(b * kBlock, std::min(n, (b + 1) * kBlock));
}

// Numpy broadcast of N inputs, reduced to "outer dims x one contiguous inner run": size-1 dims
// are dropped and adjacent dims merged whenever every input stays linear across them. Within a
// run each input either advances by one element (step 1) or repeats one element (step 0), so
// e.g. [N,C,H,W] + [1,C,1,1] becomes N*C runs of H*W elements against a scalar.
template <size_t N>
struct Bcast {
  Shape out_shape;
  int64_t numel = 0;
  int64_t inner = 1;
  std::array<int64_t, N> step{};
  std::vector<int64_t> dims;                    // outer dims, outermost first
  std::vector<std::array<int64_t, N>> strides;  // per outer dim, element stride of each input

  explicit Bcast(const std::array<const Shape*, N>& in) {
    out_shape = broadcast_shapes(std::vector<const Shape*>(in.begin(), in.end()));
    numel = shape_numel(out_shape);
    std::array<std::vector<int64_t>, N> st;
    for (size_t k = 0; k < N; ++k) st[k] = broadcast_strides(*in[k], out_shape);
    for (size_t i = 0; i < out_shape.size(); ++i) {
      int64_t d = out_shape[i];
      if (d == 1) continue;
      std::array<int64_t, N> cur;
      for (size_t k = 0; k < N; ++k) cur[k] = st[k][i];
      if (!dims.empty()) {
        bool merge = true;
        for (size_t k = 0; k < N; ++k) merge = merge && strides.back()[k] == cur[k] * d;
        if (merge) {
          dims.back() *= d;
          strides.back() = cur;
          continue;
        }
      }
      dims.push_back(d);
      strides.push_back(cur);
    }
    if (!dims.empty()) {
      inner = dims.back();
      step = strides.back();
      dims.pop_back();
      strides.pop_back();
    }
  }

  int64_t runs() const { return inner == 0 ? 0 : numel / inner; }

  // Calls f(out_offset, input_offsets, length) for runs [r0, r1).
  template <class F>
  void visit_runs(int64_t r0, int64_t r1, F& f) const {
    size_t nd = dims.size();
    std::vector<int64_t> idx(nd, 0);
    std::array<int64_t, N> off{};
    int64_t rem = r0;
    for (size_t d = nd; d-- > 0;) {
      idx[d] = rem % dims[d];
      rem /= dims[d];
      for (size_t k = 0; k < N; ++k) off[k] += idx[d] * strides[d][k];
    }
    for (int64_t r = r0; r < r1; ++r) {
      f(r * inner, off, inner);
      for (size_t d = nd; d-- > 0;) {
        ++idx[d];
        for (size_t k = 0; k < N; ++k) off[k] += strides[d][k];
        if (idx[d] < dims[d]) break;
        for (size_t k = 0; k < N; ++k) off[k] -= strides[d][k] * dims[d];
        idx[d] = 0;
      }
    }
  }

  // Calls f(out_offset, input_offsets, length) over pieces covering the whole output; pieces
  // are processed in parallel when the output is large.
  template <class F>
  void for_each_run(int threads, F f) const {
    int64_t nruns = runs();
    if (nruns == 0) return;
    if (threads <= 1 || numel < kParallelMin) {
      visit_runs(0, nruns, f);
      return;
    }
    if (inner >= kBlock) {  // long runs: split each run into blocks
      int64_t pieces = (inner + kBlock - 1) / kBlock;
#pragma omp parallel for schedule(static) num_threads(threads)
      for (int64_t it = 0; it < nruns * pieces; ++it) {
        int64_t r = it / pieces, lo = (it % pieces) * kBlock;
        auto piece = [&](int64_t o, std::array<int64_t, N> off, int64_t len) {
          for (size_t k = 0; k < N; ++k) off[k] += lo * step[k];
          f(o + lo, off, std::min(kBlock, len - lo));
        };
        visit_runs(r, r + 1, piece);
      }
    } else {  // short runs: group whole runs into blocks
      int64_t per = (kBlock + inner - 1) / inner;
      int64_t items = (nruns + per - 1) / per;
#pragma omp parallel for schedule(static) num_threads(threads)
      for (int64_t it = 0; it < items; ++it) visit_runs(it * per, std::min(nruns, (it + 1) * per), f);
    }
  }
};

// out = op(a, b) elementwise with broadcasting; R is the result element type. `reuse`, when given
// and already of the result shape and type, receives the result in place (it may be `a` itself:
// each element is read before it is written at the same offset).
template <class A, class B, class R, class Op>
Tensor binary_apply(const Tensor& a, const Tensor& b, const Op& op, int threads, Tensor* reuse = nullptr) {
  Bcast<2> bc({&a.shape(), &b.shape()});
  Tensor out = reuse && reuse->shape() == bc.out_shape && reuse->dtype() == DTypeOf<R>::value
                   ? *reuse
                   : new_tensor(DTypeOf<R>::value, bc.out_shape);
  const A* pa = a.data<A>();
  const B* pb = b.data<B>();
  R* po = out.data<R>();
  bool sa = bc.step[0] != 0, sb = bc.step[1] != 0;
  bc.for_each_run(threads, [&](int64_t o, const std::array<int64_t, 2>& off, int64_t len) {
    R* y = po + o;
    const A* x0 = pa + off[0];
    const B* x1 = pb + off[1];
    if (sa && sb) {
      for (int64_t i = 0; i < len; ++i) y[i] = static_cast<R>(op(x0[i], x1[i]));
    } else if (sa) {
      const B v = *x1;
      for (int64_t i = 0; i < len; ++i) y[i] = static_cast<R>(op(x0[i], v));
    } else if (sb) {
      const A v = *x0;
      for (int64_t i = 0; i < len; ++i) y[i] = static_cast<R>(op(v, x1[i]));
    } else {
      const R v = static_cast<R>(op(*x0, *x1));
      for (int64_t i = 0; i < len; ++i) y[i] = v;
    }
  });
  return out;
}

// out[i] = op(x[i]) into `out` (same element count; may be x itself for in-place updates).
template <class T, class R, class Op>
void unary_into(const Tensor& x, Tensor& out, const Op& op, int threads) {
  const T* in = x.data<T>();
  R* o = out.data<R>();
  parallel_range(x.numel(), threads, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) o[i] = static_cast<R>(op(in[i]));
  });
}

template <class T, class R, class Op>
Tensor unary_apply(const Tensor& x, const Op& op, int threads) {
  Tensor out = new_tensor(DTypeOf<R>::value, x.shape());
  unary_into<T, R>(x, out, op, threads);
  return out;
}

[[noreturn]] inline void unsupported_type(const KernelContext& ctx, DType t) {
  unsupported("{} does not support type {}", ctx.node.op_type, dtype_name(t));
}

inline void require_same_type(const KernelContext&, const Tensor& a, const Tensor& b) {
  if (a.dtype() != b.dtype())
    bad_input("input types differ ({} vs {})", dtype_name(a.dtype()), dtype_name(b.dtype()));
}

// Binary op with both inputs of one type T from List; the result is T, or bool when kBoolOut.
template <class List, bool kBoolOut, class Op>
class BinaryKernel : public Kernel {
 public:
  explicit BinaryKernel(Op op) : op_(std::move(op)) {}
  LayoutPolicy layout_policy() const override { return LayoutPolicy::Elementwise; }
  void run(KernelContext& ctx) override {
    const Tensor& a = ctx.in(0);
    const Tensor& b = ctx.in(1);
    require_same_type(ctx, a, b);
    bool ok = dispatch(List{}, a.dtype(), [&](auto tag) {
      using T = typename decltype(tag)::type;
      using R = std::conditional_t<kBoolOut, bool, T>;
      ctx.outputs[0] = binary_apply<T, T, R>(a, b, op_, ctx.threads);
    });
    if (!ok) unsupported_type(ctx, a.dtype());
  }

 private:
  Op op_;
};

// Registers a binary op for opsets [since, max].
template <class List, bool kBoolOut = false, class Op>
void add_binary(KernelRegistry& r, const char* op_type, int64_t since, Op op) {
  r.add("", op_type, since, kMaxOpset, [op](const KernelInit&) -> std::unique_ptr<Kernel> {
    return std::make_unique<BinaryKernel<List, kBoolOut, Op>>(op);
  });
}

// Sub-families, each in its own file; register_elementwise calls them all.
void register_unary(KernelRegistry& r);     // elementwise_unary.cpp: math, activations, Clip, IsNaN, IsInf, Not
void register_binary(KernelRegistry& r);    // elementwise_binary.cpp: arithmetic, Pow, Mod, variadic, PRelu
void register_logic(KernelRegistry& r);     // elementwise_logic.cpp: comparisons, And/Or/Xor, Where
void register_cast(KernelRegistry& r);      // elementwise_cast.cpp: Cast, CastLike, Identity, Dropout

}  // namespace ptq::kern::ew
