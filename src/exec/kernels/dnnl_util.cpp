#include "exec/kernels/dnnl_util.h"

#include <string>

#include "core/error.h"

namespace ptq::kern {

using dnnl::memory;

memory::dims to_dnnl_dims(const std::vector<int64_t>& v) { return memory::dims(v.begin(), v.end()); }

memory::desc plain_f32_desc(const memory::dims& dims) {
  memory::dims strides(dims.size(), 1);
  for (size_t i = dims.size(); i-- > 1;) strides[i - 1] = strides[i] * dims[i];
  return memory::desc(dims, memory::data_type::f32, strides);
}

memory::desc strided_f32_desc(const memory::dims& dims, const memory::dims& strides) {
  return memory::desc(dims, memory::data_type::f32, strides);
}

memory::desc any_f32_desc(const memory::dims& dims) {
  return memory::desc(dims, memory::data_type::f32, memory::format_tag::any);
}

memory::desc channels_last_f32_desc(const memory::dims& dims) {
  memory::dims strides(dims.size(), 1);  // C innermost, then spatial from the last, then N
  memory::dim step = dims[1];
  for (size_t i = dims.size(); i-- > 2;) {
    strides[i] = step;
    step *= dims[i];
  }
  strides[0] = step;
  return memory::desc(dims, memory::data_type::f32, strides);
}

memory::desc tensor_f32_desc(const memory::dims& dims, Layout layout) {
  return layout == Layout::ChannelsLast ? channels_last_f32_desc(dims) : plain_f32_desc(dims);
}

bool is_slow_impl(const char* impl_info) {
  std::string s(impl_info);
  return s.rfind("ref", 0) == 0 || s.rfind("gemm", 0) == 0;  // e.g. "ref:any", "gemm:jit"
}

void rethrow_dnnl(const char* what, const dnnl::error& e) {
  if (e.status == dnnl_unimplemented) unsupported("{}: oneDNN has no implementation for this case ({})", what, e.what());
  internal_error("{}: oneDNN error {}: {}", what, static_cast<int>(e.status), e.what());
}

namespace {
dnnl::reorder make_reorder(const dnnl::engine& eng, const memory::desc& from, const memory::desc& to) {
  return dnnl::reorder(dnnl::reorder::primitive_desc(eng, from, eng, to));
}
}  // namespace

DnnlWeightedPlan::DnnlWeightedPlan(const DnnlEnv& env, dnnl::primitive prim, const Descs& d)
    : eng_(env.engine), strm_(env.stream), prim_(std::move(prim)), d_(d) {
  src_reorder_ = d.src != d.src_plain;
  wei_reorder_ = d.weights != d.weights_plain;
  dst_reorder_ = d.dst != d.dst_plain;
  src_user_ = memory(d.src_plain, eng_, DNNL_MEMORY_NONE);
  wei_user_ = memory(d.weights_plain, eng_, DNNL_MEMORY_NONE);
  dst_user_ = memory(d.dst_plain, eng_, DNNL_MEMORY_NONE);
  if (!d.bias.is_zero()) bias_user_ = memory(d.bias, eng_, DNNL_MEMORY_NONE);
  if (src_reorder_) {
    src_r_ = make_reorder(eng_, d.src_plain, d.src);
    src_mem_ = memory(d.src, eng_);
  }
  if (wei_reorder_) {
    wei_r_ = make_reorder(eng_, d.weights_plain, d.weights);
    wei_mem_ = memory(d.weights, eng_);
  }
  if (dst_reorder_) {
    dst_r_ = make_reorder(eng_, d.dst, d.dst_plain);
    dst_mem_ = memory(d.dst, eng_);
  }
}

void DnnlWeightedPlan::set_weights(const float* w) {
  wei_user_.set_data_handle(const_cast<float*>(w));  // only read
  if (!wei_reorder_) return;
  wei_r_.execute(strm_, {{DNNL_ARG_FROM, wei_user_}, {DNNL_ARG_TO, wei_mem_}});
  strm_.wait();
}

void DnnlWeightedPlan::run(const float* x, const float* bias, float* y) {
  src_user_.set_data_handle(const_cast<float*>(x));  // only read
  dst_user_.set_data_handle(y);
  if (src_reorder_) src_r_.execute(strm_, {{DNNL_ARG_FROM, src_user_}, {DNNL_ARG_TO, src_mem_}});
  std::unordered_map<int, memory> args{{DNNL_ARG_SRC, src_reorder_ ? src_mem_ : src_user_},
                                       {DNNL_ARG_WEIGHTS, wei_reorder_ ? wei_mem_ : wei_user_},
                                       {DNNL_ARG_DST, dst_reorder_ ? dst_mem_ : dst_user_}};
  if (bias_user_) {
    bias_user_.set_data_handle(const_cast<float*>(bias));
    args.emplace(DNNL_ARG_BIAS, bias_user_);
  }
  prim_.execute(strm_, args);
  if (dst_reorder_) dst_r_.execute(strm_, {{DNNL_ARG_FROM, dst_mem_}, {DNNL_ARG_TO, dst_user_}});
  strm_.wait();
}

}  // namespace ptq::kern
