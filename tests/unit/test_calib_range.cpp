// Range selection: minmax / percentile / kl / mse on data whose answers are worked out by hand
// (the derivations are in the comments), for symmetric/asymmetric, signed/unsigned, 8/4-bit targets.
#include <cmath>
#include <vector>

#include <catch2/catch.hpp>

#include "calib/range.h"
#include "calib/range_detail.h"
#include "core/error.h"

using namespace ptq;

namespace {

TensorStats stats_of(const std::vector<float>& v) {
  TensorStats s;
  REQUIRE(s.update(v.data(), static_cast<int64_t>(v.size())) == -1);
  return s;
}

RangeRequest req(CalibMethod m, DType target, bool symmetric, double p = kDefaultPercentile) {
  return RangeRequest{m, p, target, symmetric};
}

// 10000 values evenly spread over (-1, 1) (+-0.9999 at the ends) plus one outlier at 100.
// Both histograms get width 1/16 (100 * 32 > 2047 bins); the signed one starts at -1 (offset -16).
std::vector<float> uniform_with_outlier() {
  std::vector<float> v;
  for (int i = 0; i < 10000; ++i) v.push_back(static_cast<float>(-1.0 + 2.0 * (i + 0.5) / 10000));
  v.push_back(100.0f);
  return v;
}

// Same, but |x| triangular on [0, 1] (density 2(1-u)): bin counts fall steadily, so merging
// neighbouring bins (what KL's Q does) costs divergence. min = -0.99.
std::vector<float> triangular_with_outlier() {
  std::vector<float> v;
  for (int i = 0; i < 5000; ++i) {
    double u = 1.0 - std::sqrt(1.0 - (i + 0.5) / 5000);
    v.push_back(static_cast<float>(u));
    v.push_back(static_cast<float>(-u));
  }
  v.push_back(100.0f);
  return v;
}

// Post-ReLU: 5000 zeros and 5000 values (i + 0.5) / 5000 in (0, 1). Width 2^-11 (0.9999 * 2048 <
// 2048 bins), offset 0 for both histograms.
std::vector<float> relu_data() {
  std::vector<float> v(5000, 0.0f);
  for (int i = 0; i < 5000; ++i) v.push_back(static_cast<float>((i + 0.5) / 5000));
  return v;
}

const DType kTargets[] = {DType::UInt8, DType::Int8, DType::UInt4, DType::Int4};
const CalibMethod kMethods[] = {CalibMethod::MinMax, CalibMethod::Percentile, CalibMethod::KL, CalibMethod::MSE};

}  // namespace

TEST_CASE("range: method names and targets", "[calib]") {
  for (CalibMethod m : kMethods) CHECK(parse_calib_method(calib_method_name(m)) == m);
  CHECK(parse_calib_method("entropy") == CalibMethod::KL);
  REQUIRE_THROWS_AS(parse_calib_method("histogram"), Error);
  using calib_detail::target_of;
  // compute_qparams grids: int8 sym [-127, 127]; uint8 sym centred at 128 (127.5 steps a side).
  CHECK(target_of(req(CalibMethod::KL, DType::Int8, true)).grid_steps == 127);
  CHECK(target_of(req(CalibMethod::KL, DType::Int8, true)).kl_levels == 128);
  CHECK(target_of(req(CalibMethod::KL, DType::UInt8, true)).grid_steps == 127.5);
  CHECK(target_of(req(CalibMethod::KL, DType::UInt8, true)).kl_levels == 128);
  CHECK(target_of(req(CalibMethod::KL, DType::UInt8, false)).grid_steps == 255);
  CHECK(target_of(req(CalibMethod::KL, DType::Int8, false)).kl_levels == 256);
  CHECK(target_of(req(CalibMethod::KL, DType::Int4, true)).grid_steps == 7);
  CHECK(target_of(req(CalibMethod::KL, DType::Int4, true)).kl_levels == 8);
  CHECK(target_of(req(CalibMethod::KL, DType::UInt4, true)).grid_steps == 7.5);
  CHECK(target_of(req(CalibMethod::KL, DType::UInt4, false)).kl_levels == 16);
  TensorStats s = stats_of({1.0f, 2.0f});
  REQUIRE_THROWS_AS(choose_range(s, req(CalibMethod::MinMax, DType::Float32, false)), Error);
  REQUIRE_THROWS_AS(choose_range(s, req(CalibMethod::Percentile, DType::UInt8, false, 101.0)), Error);
  REQUIRE_THROWS_AS(choose_range(s, req(CalibMethod::Percentile, DType::UInt8, false, 20.0)), Error);
}

