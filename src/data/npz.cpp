#include "data/npz.h"

#include <zip.h>

#include <algorithm>

#include "core/atomic_file.h"
#include "data/npy.h"

namespace ptq {

namespace {

constexpr uint64_t kMaxMemberBytes = uint64_t(64) << 30;
// Deflate cannot compress better than ~1032:1; anything claiming more is a lie (or a bomb).
constexpr uint64_t kMaxRatio = 1100;

std::string zip_code_str(int code) {
  zip_error_t e;
  zip_error_init_with_code(&e, code);
  std::string s = zip_error_strerror(&e);
  zip_error_fini(&e);
  return s;
}

bool ends_with(const std::string& s, const std::string& suf) {
  return s.size() >= suf.size() && s.compare(s.size() - suf.size(), suf.size(), suf) == 0;
}

}  // namespace

struct NpzFile::Impl {
  zip_t* z = nullptr;
  std::string bytes;  // backing store when opened from memory
  ~Impl() {
    if (z) zip_discard(z);
  }
};

NpzFile::NpzFile(NpzFile&&) noexcept = default;
NpzFile& NpzFile::operator=(NpzFile&&) noexcept = default;
NpzFile::~NpzFile() = default;

NpzFile NpzFile::open(const std::string& path) {
  NpzFile f;
  f.what_ = path;
  f.impl_ = std::make_unique<Impl>();
  int err = 0;
  f.impl_->z = zip_open(path.c_str(), ZIP_RDONLY | ZIP_CHECKCONS, &err);
  if (!f.impl_->z) bad_input("{}: cannot open as .npz (zip) archive: {}", path, zip_code_str(err));
  f.list();
  return f;
}

NpzFile NpzFile::from_bytes(std::string bytes, const std::string& what) {
  NpzFile f;
  f.what_ = what;
  f.impl_ = std::make_unique<Impl>();
  f.impl_->bytes = std::move(bytes);
  zip_error_t e;
  zip_error_init(&e);
  zip_source_t* src = zip_source_buffer_create(f.impl_->bytes.data(), f.impl_->bytes.size(), 0, &e);
  if (!src) {
    std::string msg = zip_error_strerror(&e);
    zip_error_fini(&e);
    bad_input("{}: cannot open as .npz archive: {}", what, msg);
  }
  f.impl_->z = zip_open_from_source(src, ZIP_RDONLY | ZIP_CHECKCONS, &e);
  if (!f.impl_->z) {
    zip_source_free(src);
    std::string msg = zip_error_strerror(&e);
    zip_error_fini(&e);
    bad_input("{}: cannot open as .npz (zip) archive: {}", what, msg);
  }
  zip_error_fini(&e);
  f.list();
  return f;
}

void NpzFile::list() {
  zip_int64_t n = zip_get_num_entries(impl_->z, 0);
  if (n < 0) bad_input("{}: cannot list the .npz archive", what_);
  for (zip_int64_t i = 0; i < n; ++i) {
    const char* name = zip_get_name(impl_->z, static_cast<zip_uint64_t>(i), 0);
    if (!name) bad_input("{}: unreadable entry {} in the .npz archive: {}", what_, i, zip_strerror(impl_->z));
    std::string s = name;
    if (ends_with(s, "/")) continue;  // directory entry
    if (!ends_with(s, ".npy")) bad_input("{}: archive member '{}' is not an .npy array", what_, s);
    std::string key = s.substr(0, s.size() - 4);
    if (has(key)) bad_input("{}: duplicate array '{}' in the .npz archive", what_, key);
    keys_.push_back(key);
    index_.push_back(static_cast<uint64_t>(i));
  }
}

bool NpzFile::has(const std::string& key) const {
  return std::find(keys_.begin(), keys_.end(), key) != keys_.end();
}

Tensor NpzFile::read(const std::string& key) const {
  auto it = std::find(keys_.begin(), keys_.end(), key);
  if (it == keys_.end()) bad_input("{}: no array '{}' in the .npz archive", what_, key);
  uint64_t idx = index_[static_cast<size_t>(it - keys_.begin())];
  std::string what = what_ + "[" + key + "]";
  zip_stat_t st;
  zip_stat_init(&st);
  if (zip_stat_index(impl_->z, idx, 0, &st) != 0 || !(st.valid & ZIP_STAT_SIZE) || !(st.valid & ZIP_STAT_COMP_SIZE))
    bad_input("{}: cannot stat the archive member: {}", what, zip_strerror(impl_->z));
  if (st.size > kMaxMemberBytes || st.size > st.comp_size * kMaxRatio + 4096)
    bad_input("{}: archive member claims an implausible size of {} bytes ({} compressed)", what, st.size, st.comp_size);
  zip_file_t* zf = zip_fopen_index(impl_->z, idx, 0);
  if (!zf) bad_input("{}: cannot open the archive member: {}", what, zip_strerror(impl_->z));
  std::string data;
  std::string err;
  std::vector<char> buf(1 << 20);
  while (true) {
    zip_int64_t r = zip_fread(zf, buf.data(), buf.size());
    if (r < 0) {
      err = zip_file_strerror(zf);
      break;
    }
    if (r == 0) break;
    if (data.size() + static_cast<uint64_t>(r) > st.size) {
      err = "member holds more data than its directory entry declares";
      break;
    }
    data.append(buf.data(), static_cast<size_t>(r));
  }
  zip_fclose(zf);
  if (err.empty() && data.size() != st.size) err = "member is truncated";
  if (!err.empty()) bad_input("{}: corrupt .npz archive: {}", what, err);
  return parse_npy(data, what);
}

std::map<std::string, Tensor> read_npz(const std::string& path) {
  NpzFile f = NpzFile::open(path);
  std::map<std::string, Tensor> r;
  for (const auto& k : f.keys()) r[k] = f.read(k);
  return r;
}

std::map<std::string, Tensor> parse_npz(const std::string& bytes, const std::string& what) {
  NpzFile f = NpzFile::from_bytes(bytes, what);
  std::map<std::string, Tensor> r;
  for (const auto& k : f.keys()) r[k] = f.read(k);
  return r;
}

void write_npz(const std::string& path, const std::map<std::string, Tensor>& arrays, bool compress) {
  std::vector<std::string> members;
  members.reserve(arrays.size());
  for (const auto& [k, t] : arrays) members.push_back(npy_bytes(t));

  zip_error_t e;
  zip_error_init(&e);
  zip_source_t* mem = zip_source_buffer_create(nullptr, 0, 0, &e);
  if (!mem) internal_error("write_npz: {}", zip_error_strerror(&e));
  zip_source_keep(mem);
  zip_t* z = zip_open_from_source(mem, ZIP_TRUNCATE, &e);
  if (!z) {
    zip_source_free(mem);
    internal_error("write_npz: {}", zip_error_strerror(&e));
  }
  zip_error_fini(&e);
  auto fail_with = [&](const std::string& msg) {
    zip_discard(z);
    zip_source_free(mem);
    internal_error("write_npz '{}': {}", path, msg);
  };
  size_t i = 0;
  for (const auto& kv : arrays) {
    const std::string& bytes = members[i++];
    zip_source_t* s = zip_source_buffer(z, bytes.data(), bytes.size(), 0);
    if (!s) fail_with(zip_strerror(z));
    zip_int64_t idx = zip_file_add(z, (kv.first + ".npy").c_str(), s, ZIP_FL_ENC_UTF_8);
    if (idx < 0) {
      zip_source_free(s);
      fail_with(zip_strerror(z));
    }
    zip_set_file_compression(z, static_cast<zip_uint64_t>(idx), compress ? ZIP_CM_DEFLATE : ZIP_CM_STORE, 0);
  }
  if (zip_close(z) != 0) fail_with(zip_strerror(z));

  std::string out;
  zip_stat_t st;
  zip_stat_init(&st);
  bool ok = zip_source_stat(mem, &st) == 0 && (st.valid & ZIP_STAT_SIZE) && zip_source_open(mem) == 0;
  if (ok) {
    out.resize(static_cast<size_t>(st.size));
    ok = zip_source_read(mem, out.data(), st.size) == static_cast<zip_int64_t>(st.size);
    zip_source_close(mem);
  }
  zip_source_free(mem);
  if (!ok) internal_error("write_npz '{}': cannot read back the archive", path);
  write_file_atomic(path, out);
}

}  // namespace ptq
