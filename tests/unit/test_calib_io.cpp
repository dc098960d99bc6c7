// Saving / loading / merging calibration statistics files, plus a hidden micro-benchmark
// (run with: unit_tests "[.calib-bench]").
#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <functional>
#include <random>
#include <vector>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "calib/collector.h"
#include "calib/range.h"
#include "calib/stats_io.h"
#include "core/atomic_file.h"
#include "core/error.h"
#include "data/sample_source.h"
#include "exec/executor.h"
#include "onnx_io/model_io.h"

using namespace ptq;
namespace fs = std::filesystem;

namespace {

struct TempDir {
  fs::path path;
  TempDir() {
    path = fs::temp_directory_path() / ("ptq_calib_io_" + std::to_string(std::random_device{}()));
    fs::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  std::string file(const std::string& name) const { return (path / name).string(); }
};

Tensor random_tensor(std::mt19937& rng, int64_t n, float scale, float shift) {
  std::normal_distribution<float> nd(0.0f, scale);
  Tensor t(DType::Float32, {n});
  for (int64_t i = 0; i < n; ++i) t.data<float>()[i] = nd(rng) + shift;
  return t;
}

// Feeds `samples` samples (seeded) of three activations and one int64 value into a collector.
void feed(StatsCollector& c, unsigned seed, int samples) {
  std::mt19937 rng(seed);
  for (int s = 0; s < samples; ++s) {
    c.set_sample("sample" + std::to_string(s));
    c.on_value("input", random_tensor(rng, 500, 1.0f, 0.0f), nullptr);
    c.on_value("relu_out", random_tensor(rng, 800, 3.0f + static_cast<float>(s), 1.0f), nullptr);
    c.on_value("shifted", random_tensor(rng, 300, 0.01f, 40.0f), nullptr);
    c.on_value("shape", Tensor(DType::Int64, {4}), nullptr);
    c.count_sample();
  }
  c.on_value("empty", Tensor(DType::Float32, {0}), nullptr);
}

}  // namespace

TEST_CASE("stats io: save then load gives identical statistics", "[calib]") {
  TempDir dir;
  StatsCollector c({256, 1});
  feed(c, 1, 3);
  save_stats(dir.file("a.json"), c.result());
  CalibStats back = load_stats(dir.file("a.json"));
  CHECK(back == c.result());
  CHECK(back.bins == 256);
  CHECK(back.samples == 3);
  CHECK(back.dtypes.at("shape") == DType::Int64);
  CHECK(back.tensors.at("empty").empty());
  // Only the file itself is left (the temp file was renamed into place).
  CHECK(std::distance(fs::directory_iterator(dir.path), fs::directory_iterator{}) == 1);
  // Ranges from loaded statistics equal ranges from the live ones.
  for (CalibMethod m : {CalibMethod::Percentile, CalibMethod::KL, CalibMethod::MSE}) {
    RangeRequest q{m, 99.9, DType::UInt8, false};
    Range x = choose_range(back.tensors.at("relu_out"), q), y = choose_range(c.stats().at("relu_out"), q);
    CHECK(x.lo == y.lo);
    CHECK(x.hi == y.hi);
  }
}

TEST_CASE("stats io: shard files merge exactly into a single run", "[calib]") {
  TempDir dir;
  StatsCollector one;
  feed(one, 5, 2);
  feed(one, 6, 3);
  StatsCollector a, b;
  feed(a, 5, 2);
  feed(b, 6, 3);
  save_stats(dir.file("a.json"), a.result());
  save_stats(dir.file("b.json"), b.result());
  CalibStats merged = load_and_merge_stats({dir.file("b.json"), dir.file("a.json")});
  CHECK(merged == one.result());
  CHECK(merged.samples == 5);
  CHECK(merge_stats(a.result(), b.result()) == one.result());
  REQUIRE_THROWS_AS(load_and_merge_stats({}), Error);
}

TEST_CASE("stats io: bad files are Error(BadInput) naming the file", "[calib]") {
  TempDir dir;
  StatsCollector c({64, 1});
  feed(c, 2, 1);
  const std::string good = stats_to_json(c.result());
  auto expect_bad = [&](const std::string& text, const std::string& fragment) {
    write_file_atomic(dir.file("bad.json"), text);
    try {
      load_stats(dir.file("bad.json"));
      FAIL("expected an error for: " << fragment);
    } catch (const Error& e) {
      CHECK(e.kind() == ErrorKind::BadInput);
      std::string msg = e.what();
      CHECK(msg.find("bad.json") != std::string::npos);
      CHECK(msg.find(fragment) != std::string::npos);
    }
  };
  // Edits one field of the tensor "input" (or of the root when tensor is empty).
  auto edited = [&](const std::string& tensor, const std::function<void(nlohmann::json&)>& edit) {
    nlohmann::json j = nlohmann::json::parse(good);
    if (tensor.empty()) {
      edit(j);
    } else {
      for (auto& t : j["tensors"])
        if (t["name"] == tensor) edit(t);
    }
    return j.dump();
  };
  expect_bad("{not json", "not valid JSON");
  expect_bad("{\"format\": \"something-else\"}", "not a calibration statistics file");
  expect_bad(edited("", [](nlohmann::json& j) { j["version"] = 2; }), "version 2");
  expect_bad(edited("", [](nlohmann::json& j) { j.erase("samples"); }), "missing \"samples\"");
  expect_bad(edited("input", [](nlohmann::json& t) { t["hist"]["offset"] = t["hist"]["offset"].get<int64_t>() + 1; }), "layout");
  expect_bad(edited("input", [](nlohmann::json& t) { t["abs_hist"]["exp"] = t["abs_hist"]["exp"].get<int64_t>() - 1; }), "layout");
  expect_bad(edited("input", [](nlohmann::json& t) { t["count"] = t["count"].get<uint64_t>() + 1; }), "totals");
  expect_bad(edited("input", [](nlohmann::json& t) { t["hist"]["counts"][0] = -1; }), "non-negative");
  expect_bad(edited("input", [](nlohmann::json& t) { t["min"] = 0.1; }), "not a finite float range");
  expect_bad(edited("input", [](nlohmann::json& t) { t["dtype"] = "float99"; }), "unknown dtype");
  expect_bad(edited("", [](nlohmann::json& j) { j["tensors"].push_back(j["tensors"][0]); }), "appears twice");
  REQUIRE_THROWS_AS(load_stats(dir.file("missing.json")), Error);
  // Different bin counts cannot be merged.
  StatsCollector d({128, 1});
  feed(d, 2, 1);
  save_stats(dir.file("c64.json"), c.result());
  save_stats(dir.file("c128.json"), d.result());
  REQUIRE_THROWS_AS(load_and_merge_stats({dir.file("c64.json"), dir.file("c128.json")}), Error);
}

namespace {

// Calibrates the bundled Fashion-MNIST CNN on samples [first, first + count) of data/calib.
CalibStats calibrate_fashion_mnist(size_t shard_index, size_t shard_count, double* seconds = nullptr, bool observe = true) {
  const std::string root = PTQ_SOURCE_DIR;
  static const Model model = load_model(root + "/data/fashion_mnist_cnn.onnx");
  static const KernelRegistry reg = make_default_registry();
  Executor exec(model, reg, {1});
  SourceOptions so;
  so.max_samples = 0;
  so.shard_index = shard_index;
  so.shard_count = shard_count;
  auto src = SampleSource::open(root + "/data/calib", exec.inputs(), so);
  StatsCollector c;
  std::vector<Sample> samples;
  for (size_t i = 0; i < src->size(); ++i) samples.push_back(src->load(i));
  std::clock_t c0 = std::clock();
  for (const Sample& s : samples) {
    c.set_sample(s.id);
    exec.run(s.inputs, observe ? &c : nullptr);
    c.count_sample();
  }
  if (seconds) *seconds = static_cast<double>(std::clock() - c0) / CLOCKS_PER_SEC;
  return c.take();
}

}  // namespace

TEST_CASE("stats io: calibration shards of a real model merge exactly (through files)", "[calib]") {
  TempDir dir;
  CalibStats all = calibrate_fashion_mnist(0, 1);
  REQUIRE(all.samples > 10);
  REQUIRE(all.tensors.size() > 3);
  std::vector<std::string> files;
  for (size_t k = 0; k < 3; ++k) {
    files.push_back(dir.file("shard" + std::to_string(k) + ".json"));
    save_stats(files.back(), calibrate_fashion_mnist(k, 3));
  }
  CalibStats merged = load_and_merge_stats(files);
  CHECK(merged == all);
  for (const auto& [name, st] : all.tensors) {
    CHECK(merged.tensors.at(name).hist.counts() == st.hist.counts());
    CHECK(merged.tensors.at(name).abs_hist.counts() == st.abs_hist.counts());
  }
}

TEST_CASE("calib benchmark", "[.calib-bench]") {
  std::mt19937 rng(3);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  for (int64_t n : {int64_t{1} << 18, int64_t{1} << 22}) {
    std::vector<float> normal(static_cast<size_t>(n)), relu(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) {
      normal[static_cast<size_t>(i)] = nd(rng);
      relu[static_cast<size_t>(i)] = std::max(0.0f, nd(rng));
    }
    auto time_update = [&](const std::vector<float>& v, int threads) {
      TensorStats s;
      s.update(v.data(), n, threads);  // warm-up / layout
      const int reps = static_cast<int>((int64_t{1} << 25) / n);
      auto t0 = std::chrono::steady_clock::now();
      std::clock_t c0 = std::clock();
      for (int r = 0; r < reps; ++r) s.update(v.data(), n, threads);
      double sec = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      double cpu = static_cast<double>(std::clock() - c0) / CLOCKS_PER_SEC;
      const double per = static_cast<double>(reps) * (static_cast<double>(n) / 1e6) / 1e3;
      return std::pair<double, double>{sec / per, cpu / per};  // ms per million floats: wall, cpu
    };
    for (int threads : {1, 2}) {
      auto a = time_update(normal, threads), b = time_update(relu, threads);
      std::printf("update() on %lld floats, threads %d: normal %.2f ms / Mfloat (cpu %.2f), relu %.2f (cpu %.2f)\n",
                  static_cast<long long>(n), threads, a.first, a.second, b.first, b.second);
    }
    if (n != (int64_t{1} << 22)) continue;
    TensorStats s;
    s.update(normal.data(), n);
    for (CalibMethod m : {CalibMethod::Percentile, CalibMethod::KL, CalibMethod::MSE})
      for (bool sym : {true, false}) {
        std::clock_t c0 = std::clock();
        Range r = choose_range(s, RangeRequest{m, 99.99, sym ? DType::Int8 : DType::UInt8, sym});
        double ms = static_cast<double>(std::clock() - c0) / CLOCKS_PER_SEC * 1e3;
        std::printf("%s %s: %.1f ms cpu per tensor -> [%g, %g]\n", calib_method_name(m).c_str(), sym ? "int8 sym" : "uint8 asym", ms,
                    r.lo, r.hi);
      }
  }
}

TEST_CASE("calib benchmark: observer overhead on a real model", "[.calib-bench]") {
  double with = 0, without = 0, w = 0;
  calibrate_fashion_mnist(0, 1, &w, false);
  for (int r = 0; r < 3; ++r) {
    calibrate_fashion_mnist(0, 1, &w, false);
    without += w;
    calibrate_fashion_mnist(0, 1, &w, true);
    with += w;
  }
  CalibStats st = calibrate_fashion_mnist(0, 1);
  uint64_t floats = 0;
  for (const auto& kv : st.tensors) floats += kv.second.count;
  std::printf("fashion-mnist calibration, %llu samples, %.0f floats observed per sample: %.1f ms with the observer, %.1f ms without (cpu)\n",
              static_cast<unsigned long long>(st.samples), static_cast<double>(floats) / static_cast<double>(st.samples), with / 3 * 1e3,
              without / 3 * 1e3);
}
