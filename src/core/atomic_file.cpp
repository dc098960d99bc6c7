#include "core/atomic_file.h"

#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "core/error.h"

namespace ptq {

namespace {
std::atomic<int> g_counter{0};  // only makes temp names unique within the process
}

AtomicFile::AtomicFile(std::string path) : path_(std::move(path)) {
  tmp_ = path_ + ".tmp." + std::to_string(::getpid()) + "." + std::to_string(g_counter++);
  f_ = std::fopen(tmp_.c_str(), "wb");
  if (!f_) fail(ErrorKind::Output, "cannot write '{}': {}", path_, std::strerror(errno));
}

AtomicFile::~AtomicFile() {
  if (f_) std::fclose(f_);
  if (!committed_) std::remove(tmp_.c_str());
}

void AtomicFile::write(const void* data, size_t n) {
  if (n == 0) return;
  if (std::fwrite(data, 1, n, f_) != n) fail(ErrorKind::Output, "cannot write '{}': {}", path_, std::strerror(errno));
}

int AtomicFile::fd() const { return ::fileno(f_); }

void AtomicFile::commit() {
  if (std::fflush(f_) != 0 || ::fsync(::fileno(f_)) != 0)
    fail(ErrorKind::Output, "cannot write '{}': {}", path_, std::strerror(errno));
  int rc = std::fclose(f_);
  f_ = nullptr;
  if (rc != 0) fail(ErrorKind::Output, "cannot write '{}': {}", path_, std::strerror(errno));
  if (std::rename(tmp_.c_str(), path_.c_str()) != 0)
    fail(ErrorKind::Output, "cannot move output into place at '{}': {}", path_, std::strerror(errno));
  committed_ = true;
}

void write_file_atomic(const std::string& path, const std::string& content) {
  AtomicFile f(path);
  f.write(content);
  f.commit();
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) bad_input("cannot read '{}': {}", path, std::strerror(errno));
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) bad_input("cannot read '{}'", path);
  return ss.str();
}

}  // namespace ptq
