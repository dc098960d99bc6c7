// Provenance of a quantized model: what produced it, with which options, from which calibration set.
// Recorded in the output model's metadata_props (keys below) and shown by `quantize inspect`.
#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "quant/options.h"

namespace ptq {

// Incremental SHA-256 (FIPS 180-4); small and dependency-free.
class Sha256 {
 public:
  Sha256();
  void update(const void* data, size_t n);
  void update(const std::string& s) { update(s.data(), s.size()); }
  std::string hex_digest();  // finishes the hash; call once

 private:
  void block(const uint8_t* p);
  uint32_t h_[8];
  uint8_t buf_[64];
  size_t buf_len_ = 0;
  uint64_t total_ = 0;
};

std::string sha256_hex(const std::string& data);

// Digest of a calibration set: SHA-256 over every regular file below `dir` (recursively), in sorted
// order of the relative path, hashing for each file "<relative path>\n<size in bytes>\n<contents>".
// Renaming, adding, removing or editing any file changes it; the folder's own location does not.
// Files named in `ignore` (relative paths, e.g. a labels file kept beside the samples) are skipped.
std::string calibration_digest(const std::string& dir, const std::vector<std::string>& ignore = {});

// metadata_props keys written into quantized models.
inline constexpr const char* kMetaTool = "onnx_ptq.tool";
inline constexpr const char* kMetaOptions = "onnx_ptq.options";
inline constexpr const char* kMetaMethod = "onnx_ptq.method";
inline constexpr const char* kMetaCalibDigest = "onnx_ptq.calibration_sha256";
inline constexpr const char* kMetaCalibSamples = "onnx_ptq.calibration_samples";

// The effective options as a compact, deterministic JSON string.
std::string options_to_json_string(const QuantOptions& o, size_t max_samples);

// Entries to add to the output model's metadata (replacing earlier onnx_ptq.* entries).
std::vector<std::pair<std::string, std::string>> provenance_entries(const QuantOptions& o, size_t max_samples,
                                                                    const std::string& calib_digest,
                                                                    size_t calib_samples);
void set_provenance(std::vector<std::pair<std::string, std::string>>& metadata,
                    const std::vector<std::pair<std::string, std::string>>& entries);

}  // namespace ptq
