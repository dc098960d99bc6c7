#include "app/provenance.h"

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "core/error.h"

#ifndef PTQ_VERSION
#define PTQ_VERSION "unknown"
#endif

namespace fs = std::filesystem;

namespace ptq {

namespace {

constexpr uint32_t kK[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

inline uint32_t rotr(uint32_t x, int n) { return (x >> n) | (x << (32 - n)); }

}  // namespace

Sha256::Sha256()
    : h_{0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19} {}

void Sha256::block(const uint8_t* p) {
  uint32_t w[64];
  for (int i = 0; i < 16; ++i)
    w[i] = (uint32_t(p[4 * i]) << 24) | (uint32_t(p[4 * i + 1]) << 16) | (uint32_t(p[4 * i + 2]) << 8) | p[4 * i + 3];
  for (int i = 16; i < 64; ++i) {
    uint32_t s0 = rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^ (w[i - 15] >> 3);
    uint32_t s1 = rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^ (w[i - 2] >> 10);
    w[i] = w[i - 16] + s0 + w[i - 7] + s1;
  }
  uint32_t a = h_[0], b = h_[1], c = h_[2], d = h_[3], e = h_[4], f = h_[5], g = h_[6], h = h_[7];
  for (int i = 0; i < 64; ++i) {
    uint32_t t1 = h + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + kK[i] + w[i];
    uint32_t t2 = (rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
    h = g; g = f; f = e; e = d + t1; d = c; c = b; b = a; a = t1 + t2;
  }
  h_[0] += a; h_[1] += b; h_[2] += c; h_[3] += d; h_[4] += e; h_[5] += f; h_[6] += g; h_[7] += h;
}

void Sha256::update(const void* data, size_t n) {
  const uint8_t* p = static_cast<const uint8_t*>(data);
  total_ += n;
  while (n > 0) {
    size_t take = std::min(n, sizeof(buf_) - buf_len_);
    std::memcpy(buf_ + buf_len_, p, take);
    buf_len_ += take;
    p += take;
    n -= take;
    if (buf_len_ == 64) {
      block(buf_);
      buf_len_ = 0;
    }
  }
}

std::string Sha256::hex_digest() {
  uint64_t bits = total_ * 8;
  uint8_t pad = 0x80;
  update(&pad, 1);
  uint8_t zero = 0;
  while (buf_len_ != 56) update(&zero, 1);
  uint8_t len[8];
  for (int i = 0; i < 8; ++i) len[i] = static_cast<uint8_t>(bits >> (56 - 8 * i));
  update(len, 8);
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (uint32_t v : h_)
    for (int s = 28; s >= 0; s -= 4) out += hex[(v >> s) & 0xf];
  return out;
}

std::string sha256_hex(const std::string& data) {
  Sha256 s;
  s.update(data);
  return s.hex_digest();
}

std::string calibration_digest(const std::string& dir, const std::vector<std::string>& ignore) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) bad_input("calibration folder '{}' does not exist", dir);
  std::vector<std::string> files;
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    if (!it->is_regular_file(ec)) continue;
    std::string rel = fs::relative(it->path(), dir, ec).generic_string();
    if (std::find(ignore.begin(), ignore.end(), rel) == ignore.end()) files.push_back(rel);
  }
  if (ec) bad_input("cannot list calibration folder '{}': {}", dir, ec.message());
  std::sort(files.begin(), files.end());
  Sha256 sha;
  std::vector<char> buf(1 << 16);
  for (const auto& rel : files) {
    fs::path p = fs::path(dir) / rel;
    std::ifstream in(p, std::ios::binary);
    if (!in) bad_input("cannot read calibration file '{}'", p.string());
    sha.update(rel + "\n" + std::to_string(fs::file_size(p, ec)) + "\n");
    while (in) {
      in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
      sha.update(buf.data(), static_cast<size_t>(in.gcount()));
    }
  }
  return sha.hex_digest();
}

std::string options_to_json_string(const QuantOptions& o, size_t max_samples) {
  nlohmann::ordered_json j;
  j["scheme"] = weight_scheme_name(o.scheme);
  j["block_size"] = o.block_size;
  j["activation_type"] = dtype_name(o.activation_type);
  j["weight_type"] = dtype_name(o.weight_type);
  j["activation_symmetric"] = o.activation_symmetric;
  j["weight_symmetric"] = o.weight_symmetric;
  j["method"] = calib_method_name(o.method);
  j["percentile"] = o.percentile;
  j["histogram_bins"] = o.histogram_bins;
  j["exclude_nodes"] = std::vector<std::string>(o.exclude_nodes.begin(), o.exclude_nodes.end());
  j["exclude_op_types"] = std::vector<std::string>(o.exclude_op_types.begin(), o.exclude_op_types.end());
  j["max_samples"] = max_samples;
  return j.dump();
}

std::vector<std::pair<std::string, std::string>> provenance_entries(const QuantOptions& o, size_t max_samples,
                                                                    const std::string& calib_digest,
                                                                    size_t calib_samples) {
  return {{kMetaTool, std::string("onnx-ptq ") + PTQ_VERSION},
          {kMetaOptions, options_to_json_string(o, max_samples)},
          {kMetaMethod, calib_method_name(o.method)},
          {kMetaCalibDigest, calib_digest},
          {kMetaCalibSamples, std::to_string(calib_samples)}};
}

void set_provenance(std::vector<std::pair<std::string, std::string>>& metadata,
                    const std::vector<std::pair<std::string, std::string>>& entries) {
  metadata.erase(std::remove_if(metadata.begin(), metadata.end(),
                                [](const auto& kv) { return kv.first.rfind("onnx_ptq.", 0) == 0; }),
                 metadata.end());
  metadata.insert(metadata.end(), entries.begin(), entries.end());
}

}  // namespace ptq