TEST_CASE("range: all-zero and constant tensors give [c, c] for every method and target", "[calib]") {
  for (float c : {0.0f, 3.5f, -2.0f}) {
    TensorStats s = stats_of(std::vector<float>(1000, c));
    for (CalibMethod m : kMethods)
      for (DType t : kTargets)
        for (bool sym : {false, true}) {
          Range r = choose_range(s, req(m, t, sym));
          CHECK(r.lo == c);
          CHECK(r.hi == c);
        }
  }
  Range empty = choose_range(TensorStats{}, req(CalibMethod::KL, DType::UInt8, false));
  CHECK(empty.lo == 0.0f);
  CHECK(empty.hi == 0.0f);
}

TEST_CASE("range: minmax keeps the outlier", "[calib]") {
  TensorStats s = stats_of(uniform_with_outlier());
  for (bool sym : {false, true}) {
    Range r = choose_range(s, req(CalibMethod::MinMax, DType::Int8, sym));
    CHECK(r.lo == -0.9999f);
    CHECK(r.hi == 100.0f);
  }
}

TEST_CASE("range: percentile clips the outlier", "[calib]") {
  TensorStats s = stats_of(uniform_with_outlier());
  // 99.99% of 10001 = 9999.9999 -> the bin holding the 10000th value (0.9999, bin [0.9375, 1))
  // -> upper edge 1.0. Lower side: first bin whose count exceeds 1.0001 is bin 0 = [-1, -0.9375),
  // edge -1 clamped to min.
  for (DType t : kTargets) {
    Range a = choose_range(s, req(CalibMethod::Percentile, t, false));
    CHECK(a.lo == -0.9999f);
    CHECK(a.hi == 1.0f);
    Range y = choose_range(s, req(CalibMethod::Percentile, t, true));
    CHECK(y.lo == -0.9999f);
    CHECK(y.hi == 1.0f);
  }
  // 100% clips nothing.
  Range all = choose_range(s, req(CalibMethod::Percentile, DType::UInt8, false, 100.0));
  CHECK(all.lo == -0.9999f);
  CHECK(all.hi == 100.0f);
}

TEST_CASE("range: percentile on post-ReLU data", "[calib]") {
  TensorStats s = stats_of(relu_data());
  // 99% of 10000 = 9900: 5000 zeros + the 4900 values (i + 0.5) / 5000 < 2007 / 2048
  // (i <= 4899) reach it in bin 2006, not before (bin 2005 holds up to i = 4896: 9897).
  const float T = 2007.0f / 2048.0f;
  for (bool sym : {false, true}) {
    Range r = choose_range(s, req(CalibMethod::Percentile, DType::UInt8, sym, 99.0));
    CHECK(r.lo == 0.0f);
    CHECK(r.hi == T);
  }
}

TEST_CASE("range: KL divergence of small windows, by hand", "[calib]") {
  using calib_detail::KlHist;
  using calib_detail::kl_window;
  const std::vector<uint64_t> h{4, 0, 2, 2};
  const KlHist kh(h.data(), 4);
  const double e = 1e-4;
  auto term = [](double p, double sp, double q, double sq) { return p / sp * std::log((p / sp) / (q / sq)); };
  // [0, 4), 2 levels: chunks {4, 0} and {2, 2} spread over P's nonzero bins reproduce P: KL = 0.
  CHECK(kl_window(kh, 0, 4, 2) == 0.0);
  // [0, 3): P = [4, 0, 2 + 2 (folded)]; chunks floor(k * 2 / 3) = {0, 1} and {2}: sums 4 and 2 ->
  // Q = [4, 0, 2]. One zero bin in each: it gets eps, the two nonzero bins give eps/2 each. Sums 8, 6.
  const double p3 = 4 - e / 2, q3 = 2 - e / 2;
  CHECK(kl_window(kh, 0, 3, 2) == Approx(term(p3, 8, p3, 6) + term(e, 8, e, 6) + term(p3, 8, q3, 6)).epsilon(1e-12));
  // [1, 4): P = [0 + 4 (folded), 2, 2]; chunks {0, 1} (window sum 0 + 2 over 2 nonzero P bins) and
  // {2} -> Q = [1, 1, 2]; no zeros, no smoothing: KL = 1/2 ln 2 + 1/4 ln 1 + 1/4 ln 1/2 = ln(2) / 4.
  CHECK(kl_window(kh, 1, 4, 2) == Approx(std::log(2.0) / 4).epsilon(1e-12));
}

