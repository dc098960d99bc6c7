#include "onnx_io/tensor_proto.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>

#include "core/error.h"

namespace fs = std::filesystem;

namespace ptq::detail {

std::shared_ptr<uint8_t> ExternalDataResolver::get(const std::string& location, int64_t offset, int64_t length,
                                                   const std::string& tensor, size_t* size_out) {
  if (base_dir_.empty()) bad_input("tensor '{}' uses external data, which is not allowed here", tensor);
  fs::path rel(location);
  if (location.empty() || rel.is_absolute())
    bad_input("tensor '{}': external data location '{}' must be a relative path", tensor, location);
  for (const auto& part : rel)
    if (part == "..") bad_input("tensor '{}': external data location '{}' points outside the model's folder", tensor, location);
  fs::path full = fs::path(base_dir_) / rel;
  std::error_code ec;
  fs::path canon_base = fs::weakly_canonical(base_dir_, ec);
  fs::path canon = fs::weakly_canonical(full, ec);
  std::string cb = canon_base.string(), cf = canon.string();
  if (ec || cf.compare(0, cb.size(), cb) != 0)
    bad_input("tensor '{}': external data location '{}' points outside the model's folder", tensor, location);

  auto it = files_.find(cf);
  if (it == files_.end()) {
    int fd = ::open(cf.c_str(), O_RDONLY);
    if (fd < 0) bad_input("tensor '{}': cannot open external data file '{}': {}", tensor, full.string(), std::strerror(errno));
    struct stat st {};
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
      ::close(fd);
      bad_input("tensor '{}': external data '{}' is not a regular file", tensor, full.string());
    }
    Mapping m;
    m.size = static_cast<size_t>(st.st_size);
    if (m.size > 0) {
      void* p = ::mmap(nullptr, m.size, PROT_READ, MAP_PRIVATE, fd, 0);
      if (p == MAP_FAILED) {
        ::close(fd);
        bad_input("tensor '{}': cannot map external data '{}'", tensor, full.string());
      }
      size_t sz = m.size;
      m.base = std::shared_ptr<uint8_t>(static_cast<uint8_t*>(p), [sz](uint8_t* q) { ::munmap(q, sz); });
    }
    ::close(fd);
    it = files_.emplace(cf, m).first;
  }
  const Mapping& m = it->second;
  if (offset < 0 || static_cast<uint64_t>(offset) > m.size)
    bad_input("tensor '{}': external data offset {} is past the end of '{}' ({} bytes)", tensor, offset, location, m.size);
  size_t avail = m.size - static_cast<size_t>(offset);
  size_t len = length < 0 ? avail : static_cast<size_t>(length);
  if (len > avail)
    bad_input("tensor '{}': external data '{}' is too short (needs {} bytes at offset {}, file has {})", tensor, location,
              len, offset, m.size);
  *size_out = len;
  if (!m.base) return std::shared_ptr<uint8_t>(new uint8_t[1], std::default_delete<uint8_t[]>());
  return std::shared_ptr<uint8_t>(m.base, m.base.get() + offset);
}

namespace {

template <typename T, typename Src>
void copy_field(Tensor& t, const Src& field, const std::string& what) {
  if (static_cast<int64_t>(field.size()) != t.numel())
    bad_input("tensor '{}': has {} values but its shape {} needs {}", what, field.size(), shape_str(t.shape()), t.numel());
  T* d = reinterpret_cast<T*>(t.raw());
  for (int i = 0; i < field.size(); ++i) d[i] = static_cast<T>(field.Get(i));
}

void unpack_4bit(const uint8_t* packed, size_t packed_len, Tensor& t, const std::string& what) {
  size_t need = static_cast<size_t>((t.numel() + 1) / 2);
  if (packed_len != need) bad_input("tensor '{}': {} bytes of 4-bit data, expected {}", what, packed_len, need);
  auto* d = static_cast<uint8_t*>(t.raw());
  bool is_signed = t.dtype() == DType::Int4;
  for (int64_t i = 0; i < t.numel(); ++i) {
    uint8_t nib = (packed[i / 2] >> ((i % 2) * 4)) & 0xF;
    d[i] = is_signed && (nib & 0x8) ? static_cast<uint8_t>(nib | 0xF0) : nib;
  }
}

// How many values the typed field for dt holds (checked before allocating); -1 if no such field.
int64_t stored_values(const onnx::TensorProto& p, DType dt) {
  switch (dt) {
    case DType::Float32: return p.float_data_size();
    case DType::Float64: return p.double_data_size();
    case DType::Int64: return p.int64_data_size();
    case DType::UInt32: case DType::UInt64: return p.uint64_data_size();
    case DType::Int32: case DType::Int16: case DType::UInt16: case DType::Float16: case DType::BFloat16:
    case DType::Int8: case DType::UInt8: case DType::Bool: case DType::Int4: case DType::UInt4:
      return p.int32_data_size();
    default: return -1;
  }
}

}  // namespace

