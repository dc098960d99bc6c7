// Hostile TensorProto bytes (hand-encoded protobuf) must fail fast with Error(BadInput) naming the
// tensor, before anything of the claimed size is allocated.
#include <catch2/catch.hpp>

#include <string>

#include "core/error.h"
#include "onnx_io/model_io.h"

namespace {

std::string varint(uint64_t v) {
  std::string r;
  while (v >= 0x80) {
    r.push_back(static_cast<char>((v & 0x7F) | 0x80));
    v >>= 7;
  }
  r.push_back(static_cast<char>(v));
  return r;
}

// TensorProto: dims = field 1 (varint), data_type = field 2, name = field 8, raw_data = field 9.
std::string tensor_bytes(const std::vector<uint64_t>& dims, int data_type, const std::string* raw) {
  std::string b;
  for (uint64_t d : dims) b += "\x08" + varint(d);
  b += "\x10" + varint(static_cast<uint64_t>(data_type));
  b += std::string("\x42\x01t", 3);  // name "t"
  if (raw) b += "\x4a" + varint(raw->size()) + *raw;
  return b;
}

ptq::ErrorKind kind_of(const std::string& bytes, std::string* msg) {
  try {
    ptq::parse_tensor_pb(bytes, "hostile.pb");
  } catch (const ptq::Error& e) {
    *msg = e.what();
    return e.kind();
  }
  return ptq::ErrorKind::Internal;
}

}  // namespace

TEST_CASE("TensorProto with dims whose product overflows int64 names the tensor", "[robust]") {
  std::string raw(4, '\0'), msg;
  REQUIRE(kind_of(tensor_bytes({1ull << 31, 1ull << 31, 1ull << 31}, 1, &raw), &msg) == ptq::ErrorKind::BadInput);
  CHECK_THAT(msg, Catch::Contains("tensor 'hostile.pb'"));
  CHECK_THAT(msg, Catch::Contains("too many elements"));
}

TEST_CASE("TensorProto claiming 16 GiB with no values fails before allocating", "[robust]") {
  // 65536 x 65536 float32 = 16 GiB, under the allocator's 64 GiB cap: this used to allocate and
  // zero 16 GiB before noticing that the typed field holds no values.
  std::string msg;
  REQUIRE(kind_of(tensor_bytes({65536, 65536}, 1, nullptr), &msg) == ptq::ErrorKind::BadInput);
  CHECK_THAT(msg, Catch::Contains("has 0 values but its shape [65536,65536] needs 4294967296"));
  std::string raw(8, '\0');
  REQUIRE(kind_of(tensor_bytes({65536, 65536}, 1, &raw), &msg) == ptq::ErrorKind::BadInput);
  CHECK_THAT(msg, Catch::Contains("raw data is 8 bytes but shape [65536,65536] of float32 needs 17179869184"));
}

TEST_CASE("TensorProto with more than 2^40 elements is refused outright", "[robust]") {
  std::string msg;
  REQUIRE(kind_of(tensor_bytes({1ull << 21, 1ull << 21}, 2, nullptr), &msg) == ptq::ErrorKind::BadInput);
  CHECK_THAT(msg, Catch::Contains("shape [2097152,2097152] has 4398046511104 elements, too many to load"));
}

TEST_CASE("well-formed TensorProto bytes still parse", "[robust]") {
  std::string raw("\x01\x02\x03", 3);  // uint8 (data_type 2)
  ptq::Tensor t = ptq::parse_tensor_pb(tensor_bytes({3}, 2, &raw), "ok.pb");
  REQUIRE(t.numel() == 3);
  CHECK(static_cast<const uint8_t*>(t.raw())[2] == 3);
}

TEST_CASE("fuzz regression: 4-bit TensorProto with short raw data fails before allocating", "[robust]") {
  // Found by fuzz/fuzz_tensor_pb (timeout): uint4 (data_type 21), dims [2,121,231,29696] (one plain,
  // three packed), 16 bytes of raw data. The 1.6 G-element buffer was allocated and zeroed before
  // the raw data size was checked.
  const std::string input(
      "\x08\x02\x10\x06\x10\x15\x4a\x10\x06\x79\xe7\x01\x80\xe8\x01\x06\x80\x01\x02\x80\xe8\x10\x42\x01\x68"
      "\x0a\x0a\x06\x79\xe7\x01\x80\xe8\x01\x42\x01\x68",
      37);
  std::string msg;
  REQUIRE(kind_of(input, &msg) == ptq::ErrorKind::BadInput);
  CHECK_THAT(msg, Catch::Contains("raw data is 16 bytes but shape"));
}
