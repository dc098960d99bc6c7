// Softmax, LogSoftmax and Hardmax. Opsets 1-12 coerce the input to 2-D at `axis` (default 1) and
// normalize each row; opset 13+ normalizes along the single `axis` (default -1). Numerically stable
// (the row maximum is subtracted). The last-axis case is contiguous rows, parallel over rows; other
// axes are processed as [outer, n, inner] with the inner columns vectorized.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <type_traits>

#include "exec/kernels/families.h"
#include "exec/kernels/kernel_util.h"

namespace ptq::kern {

namespace {

constexpr int64_t kParallelMin = 1 << 15;
constexpr int64_t kChunk = 256;

enum class SmOp { Softmax, LogSoftmax, Hardmax };

// y[i] = exp(y[i]) for float32, written so GCC vectorizes it without -ffast-math: round-to-nearest
// by the 1.5*2^23 trick, a degree-7 polynomial on |r| <= ln2/2 (relative error ~1e-7), and 2^n built
// in the exponent bits. Under -ftrapping-math a float select feeding arithmetic blocks
// vectorization, so the clamp, the polynomial and the special cases are three separate loops over
// a small block. Results below ~1e-38 flush to 0; overflow gives inf; NaN stays NaN.
void exp_inplace(float* y, int64_t n) {
  constexpr float kLog2e = 1.44269504088896341f, kLn2Hi = 0.693145751953125f, kLn2Lo = 1.428606765330187e-06f;
  constexpr float kMagic = 12582912.0f;  // 1.5 * 2^23
  constexpr float kLo = -87.33654f, kHi = 88.37626f;
  constexpr int64_t B = 64;
  float xc[B], v[B];
  for (int64_t i0 = 0; i0 < n; i0 += B) {
    int64_t len = std::min(B, n - i0);
    float* yb = y + i0;
    for (int64_t j = 0; j < len; ++j) {
      float x = yb[j];
      x = x < kLo ? kLo : x;
      xc[j] = x > kHi ? kHi : x;
    }
    for (int64_t j = 0; j < len; ++j) {
      float x = xc[j];
      float t = (x * kLog2e + kMagic) - kMagic;  // round(x / ln2)
      float r = (x - t * kLn2Hi) - t * kLn2Lo;
      float p = 1.f / 5040.f;
      p = p * r + 1.f / 720.f;
      p = p * r + 1.f / 120.f;
      p = p * r + 1.f / 24.f;
      p = p * r + 1.f / 6.f;
      p = p * r + 0.5f;
      p = p * r + 1.f;
      p = p * r + 1.f;
      int32_t e = (static_cast<int32_t>(t) + 127) << 23;
      float scale;
      std::memcpy(&scale, &e, sizeof scale);
      v[j] = p * scale;
    }
    for (int64_t j = 0; j < len; ++j) {
      float x = yb[j];
      float r = v[j];
      r = x < kLo ? 0.f : r;
      r = x > kHi ? std::numeric_limits<float>::infinity() : r;
      yb[j] = x != x ? x : r;
    }
  }
}

void exp_inplace(double* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = std::exp(y[i]);
}

template <typename T>
T row_max(const T* x, int64_t n) {
  constexpr int L = 8;
  T acc[L];
  for (int j = 0; j < L; ++j) acc[j] = x[0];
  int64_t i = 0;
  for (; i + L <= n; i += L)
    for (int j = 0; j < L; ++j) acc[j] = x[i + j] > acc[j] ? x[i + j] : acc[j];
  for (; i < n; ++i) acc[0] = x[i] > acc[0] ? x[i] : acc[0];
  T m = acc[0];
  for (int j = 1; j < L; ++j) m = acc[j] > m ? acc[j] : m;
  return m;
}

template <typename T>
T row_sum(const T* x, int64_t n) {
  constexpr int L = 8;
  T acc[L] = {};
  int64_t i = 0;
  for (; i + L <= n; i += L)
    for (int j = 0; j < L; ++j) acc[j] += x[i + j];
  for (; i < n; ++i) acc[0] += x[i];
  T s = 0;
  for (int j = 0; j < L; ++j) s += acc[j];
  return s;
}

// One contiguous row of n > 0 elements.
template <SmOp op, typename T>
void row_kernel(const T* x, T* y, int64_t n) {
  if constexpr (op == SmOp::Hardmax) {
    int64_t best = 0;
    for (int64_t i = 1; i < n; ++i)
      if (x[i] > x[best]) best = i;
    std::fill(y, y + n, T(0));
    y[best] = T(1);
  } else {
    T m = row_max(x, n);
    for (int64_t i = 0; i < n; ++i) y[i] = x[i] - m;
    exp_inplace(y, n);
    T s = row_sum(y, n);
    if constexpr (op == SmOp::Softmax) {
      T inv = T(1) / s;
      for (int64_t i = 0; i < n; ++i) y[i] *= inv;
    } else {
      T ls = std::log(s);
      for (int64_t i = 0; i < n; ++i) y[i] = (x[i] - m) - ls;
    }
  }
}

// Columns [c0, c0+len) of one [n, inner] block: x and y point at column c0 of row 0.
template <SmOp op, typename T>
void column_kernel(const T* x, T* y, int64_t n, int64_t inner, int64_t len) {
  T m[kChunk], s[kChunk];
  if constexpr (op == SmOp::Hardmax) {
    int64_t bi[kChunk] = {};
    for (int64_t k = 0; k < len; ++k) m[k] = x[k];
    for (int64_t r = 1; r < n; ++r)
      for (int64_t k = 0; k < len; ++k)
        if (x[r * inner + k] > m[k]) {
          m[k] = x[r * inner + k];
          bi[k] = r;
        }
    for (int64_t r = 0; r < n; ++r)
      for (int64_t k = 0; k < len; ++k) y[r * inner + k] = bi[k] == r ? T(1) : T(0);
  } else {
    for (int64_t k = 0; k < len; ++k) {
      m[k] = x[k];
      s[k] = 0;
    }
    for (int64_t r = 1; r < n; ++r)
      for (int64_t k = 0; k < len; ++k) m[k] = x[r * inner + k] > m[k] ? x[r * inner + k] : m[k];
    for (int64_t r = 0; r < n; ++r) {
      T* yr = y + r * inner;
      for (int64_t k = 0; k < len; ++k) yr[k] = x[r * inner + k] - m[k];
      exp_inplace(yr, len);
      for (int64_t k = 0; k < len; ++k) s[k] += yr[k];
    }
    if constexpr (op == SmOp::Softmax) {
      for (int64_t k = 0; k < len; ++k) s[k] = T(1) / s[k];
      for (int64_t r = 0; r < n; ++r)
        for (int64_t k = 0; k < len; ++k) y[r * inner + k] *= s[k];
    } else {
      for (int64_t k = 0; k < len; ++k) s[k] = std::log(s[k]);
      for (int64_t r = 0; r < n; ++r)
        for (int64_t k = 0; k < len; ++k) y[r * inner + k] = (x[r * inner + k] - m[k]) - s[k];
    }
  }
}

template <SmOp op, typename T>
void softmax_typed(const Tensor& xt, Tensor& yt, int64_t outer, int64_t n, int64_t inner) {
  const T* x = xt.data<T>();
  T* y = yt.data<T>();
  if (outer * n * inner == 0) return;
  bool par = outer * n * inner > kParallelMin;
  if (inner == 1) {
#pragma omp parallel for schedule(static) if (par && outer > 1)
    for (int64_t o = 0; o < outer; ++o) row_kernel<op>(x + o * n, y + o * n, n);
    return;
  }
  int64_t nchunk = (inner + kChunk - 1) / kChunk;
#pragma omp parallel for schedule(static) if (par && outer * nchunk > 1)
  for (int64_t t = 0; t < outer * nchunk; ++t) {
    int64_t o = t / nchunk, c0 = (t % nchunk) * kChunk, len = std::min(kChunk, inner - c0);
    int64_t off = o * n * inner + c0;
    column_kernel<op>(x + off, y + off, n, inner, len);
  }
}

template <SmOp op>
class SoftmaxKernel : public Kernel {
 public:
  SoftmaxKernel(const KernelInit& init, bool legacy)
      : legacy_(legacy), axis_(init.node.attr_int("axis", legacy ? 1 : -1)) {}

