// Element types. Values equal ONNX TensorProto.DataType codes so conversion is a cast.
// In memory every element occupies dtype_size() bytes; INT4/UINT4 are held unpacked, one
// element per byte (sign-extended int8 / uint8), and packed two per byte only on disk.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

namespace ptq {

enum class DType : int32_t {
  Undefined = 0,
  Float32 = 1,
  UInt8 = 2,
  Int8 = 3,
  UInt16 = 4,
  Int16 = 5,
  Int32 = 6,
  Int64 = 7,
  String = 8,
  Bool = 9,
  Float16 = 10,
  Float64 = 11,
  UInt32 = 12,
  UInt64 = 13,
  BFloat16 = 16,
  UInt4 = 21,
  Int4 = 22,
};

// Bytes per element in memory (1 for the 4-bit types, see above); 0 for Undefined/String.
size_t dtype_size(DType t);
// Short lowercase name ("float32", "int4", ...).
std::string dtype_name(DType t);
// Parses an ONNX data_type code; returns Undefined for unknown codes.
DType dtype_from_onnx(int32_t code);
bool is_float(DType t);    // float16/bfloat16/float32/float64
bool is_integer(DType t);  // any signed/unsigned int incl. 4-bit
bool is_4bit(DType t);

// The integer range of a quantized type.
struct QRange {
  int32_t lo;
  int32_t hi;
};
QRange qrange(DType t);  // int8 [-128,127], uint8 [0,255], int4 [-8,7], uint4 [0,15], int16, uint16, int32

template <typename T>
struct DTypeOf;
template <> struct DTypeOf<float> { static constexpr DType value = DType::Float32; };
template <> struct DTypeOf<double> { static constexpr DType value = DType::Float64; };
template <> struct DTypeOf<int8_t> { static constexpr DType value = DType::Int8; };
template <> struct DTypeOf<uint8_t> { static constexpr DType value = DType::UInt8; };
template <> struct DTypeOf<int16_t> { static constexpr DType value = DType::Int16; };
template <> struct DTypeOf<uint16_t> { static constexpr DType value = DType::UInt16; };
template <> struct DTypeOf<int32_t> { static constexpr DType value = DType::Int32; };
template <> struct DTypeOf<uint32_t> { static constexpr DType value = DType::UInt32; };
template <> struct DTypeOf<int64_t> { static constexpr DType value = DType::Int64; };
template <> struct DTypeOf<uint64_t> { static constexpr DType value = DType::UInt64; };
template <> struct DTypeOf<bool> { static constexpr DType value = DType::Bool; };

}  // namespace ptq
