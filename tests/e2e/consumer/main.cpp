// Uses the installed headers and library: SHA-256 of "abc" and the default output path.
#include <cstdio>

#include "app/pipeline.h"
#include "app/provenance.h"

int main() {
  std::printf("%s\n", ptq::sha256_hex("abc").c_str());
  std::printf("%s\n", ptq::default_output_path("m/model.onnx", ptq::QuantOptions{}).c_str());
  return 0;
}