Tensor tensor_from_proto(const onnx::TensorProto& p, ExternalDataResolver* resolver, const std::string& what) {
  DType dt = dtype_from_onnx(p.data_type());
  if (dt == DType::Undefined) bad_input("tensor '{}': unknown data type {}", what, p.data_type());
  if (dt == DType::String) unsupported("tensor '{}': string tensors are not supported", what);
  if (p.has_segment()) unsupported("tensor '{}': segmented tensors are not supported", what);
  Shape shape(p.dims().begin(), p.dims().end());
  for (int64_t d : shape)
    if (d < 0) bad_input("tensor '{}': negative dimension in {}", what, shape_str(shape));
  int64_t n = 0;
  try {
    n = shape_numel(shape);
  } catch (const Error& e) {
    bad_input("tensor '{}': {}", what, e.what());
  }
  // Hostile dims must fail before anything is allocated (2^40 elements is past any real model).
  if (n > (int64_t(1) << 40)) bad_input("tensor '{}': shape {} has {} elements, too many to load", what, shape_str(shape), n);
  size_t esize = dtype_size(dt);
  size_t want_bytes = is_4bit(dt) ? static_cast<size_t>((n + 1) / 2) : static_cast<size_t>(n) * esize;

  if (p.data_location() == onnx::TensorProto::EXTERNAL) {
    std::string location;
    int64_t offset = 0, length = -1;
    for (const auto& kv : p.external_data()) {
      try {
        if (kv.key() == "location") location = kv.value();
        else if (kv.key() == "offset") offset = std::stoll(kv.value());
        else if (kv.key() == "length") length = std::stoll(kv.value());
      } catch (const std::exception&) {
        bad_input("tensor '{}': bad external data entry {}='{}'", what, kv.key(), kv.value());
      }
    }
    if (!resolver) bad_input("tensor '{}' uses external data, which is not allowed here", what);
    if (length >= 0 && static_cast<size_t>(length) != want_bytes)
      bad_input("tensor '{}': external data length {} does not match shape {} ({} bytes)", what, length, shape_str(shape), want_bytes);
    size_t got = 0;
    auto buf = resolver->get(location, offset, static_cast<int64_t>(want_bytes), what, &got);
    if (is_4bit(dt)) {
      Tensor t(dt, shape);
      unpack_4bit(buf.get(), got, t, what);
      return t;
    }
    return Tensor(dt, shape, buf, got);
  }

  int64_t stored = p.has_raw_data() ? -1 : stored_values(p, dt);
  if (stored >= 0 && stored != (is_4bit(dt) ? (n + 1) / 2 : n))
    bad_input("tensor '{}': has {} values but its shape {} needs {}", what, stored, shape_str(shape), n);
  if (p.has_raw_data() && p.raw_data().size() != want_bytes)
    bad_input("tensor '{}': raw data is {} bytes but shape {} of {} needs {}", what, p.raw_data().size(), shape_str(shape),
              dtype_name(dt), want_bytes);
  Tensor t(dt, shape);
  if (p.has_raw_data()) {
    const std::string& raw = p.raw_data();
    if (is_4bit(dt)) {
      unpack_4bit(reinterpret_cast<const uint8_t*>(raw.data()), raw.size(), t, what);
    } else if (want_bytes) {
      std::memcpy(t.raw(), raw.data(), want_bytes);
    }
    return t;
  }
  switch (dt) {
    case DType::Float32: copy_field<float>(t, p.float_data(), what); break;
    case DType::Float64: copy_field<double>(t, p.double_data(), what); break;
    case DType::Int64: copy_field<int64_t>(t, p.int64_data(), what); break;
    case DType::UInt32: copy_field<uint32_t>(t, p.uint64_data(), what); break;
    case DType::UInt64: copy_field<uint64_t>(t, p.uint64_data(), what); break;
    case DType::Int32: copy_field<int32_t>(t, p.int32_data(), what); break;
    case DType::Int16: copy_field<int16_t>(t, p.int32_data(), what); break;
    case DType::UInt16: case DType::Float16: case DType::BFloat16: copy_field<uint16_t>(t, p.int32_data(), what); break;
    case DType::Int8: copy_field<int8_t>(t, p.int32_data(), what); break;
    case DType::UInt8: case DType::Bool: copy_field<uint8_t>(t, p.int32_data(), what); break;
    case DType::Int4: case DType::UInt4: {
      // int32_data holds packed pairs for 4-bit types.
      std::string packed;
      for (int v : p.int32_data()) packed.push_back(static_cast<char>(v & 0xFF));
      unpack_4bit(reinterpret_cast<const uint8_t*>(packed.data()), packed.size(), t, what);
      break;
    }
    default: unsupported("tensor '{}': data type {} is not supported", what, dtype_name(dt));
  }
  return t;
}

void tensor_to_proto(const Tensor& t, const std::string& name, onnx::TensorProto* p) {
  p->Clear();
  p->set_name(name);
  p->set_data_type(static_cast<int32_t>(t.dtype()));
  for (int64_t d : t.shape()) p->add_dims(d);
  if (is_4bit(t.dtype())) {
    std::string packed(static_cast<size_t>((t.numel() + 1) / 2), '\0');
    const auto* d = static_cast<const uint8_t*>(t.raw());
    for (int64_t i = 0; i < t.numel(); ++i)
      packed[static_cast<size_t>(i / 2)] = static_cast<char>(packed[static_cast<size_t>(i / 2)] | ((d[i] & 0xF) << ((i % 2) * 4)));
    p->set_raw_data(std::move(packed));
  } else {
    p->set_raw_data(static_cast<const char*>(t.raw()), t.nbytes());
  }
}

}  // namespace ptq::detail
