// Pooling: MaxPool (optional Indices), AveragePool, LpPool and their Global* forms, 1-D/2-D/3-D.
// float32 max/average pools run on oneDNN pooling when its semantics match ONNX; everything else
// (Indices output, LpPool, integer MaxPool, average pools whose ceil-mode windows overhang the
// explicit padding with count_include_pad) uses a direct loop with the ONNX rules:
//  - ceil_mode windows that start in the end padding are dropped (see window_geometry);
//  - count_include_pad divides by the window clipped to input + explicit pads (not the ceil overhang).
#include <cmath>
#include <limits>

#include "exec/kernels/conv_common.h"
#include "exec/kernels/dnnl_util.h"
#include "exec/kernels/kernel_util.h"
#include "exec/layout.h"

namespace ptq::kern {

using dnnl::memory;

namespace {

enum class PoolKind { Max, Avg, Lp };

struct PoolOpts {
  PoolKind kind = PoolKind::Max;
  bool count_include_pad = false;
  double p = 2;
  bool column_major = false;  // MaxPool storage_order=1 (Indices only)
};

// Valid kernel taps of one output position on one axis: taps [lo, hi) read the input; `incl` taps
// lie inside input + explicit pads (the count_include_pad divisor).
struct Taps {
  int64_t lo, hi, incl;
};

std::vector<Taps> axis_taps(const WindowAxis& ax) {
  std::vector<Taps> t(static_cast<size_t>(ax.out));
  auto ceil_div = [](int64_t a, int64_t b) { return a > 0 ? (a + b - 1) / b : 0; };
  for (int64_t o = 0; o < ax.out; ++o) {
    int64_t start = o * ax.stride - ax.pad_begin;
    int64_t lo = start < 0 ? ceil_div(-start, ax.dilation) : 0;
    int64_t hi = std::min(ax.kernel, ceil_div(ax.in - start, ax.dilation));
    int64_t incl = std::min(ax.kernel, ceil_div(ax.in + ax.pad_end - start, ax.dilation));
    t[static_cast<size_t>(o)] = {lo, std::max(lo, hi), incl};
  }
  return t;
}

// Direct pooling over N*C planes and up to 3 spatial axes (leading axes padded with size 1).
// Each output element is computed by one thread in a fixed order: thread-count independent.
template <typename T, PoolKind K, bool kIndices>
void pool_direct_impl(const T* x, T* y, int64_t* indices, int64_t planes, std::vector<WindowAxis> axes,
                      const PoolOpts& o) {
  while (axes.size() < 3) axes.insert(axes.begin(), WindowAxis{});
  const std::vector<Taps> taps[3] = {axis_taps(axes[0]), axis_taps(axes[1]), axis_taps(axes[2])};
  const WindowAxis &a0 = axes[0], &a1 = axes[1], &a2 = axes[2];
  const int64_t in_sp = a0.in * a1.in * a2.in, out_sp = a0.out * a1.out * a2.out;
  const int64_t work = planes * out_sp * a0.kernel * a1.kernel * a2.kernel;
  const bool col = o.column_major, incl = o.count_include_pad;
  const double p = o.p;
#pragma omp parallel for schedule(static) if (work > 65536)
  for (int64_t plane = 0; plane < planes; ++plane) {
    const T* xp = x + plane * in_sp;
    int64_t yi = plane * out_sp;
    for (int64_t o0 = 0; o0 < a0.out; ++o0) {
      const Taps t0 = taps[0][static_cast<size_t>(o0)];
      const int64_t s0 = o0 * a0.stride - a0.pad_begin;
      for (int64_t o1 = 0; o1 < a1.out; ++o1) {
        const Taps t1 = taps[1][static_cast<size_t>(o1)];
        const int64_t s1 = o1 * a1.stride - a1.pad_begin;
        for (int64_t o2 = 0; o2 < a2.out; ++o2, ++yi) {
          const Taps t2 = taps[2][static_cast<size_t>(o2)];
          const int64_t s2 = o2 * a2.stride - a2.pad_begin;
          double acc = 0;
          T best = std::numeric_limits<T>::lowest();
          int64_t best_at = 0;
          for (int64_t k0 = t0.lo; k0 < t0.hi; ++k0) {
            const int64_t i0 = s0 + k0 * a0.dilation;
            for (int64_t k1 = t1.lo; k1 < t1.hi; ++k1) {
              const int64_t i1 = s1 + k1 * a1.dilation;
              const T* row = xp + (i0 * a1.in + i1) * a2.in + s2;
              for (int64_t k2 = t2.lo; k2 < t2.hi; ++k2) {
                const T v = row[k2 * a2.dilation];
                if constexpr (K == PoolKind::Max) {
                  if constexpr (kIndices) {
                    if (v > best) {
                      best = v;
                      const int64_t i2 = s2 + k2 * a2.dilation;
                      best_at = col ? i0 + a0.in * (i1 + a1.in * i2) : (i0 * a1.in + i1) * a2.in + i2;
                    }
                  } else {
                    best = v > best ? v : best;
                  }
                } else if constexpr (K == PoolKind::Avg) {
                  acc += static_cast<double>(v);
                } else {
                  const double a = std::fabs(static_cast<double>(v));
                  acc += p == 2 ? a * a : std::pow(a, p);
                }
              }
            }
          }
          if constexpr (K == PoolKind::Max) {
            y[yi] = best;
            if constexpr (kIndices) indices[yi] = plane * in_sp + best_at;
          } else if constexpr (K == PoolKind::Avg) {
            const int64_t n = incl ? t0.incl * t1.incl * t2.incl : (t0.hi - t0.lo) * (t1.hi - t1.lo) * (t2.hi - t2.lo);
            y[yi] = static_cast<T>(acc / static_cast<double>(n));
          } else {
            y[yi] = static_cast<T>(p == 2 ? std::sqrt(acc) : std::pow(acc, 1.0 / p));
          }
        }
      }
    }
  }
}

template <typename T>
void pool_direct(const T* x, T* y, int64_t* indices, int64_t planes, const std::vector<WindowAxis>& axes,
                 const PoolOpts& o) {
  switch (o.kind) {
    case PoolKind::Max:
      if (indices) return pool_direct_impl<T, PoolKind::Max, true>(x, y, indices, planes, axes, o);
      return pool_direct_impl<T, PoolKind::Max, false>(x, y, nullptr, planes, axes, o);
    case PoolKind::Avg:
      return pool_direct_impl<T, PoolKind::Avg, false>(x, y, nullptr, planes, axes, o);
    case PoolKind::Lp:
      return pool_direct_impl<T, PoolKind::Lp, false>(x, y, nullptr, planes, axes, o);
  }
}

// oneDNN pooling on plain float tensors; ok == false when oneDNN has no implementation (cached
// too, so the direct loop is chosen without retrying every run).
// Tensors are pooled in the layout they come in (plain or channels-last): oneDNN has jit pooling
// for both, and measured reorders to a channel-blocked layout around it cost more than they save.
struct DnnlPoolPlan {
  bool ok = false;
  dnnl::primitive prim;
  memory src, dst;
};

class PoolKernel final : public Kernel {
 public:
  PoolKernel(const KernelInit& init, PoolKind kind, bool global) : global_(global) {
    const Node& node = init.node;
    opts_.kind = kind;
    if (!global) attrs_ = parse_window_attrs(node);
    opts_.count_include_pad = node.attr_int("count_include_pad", 0) != 0;
    opts_.column_major = node.attr_int("storage_order", 0) == 1;
    if (const Attribute* p = node.find_attr("p")) opts_.p = p->type == AttrType::Float ? p->f : static_cast<double>(p->i);
    if (kind == PoolKind::Lp && !(opts_.p > 0)) bad_input("node {}: p must be > 0", node.label());
    want_indices_ = node.outputs.size() > 1 && !node.outputs[1].empty();
    if (want_indices_ && kind != PoolKind::Max) bad_input("node {}: only MaxPool has an Indices output", node.label());
  }

