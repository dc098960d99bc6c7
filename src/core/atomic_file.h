// Writes a file so that readers only ever see the old content or the complete new one: data goes to
// a temporary file in the same folder, which commit() flushes and renames over the target. If the
// object dies before commit() (error, exception), the temporary file is removed.
#pragma once
#include <cstdio>
#include <string>

namespace ptq {

class AtomicFile {
 public:
  // Opens "<path>.tmp.<pid>.<n>" next to path. Throws Error(Output) if it cannot be created.
  explicit AtomicFile(std::string path);
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  void write(const void* data, size_t n);
  void write(const std::string& s) { write(s.data(), s.size()); }
  int fd() const;
  // fsyncs, closes and renames over the target. Throws Error(Output) on failure (e.g. disk full).
  void commit();
  const std::string& path() const { return path_; }
  const std::string& temp_path() const { return tmp_; }

 private:
  std::string path_;
  std::string tmp_;
  std::FILE* f_ = nullptr;
  bool committed_ = false;
};

// Convenience: atomically writes a whole string.
void write_file_atomic(const std::string& path, const std::string& content);
// Reads a whole file; throws Error(BadInput) naming the file if it cannot be read.
std::string read_file(const std::string& path);

}  // namespace ptq
