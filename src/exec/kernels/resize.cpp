// Resize (opsets 10, 11-12, 13-17, 18+) and Upsample (7-8 scales attribute, 9 scales input).
// Every resized axis gets a table of taps (input index, weight) per output index, built from the
// coordinate transformation and the interpolation kernel exactly as the ONNX reference does it
// (ratio in (0, 1], edge-clamped neighbours, exclude_outside renormalization, antialias footprint).
// Nearest is one n-D gather (any dtype); linear and cubic are separable passes, one per resized
// axis (float32). Upsample and Resize-10 use the asymmetric transform with the "simple" nearest
// rounding (floor when upsampling, ceil when downsampling), as ONNX Runtime does.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "exec/kernels/families.h"
#include "exec/kernels/kernel_util.h"

namespace ptq::kern {

namespace {

constexpr int64_t kParallelMin = 1 << 15;

enum class Form { Upsample7, Upsample9, Resize10, Resize11 };  // where scales / sizes come from
enum class Mode { Nearest, Linear, Cubic };
enum class Coord { HalfPixel, HalfPixelSymmetric, PytorchHalfPixel, AlignCorners, Asymmetric, TfHalfPixelForNN, TfCrop };
enum class Round { PreferFloor, PreferCeil, Floor, Ceil, Simple };
enum class Policy { Stretch, NotLarger, NotSmaller };

struct Params {
  Form form = Form::Resize11;
  Mode mode = Mode::Nearest;
  Coord coord = Coord::HalfPixel;
  Round round = Round::PreferFloor;
  double cubic_a = -0.75;
  bool exclude_outside = false;
  bool antialias = false;
  float extrapolation = 0.f;
  Policy policy = Policy::Stretch;
  std::vector<int64_t> axes;      // opset 18; empty = all axes
  std::vector<float> attr_scales;  // Upsample-7
};

// One axis: sizes, the scale and the (float) output width the coordinate formulas use.
struct AxisSpec {
  int64_t in = 1, out = 1;
  double scale = 1, width = 1;
  float roi_start = 0, roi_end = 1;
};

// Taps of one axis: for output j, `taps` (index, weight) pairs; extrap[j] = use the extrapolation value.
struct AxisTaps {
  int64_t out = 0;
  int taps = 1;
  std::vector<int64_t> idx;
  std::vector<float> w;
  std::vector<uint8_t> extrap;
  bool identity = false;
};

template <typename E>
E parse_enum(const Node& node, const char* attr, const std::string& dflt,
             std::initializer_list<std::pair<const char*, E>> table) {
  std::string v = node.attr_string(attr, dflt);
  for (const auto& [name, e] : table)
    if (v == name) return e;
  unsupported("node {}: {} '{}' is not supported", node.label(), attr, v);
}

Params parse_params(const Node& node, Form form) {
  Params p;
  p.form = form;
  p.mode = parse_enum<Mode>(node, "mode", "nearest",
                            {{"nearest", Mode::Nearest}, {"linear", Mode::Linear}, {"bilinear", Mode::Linear},
                             {"cubic", Mode::Cubic}});
  if (form != Form::Resize11) {
    p.coord = Coord::Asymmetric;
    p.round = Round::Simple;
    if (form == Form::Upsample7) p.attr_scales = node.attr_floats("scales");
    if (p.mode == Mode::Cubic) unsupported("node {}: cubic mode needs Resize-11 or newer", node.label());
    return p;
  }
  p.coord = parse_enum<Coord>(node, "coordinate_transformation_mode", "half_pixel",
                              {{"half_pixel", Coord::HalfPixel},
                               {"half_pixel_symmetric", Coord::HalfPixelSymmetric},
                               {"pytorch_half_pixel", Coord::PytorchHalfPixel},
                               {"align_corners", Coord::AlignCorners},
                               {"asymmetric", Coord::Asymmetric},
                               {"tf_half_pixel_for_nn", Coord::TfHalfPixelForNN},
                               {"tf_crop_and_resize", Coord::TfCrop}});
  p.round = parse_enum<Round>(node, "nearest_mode", "round_prefer_floor",
                              {{"round_prefer_floor", Round::PreferFloor},
                               {"round_prefer_ceil", Round::PreferCeil},
                               {"floor", Round::Floor},
                               {"ceil", Round::Ceil}});
  p.policy = parse_enum<Policy>(node, "keep_aspect_ratio_policy", "stretch",
                                {{"stretch", Policy::Stretch},
                                 {"not_larger", Policy::NotLarger},
                                 {"not_smaller", Policy::NotSmaller}});
  p.cubic_a = node.attr_float("cubic_coeff_a", -0.75f);
  p.exclude_outside = node.attr_int("exclude_outside", 0) != 0;
  p.antialias = node.attr_int("antialias", 0) != 0 && p.mode != Mode::Nearest;
  p.extrapolation = node.attr_float("extrapolation_value", 0.f);
  p.axes = node.attr_ints("axes");
  return p;
}

std::vector<float> float_values(const Tensor& t) {
  Tensor f = t.to_float();
  const float* d = f.data<float>();
  return std::vector<float>(d, d + f.numel());
}

// Works out output sizes, scales and roi per axis from the inputs / attributes.
std::vector<AxisSpec> axis_specs(const KernelContext& ctx, const Params& p, const Shape& in_shape) {
  const Node& node = ctx.node;
  size_t r = in_shape.size();
  std::vector<AxisSpec> ax(r);
  for (size_t i = 0; i < r; ++i) ax[i].in = ax[i].out = in_shape[i];
  std::vector<float> scales, roi;
  std::vector<int64_t> sizes;
  auto nonempty = [&](size_t i) { return ctx.has_input(i) && ctx.in(i).numel() > 0; };
  if (p.form == Form::Upsample7) {
    scales = p.attr_scales;
  } else if (p.form != Form::Resize11) {
    scales = float_values(ctx.in(1));
  } else {
    if (nonempty(1)) roi = float_values(ctx.in(1));
    if (nonempty(2)) scales = float_values(ctx.in(2));
    if (nonempty(3)) sizes = int_values(ctx.in(3));
    if (!scales.empty() && !sizes.empty()) bad_input("node {}: give either scales or sizes, not both", node.label());
    if (scales.empty() && sizes.empty()) bad_input("node {}: needs scales or sizes", node.label());
  }
  // The axes the scales / sizes / roi entries refer to.
  std::vector<int64_t> axes;
  if (p.axes.empty()) {
    for (size_t i = 0; i < r; ++i) axes.push_back(static_cast<int64_t>(i));
  } else {
    for (int64_t a : p.axes) axes.push_back(normalize_axis(a, static_cast<int64_t>(r), node));
  }
  size_t na = axes.size();
  if (!scales.empty() && scales.size() != na)
    bad_input("node {}: {} scales for {} axes", node.label(), scales.size(), na);
  if (!sizes.empty() && sizes.size() != na) bad_input("node {}: {} sizes for {} axes", node.label(), sizes.size(), na);
  if (!roi.empty() && roi.size() != 2 * na) bad_input("node {}: roi has {} values for {} axes", node.label(), roi.size(), na);
  for (size_t k = 0; k < na; ++k) {
    AxisSpec& a = ax[axes[k]];
    if (!roi.empty()) {
      a.roi_start = roi[k];
      a.roi_end = roi[na + k];
    }
    if (!scales.empty()) {
      if (!(scales[k] > 0)) bad_input("node {}: scale {} must be positive", node.label(), scales[k]);
      a.scale = scales[k];
      a.width = static_cast<double>(scales[k] * static_cast<float>(a.in));
      a.out = static_cast<int64_t>(std::floor(a.scale * static_cast<double>(a.in)));
    } else {
      if (sizes[k] < 0) bad_input("node {}: negative output size {}", node.label(), sizes[k]);
      a.out = sizes[k];
    }
  }
  if (!sizes.empty()) {
    double common = 0;
    if (p.policy != Policy::Stretch) {
      for (size_t k = 0; k < na; ++k) {
        const AxisSpec& a = ax[axes[k]];
        double s = static_cast<double>(a.out) / static_cast<double>(a.in);
        if (k == 0 || (p.policy == Policy::NotLarger ? s < common : s > common)) common = s;
      }
    }
    for (size_t k = 0; k < na; ++k) {
      AxisSpec& a = ax[axes[k]];
      if (a.in == 0) bad_input("node {}: cannot resize an empty axis to a size", node.label());
      if (p.policy == Policy::Stretch) {
        a.scale = static_cast<double>(a.out) / static_cast<double>(a.in);
      } else {
        a.scale = common;
        a.out = static_cast<int64_t>(common * static_cast<double>(a.in) + 0.5);
      }
      a.width = a.scale * static_cast<double>(a.in);
    }
  }
  return ax;
}

// Source coordinate of output index j; sets `outside` for tf_crop_and_resize extrapolation.
double source_coord(const AxisSpec& a, Coord c, int64_t j, bool& outside) {
  double x = static_cast<double>(j);
  double in1 = static_cast<double>(a.in - 1);
  outside = false;
  switch (c) {
    case Coord::HalfPixel: return (x + 0.5) / a.scale - 0.5;
    case Coord::HalfPixelSymmetric: {
      double adjustment = static_cast<double>(a.out) / a.width;
      double offset = static_cast<double>(a.in) / 2 * (1 - adjustment);
      return offset + (x + 0.5) / a.scale - 0.5;
    }
    case Coord::PytorchHalfPixel: return a.width == 1 ? -0.5 : (x + 0.5) / a.scale - 0.5;
    case Coord::AlignCorners: return a.width == 1 ? 0.0 : x * in1 / (a.width - 1);
    case Coord::Asymmetric: return x / a.scale;
    case Coord::TfHalfPixelForNN: return (x + 0.5) / a.scale;
    case Coord::TfCrop: {
      double span = static_cast<double>(a.roi_end - a.roi_start);
      double xo = a.width == 1 ? span * in1 / 2 : x * span * in1 / (a.width - 1);
      xo += static_cast<double>(a.roi_start * static_cast<float>(a.in - 1));
      outside = xo < 0 || xo > in1;
      return xo;
    }
  }
  return x;
}

double cubic_weight(double d, double A) {
  d = std::fabs(d);
  if (d <= 1) return ((A + 2) * d - (A + 3)) * d * d + 1;
  if (d < 2) return ((A * d - 5 * A) * d + 8 * A) * d - 4 * A;
  return 0;
}

AxisTaps build_taps(const AxisSpec& a, const Params& p) {
  AxisTaps t;
  t.out = a.out;
  t.extrap.assign(static_cast<size_t>(a.out), 0);
  int64_t start = 0;
  double ks = 1;  // kernel scale (antialias when downsampling)
  if (p.mode != Mode::Nearest) {
    if (p.antialias && a.scale < 1) ks = a.scale;
    start = static_cast<int64_t>(std::floor((p.mode == Mode::Linear ? -1.0 : -2.0) / ks)) + 1;
    t.taps = static_cast<int>(2 - 2 * start);
  }
  bool normalize = p.exclude_outside || ks != 1;
  t.idx.resize(static_cast<size_t>(a.out * t.taps));
  t.w.resize(t.idx.size());
  std::vector<double> w(static_cast<size_t>(t.taps));
  t.identity = a.out == a.in;
  for (int64_t j = 0; j < a.out; ++j) {
    bool outside = false;
    double xo = source_coord(a, p.coord, j, outside);
    int64_t* idx = &t.idx[static_cast<size_t>(j * t.taps)];
    float* wt = &t.w[static_cast<size_t>(j * t.taps)];
    if (outside) {
      t.extrap[j] = 1;
      t.identity = false;
      std::fill(idx, idx + t.taps, 0);
      std::fill(wt, wt + t.taps, 0.f);
      continue;
    }
    double fl = std::floor(xo);
    if (p.mode == Mode::Nearest) {
      double frac = xo - fl;
      double pick = fl;
      if (frac != 0) {
        switch (p.round) {
          case Round::PreferFloor: pick = frac <= 0.5 ? fl : fl + 1; break;
          case Round::PreferCeil: pick = frac < 0.5 ? fl : fl + 1; break;
          case Round::Floor: pick = fl; break;
          case Round::Ceil: pick = fl + 1; break;
          case Round::Simple: pick = a.scale < 1 ? std::ceil(xo) : std::trunc(xo); break;
        }
      }
      idx[0] = std::clamp(static_cast<int64_t>(pick), int64_t{0}, a.in - 1);
      wt[0] = 1.f;
      if (idx[0] != j) t.identity = false;
      continue;
    }
    // Reference convention: ratio in (0, 1] measured from the neighbour left of xo.
    int64_t base = static_cast<int64_t>(fl);
    double ratio = xo - fl;
    if (ratio == 0) {
      base -= 1;
      ratio = 1;
    }
    double sum = 0;
    for (int k = 0; k < t.taps; ++k) {
      double d = (static_cast<double>(start + k) - ratio) * ks;
      double wk = p.mode == Mode::Linear ? std::max(0.0, 1 - std::fabs(d)) : cubic_weight(d, p.cubic_a);
      int64_t src = base + start + k;
      if (p.exclude_outside && (src < 0 || src >= a.in)) wk = 0;
      w[k] = wk;
      sum += wk;
      idx[k] = std::clamp(src, int64_t{0}, a.in - 1);
    }
    for (int k = 0; k < t.taps; ++k) {
      wt[k] = static_cast<float>(normalize ? w[k] / sum : w[k]);
      if (wt[k] != 0 && (idx[k] != j || wt[k] != 1.f)) t.identity = false;
    }
  }
  return t;
}

// ---------------------------------------------------------------- nearest: one n-D gather

// Output rows (all dims but the last) are processed in blocks; a row whose source row equals the
// previous row's (upsampling) is a copy of that output row.
template <typename T>
void nearest_gather(const T* x, T* y, const Shape& in_shape, const std::vector<AxisTaps>& taps, T ev) {
  size_t r = in_shape.size();
  auto in_st = strides_of(in_shape);
  const AxisTaps& tl = taps[r - 1];
  int64_t last = tl.out;
  int64_t rows = 1;
  for (size_t d = 0; d + 1 < r; ++d) rows *= taps[d].out;
  bool last_extrap = std::any_of(tl.extrap.begin(), tl.extrap.end(), [](uint8_t e) { return e != 0; });
  const int64_t* li = tl.idx.data();
  // Source offset of an output row, or -1 when an outer axis extrapolates.
  auto row_offset = [&](int64_t row) {
    int64_t off = 0;
    for (size_t d = r - 1; d-- > 0;) {
      int64_t c = row % taps[d].out;
      row /= taps[d].out;
      if (taps[d].extrap[c]) return int64_t{-1};
      off += taps[d].idx[c] * in_st[d];
    }
    return off;
  };
  constexpr int64_t kRowsPerBlock = 16;
  int64_t blocks = (rows + kRowsPerBlock - 1) / kRowsPerBlock;
#pragma omp parallel for schedule(static) if (rows * last > kParallelMin && blocks > 1)
  for (int64_t blk = 0; blk < blocks; ++blk) {
    int64_t prev = -2;
    for (int64_t row = blk * kRowsPerBlock; row < std::min(rows, (blk + 1) * kRowsPerBlock); ++row) {
      int64_t off = row_offset(row);
      T* yr = y + row * last;
      if (off == prev) {
        std::copy(yr - last, yr, yr);
      } else if (off < 0) {
        std::fill(yr, yr + last, ev);
      } else if (!last_extrap) {
        const T* xr = x + off;
        for (int64_t j = 0; j < last; ++j) yr[j] = xr[li[j]];
      } else {
        const T* xr = x + off;
        for (int64_t j = 0; j < last; ++j) yr[j] = tl.extrap[j] ? ev : xr[li[j]];
      }
      prev = off;
    }
  }
}

// ---------------------------------------------------------------- linear / cubic: one pass per axis

// x viewed as [outer, in_len, inner] -> y as [outer, taps.out, inner].
void interp_pass(const float* x, float* y, int64_t outer, int64_t in_len, int64_t inner, const AxisTaps& t, float ev) {
  int64_t out_len = t.out;
  int T = t.taps;
  bool par = outer * out_len * inner * T > kParallelMin;
  if (inner == 1) {
#pragma omp parallel for schedule(static) if (par && outer > 1)
    for (int64_t o = 0; o < outer; ++o) {
      const float* xr = x + o * in_len;
      float* yr = y + o * out_len;
      for (int64_t j = 0; j < out_len; ++j) {
        const int64_t* idx = &t.idx[static_cast<size_t>(j * T)];
        const float* w = &t.w[static_cast<size_t>(j * T)];
        float s = 0;
        for (int k = 0; k < T; ++k) s += w[k] * xr[idx[k]];
        yr[j] = t.extrap[j] ? ev : s;
      }
    }
    return;
  }
#pragma omp parallel for schedule(static) if (par && outer * out_len > 1)
  for (int64_t oj = 0; oj < outer * out_len; ++oj) {
    int64_t o = oj / out_len, j = oj % out_len;
    float* yr = y + oj * inner;
    if (t.extrap[j]) {
      std::fill(yr, yr + inner, ev);
      continue;
    }
    const int64_t* idx = &t.idx[static_cast<size_t>(j * T)];
    const float* w = &t.w[static_cast<size_t>(j * T)];
    const float* x0 = x + (o * in_len + idx[0]) * inner;
    float w0 = w[0];
    for (int64_t k = 0; k < inner; ++k) yr[k] = w0 * x0[k];
    for (int tap = 1; tap < T; ++tap) {
      if (w[tap] == 0) continue;
      const float* xt = x + (o * in_len + idx[tap]) * inner;
      float wt = w[tap];
      for (int64_t k = 0; k < inner; ++k) yr[k] += wt * xt[k];
    }
  }
}

Tensor interpolate(const Tensor& x, const std::vector<AxisTaps>& taps, float ev) {
  Tensor cur = x;
  Shape shape = x.shape();
  for (size_t d = shape.size(); d-- > 0;) {
    if (taps[d].identity) continue;
    int64_t outer = 1, inner = 1;
    for (size_t i = 0; i < d; ++i) outer *= shape[i];
    for (size_t i = d + 1; i < shape.size(); ++i) inner *= shape[i];
    int64_t in_len = shape[d];
    shape[d] = taps[d].out;
    Tensor next(DType::Float32, shape);
    if (next.numel() > 0) interp_pass(cur.data<float>(), next.data<float>(), outer, in_len, inner, taps[d], ev);
    cur = next;
  }
  return cur;
}

class ResizeKernel : public Kernel {
 public:
  ResizeKernel(const KernelInit& init, Form form) : p_(parse_params(init.node, form)) {}