  LayoutPolicy layout_policy() const override { return LayoutPolicy::ConvLike; }

  void run(KernelContext& ctx) override {
    // oneDNN pools channels-last tensors in their layout (when the output must be plain the
    // executor converts it: the output is smaller than the input); everything else works on plain.
    bool cl = ctx.in(0).layout() == Layout::ChannelsLast && !global_ && !want_indices_ && opts_.kind != PoolKind::Lp;
    const Tensor x = cl ? ctx.in(0) : to_plain(ctx.in(0), ctx.threads);
    const Shape& xs = x.shape();
    if (xs.size() < 3) bad_input("pooling input must have rank >= 3, got {}", shape_str(xs));
    std::vector<WindowAxis> axes;
    if (global_) {
      for (size_t i = 2; i < xs.size(); ++i) {
        WindowAxis ax;
        ax.in = ax.kernel = xs[i];
        axes.push_back(ax);
      }
    } else {
      axes = window_geometry(attrs_, xs, attrs_.kernel_shape, ctx.node);
    }
    Shape ys{xs[0], xs[1]};
    for (const auto& ax : axes) ys.push_back(ax.out);
    Tensor y = Tensor(x.dtype(), ys).with_layout(x.layout());
    Tensor idx;
    if (want_indices_) idx = Tensor(DType::Int64, ys);
    int64_t* ip = want_indices_ ? idx.data<int64_t>() : nullptr;
    const int64_t planes = xs[0] * xs[1];
    if (y.numel() > 0 && x.numel() > 0) {
      switch (x.dtype()) {
        case DType::Float32:
          if (!global_ && !want_indices_ && run_dnnl(x, y, axes)) break;
          if (cl) {  // no oneDNN implementation for this case: pool the plain tensors
            ctx.outputs[0] = Tensor();
            KernelContext plain{ctx.node, {}, {}, ctx.scope, ctx.threads};
            Tensor xp = to_plain(x, ctx.threads);
            plain.inputs = {&xp};
            plain.outputs.resize(ctx.outputs.size());
            run(plain);
            ctx.outputs = std::move(plain.outputs);
            return;
          }
          pool_direct(x.data<float>(), y.data<float>(), ip, planes, axes, opts_);
          break;
        case DType::UInt8:
        case DType::Int8:
          if (opts_.kind != PoolKind::Max) unsupported("only MaxPool supports {} input", dtype_name(x.dtype()));
          if (x.dtype() == DType::UInt8)
            pool_direct(x.data<uint8_t>(), y.data<uint8_t>(), ip, planes, axes, opts_);
          else
            pool_direct(x.data<int8_t>(), y.data<int8_t>(), ip, planes, axes, opts_);
          break;
        default:
          unsupported("pooling does not support {} input", dtype_name(x.dtype()));
      }
    }
    ctx.outputs[0] = y;
    if (want_indices_) ctx.outputs[1] = idx;
  }

