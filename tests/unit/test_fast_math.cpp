// exec/kernels/fast_math.h against libm (double precision as the reference) over the float range.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <limits>

#include "exec/kernels/fast_math.h"

using namespace ptq::kern;

namespace {
// Distance in units in the last place between two finite floats of the same sign.
int64_t ulps(float a, float b) {
  int32_t ia, ib;
  std::memcpy(&ia, &a, 4);
  std::memcpy(&ib, &b, 4);
  return std::llabs(static_cast<int64_t>(ia) - ib);
}
}  // namespace

TEST_CASE("exp_fast is within 2 ulp of exp over the normal float range", "[fast_math]") {
  int64_t worst = 0;
  for (double x = -87.0; x <= 88.7; x += 0.000731) {
    float want = static_cast<float>(std::exp(static_cast<double>(static_cast<float>(x))));
    float got = exp_fast(static_cast<float>(x));
    worst = std::max(worst, ulps(got, want));
  }
  CHECK(worst <= 2);
}

TEST_CASE("exp_fast edge cases: subnormal results, saturation, inf and NaN", "[fast_math]") {
  CHECK(exp_fast(0.f) == 1.f);
  CHECK(exp_fast(-200.f) == 0.f);
  CHECK(exp_fast(-std::numeric_limits<float>::infinity()) == 0.f);
  CHECK(std::isinf(exp_fast(89.f)));
  CHECK(std::isinf(exp_fast(std::numeric_limits<float>::infinity())));
  CHECK(std::isnan(exp_fast(std::nanf(""))));
  float sub = exp_fast(-100.f);  // 3.72e-44: a subnormal
  CHECK(sub > 0.f);
  CHECK(std::fabs(sub - 3.7200760e-44f) <= 2 * std::numeric_limits<float>::denorm_min());
  float big = exp_fast(88.7f);
  CHECK(std::isfinite(big));
  CHECK(ulps(big, static_cast<float>(std::exp(static_cast<double>(88.7f)))) <= 2);
}

TEST_CASE("sigmoid_fast and tanh_fast are within 2e-7 absolute and 1e-6 relative of libm", "[fast_math]") {
  double worst_abs_s = 0, worst_abs_t = 0, worst_rel_t = 0;
  for (double x = -30.0; x <= 30.0; x += 0.000377) {
    float xf = static_cast<float>(x);
    double s = 1.0 / (1.0 + std::exp(-static_cast<double>(xf)));
    double t = std::tanh(static_cast<double>(xf));
    worst_abs_s = std::max(worst_abs_s, std::fabs(sigmoid_fast(xf) - s));
    worst_abs_t = std::max(worst_abs_t, std::fabs(tanh_fast(xf) - t));
    if (t != 0) worst_rel_t = std::max(worst_rel_t, std::fabs(tanh_fast(xf) - t) / std::fabs(t));
  }
  CHECK(worst_abs_s < 2e-7);
  CHECK(worst_abs_t < 2e-7);
  CHECK(worst_rel_t < 1e-6);
  CHECK(tanh_fast(0.f) == 0.f);
  CHECK(std::signbit(tanh_fast(-0.f)));
  CHECK(tanh_fast(1e-30f) == 1e-30f);
  CHECK(tanh_fast(50.f) == 1.f);
  CHECK(tanh_fast(-50.f) == -1.f);
  CHECK(sigmoid_fast(-200.f) == 0.f);
  CHECK(sigmoid_fast(200.f) == 1.f);
  CHECK(std::isnan(sigmoid_fast(std::nanf(""))));
  CHECK(std::isnan(tanh_fast(std::nanf(""))));
}
