// Small oneDNN helpers shared by the conv / pool kernels.
//
// Ownership: every kernel owns its DnnlEnv (a CPU engine and an in-order stream; both are cheap
// handles) and its primitives. There is no process-wide mutable state here; oneDNN itself keeps its
// primitive cache and JIT code. Primitives use OpenMP threads (the executor sets the count).
#pragma once
#include <oneapi/dnnl/dnnl.hpp>

#include <memory>
#include <utility>
#include <vector>

#include "core/tensor.h"

namespace ptq::kern {

struct DnnlEnv {
  dnnl::engine engine{dnnl::engine::kind::cpu, 0};
  dnnl::stream stream{engine};
};

dnnl::memory::dims to_dnnl_dims(const std::vector<int64_t>& v);
// f32 memory desc with a row-major layout of `dims`.
dnnl::memory::desc plain_f32_desc(const dnnl::memory::dims& dims);
// f32 memory desc with explicit element strides.
dnnl::memory::desc strided_f32_desc(const dnnl::memory::dims& dims, const dnnl::memory::dims& strides);
// f32 memory desc that lets the primitive choose the layout.
dnnl::memory::desc any_f32_desc(const dnnl::memory::dims& dims);
// f32 memory desc of (N, C, spatial...) dims stored channels-last (nwc / nhwc / ndhwc).
dnnl::memory::desc channels_last_f32_desc(const dnnl::memory::dims& dims);
// The desc of a tensor as it is stored: plain row-major or channels-last (core/tensor.h Layout).
dnnl::memory::desc tensor_f32_desc(const dnnl::memory::dims& dims, Layout layout);
// The implementation oneDNN picked is its slow reference or plain-gemm fallback.
bool is_slow_impl(const char* impl_info);

// Rethrows a dnnl::error as ptq::Error: Unsupported when oneDNN has no implementation, Internal
// otherwise. `what` names the operation.
[[noreturn]] void rethrow_dnnl(const char* what, const dnnl::error& e);

// A forward primitive with src, weights, optional bias and dst (convolution or deconvolution) bound
// to plain row-major float tensors. src and dst are reordered around the primitive when it chose
// another layout (measured: cheap compared with plain-layout primitives, which fall back to slow
// paths); weights are reordered by set_weights, once when they are constant.
// Not reentrant: one plan serves one executor, which runs its nodes one at a time.
class DnnlWeightedPlan {
 public:
  struct Descs {
    dnnl::memory::desc src, weights, bias, dst;  // chosen by the primitive (bias empty if none)
    dnnl::memory::desc src_plain, weights_plain, dst_plain;
  };
  DnnlWeightedPlan(const DnnlEnv& env, dnnl::primitive prim, const Descs& d);

  // Brings plain weights into the primitive's layout. When no reorder is needed the pointer is used
  // as is, so it must stay valid while run() uses it (constant tensors are kept by the kernel).
  void set_weights(const float* w);
  // Computes y (plain layout) from x; bias may be nullptr when the primitive has none.
  void run(const float* x, const float* bias, float* y);

 private:
  dnnl::engine eng_;
  dnnl::stream strm_;
  dnnl::primitive prim_;
  Descs d_;
  bool src_reorder_, wei_reorder_, dst_reorder_;
  dnnl::reorder src_r_, wei_r_, dst_r_;
  dnnl::memory src_user_, wei_user_, dst_user_, bias_user_;
  dnnl::memory src_mem_, wei_mem_, dst_mem_;  // primitive-layout buffers (when reordered)
};

// Per-input-shape cache of plans: kernels learn shapes only at run time, so a plan is built on the
// first run with a shape and reused; the most recent kMax shapes are kept.
template <typename Plan>
class PlanCache {
 public:
  static constexpr size_t kMax = 4;
  template <typename Make>
  Plan& get(const std::vector<int64_t>& key, Make make) {
    for (size_t i = 0; i < plans_.size(); ++i)
      if (plans_[i].first == key) return *plans_[i].second;
    if (plans_.size() == kMax) plans_.erase(plans_.begin());
    plans_.emplace_back(key, make());
    return *plans_.back().second;
  }

 private:
  std::vector<std::pair<std::vector<int64_t>, std::unique_ptr<Plan>>> plans_;
};

}  // namespace ptq::kern
