#include "data/npy.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <limits>

#include "core/atomic_file.h"

namespace ptq {

namespace {

constexpr char kMagic[] = "\x93NUMPY";
constexpr size_t kMagicLen = 6;
constexpr uint64_t kMaxHeaderLen = 1 << 20;

struct DescrEntry {
  const char* code;  // without the byte-order character
  DType dtype;
};
constexpr DescrEntry kDescrs[] = {
    {"f2", DType::Float16}, {"f4", DType::Float32}, {"f8", DType::Float64}, {"i1", DType::Int8},
    {"i2", DType::Int16},   {"i4", DType::Int32},   {"i8", DType::Int64},   {"u1", DType::UInt8},
    {"u2", DType::UInt16},  {"u4", DType::UInt32},  {"u8", DType::UInt64},  {"b1", DType::Bool},
};

DType dtype_from_descr(const std::string& d, const std::string& what) {
  if (d.size() == 3) {
    char order = d[0];
    std::string code = d.substr(1);
    for (const auto& e : kDescrs) {
      if (code != e.code) continue;
      bool one_byte = dtype_size(e.dtype) == 1;
      if (order == '>' && !one_byte) bad_input("{}: big-endian .npy data ('{}') is not supported; save it little-endian", what, d);
      if (order == '<' || order == '|' || order == '=' || order == '>') return e.dtype;
    }
  }
  bad_input("{}: unsupported .npy dtype '{}' (supported: f2 f4 f8 i1 i2 i4 i8 u1 u2 u4 u8 b1, little-endian)", what, d);
}

std::string descr_of(DType t) {
  for (const auto& e : kDescrs)
    if (e.dtype == t) return std::string(dtype_size(t) == 1 ? "|" : "<") + e.code;
  unsupported("{} tensors cannot be stored as .npy (NumPy has no such type)", dtype_name(t));
}

// Minimal parser for the Python dict literal of an .npy header.
class HeaderParser {
 public:
  HeaderParser(const std::string& s, const std::string& what) : s_(s), what_(what) {}

  void parse(std::string* descr, bool* fortran, Shape* shape) {
    bool have_descr = false, have_fortran = false, have_shape = false;
    expect('{');
    while (true) {
      ws();
      if (peek() == '}') { ++p_; break; }
      std::string key = string_lit();
      expect(':');
      ws();
      if (key == "descr") {
        if (peek() == '[') fail_at("structured (record) dtypes are not supported");
        *descr = string_lit();
        have_descr = true;
      } else if (key == "fortran_order") {
        *fortran = bool_lit();
        have_fortran = true;
      } else if (key == "shape") {
        *shape = tuple_lit();
        have_shape = true;
      } else {
        fail_at("unexpected key '" + key + "'");
      }
      ws();
      if (peek() == ',') { ++p_; continue; }
      expect('}');
      break;
    }
    ws();
    if (p_ != s_.size()) fail_at("trailing characters after the header dict");
    if (!have_descr || !have_fortran || !have_shape) fail_at("header lacks 'descr', 'fortran_order' or 'shape'");
  }

 private:
  char peek() const { return p_ < s_.size() ? s_[p_] : '\0'; }
  void ws() {
    while (p_ < s_.size() && (s_[p_] == ' ' || s_[p_] == '\n' || s_[p_] == '\t' || s_[p_] == '\r')) ++p_;
  }
  [[noreturn]] void fail_at(const std::string& msg) const {
    bad_input("{}: malformed .npy header: {} (at offset {})", what_, msg, p_);
  }
  void expect(char c) {
    ws();
    if (peek() != c) fail_at(std::string("expected '") + c + "'");
    ++p_;
  }
  std::string string_lit() {
    ws();
    char q = peek();
    if (q != '\'' && q != '"') fail_at("expected a string");
    size_t end = s_.find(q, p_ + 1);
    if (end == std::string::npos) fail_at("unterminated string");
    std::string r = s_.substr(p_ + 1, end - p_ - 1);
    if (r.find('\\') != std::string::npos) fail_at("escaped strings are not supported");
    p_ = end + 1;
    return r;
  }
  bool bool_lit() {
    if (s_.compare(p_, 4, "True") == 0) { p_ += 4; return true; }
    if (s_.compare(p_, 5, "False") == 0) { p_ += 5; return false; }
    fail_at("expected True or False");
  }
  int64_t int_lit() {
    ws();
    if (peek() == '-') fail_at("negative dimension");
    if (peek() < '0' || peek() > '9') fail_at("expected an integer");
    int64_t v = 0;
    while (peek() >= '0' && peek() <= '9') {
      int d = peek() - '0';
      if (v > (std::numeric_limits<int64_t>::max() - d) / 10) fail_at("dimension too large");
      v = v * 10 + d;
      ++p_;
    }
    if (peek() == 'L') ++p_;  // Python 2 long literal
    return v;
  }
  Shape tuple_lit() {
    expect('(');
    Shape r;
    while (true) {
      ws();
      if (peek() == ')') { ++p_; break; }
      if (r.size() >= 64) fail_at("too many dimensions");
      r.push_back(int_lit());
      ws();
      if (peek() == ',') { ++p_; continue; }
      expect(')');
      break;
    }
    return r;
  }