 private:
  // Runs oneDNN pooling when it matches ONNX semantics; false when the direct loop must be used.
  bool run_dnnl(const Tensor& x, Tensor& y, const std::vector<WindowAxis>& axes) {
    if (opts_.kind == PoolKind::Lp) return false;
    bool include_pad = opts_.kind == PoolKind::Avg && opts_.count_include_pad;
    for (const auto& ax : axes)  // oneDNN would count the ceil-mode overhang as padding
      if (include_pad && ax.reach_end() > ax.pad_end) return false;
    int64_t window = 1;
    for (const auto& ax : axes) window *= ax.kernel;
    SerialIfSmall serial(y.numel() * window, y.numel());  // created and run single-threaded when small
    Shape key = x.shape();
    key.push_back(static_cast<int64_t>(x.layout()));
    DnnlPoolPlan& plan = plans_.get(key, [&] { return make_plan(x.shape(), y.shape(), axes, include_pad, x.layout()); });
    if (!plan.ok) return false;
    try {
      plan.src.set_data_handle(const_cast<float*>(x.data<float>()));  // only read
      plan.dst.set_data_handle(y.data<float>());
      plan.prim.execute(env_.stream, {{DNNL_ARG_SRC, plan.src}, {DNNL_ARG_DST, plan.dst}});
      env_.stream.wait();
    } catch (const dnnl::error& e) {
      rethrow_dnnl("pooling", e);
    }
    return true;
  }