TEST_CASE("range: KL does not clip when every bin holds the same count", "[calib]") {
  // 3 values at each bin centre (k + 0.5) / 2048: Q == P exactly for the full window (KL = 0),
  // any narrower window folds its outliers into the last bin (KL > 0).
  std::vector<float> v;
  for (int r = 0; r < 3; ++r)
    for (int k = 0; k < 2048; ++k) v.push_back(static_cast<float>((k + 0.5) / 2048));
  TensorStats s = stats_of(v);
  for (DType t : kTargets)
    for (bool sym : {false, true}) {
      Range r = choose_range(s, req(CalibMethod::KL, t, sym));
      CHECK(r.lo == static_cast<float>(s.min));
      CHECK(r.hi == static_cast<float>(s.max));
    }
}

TEST_CASE("range: KL clips a single outlier (TensorRT entropy)", "[calib]") {
  TensorStats s = stats_of(triangular_with_outlier());
  // Symmetric int8, |x| width 1/16, bulk in bins 0..15, outlier in bin 1600. At i = 128 each chunk
  // is one bin, so Q == P except the folded outlier (KL ~ 1e-4 * ln(1e4) ~ 1e-3); any larger i
  // merges neighbouring bins of the falling bulk (chunk 0 holds bins 0 and 1 from i = 129 on), and
  // only i > 1600 avoids the outlier penalty, merging 12 bins at once. So T = i / 16 is 8 (we only
  // assert it is clipped to the first octave, [8, 16)).
  Range r = choose_range(s, req(CalibMethod::KL, DType::Int8, true));
  CHECK(r.lo == -0.99f);
  CHECK(r.hi >= 8.0f);
  CHECK(r.hi < 16.0f);
  // Asymmetric uint8 on the signed histogram (offset -16, 0 at bin 16): only windows of exactly
  // 256 bins keep one bin per chunk; a > 0 would fold bulk into P[0]. So a = 0 (lo = min) and b is
  // 256 (hi = (b - 16) / 16 = 15; we assert [15, 32), i.e. b < 2 * 256 + 16).
  Range a = choose_range(s, req(CalibMethod::KL, DType::UInt8, false));
  CHECK(a.lo == -0.99f);
  CHECK(a.hi >= 15.0f);
  CHECK(a.hi < 32.0f);
  // 4-bit: 8 / 16 levels; the outlier is clipped too (candidates start at 8 / 16 bins).
  for (DType t : {DType::Int4, DType::UInt4})
    for (bool sym : {false, true}) {
      Range q = choose_range(s, req(CalibMethod::KL, t, sym));
      CHECK(q.hi < 100.0f);
      CHECK(q.hi >= 0.5f);
    }
}

