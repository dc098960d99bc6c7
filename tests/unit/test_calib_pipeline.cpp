// Pipelined statistics (StatsOptions::pipelined): folding on a second thread gives exactly the
// inline statistics, starts only for small samples, and a NaN/Inf found on the folding thread
// surfaces as the same error, naming the same sample and tensor, no later than take().
#include <catch2/catch.hpp>

#include <cmath>
#include <string>
#include <vector>

#include "calib/collector.h"
#include "core/error.h"

using namespace ptq;

namespace {

// Values of sample s for tensor t: varied ranges, post-ReLU zeros, and sizes on both sides of the
// direct binning path.
Tensor value_of(int s, int t) {
  const int64_t n = 300 + 1700 * t;
  Tensor v(DType::Float32, {n});
  for (int64_t i = 0; i < n; ++i) {
    float x = std::sin(0.37f * static_cast<float>(i + 11 * s)) * static_cast<float>(1 + s % 5 + t);
    v.data<float>()[i] = t % 2 ? std::max(x, 0.0f) : x;
  }
  return v;
}

// Feeds `samples` samples of 4 tensors like the executor would; the tensor named `bad` of sample
// `bad_sample` holds a NaN at index 7. Returns the error message ("" when none).
std::string feed(StatsCollector& c, int samples, int bad_sample = -1) {
  try {
    for (int s = 0; s < samples; ++s) {
      c.set_sample("sample_" + std::to_string(s));
      for (int t = 0; t < 4; ++t) {
        Tensor v = value_of(s, t);
        if (s == bad_sample && t == 2) v.data<float>()[7] = std::nanf("");
        c.on_value("t" + std::to_string(t), v, nullptr);
      }
      c.count_sample();
    }
    c.sync();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("pipelined statistics equal inline statistics", "[calib][pipeline]") {
  StatsCollector inline_c({256, 1, false}), piped({256, 2, true});
  REQUIRE(feed(inline_c, 200).empty());
  REQUIRE(feed(piped, 200).empty());
  CHECK(piped.take() == inline_c.take());
}

TEST_CASE("pipelined statistics: a NaN on the folding thread names the same sample and tensor", "[calib][pipeline]") {
  for (int bad : {0, 1, 57}) {  // sample 0 is folded inline (pipelining starts after it)
    INFO("bad sample " << bad);
    StatsCollector inline_c({256, 1, false}), piped({256, 2, true});
    std::string a = feed(inline_c, 120, bad), b = feed(piped, 120, bad);
    CHECK_FALSE(a.empty());
    CHECK(a.find("sample_" + std::to_string(bad)) != std::string::npos);
    CHECK(a.find("'t2'") != std::string::npos);
    CHECK(b == a);
  }
}