  std::unique_ptr<DnnlPoolPlan> make_plan(const Shape& xs, const Shape& ys, const std::vector<WindowAxis>& axes,
                                          bool include_pad, Layout layout) {
    auto plan = std::make_unique<DnnlPoolPlan>();
    memory::dims strides, kernel, dil, pl, pr;
    for (const auto& ax : axes) {
      strides.push_back(ax.stride);
      kernel.push_back(ax.kernel);
      dil.push_back(ax.dilation - 1);
      pl.push_back(ax.pad_begin);
      pr.push_back(std::max(ax.pad_end, ax.reach_end()));
    }
    auto alg = opts_.kind == PoolKind::Max ? dnnl::algorithm::pooling_max
               : include_pad               ? dnnl::algorithm::pooling_avg_include_padding
                                           : dnnl::algorithm::pooling_avg_exclude_padding;
    try {
      auto src = tensor_f32_desc(to_dnnl_dims(xs), layout), dst = tensor_f32_desc(to_dnnl_dims(ys), layout);
      dnnl::pooling_v2_forward::desc d(dnnl::prop_kind::forward_inference, alg, src, dst, strides, kernel, dil, pl, pr);
      dnnl::pooling_v2_forward::primitive_desc pd(d, env_.engine);
      plan->prim = dnnl::pooling_v2_forward(pd);
      plan->src = memory(src, env_.engine, DNNL_MEMORY_NONE);
      plan->dst = memory(dst, env_.engine, DNNL_MEMORY_NONE);
      plan->ok = true;
    } catch (const dnnl::error&) {
      // e.g. padding as large as the kernel: the direct loop handles it
    }
    return plan;
  }

  bool global_;
  bool want_indices_ = false;
  WindowAttrs attrs_;
  PoolOpts opts_;
  DnnlEnv env_;
  PlanCache<DnnlPoolPlan> plans_;
};

void add_pool(KernelRegistry& r, const char* op, const std::vector<int64_t>& versions, PoolKind kind, bool global) {
  auto f = [kind, global](const KernelInit& init) -> std::unique_ptr<Kernel> {
    return std::make_unique<PoolKernel>(init, kind, global);
  };
  // One implementation covers every version (later versions only add attributes or types).
  for (size_t i = 0; i < versions.size(); ++i)
    r.add("", op, versions[i], i + 1 < versions.size() ? versions[i + 1] - 1 : kMaxOpset, f);
}

}  // namespace

void register_pool(KernelRegistry& r) {
  add_pool(r, "MaxPool", {1, 8, 10, 11, 12}, PoolKind::Max, false);
  add_pool(r, "AveragePool", {1, 7, 10, 11, 19}, PoolKind::Avg, false);
  add_pool(r, "LpPool", {1, 2, 11, 18}, PoolKind::Lp, false);
  add_pool(r, "GlobalMaxPool", {1}, PoolKind::Max, true);
  add_pool(r, "GlobalAveragePool", {1}, PoolKind::Avg, true);
  add_pool(r, "GlobalLpPool", {1, 2}, PoolKind::Lp, true);
}

}  // namespace ptq::kern
