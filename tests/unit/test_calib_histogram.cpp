// Adaptive histograms and TensorStats: hand-computed layouts, exact re-binning on growth, exact
// shard merging, independence from element order / batching / threads, NaN reporting.
#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include <catch2/catch.hpp>

#include "calib/collector.h"
#include "calib/tensor_stats.h"
#include "core/error.h"

using namespace ptq;

namespace {

std::vector<uint64_t> sparse(int bins, std::vector<std::pair<int, uint64_t>> nz) {
  std::vector<uint64_t> c(static_cast<size_t>(bins), 0);
  for (auto [k, v] : nz) c[static_cast<size_t>(k)] = v;
  return c;
}

TensorStats stats_of(const std::vector<float>& v, int bins = kDefaultBins, int threads = 1) {
  TensorStats s(bins);
  REQUIRE(s.update(v.data(), static_cast<int64_t>(v.size()), threads) == -1);
  return s;
}

// Shards of differently scaled data: normal, wide, post-ReLU, tiny, far from zero.
std::vector<std::vector<float>> make_shards() {
  std::mt19937 rng(1234);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  std::vector<std::vector<float>> shards;
  const float scales[] = {1.0f, 0.001f, 37.0f, 1e-20f, 5.0f};
  for (int s = 0; s < 5; ++s) {
    std::vector<float> v(3000 + 517 * s);
    for (float& x : v) x = nd(rng) * scales[s];
    if (s == 2)
      for (float& x : v) x = std::max(x, 0.0f);  // post-ReLU
    if (s == 4)
      for (float& x : v) x += 300.0f;
    shards.push_back(v);
  }
  return shards;
}

}  // namespace

TEST_CASE("histogram layout: hand-computed bins", "[calib]") {
  // [0.5, 3] in 16 bins: width 0.25 fits (floor(12) - floor(2) = 10 <= 15), 0.125 does not (24 - 4).
  TensorStats s = stats_of({0.5f, 1.5f, 3.0f}, 16);
  CHECK(s.hist.exp() == -2);
  CHECK(s.hist.offset() == 2);
  CHECK(s.hist.used_bins() == 11);
  CHECK(s.hist.counts() == sparse(16, {{0, 1}, {4, 1}, {10, 1}}));
  CHECK(s.hist.edge(0) == 0.5);
  // |x| over [0, 3]: width 0.25 (12 <= 15), anchored at 0.
  CHECK(s.abs_hist.exp() == -2);
  CHECK(s.abs_hist.offset() == 0);
  CHECK(s.abs_hist.counts() == sparse(16, {{2, 1}, {6, 1}, {12, 1}}));
  CHECK(s.min == 0.5);
  CHECK(s.max == 3.0);
  CHECK(s.count == 3);
  // The standalone Histogram gives the same bins.
  Histogram h(16);
  h.cover(0.5, 3.0);
  const float v[] = {3.0f, 0.5f, 1.5f};
  h.add(v, 3);
  CHECK(h == s.hist);
}

TEST_CASE("histogram layout: negative values use floor", "[calib]") {
  // [-0.3, 0.3]: width 1/32 needs 9 - (-10) = 19 > 15 bins, width 1/16 needs 4 - (-5) = 9.
  TensorStats s = stats_of({-0.3f, 0.3f}, 16);
  CHECK(s.hist.exp() == -4);
  CHECK(s.hist.offset() == -5);
  CHECK(s.hist.counts() == sparse(16, {{0, 1}, {9, 1}}));
}