TEST_CASE("range: MSE against the closed-form optimum", "[calib]") {
  TensorStats s = stats_of(uniform_with_outlier());
  // Symmetric, h steps from 0 to T, outlier bin centred at c = 100.03125 (bin units: 1600.5):
  //   E(T) = 10000 (T / h)^2 / 12 + (c - T)^2  ->  T* = c / (1 + 10000 / (12 h^2)).
  // int8 (h = 127): T* = 95.117 (vs. not clipping: 10001 (100/127)^2/12 = 516.7 > E(T*) = 491.6).
  Range r8 = choose_range(s, req(CalibMethod::MSE, DType::Int8, true));
  CHECK(r8.lo == -0.9999f);
  CHECK(r8.hi == Approx(100.03125 / (1 + 10000.0 / (12 * 127.0 * 127))).margin(1.0 / 16));
  // int4 (h = 7): T* = 5.555.
  Range r4 = choose_range(s, req(CalibMethod::MSE, DType::Int4, true));
  CHECK(r4.hi == Approx(100.03125 / (1 + 10000.0 / (12 * 7.0 * 7))).margin(1.0 / 16));
  // uint4 symmetric (h = 7.5).
  Range u4 = choose_range(s, req(CalibMethod::MSE, DType::UInt4, true));
  CHECK(u4.hi == Approx(100.03125 / (1 + 10000.0 / (12 * 7.5 * 7.5))).margin(1.0 / 16));
  // Asymmetric (grid of `steps` steps over [lo, hi]): the continuous model with the bulk's density
  // 5000 per unit on [-1, 1]: E = N_in ((hi - lo) / steps)^2 / 12 + 5000 (lo + 1)^3 / 3 + (c - hi)^2,
  // N_in = 10000 - 5000 (lo + 1) (a clipped value pays its clipping error instead of rounding noise,
  // so values closer than ~step/sqrt(12) to the edge are cheaper clipped: lo moves in a little even
  // for 8 bits). For fixed lo, dE/dhi = 0 gives hi(lo) = (c + k lo) / (1 + k), k = N_in / (12 steps^2);
  // scan lo for the optimum. The histogram answer has lo within a bin (1/16) of it, and hi within a
  // bin of hi(lo) at that lo (hi(lo) moves ~15x faster than lo for 4 bits through N_in).
  auto k_of = [](double lo, double steps) { return (10000 - 5000 * (lo + 1)) / (12 * steps * steps); };
  auto hi_of = [&](double lo, double steps) { return (100.03125 + k_of(lo, steps) * lo) / (1 + k_of(lo, steps)); };
  auto best_lo = [&](double steps) {
    double best = 1e300, blo = 0;
    for (double lo = -1.0; lo <= 0.0; lo += 1e-4) {
      const double k = k_of(lo, steps), hi = hi_of(lo, steps);
      const double e = k * (hi - lo) * (hi - lo) + 5000 * std::pow(lo + 1, 3) / 3 + (100.03125 - hi) * (100.03125 - hi);
      if (e < best) {
        best = e;
        blo = lo;
      }
    }
    return blo;
  };
  // Continuous optima: 8-bit lo* = -0.885, hi* = 98.83; 4-bit lo* = -0.447, hi* = 26.85.
  CHECK(best_lo(255) == Approx(-0.885).margin(1e-3));
  CHECK(hi_of(best_lo(15), 15) == Approx(26.854).margin(1e-2));
  for (auto [t, steps] : {std::pair<DType, double>{DType::UInt8, 255}, {DType::Int8, 255}, {DType::UInt4, 15}, {DType::Int4, 15}}) {
    Range a = choose_range(s, req(CalibMethod::MSE, t, false));
    CHECK(a.lo == Approx(best_lo(steps)).margin(1.0 / 16));
    CHECK(a.hi == Approx(hi_of(a.lo, steps)).margin(1.0 / 16));
  }
}

TEST_CASE("range: MSE on post-ReLU data clips a sliver of the tail", "[calib]") {
  TensorStats s = stats_of(relu_data());
  // Density 5000 per unit up to 0.9999; clipping at T costs ~5000 (0.9999 - T)^3 / 3, the grid
  // noise is ~10000 (T / h)^2 / 12. Balance: 5000 (0.9999 - T)^2 = 10000 T / (6 h^2).
  auto balance = [](double h) {
    double T = 1.0;
    for (int i = 0; i < 50; ++i) T = 0.9999 - std::sqrt(10000 * T / (6 * h * h) / 5000);
    return T;
  };
  Range sym = choose_range(s, req(CalibMethod::MSE, DType::Int8, true));
  CHECK(sym.lo == 0.0f);
  CHECK(sym.hi == Approx(balance(127)).margin(2.0 / 2048));
  Range asym = choose_range(s, req(CalibMethod::MSE, DType::UInt8, false));
  CHECK(asym.lo == 0.0f);
  CHECK(asym.hi == Approx(balance(255)).margin(2.0 / 2048));
}

TEST_CASE("range: one-sided data never gets a negative lower bound", "[calib]") {
  TensorStats s = stats_of(relu_data());
  for (CalibMethod m : kMethods)
    for (DType t : kTargets)
      for (bool sym : {false, true}) {
        Range r = choose_range(s, req(m, t, sym));
        CHECK(r.lo == 0.0f);
        CHECK(r.hi > 0.0f);
        CHECK(r.hi <= static_cast<float>(s.max));
      }
}

TEST_CASE("range: choose_ranges matches choose_range, with any thread count", "[calib]") {
  std::map<std::string, TensorStats> m;
  m.emplace("a", stats_of(uniform_with_outlier()));
  m.emplace("b", stats_of(relu_data()));
  m.emplace("c", stats_of(triangular_with_outlier()));
  m.emplace("empty", TensorStats{});
  for (CalibMethod meth : kMethods) {
    RangeRequest q = req(meth, DType::UInt8, false);
    for (int threads : {1, 2}) {
      auto r = choose_ranges(m, q, threads);
      CHECK(r.size() == 3);
      for (const auto& [name, range] : r) {
        Range one = choose_range(m.at(name), q);
        CHECK(range.lo == one.lo);
        CHECK(range.hi == one.hi);
      }
    }
  }
}
