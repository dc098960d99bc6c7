// Shared fixtures for the [data] tests: temp folders and model input declarations.
#pragma once
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "onnx_io/model.h"

namespace ptq::test {

// A fresh folder under the system temp dir, removed with everything in it on destruction.
class TempDir {
 public:
  TempDir() {
    static std::atomic<int> counter{0};
    path_ = std::filesystem::temp_directory_path() /
            ("ptq_data_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::string str() const { return path_.string(); }
  // Path of `rel` inside the folder; creates the parent folders.
  std::string operator/(const std::string& rel) const {
    auto p = path_ / rel;
    std::filesystem::create_directories(p.parent_path());
    return p.string();
  }

 private:
  std::filesystem::path path_;
};

// A model input; dims < 0 are dynamic.
inline ValueInfo input_decl(const std::string& name, DType dt, const std::vector<int64_t>& dims) {
  ValueInfo v;
  v.name = name;
  v.dtype = dt;
  v.has_shape = true;
  for (int64_t d : dims) {
    Dim x;
    x.value = d;
    if (d < 0) x.param = "N";
    v.shape.push_back(x);
  }
  return v;
}

// Float tensor filled with start, start+1, ...
inline Tensor iota(const Shape& shape, float start = 0.f) {
  Tensor t(DType::Float32, shape);
  float* d = t.data<float>();
  for (int64_t i = 0; i < t.numel(); ++i) d[i] = start + static_cast<float>(i);
  return t;
}

inline void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream f(path, std::ios::binary);
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

}  // namespace ptq::test