TEST_CASE("histogram: re-binning on growth is exact and keeps counts", "[calib]") {
  TensorStats s(16);
  float a = 0.5f;
  s.update(&a, 1);
  // A single value: span 0, so the width is the finest allowed for |x| = 0.5: 2^(-1 - 29).
  CHECK(s.hist.exp() == -30);
  CHECK(s.hist.offset() == (int64_t{1} << 29));
  CHECK(s.hist.counts()[0] == 1);
  float b = 3.0f;
  s.update(&b, 1);
  CHECK(s.hist.exp() == -2);
  CHECK(s.hist.offset() == 2);
  float c = 1.5f;
  s.update(&c, 1);
  CHECK(s == stats_of({0.5f, 1.5f, 3.0f}, 16));
  float d = -2.0f;
  s.update(&d, 1);
  // [-2, 3]: width 0.25 needs 12 - (-8) = 20 bins, width 0.5 needs 6 - (-4) = 10: offset -4.
  CHECK(s.hist.exp() == -1);
  CHECK(s.hist.offset() == -4);
  CHECK(s.hist.counts() == sparse(16, {{0, 1}, {5, 1}, {7, 1}, {10, 1}}));
  CHECK(s.abs_hist.counts() == sparse(16, {{2, 1}, {6, 1}, {8, 1}, {12, 1}}));
  CHECK(s.hist.total() == 4);
  CHECK(s.abs_hist.total() == 4);
  CHECK(s == stats_of({-2.0f, 3.0f, 0.5f, 1.5f}, 16));
}

TEST_CASE("histogram: a tiny negative value lands below zero even when x / width underflows", "[calib]") {
  const float tiny = -std::numeric_limits<float>::denorm_min();
  // [tiny, 1000] in 16 bins: width 64 needs 15 - (-1) = 16 bins, width 128 needs 7 - (-1) = 8.
  TensorStats s = stats_of({tiny, 1000.0f}, 16);
  CHECK(s.hist.exp() == 7);
  CHECK(s.hist.offset() == -1);
  CHECK(s.hist.counts() == sparse(16, {{0, 1}, {8, 1}}));
  TensorStats inc(16);
  inc.update(&tiny, 1);
  float big = 1000.0f;
  inc.update(&big, 1);
  CHECK(inc == s);
}

TEST_CASE("histogram: growth keeps the total count at every step", "[calib]") {
  TensorStats s(64);
  uint64_t n = 0;
  for (const auto& shard : make_shards()) {
    s.update(shard.data(), static_cast<int64_t>(shard.size()));
    n += shard.size();
    CHECK(s.count == n);
    CHECK(s.hist.total() == n);
    CHECK(s.abs_hist.total() == n);
  }
}

TEST_CASE("tensor stats: shards merge exactly into a single pass", "[calib]") {
  auto shards = make_shards();
  std::vector<float> all;
  for (const auto& sh : shards) all.insert(all.end(), sh.begin(), sh.end());
  for (int bins : {16, 2048}) {
    TensorStats one = stats_of(all, bins);
    // Incremental, sample by sample.
    TensorStats inc(bins);
    for (const auto& sh : shards) inc.update(sh.data(), static_cast<int64_t>(sh.size()));
    CHECK(inc == one);
    // Each shard separately, merged in reverse and in a tree.
    std::vector<TensorStats> parts;
    for (const auto& sh : shards) parts.push_back(stats_of(sh, bins));
    TensorStats rev(bins);
    for (size_t i = parts.size(); i-- > 0;) rev.merge(parts[i]);
    CHECK(rev == one);
    TensorStats left = parts[0], right = parts[3];
    left.merge(parts[1]);
    right.merge(parts[4]);
    right.merge(parts[2]);
    left.merge(right);
    CHECK(left == one);
    CHECK(left.hist.counts() == one.hist.counts());
    CHECK(left.abs_hist.counts() == one.abs_hist.counts());
  }
}

TEST_CASE("tensor stats: independent of element order, batching and threads", "[calib]") {
  std::mt19937 rng(7);
  std::normal_distribution<float> nd(0.5f, 2.0f);
  std::vector<float> v(300000);
  for (float& x : v) x = nd(rng);
  TensorStats ref = stats_of(v);
  std::vector<float> shuffled = v;
  std::shuffle(shuffled.begin(), shuffled.end(), rng);
  CHECK(stats_of(shuffled) == ref);
  TensorStats batched;
  for (size_t i = 0; i < v.size(); i += 7001) batched.update(v.data() + i, static_cast<int64_t>(std::min<size_t>(7001, v.size() - i)));
  CHECK(batched == ref);
  CHECK(stats_of(v, kDefaultBins, 2) == ref);
  CHECK(stats_of(shuffled, kDefaultBins, 3) == ref);
}

