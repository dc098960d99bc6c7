// Branch-free float exp / sigmoid / tanh that compilers vectorize (the libm calls they replace
// do not: in LSTM/GRU cells and Sigmoid/Tanh ops those scalar calls took most of the time).
// exp follows Cephes' expf: range reduction by ln 2 in two parts and a degree-6 polynomial,
// within 2 ulp of std::exp over the float range (tests/unit/test_fast_math.cpp sweeps it).
// NaN propagates; +-inf and overflow saturate like std::exp (0, +inf).
#pragma once
#include <cmath>
#include <cstdint>
#include <cstring>

namespace ptq::kern {

inline float exp_fast(float x) {
  constexpr float kMax = 88.72283935546875f;  // exp(kMax) is just below FLT_MAX
  constexpr float kMin = -103.9720840454f;    // below this exp rounds to 0 (subnormals included)
  float xc = x > kMax ? kMax : (x < kMin ? kMin : x);  // NaN stays NaN
  // n = round(x / ln 2) by the 1.5 * 2^23 trick (SSE2 has no vector floor; exact for |n| < 2^22)
  constexpr float kRound = 12582912.0f;
  float n = (xc * 1.44269504088896341f + kRound) - kRound;
  float r = xc - n * 0.693359375f;
  r = r - n * -2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  // 2^n as two factors so that n down to -150 (subnormal results) needs no special case.
  float nn = n == n ? n : 0.f;  // NaN: any n, the polynomial is NaN already
  int32_t n1 = static_cast<int32_t>(nn * 0.5f);
  int32_t n2 = static_cast<int32_t>(nn) - n1;
  int32_t b1 = (n1 + 127) << 23, b2 = (n2 + 127) << 23;
  float s1, s2;
  std::memcpy(&s1, &b1, sizeof s1);
  std::memcpy(&s2, &b2, sizeof s2);
  float y = p * s1 * s2;
  return x > kMax ? HUGE_VALF : y;
}

inline float sigmoid_fast(float x) { return 1.0f / (1.0f + exp_fast(-x)); }

// tanh(x) = sign(x) (1 - e) / (1 + e) with e = exp(-2|x|); near 0, where that form loses
// relative precision, the odd Taylor polynomial to x^9 (error < 1e-7 relative for |x| < 0.1).
inline float tanh_fast(float x) {
  float ax = std::fabs(x);
  float e = exp_fast(-2.0f * ax);
  float t = (1.0f - e) / (1.0f + e);
  float x2 = x * x;
  float small = x * (1.0f + x2 * (-1.0f / 3 + x2 * (2.0f / 15 + x2 * (-17.0f / 315 + x2 * (62.0f / 2835)))));
  float big = std::copysign(t, x);
  return ax < 0.1f ? small : big;
}

}  // namespace ptq::kern
