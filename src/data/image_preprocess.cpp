// Image -> model input tensor: channel conversion, resize (stretch / letterbox / shorter-side +
// center crop), normalization and NCHW/NHWC layout.
#include <algorithm>
#include <cmath>

#include "data/image.h"

namespace ptq {

namespace {

int64_t dim_or(const ValueInfo& v, size_t i) { return v.shape[i].value >= 0 ? v.shape[i].value : -1; }  // -1 = dynamic

}  // namespace

ImagePlan plan_image_input(const ValueInfo& in, const ImageOptions& opts) {
  using L = ImageOptions::Layout;
  using C = ImageOptions::Color;
  ImagePlan p;
  if (in.dtype != DType::Float32 && in.dtype != DType::UInt8)
    bad_input("input '{}' is {}; image folders can only feed float32 or uint8 inputs", in.name, dtype_name(in.dtype));
  p.dtype = in.dtype;
  int64_t c_decl = -1, h_decl = -1, w_decl = -1;
  if (in.has_shape) {
    if (in.shape.size() != 4)
      bad_input("input '{}' has rank {}; image folders need a rank-4 input (NCHW or NHWC)", in.name, in.shape.size());
    int64_t n = dim_or(in, 0);
    if (n > 1) bad_input("input '{}' has a fixed batch of {}; image folders feed one image per sample", in.name, n);
    L layout = opts.layout;
    if (layout == L::Auto) {
      auto is_c = [](int64_t d) { return d == 1 || d == 3; };
      if (is_c(dim_or(in, 1))) layout = L::NCHW;
      else if (is_c(dim_or(in, 3))) layout = L::NHWC;
      else
        bad_input("input '{}': cannot tell the channel axis of its shape (neither dim 1 nor dim 3 is 1 or 3); "
                  "set the image layout explicitly", in.name);
    }
    p.nchw = layout == L::NCHW;
    c_decl = dim_or(in, p.nchw ? 1 : 3);
    h_decl = dim_or(in, p.nchw ? 2 : 1);
    w_decl = dim_or(in, p.nchw ? 3 : 2);
  } else {
    if (opts.layout == L::Auto)
      bad_input("input '{}' declares no shape; set the image layout (NCHW/NHWC) explicitly", in.name);
    p.nchw = opts.layout == L::NCHW;
  }
  if (c_decl != -1 && c_decl != 1 && c_decl != 3)
    bad_input("input '{}' has {} channels; image folders feed 1 (gray) or 3 (RGB/BGR) channels", in.name, c_decl);
  C color = opts.color;
  if (color == C::Auto) color = c_decl == 1 ? C::Gray : C::RGB;
  p.gray = color == C::Gray;
  p.bgr = color == C::BGR;
  p.channels = p.gray ? 1 : 3;
  if (c_decl != -1 && c_decl != p.channels)
    fail(ErrorKind::Usage, "input '{}' has {} channel(s) but the image color mode gives {}", in.name, c_decl, p.channels);

  if (opts.resize) {
    auto [w, h] = *opts.resize;
    if (w <= 0 || h <= 0 || w > (1 << 15) || h > (1 << 15)) fail(ErrorKind::Usage, "invalid image resize {}x{}", w, h);
    if ((w_decl != -1 && w_decl != w) || (h_decl != -1 && h_decl != h))
      fail(ErrorKind::Usage, "image resize {}x{} conflicts with input '{}' of size {}x{} (WxH)", w, h, in.name, w_decl, h_decl);
    p.width = w;
    p.height = h;
  } else if (w_decl != -1 && h_decl != -1) {
    p.width = static_cast<int>(w_decl);
    p.height = static_cast<int>(h_decl);
  } else if (w_decl != -1 || h_decl != -1) {
    bad_input("input '{}' fixes only one of height/width; set the image resize explicitly", in.name);
  }
  if (p.width == 0 && opts.mode != ImageOptions::ResizeMode::Stretch)
    fail(ErrorKind::Usage, "letterbox / center-crop resizing needs a target size: input '{}' has dynamic height/width", in.name);
  for (const auto* v : {&opts.mean, &opts.std})
    if (!v->empty() && v->size() != 1 && v->size() != static_cast<size_t>(p.channels))
      fail(ErrorKind::Usage, "image mean/std need 1 or {} values, got {}", p.channels, v->size());
  for (float s : opts.std)
    if (!(s != 0.f) || !std::isfinite(s)) fail(ErrorKind::Usage, "image std values must be finite and non-zero");
  if (p.dtype == DType::UInt8 && (!opts.mean.empty() || !opts.std.empty()))
    fail(ErrorKind::Usage, "input '{}' is uint8 (raw pixels); image mean/std cannot be applied", in.name);
  return p;
}

std::vector<float> resize_bilinear(const std::vector<float>& src, int sw, int sh, int c, int dw, int dh) {
  std::vector<float> dst(size_t(dw) * dh * c);
  // Precompute the horizontal taps once per column.
  std::vector<int> x0(dw), x1(dw);
  std::vector<float> wx(dw);
  auto tap = [](int d, int dsize, int ssize, int* i0, int* i1, float* w) {
    float f = (static_cast<float>(d) + 0.5f) * static_cast<float>(ssize) / static_cast<float>(dsize) - 0.5f;
    if (f < 0) f = 0;
    int i = static_cast<int>(f);
    if (i >= ssize - 1) {
      *i0 = *i1 = ssize - 1;
      *w = 0;
    } else {
      *i0 = i;
      *i1 = i + 1;
      *w = f - static_cast<float>(i);
    }
  };
  for (int x = 0; x < dw; ++x) tap(x, dw, sw, &x0[x], &x1[x], &wx[x]);
  for (int y = 0; y < dh; ++y) {
    int y0, y1;
    float wy;
    tap(y, dh, sh, &y0, &y1, &wy);
    const float* r0 = src.data() + size_t(y0) * sw * c;
    const float* r1 = src.data() + size_t(y1) * sw * c;
    float* out = dst.data() + size_t(y) * dw * c;
    for (int x = 0; x < dw; ++x)
      for (int k = 0; k < c; ++k) {
        float a = r0[x0[x] * c + k] + (r0[x1[x] * c + k] - r0[x0[x] * c + k]) * wx[x];
        float b = r1[x0[x] * c + k] + (r1[x1[x] * c + k] - r1[x0[x] * c + k]) * wx[x];
        out[size_t(x) * c + k] = a + (b - a) * wy;
      }
  }
  return dst;
}

namespace {

// Copies `src` (sw x sh) into a dw x dh canvas at (left, top), clipping; the rest gets `fill`.
std::vector<float> place(const std::vector<float>& src, int sw, int sh, int c, int dw, int dh, int left, int top, float fill) {
  std::vector<float> dst(size_t(dw) * dh * c, fill);
  for (int y = 0; y < dh; ++y) {
    int sy = y - top;
    if (sy < 0 || sy >= sh) continue;
    for (int x = 0; x < dw; ++x) {
      int sx = x - left;
      if (sx < 0 || sx >= sw) continue;
      for (int k = 0; k < c; ++k) dst[(size_t(y) * dw + x) * c + k] = src[(size_t(sy) * sw + sx) * c + k];
    }
  }
  return dst;
}

int round_pos(double v) { return std::max(1, static_cast<int>(std::lround(v))); }

}  // namespace

Tensor image_to_tensor(const Image& img, const ImagePlan& plan, const ImageOptions& opts, const std::string& what) {
  using M = ImageOptions::ResizeMode;
  const int c = plan.channels;
  int w = img.width, h = img.height;
  if (img.channels != 3 || img.pixels.size() != size_t(w) * h * 3) internal_error("{}: malformed decoded image", what);
  std::vector<float> px(size_t(w) * h * c);
  for (size_t i = 0, n = size_t(w) * h; i < n; ++i) {
    const uint8_t* s = &img.pixels[i * 3];
    if (plan.gray) {
      // Exact for gray sources (R == G == B), else ITU-R 601 luma like PIL's convert("L").
      px[i] = s[0] == s[1] && s[1] == s[2] ? s[0] : 0.299f * s[0] + 0.587f * s[1] + 0.114f * s[2];
    } else {
      px[i * 3 + 0] = s[plan.bgr ? 2 : 0];
      px[i * 3 + 1] = s[1];
      px[i * 3 + 2] = s[plan.bgr ? 0 : 2];
    }
  }
  int tw = plan.width ? plan.width : w, th = plan.height ? plan.height : h;
  if (opts.mode == M::Stretch || (w == tw && h == th)) {
    if (w != tw || h != th) px = resize_bilinear(px, w, h, c, tw, th);
  } else if (opts.mode == M::Letterbox) {
    double r = std::min(double(tw) / w, double(th) / h);
    int nw = std::min(tw, round_pos(w * r)), nh = std::min(th, round_pos(h * r));
    if (nw != w || nh != h) px = resize_bilinear(px, w, h, c, nw, nh);
    px = place(px, nw, nh, c, tw, th, (tw - nw) / 2, (th - nh) / 2, opts.pad_value);
  } else {
    int side = opts.shorter_side > 0 ? opts.shorter_side : round_pos(std::min(tw, th) / 0.875);
    double r = double(side) / std::min(w, h);
    int nw = std::max(tw, round_pos(w * r)), nh = std::max(th, round_pos(h * r));
    if (nw != w || nh != h) px = resize_bilinear(px, w, h, c, nw, nh);
    int left = static_cast<int>(std::lround((nw - tw) / 2.0)), top = static_cast<int>(std::lround((nh - th) / 2.0));
    px = place(px, nw, nh, c, tw, th, -left, -top, 0.f);
  }

  Shape shape = plan.nchw ? Shape{1, c, th, tw} : Shape{1, th, tw, c};
  Tensor t(plan.dtype, shape);
  const size_t hw = size_t(tw) * th;
  auto dst_index = [&](size_t i, int k) { return plan.nchw ? size_t(k) * hw + i : i * c + k; };
  if (plan.dtype == DType::UInt8) {
    uint8_t* d = t.data<uint8_t>();
    for (size_t i = 0; i < hw; ++i)
      for (int k = 0; k < c; ++k) d[dst_index(i, k)] = static_cast<uint8_t>(std::clamp(std::lround(px[i * c + k]), 0L, 255L));
  } else {
    float mean[3], stdv[3];
    for (int k = 0; k < c; ++k) {
      mean[k] = opts.mean.empty() ? 0.f : opts.mean[opts.mean.size() == 1 ? 0 : k];
      stdv[k] = opts.std.empty() ? 1.f : opts.std[opts.std.size() == 1 ? 0 : k];
    }
    float* d = t.data<float>();
    for (size_t i = 0; i < hw; ++i)
      for (int k = 0; k < c; ++k) d[dst_index(i, k)] = (px[i * c + k] * opts.scale - mean[k]) / stdv[k];
  }
  return t;
}

}  // namespace ptq
