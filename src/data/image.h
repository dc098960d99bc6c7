// Image inputs: decoding (PNG via libpng, JPEG via libjpeg) and the preprocessing that turns a
// decoded image into a model input tensor (resize, channel order, layout, normalization).
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/tensor.h"
#include "onnx_io/model.h"

namespace ptq {

struct ImageOptions {
  enum class ResizeMode {
    Stretch,          // resize to WxH ignoring the aspect ratio
    Letterbox,        // fit inside WxH keeping the aspect ratio, centered, pad with pad_value
    ShorterSideCrop,  // scale the shorter side to `shorter_side`, then center-crop WxH
  };
  enum class Layout { Auto, NCHW, NHWC };
  enum class Color { Auto, RGB, BGR, Gray };

  // Target (width, height). Default: the model's declared H/W; when those are dynamic and no
  // resize is given, images keep their own size.
  std::optional<std::pair<int, int>> resize;
  ResizeMode mode = ResizeMode::Stretch;
  int shorter_side = 0;  // ShorterSideCrop: 0 = round(min(W,H) / 0.875), e.g. 256 for 224
  float pad_value = 114.f;  // Letterbox padding, in pixel units (0..255)
  Layout layout = Layout::Auto;  // Auto: NCHW if dim 1 is 1 or 3, else NHWC if the last dim is 1 or 3
  Color color = Color::Auto;     // Auto: Gray for 1-channel models, RGB for 3-channel ones
  // Float inputs get x = (pixel * scale - mean[c]) / std[c], c in the model's channel order;
  // mean/std hold 1 or C values (empty = 0 / 1). uint8 inputs get the raw (resized) pixels.
  float scale = 1.f / 255.f;
  std::vector<float> mean;
  std::vector<float> std;
};

// An 8-bit interleaved image: always 3 channels (RGB) after decoding; alpha is dropped and gray
// is expanded, like PIL's convert("RGB").
struct Image {
  int width = 0;
  int height = 0;
  int channels = 0;
  std::vector<uint8_t> pixels;  // height * width * channels
};

// Decodes PNG or JPEG (detected from the bytes, not the file name). Throws Error(BadInput) naming
// `what` for corrupt, truncated or unsupported images and for images over 2^27 pixels.
Image decode_image(const std::string& bytes, const std::string& what);
Image read_image(const std::string& path);

// How an image model input is laid out, resolved from the declaration and the options.
struct ImagePlan {
  bool nchw = true;
  int channels = 3;
  bool gray = false, bgr = false;
  int width = 0, height = 0;  // 0 = keep the image's own size
  DType dtype = DType::Float32;
};
// Throws Error(BadInput) naming the input when the model input cannot take images, and
// Error(Usage) for inconsistent options.
ImagePlan plan_image_input(const ValueInfo& input, const ImageOptions& opts);
// Resizes, converts and normalizes into a [1,C,H,W] / [1,H,W,C] tensor of plan.dtype.
Tensor image_to_tensor(const Image& img, const ImagePlan& plan, const ImageOptions& opts, const std::string& what);

// Bilinear resize (half-pixel centers, like cv2.INTER_LINEAR) of an interleaved float image.
std::vector<float> resize_bilinear(const std::vector<float>& src, int sw, int sh, int c, int dw, int dh);

}  // namespace ptq
