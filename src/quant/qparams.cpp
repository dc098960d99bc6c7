#include "quant/qparams.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace ptq {

QParams compute_qparams(Range r, DType type, bool symmetric) {
  QRange q = qrange(type);
  float lo = std::min(r.lo, 0.0f), hi = std::max(r.hi, 0.0f);
  QParams p;
  if (symmetric) {
    float absmax = std::max(std::fabs(lo), std::fabs(hi));
    bool is_signed = q.lo < 0;
    if (is_signed) {
      p.scale = absmax / static_cast<float>(q.hi);
      p.zero_point = 0;
    } else {
      p.scale = 2 * absmax / static_cast<float>(q.hi - q.lo);
      p.zero_point = (q.lo + q.hi + 1) / 2;
    }
  } else {
    p.scale = (hi - lo) / static_cast<float>(q.hi - q.lo);
    if (p.scale > 0) {
      float zp = std::nearbyint(static_cast<float>(q.lo) - lo / p.scale);
      p.zero_point = static_cast<int32_t>(std::clamp(zp, static_cast<float>(q.lo), static_cast<float>(q.hi)));
    }
  }
  // A constant-zero tensor: any positive scale represents it exactly; 1.0 keeps the graph valid.
  if (!(p.scale > std::numeric_limits<float>::min())) {
    p.scale = 1.0f;
    p.zero_point = symmetric && q.lo >= 0 ? (q.lo + q.hi + 1) / 2 : std::clamp(0, q.lo, q.hi);
  }
  return p;
}

Tensor make_scale_tensor(const std::vector<QParams>& p, const Shape& param_shape) {
  Tensor t(DType::Float32, param_shape);
  for (size_t i = 0; i < p.size(); ++i) t.data<float>()[i] = p[i].scale;
  return t;
}

Tensor make_zero_point_tensor(const std::vector<QParams>& p, const Shape& param_shape, DType type) {
  Tensor t(type, param_shape);
  for (size_t i = 0; i < p.size(); ++i) {
    switch (dtype_size(type)) {
      case 1: static_cast<uint8_t*>(t.raw())[i] = static_cast<uint8_t>(p[i].zero_point); break;
      case 2: static_cast<uint16_t*>(t.raw())[i] = static_cast<uint16_t>(p[i].zero_point); break;
      default: static_cast<int32_t*>(t.raw())[i] = p[i].zero_point; break;
    }
  }
  return t;
}

namespace {

// Squared error of quantizing v with p (round to nearest, clamp to the type's range).
double quant_error(float v, const QParams& p, QRange q) {
  double level = std::clamp(std::nearbyint(static_cast<double>(v) / p.scale) + p.zero_point, static_cast<double>(q.lo),
                            static_cast<double>(q.hi));
  double e = static_cast<double>(v) - (level - p.zero_point) * p.scale;
  return e * e;
}

// Per group: the clip ratio whose params give the least squared error over the group's elements.
std::vector<QParams> search_params(const float* d, const std::vector<int64_t>& group_of, const std::vector<Range>& ranges,
                                   DType type, bool symmetric) {
  QRange q = qrange(type);
  size_t groups = ranges.size();
  std::vector<QParams> best(groups);
  std::vector<double> best_err(groups, std::numeric_limits<double>::infinity());
  for (float ratio : kClipRatios) {
    std::vector<QParams> p(groups);
    for (size_t g = 0; g < groups; ++g)
      p[g] = compute_qparams(std::isfinite(ranges[g].lo) ? Range{ranges[g].lo * ratio, ranges[g].hi * ratio} : Range{}, type, symmetric);
    std::vector<double> err(groups, 0.0);
    for (size_t i = 0; i < group_of.size(); ++i) {
      size_t g = static_cast<size_t>(group_of[i]);
      err[g] += quant_error(d[i], p[g], q);
    }
    for (size_t g = 0; g < groups; ++g)
      if (err[g] < best_err[g]) {  // strict: ties keep the larger (earlier) ratio
        best_err[g] = err[g];
        best[g] = p[g];
      }
  }
  return best;
}

}  // namespace

QuantizedTensor quantize_weight(const Tensor& w, QuantAxis ax, DType type, bool symmetric, bool mse_search) {
  Tensor wf = w.to_float();
  const float* d = wf.data<float>();
  Shape pshape;
  int64_t groups = 1, dim = 1, inner = 1, outer = 1, block = 0;
  if (ax.axis >= 0) {
    dim = w.dim(ax.axis);
    for (int64_t k = ax.axis + 1; k < w.rank(); ++k) inner *= w.dim(k);
    for (int64_t k = 0; k < ax.axis; ++k) outer *= w.dim(k);
    block = ax.block_size > 0 ? ax.block_size : 0;
    if (block) {
      pshape = w.shape();
      pshape[static_cast<size_t>(ax.axis)] = (dim + block - 1) / block;
      groups = shape_numel(pshape);
    } else {
      pshape = {dim};
      groups = dim;
    }
  }
  std::vector<Range> ranges(static_cast<size_t>(groups), Range{std::numeric_limits<float>::infinity(), -std::numeric_limits<float>::infinity()});
  std::vector<int64_t> group_of(mse_search ? static_cast<size_t>(w.numel()) : 0);
  for (int64_t i = 0; i < w.numel(); ++i) {
    int64_t g = 0;
    if (ax.axis >= 0) {
      int64_t a = (i / inner) % dim;
      if (block) {
        int64_t o = i / (inner * dim), in = i % inner;
        g = (o * ((dim + block - 1) / block) + a / block) * inner + in;
      } else {
        g = a;
      }
    }
    if (mse_search) group_of[static_cast<size_t>(i)] = g;
    Range& r = ranges[static_cast<size_t>(g)];
    r.lo = std::min(r.lo, d[i]);
    r.hi = std::max(r.hi, d[i]);
  }
  (void)outer;
  std::vector<QParams> params;
  if (mse_search) {
    params = search_params(d, group_of, ranges, type, symmetric);
  } else {
    params.reserve(ranges.size());
    for (const Range& r : ranges) params.push_back(compute_qparams(std::isfinite(r.lo) ? r : Range{}, type, symmetric));
  }
  QuantizedTensor qt;
  qt.axis = ax;
  qt.scale = make_scale_tensor(params, pshape);
  qt.zero_point = make_zero_point_tensor(params, pshape, type);
  qt.values = quantize_tensor(wf, qt.scale, qt.zero_point, ax, type);
  return qt;
}

}  // namespace ptq
