#include "cli/image_options.h"

#include <cstdio>

#include "core/error.h"

namespace ptq::cli {

void add_image_options(CLI::App& app, ImageArgs& a) {
  const char* g = "Image inputs (calibration folders of .png/.jpg)";
  app.add_option("--resize", a.resize, "resize images to WxH (default: the model's input size)")->group(g);
  app.add_option("--resize-mode", a.mode, "how to resize")
      ->check(CLI::IsMember({"stretch", "letterbox", "shorter-side-crop"}))->group(g);
  app.add_option("--layout", a.layout, "tensor layout")->check(CLI::IsMember({"auto", "nchw", "nhwc"}))->group(g);
  app.add_option("--color", a.color, "channel order")->check(CLI::IsMember({"auto", "rgb", "bgr", "gray"}))->group(g);
  app.add_option("--scale", a.scale, "pixel multiplier before mean/std (default 1/255)")->group(g);
  app.add_option("--mean", a.mean, "per-channel mean subtracted after scaling")->delimiter(',')->group(g);
  app.add_option("--std", a.std, "per-channel std dividing after the mean")->delimiter(',')->group(g);
}

ImageOptions to_image_options(const ImageArgs& a) {
  ImageOptions o;
  if (!a.resize.empty()) {
    int w = 0, h = 0;
    char tail = 0;
    if (std::sscanf(a.resize.c_str(), "%dx%d%c", &w, &h, &tail) != 2 || w <= 0 || h <= 0 || w > 32768 || h > 32768)
      fail(ErrorKind::Usage, "--resize expects WxH (e.g. 224x224), got '{}'", a.resize);
    o.resize = std::make_pair(w, h);
  }
  if (a.mode == "letterbox") o.mode = ImageOptions::ResizeMode::Letterbox;
  else if (a.mode == "shorter-side-crop") o.mode = ImageOptions::ResizeMode::ShorterSideCrop;
  if (a.layout == "nchw") o.layout = ImageOptions::Layout::NCHW;
  else if (a.layout == "nhwc") o.layout = ImageOptions::Layout::NHWC;
  if (a.color == "rgb") o.color = ImageOptions::Color::RGB;
  else if (a.color == "bgr") o.color = ImageOptions::Color::BGR;
  else if (a.color == "gray") o.color = ImageOptions::Color::Gray;
  o.scale = a.scale;
  o.mean = a.mean;
  o.std = a.std;
  return o;
}

}  // namespace ptq::cli
