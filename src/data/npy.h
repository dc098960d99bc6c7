// NumPy .npy files (format versions 1.0, 2.0 and 3.0).
// Supported element types: little-endian '<f2' '<f4' '<f8' '<i2' '<i4' '<i8' '<u2' '<u4' '<u8' and
// the one-byte '|i1' '|u1' '|b1' ('<' is accepted for one-byte types too). Only C order
// (fortran_order False). Big-endian data, Fortran order, object and structured dtypes are refused.
// Every reader is safe on hostile input: the header's shape times the item size must equal the
// bytes actually present, so a lying header never triggers a large allocation.
#pragma once
#include <cstdint>
#include <string>

#include "core/tensor.h"

namespace ptq {

// What an .npy header describes, plus where the data starts.
struct NpyInfo {
  DType dtype = DType::Undefined;
  Shape shape;
  uint64_t data_offset = 0;  // bytes from the start of the file to the first element
  uint64_t data_bytes = 0;   // numel * item size (verified against the file size)
};

// Parses the header at the start of `bytes` (the rest of the file need not be present).
// `total_size` is the size of the whole file; the data must fill it exactly.
NpyInfo parse_npy_header(const std::string& bytes, uint64_t total_size, const std::string& what);
// Reads only the header of an .npy file.
NpyInfo read_npy_info(const std::string& path);
// Reads rows [begin, begin+count) along the first axis (shape [count, rest...]) without touching
// the rest of the file. The file must not be rank 0.
Tensor read_npy_rows(const std::string& path, const NpyInfo& info, int64_t begin, int64_t count);

// Whole file.
Tensor read_npy(const std::string& path);
// From bytes (a whole .npy image); `what` names the source in error messages.
Tensor parse_npy(const std::string& bytes, const std::string& what);

// Serializes as format 1.0 (2.0 if the header does not fit); the header is padded to 64 bytes.
std::string npy_bytes(const Tensor& t);
// Writes atomically. Throws Error(Unsupported) for types NumPy has no equivalent of (int4, bfloat16, string).
void write_npy(const std::string& path, const Tensor& t);

}  // namespace ptq