  const std::string& s_;
  const std::string& what_;
  size_t p_ = 0;
};

uint64_t checked_data_bytes(DType dt, const Shape& shape, const std::string& what) {
  uint64_t n = dtype_size(dt);
  for (int64_t d : shape) {
    if (d < 0) bad_input("{}: negative dimension in shape {}", what, shape_str(shape));
    if (d != 0 && n > std::numeric_limits<uint64_t>::max() / static_cast<uint64_t>(d))
      bad_input("{}: shape {} is too large", what, shape_str(shape));
    n *= static_cast<uint64_t>(d);
  }
  return n;
}

struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

void open_read(const std::string& path, Fd* f, uint64_t* size) {
  f->fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (f->fd < 0) bad_input("cannot read '{}': {}", path, std::strerror(errno));
  struct stat st;
  if (::fstat(f->fd, &st) != 0) bad_input("cannot read '{}': {}", path, std::strerror(errno));
  if (!S_ISREG(st.st_mode)) bad_input("cannot read '{}': not a regular file", path);
  *size = static_cast<uint64_t>(st.st_size);
}

// Reads exactly n bytes at offset; a short read means the file shrank or is truncated.
void pread_all(int fd, void* dst, uint64_t n, uint64_t offset, const std::string& path) {
  auto* p = static_cast<uint8_t*>(dst);
  while (n > 0) {
    size_t chunk = static_cast<size_t>(std::min<uint64_t>(n, uint64_t(1) << 30));
    ssize_t r = ::pread(fd, p, chunk, static_cast<off_t>(offset));
    if (r < 0) {
      if (errno == EINTR) continue;
      bad_input("cannot read '{}': {}", path, std::strerror(errno));
    }
    if (r == 0) bad_input("{}: file is truncated (expected {} more bytes at offset {})", path, n, offset);
    p += r;
    n -= static_cast<uint64_t>(r);
    offset += static_cast<uint64_t>(r);
  }
}

void normalize_bool(Tensor& t) {
  if (t.dtype() != DType::Bool) return;
  auto* p = static_cast<uint8_t*>(t.raw());
  for (int64_t i = 0; i < t.numel(); ++i) p[i] = p[i] != 0;
}

}  // namespace

NpyInfo parse_npy_header(const std::string& bytes, uint64_t total_size, const std::string& what) {
  if (bytes.size() < kMagicLen + 2 || bytes.compare(0, kMagicLen, kMagic, kMagicLen) != 0)
    bad_input("{}: not an .npy file (bad magic)", what);
  auto major = static_cast<uint8_t>(bytes[6]);
  if (major < 1 || major > 3) bad_input("{}: unsupported .npy format version {}.{}", what, major, static_cast<uint8_t>(bytes[7]));
  size_t len_bytes = major == 1 ? 2 : 4;
  size_t prefix = kMagicLen + 2 + len_bytes;
  if (bytes.size() < prefix) bad_input("{}: truncated .npy header", what);
  uint64_t hlen = 0;
  for (size_t i = 0; i < len_bytes; ++i) hlen |= uint64_t(static_cast<uint8_t>(bytes[8 + i])) << (8 * i);
  if (hlen > kMaxHeaderLen) bad_input("{}: .npy header length {} is implausible", what, hlen);
  if (bytes.size() < prefix + hlen || total_size < prefix + hlen) bad_input("{}: truncated .npy header", what);
  std::string header = bytes.substr(prefix, static_cast<size_t>(hlen));

  std::string descr;
  bool fortran = false;
  NpyInfo info;
  HeaderParser(header, what).parse(&descr, &fortran, &info.shape);
  info.dtype = dtype_from_descr(descr, what);
  if (fortran) bad_input("{}: Fortran-order .npy arrays are not supported; save with np.ascontiguousarray", what);
  info.data_offset = prefix + hlen;
  info.data_bytes = checked_data_bytes(info.dtype, info.shape, what);
  uint64_t have = total_size - info.data_offset;
  if (have < info.data_bytes)
    bad_input("{}: .npy data is truncated: shape {} of {} needs {} bytes, file holds {}", what, shape_str(info.shape),
              dtype_name(info.dtype), info.data_bytes, have);
  if (have > info.data_bytes)
    bad_input("{}: .npy file has {} unexpected trailing bytes after the {} {} array", what, have - info.data_bytes,
              dtype_name(info.dtype), shape_str(info.shape));
  return info;
}

NpyInfo read_npy_info(const std::string& path) {
  Fd f;
  uint64_t size = 0;
  open_read(path, &f, &size);
  if (size < 12) bad_input("{}: not an .npy file (only {} bytes)", path, size);
  std::string head(12, '\0');
  pread_all(f.fd, head.data(), head.size(), 0, path);
  if (head.compare(0, kMagicLen, kMagic, kMagicLen) != 0) bad_input("{}: not an .npy file (bad magic)", path);
  uint64_t hlen = static_cast<uint8_t>(head[8]) | (uint64_t(static_cast<uint8_t>(head[9])) << 8);
  uint64_t prefix = 10;
  if (head[6] != 1) {
    hlen |= (uint64_t(static_cast<uint8_t>(head[10])) << 16) | (uint64_t(static_cast<uint8_t>(head[11])) << 24);
    prefix = 12;
  }
  if (hlen > kMaxHeaderLen) bad_input("{}: .npy header length {} is implausible", path, hlen);
  uint64_t want = std::min<uint64_t>(size, prefix + hlen);
  std::string bytes(static_cast<size_t>(want), '\0');
  pread_all(f.fd, bytes.data(), want, 0, path);
  return parse_npy_header(bytes, size, path);
}

Tensor read_npy_rows(const std::string& path, const NpyInfo& info, int64_t begin, int64_t count) {
  if (info.shape.empty()) internal_error("read_npy_rows on a rank-0 array ({})", path);
  if (begin < 0 || count < 0 || begin > info.shape[0] - count)
    internal_error("read_npy_rows: rows [{}, {}) out of range for {} {}", begin, begin + count, path, shape_str(info.shape));
  Shape rows = info.shape;
  rows[0] = count;
  Tensor t(info.dtype, rows);
  uint64_t row_bytes = info.shape[0] ? info.data_bytes / static_cast<uint64_t>(info.shape[0]) : 0;
  Fd f;
  uint64_t size = 0;
  open_read(path, &f, &size);
  pread_all(f.fd, t.raw(), t.nbytes(), info.data_offset + row_bytes * static_cast<uint64_t>(begin), path);
  normalize_bool(t);
  return t;
}

Tensor parse_npy(const std::string& bytes, const std::string& what) {
  NpyInfo info = parse_npy_header(bytes, bytes.size(), what);
  Tensor t(info.dtype, info.shape);
  if (t.nbytes()) std::memcpy(t.raw(), bytes.data() + info.data_offset, t.nbytes());
  normalize_bool(t);
  return t;
}

Tensor read_npy(const std::string& path) {
  NpyInfo info = read_npy_info(path);
  if (info.shape.empty()) return parse_npy(read_file(path), path);
  return read_npy_rows(path, info, 0, info.shape[0]);
}

namespace {
std::string npy_header(const Tensor& t) {
  std::string dict = "{'descr': '" + descr_of(t.dtype()) + "', 'fortran_order': False, 'shape': (";
  for (size_t i = 0; i < t.shape().size(); ++i) dict += (i ? ", " : "") + std::to_string(t.shape()[i]);
  dict += t.shape().size() == 1 ? ",), }" : "), }";
  size_t prefix = 10;
  size_t total = (prefix + dict.size() + 1 + 63) / 64 * 64;
  if (total - prefix > 65535) {
    prefix = 12;
    total = (prefix + dict.size() + 1 + 63) / 64 * 64;
  }
  size_t hlen = total - prefix;
  std::string out(kMagic, kMagicLen);
  out += static_cast<char>(prefix == 10 ? 1 : 2);
  out += '\0';
  for (size_t i = 0; i < prefix - 8; ++i) out += static_cast<char>((hlen >> (8 * i)) & 0xff);
  out += dict;
  out.append(hlen - dict.size() - 1, ' ');
  out += '\n';
  return out;
}
}  // namespace

std::string npy_bytes(const Tensor& t) {
  std::string out = npy_header(t);
  out.append(static_cast<const char*>(t.raw()), t.nbytes());
  return out;
}

void write_npy(const std::string& path, const Tensor& t) {
  std::string header = npy_header(t);
  AtomicFile f(path);
  f.write(header);
  f.write(t.raw(), t.nbytes());
  f.commit();
}

}  // namespace ptq