  void run(KernelContext& ctx) override {
    const Tensor& x = ctx.in(0);
    const Shape& s = x.shape();
    int64_t rank = x.rank();
    int64_t a = rank == 0 ? 0 : normalize_axis(axis_, rank, ctx.node);
    int64_t outer = 1, n = 1, inner = 1;
    for (int64_t i = 0; i < rank; ++i) {
      if (i < a) outer *= s[i];
      else if (i == a || legacy_) n *= s[i];
      else inner *= s[i];
    }
    Tensor y(x.dtype(), s);
    switch (x.dtype()) {
      case DType::Float32: softmax_typed<op, float>(x, y, outer, n, inner); break;
      case DType::Float64: softmax_typed<op, double>(x, y, outer, n, inner); break;
      default:
        unsupported("node {}: input type {} is not supported", ctx.node.label(), dtype_name(x.dtype()));
    }
    ctx.outputs[0] = y;
  }

 private:
  bool legacy_;
  int64_t axis_;
};

template <SmOp op>
void add_op(KernelRegistry& r, const char* name) {
  r.add("", name, 1, 12, [](const KernelInit& init) { return std::make_unique<SoftmaxKernel<op>>(init, true); });
  r.add("", name, 13, kMaxOpset,
        [](const KernelInit& init) { return std::make_unique<SoftmaxKernel<op>>(init, false); });
}

}  // namespace

void register_softmax(KernelRegistry& r) {
  // Opsets 1-12: coerce to 2-D at `axis`; 13+: the single `axis`.
  add_op<SmOp::Softmax>(r, "Softmax");
  add_op<SmOp::LogSoftmax>(r, "LogSoftmax");
  add_op<SmOp::Hardmax>(r, "Hardmax");
}

}  // namespace ptq::kern