TEST_CASE("tensor stats: merge rejects different bin counts", "[calib]") {
  TensorStats a = stats_of({1.0f}, 16), b = stats_of({2.0f}, 32);
  REQUIRE_THROWS_AS(a.merge(b), Error);
  CalibStats ca, cb;
  cb.bins = 32;
  REQUIRE_THROWS_AS(ca.merge(cb), Error);
}

TEST_CASE("tensor stats: NaN / Inf leave the stats untouched and report the index", "[calib]") {
  TensorStats s = stats_of({1.0f, 2.0f});
  TensorStats before = s;
  std::vector<float> bad{0.5f, 3.0f, std::nanf(""), 4.0f};
  CHECK(s.update(bad.data(), 4) == 2);
  bad[2] = -std::numeric_limits<float>::infinity();
  CHECK(s.update(bad.data(), 4) == 2);
  CHECK(s == before);
}

TEST_CASE("collector: non-float values recorded by dtype, NaN is Error(BadInput) naming tensor and sample", "[calib]") {
  StatsCollector c({64, 1});
  Tensor f(DType::Float32, {3});
  f.data<float>()[0] = 1.0f;
  f.data<float>()[1] = -2.0f;
  f.data<float>()[2] = 0.0f;
  Tensor i(DType::Int64, {2});
  c.set_sample("s0");
  c.on_value("act", f, nullptr);
  c.on_value("shape", i, nullptr);
  c.count_sample();
  CHECK(c.samples() == 1);
  CHECK(c.dtypes().at("shape") == DType::Int64);
  CHECK(c.stats().count("shape") == 0);
  CHECK(c.stats().at("act").count == 3);
  CHECK(c.stats().at("act").bins() == 64);
  c.set_sample("img_042");
  f.data<float>()[1] = std::nanf("");
  try {
    c.on_value("act", f, nullptr);
    FAIL("expected an error");
  } catch (const Error& e) {
    CHECK(e.kind() == ErrorKind::BadInput);
    std::string msg = e.what();
    CHECK(msg.find("img_042") != std::string::npos);
    CHECK(msg.find("'act'") != std::string::npos);
    CHECK(msg.find("flat index 1") != std::string::npos);
  }
  CHECK(c.stats().at("act").count == 3);
  REQUIRE_THROWS_AS(StatsCollector({8, 1}), Error);
}

TEST_CASE("tensor stats: the binning paths count exactly what a value-by-value loop counts", "[calib]") {
  // Sizes on both sides of the direct path (< bins values) and of the 512-value chunks; data with
  // exact zeros (post-ReLU: the zero slots), signed data with zeros, positive data whose signed
  // grid differs from the |x| grid, negative-only data, and a constant.
  std::mt19937 rng(99);
  std::normal_distribution<float> nd(0.0f, 3.0f);
  for (int bins : {16, 2048}) {
    for (int64_t n : {1, 7, 511, 513, 2047, 2048, 5000, 20001}) {
      for (int kind = 0; kind < 5; ++kind) {
        std::vector<float> v(static_cast<size_t>(n));
        for (float& x : v) {
          x = nd(rng);
          if (kind == 0) x = std::max(x, 0.0f);
          if (kind == 1 && std::fabs(x) < 1.0f) x = 0.0f;
          if (kind == 2) x = std::fabs(x) + 10.0f;
          if (kind == 3) x = -std::fabs(x) - 0.5f;
          if (kind == 4) x = 2.5f;
        }
        INFO("bins " << bins << " n " << n << " kind " << kind);
        TensorStats s = stats_of(v, bins);
        Histogram hs(bins), ha(bins);
        hs.cover(s.min, s.max);
        ha.cover(0.0, std::max(std::fabs(s.min), std::fabs(s.max)));
        std::vector<float> absv(v);
        for (float& x : absv) x = std::fabs(x);
        for (size_t i = 0; i < v.size(); ++i) {  // one value at a time: no fast path involved
          hs.add(&v[i], 1);
          ha.add(&absv[i], 1);
        }
        CHECK(s.hist.counts() == hs.counts());
        CHECK(s.abs_hist.counts() == ha.counts());
      }
    }
  }
}
