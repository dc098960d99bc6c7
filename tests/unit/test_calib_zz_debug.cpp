#include <cmath>
#include <cstdio>
#include <vector>
#include <catch2/catch.hpp>
#include "calib/range_detail.h"
using namespace ptq;
TEST_CASE("kl debug", "[.kldebug]") {
  std::vector<float> v;
  for (int i = 0; i < 5000; ++i) { double u = 1.0 - std::sqrt(1.0 - (i + 0.5) / 5000); v.push_back((float)u); v.push_back((float)-u); }
  v.push_back(100.0f);
  TensorStats s; s.update(v.data(), v.size());
  const Histogram& H = s.hist;
  int64_t nb = H.used_bins();
  std::vector<uint64_t> p(nb + 1, 0);
  for (int64_t k = 0; k < nb; ++k) p[k + 1] = p[k] + H.counts()[k];
  std::printf("nb %ld off %ld counts:", nb, H.offset());
  for (int k = 0; k < 34; ++k) std::printf(" %lu", H.counts()[k]);
  std::printf("\n");
  std::vector<double> sc;
  for (int64_t a : {0, 1, 2}) for (int64_t b : {257, 300, 400, 511, 600, 1617}) if (b - a >= 256)
    std::printf("a %ld b %ld kl %.6g\n", a, b, calib_detail::kl_window(H.counts().data(), nb, p.data(), a, b, 256, sc));
  for (int64_t a = 0; a <= 16; ++a) std::printf("a %ld full kl %.6g\n", a, calib_detail::kl_window(H.counts().data(), nb, p.data(), a, 1617, 256, sc));
}
