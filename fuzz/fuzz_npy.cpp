// libFuzzer target: .npy and .npz parsing from bytes (parse_npy, NpzFile::from_bytes + read of
// every key). Any ptq::Error is an accepted outcome.
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/error.h"
#include "data/npy.h"
#include "data/npz.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string bytes(reinterpret_cast<const char*>(data), size);
  try {
    ptq::parse_npy(bytes, "fuzz.npy");
  } catch (const ptq::Error&) {
  }
  try {
    ptq::NpzFile z = ptq::NpzFile::from_bytes(bytes, "fuzz.npz");
    for (const auto& k : z.keys()) {
      try {
        z.read(k);
      } catch (const ptq::Error&) {
      }
    }
  } catch (const ptq::Error&) {
  }
  return 0;
}
