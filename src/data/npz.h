// NumPy .npz archives (what np.savez / np.savez_compressed write): a zip file whose members are
// .npy files; the key of each array is the member name without ".npy". Stored and deflated
// members are supported. Corrupt archives, CRC errors and implausible sizes are Error(BadInput)
// naming the file; memory use is bounded by the data actually present.
#pragma once
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/tensor.h"

namespace ptq {

// Opens an archive reading only its central directory; arrays are decompressed on demand.
class NpzFile {
 public:
  static NpzFile open(const std::string& path);
  static NpzFile from_bytes(std::string bytes, const std::string& what);
  NpzFile(NpzFile&&) noexcept;
  NpzFile& operator=(NpzFile&&) noexcept;
  ~NpzFile();

  const std::string& what() const { return what_; }
  // Keys in archive order.
  const std::vector<std::string>& keys() const { return keys_; }
  bool has(const std::string& key) const;
  Tensor read(const std::string& key) const;

 private:
  NpzFile() = default;
  void list();
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::string what_;
  std::vector<std::string> keys_;
  std::vector<uint64_t> index_;  // zip entry index of each key
};

std::map<std::string, Tensor> read_npz(const std::string& path);
std::map<std::string, Tensor> parse_npz(const std::string& bytes, const std::string& what);
// Writes an .npz (members "<key>.npy"); compress = deflate like np.savez_compressed. The archive
// appears at `path` complete or not at all.
void write_npz(const std::string& path, const std::map<std::string, Tensor>& arrays, bool compress = false);

}  // namespace ptq
