// libFuzzer target: model loading + graph validation (the steps are in model_steps.h, shared with
// the regression tests). Any ptq::Error other than Internal is an accepted outcome; a crash,
// sanitizer report, other exception, hang, allocation past tools/fuzz.sh's -rss_limit_mb, or an
// Internal error (a hostile model must be reported as bad input or unsupported, exit 3/4, not as
// our bug, exit 1) is a finding. Seeds: fuzz/make_corpus.py.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "core/error.h"
#include "model_steps.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const ptq::KernelRegistry reg = ptq::make_default_registry();
  try {
    ptq::fuzz::load_and_prepare(std::string(reinterpret_cast<const char*>(data), size), reg);
  } catch (const ptq::Error& e) {
    if (e.kind() == ptq::ErrorKind::Internal) {
      std::fprintf(stderr, "internal error on a hostile model: %s\n", e.what());
      std::abort();
    }
  }
  return 0;
}
