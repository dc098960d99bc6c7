// Image preprocessing flags (--resize, --resize-mode, --layout, --color, --scale, --mean, --std),
// shared by the main command and `run`.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "data/image.h"

namespace ptq::cli {

struct ImageArgs {
  std::string resize, mode = "stretch", layout = "auto", color = "auto";
  float scale = 1.0f / 255.0f;
  std::vector<float> mean, std;
};

void add_image_options(CLI::App& app, ImageArgs& a);
// Throws Error(Usage) for a malformed --resize.
ImageOptions to_image_options(const ImageArgs& a);

}  // namespace ptq::cli