  void run(KernelContext& ctx) override {
    const Tensor& x = ctx.in(0);
    const Shape& s = x.shape();
    std::vector<AxisSpec> ax = axis_specs(ctx, p_, s);
    Shape out_shape;
    std::vector<AxisTaps> taps;
    bool identity = true;
    for (const AxisSpec& a : ax) {
      out_shape.push_back(a.out);
      taps.push_back(build_taps(a, p_));
      identity &= taps.back().identity;
    }
    if (identity) {  // every axis maps each output to the same input: same values
      ctx.outputs[0] = x;
      return;
    }
    if (p_.mode != Mode::Nearest) {
      if (x.dtype() != DType::Float32)
        unsupported("node {}: {} interpolation of {} is not supported", ctx.node.label(),
                    p_.mode == Mode::Linear ? "linear" : "cubic", dtype_name(x.dtype()));
      if (x.numel() == 0) {
        ctx.outputs[0] = Tensor(x.dtype(), out_shape);
        return;
      }
      ctx.outputs[0] = interpolate(x, taps, p_.extrapolation);
      return;
    }
    Tensor y(x.dtype(), out_shape);
    if (y.numel() > 0) {
      if (x.numel() == 0) bad_input("node {}: cannot resize an empty tensor to a non-empty one", ctx.node.label());
      float ev = p_.extrapolation;
      auto go = [&](auto tag) {
        using T = decltype(tag);
        nearest_gather<T>(x.data<T>(), y.data<T>(), s, taps, static_cast<T>(ev));
      };
      switch (x.dtype()) {
        case DType::Float32: go(float{}); break;
        case DType::Float64: go(double{}); break;
        case DType::Int8: go(int8_t{}); break;
        case DType::UInt8: go(uint8_t{}); break;
        case DType::Int16: go(int16_t{}); break;
        case DType::UInt16: go(uint16_t{}); break;
        case DType::Int32: go(int32_t{}); break;
        case DType::UInt32: go(uint32_t{}); break;
        case DType::Int64: go(int64_t{}); break;
        case DType::UInt64: go(uint64_t{}); break;
        case DType::Bool: go(bool{}); break;
        default:
          unsupported("node {}: input type {} is not supported", ctx.node.label(), dtype_name(x.dtype()));
      }
    }
    ctx.outputs[0] = y;
  }

 private:
  Params p_;
};

KernelFactory factory(Form form) {
  return [form](const KernelInit& init) { return std::make_unique<ResizeKernel>(init, form); };
}

}  // namespace

void register_resize(KernelRegistry& r) {
  r.add("", "Upsample", 7, 8, factory(Form::Upsample7));
  r.add("", "Upsample", 9, 9, factory(Form::Upsample9));
  r.add("", "Resize", 10, 10, factory(Form::Resize10));
  r.add("", "Resize", 11, kMaxOpset, factory(Form::Resize11));
}

}  // namespace ptq::kern
