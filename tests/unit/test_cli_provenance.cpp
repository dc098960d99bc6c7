// Provenance (SHA-256, calibration digest, metadata entries), accuracy gates and `inspect`.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <random>

#include "app/gates.h"
#include "app/inspect.h"
#include "app/provenance.h"
#include "core/error.h"

namespace fs = std::filesystem;
using namespace ptq;

namespace {

struct TempDir {
  fs::path path;
  TempDir() {
    path = fs::temp_directory_path() / ("ptq_cli_" + std::to_string(std::random_device{}()));
    fs::create_directories(path);
  }
  ~TempDir() { fs::remove_all(path); }
  void put(const std::string& rel, const std::string& content) const {
    fs::create_directories((path / rel).parent_path());
    std::ofstream(path / rel, std::ios::binary) << content;
  }
};

}  // namespace

TEST_CASE("SHA-256 matches the FIPS 180-4 examples", "[cli]") {
  CHECK(sha256_hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(sha256_hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  // 56 bytes: the padding needs a second block.
  CHECK(sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq") ==
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  // Incremental updates in odd chunk sizes give the same digest as one update.
  Sha256 s;
  std::string million(1000000, 'a');
  for (size_t i = 0; i < million.size(); i += 999) s.update(million.data() + i, std::min<size_t>(999, million.size() - i));
  CHECK(s.hex_digest() == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST_CASE("calibration digest: sorted relative names, sizes and contents", "[cli]") {
  TempDir d;
  d.put("b.npy", "BB");
  d.put("a.npy", "A");
  d.put("s1/x.npy", "X");
  std::string want = sha256_hex("a.npy\n1\nA" "b.npy\n2\nBB" "s1/x.npy\n1\nX");
  CHECK(calibration_digest(d.path.string()) == want);
  CHECK(calibration_digest(d.path.string(), {"s1/x.npy"}) == sha256_hex("a.npy\n1\nA" "b.npy\n2\nBB"));
  d.put("a.npy", "Z");  // same size, other content
  CHECK(calibration_digest(d.path.string()) != want);
  CHECK_THROWS_AS(calibration_digest((d.path / "missing").string()), Error);
}

TEST_CASE("provenance entries replace earlier ones", "[cli]") {
  QuantOptions o;
  o.method = CalibMethod::MinMax;
  o.exclude_op_types = {"Gemm"};
  std::vector<std::pair<std::string, std::string>> meta = {{"author", "x"}, {"onnx_ptq.method", "old"}};
  set_provenance(meta, provenance_entries(o, 7, "abc", 3));
  REQUIRE(meta.size() == 6);
  CHECK(meta[0].first == "author");
  std::map<std::string, std::string> m(meta.begin(), meta.end());
  CHECK(m[kMetaMethod] == "minmax");
  CHECK(m[kMetaCalibDigest] == "abc");
  CHECK(m[kMetaCalibSamples] == "3");
  CHECK(m[kMetaOptions].find("\"exclude_op_types\":[\"Gemm\"]") != std::string::npos);
  CHECK(m[kMetaOptions].find("\"max_samples\":7") != std::string::npos);
}

TEST_CASE("accuracy gates: SQNR per output, top-1 drop in points", "[cli]") {
  Report r;
  OutputMetrics a, b;
  a.sqnr_db = 30;
  b.sqnr_db = 19.5;
  b.has_labels = true;
  b.top1_float = 0.90;
  b.top1_quant = 0.885;
  r.outputs = {{"a", a}, {"b", b}};
  AccuracyGates g;
  g.min_sqnr_db = 20;
  auto res = check_gates(r, g);
  REQUIRE(res.size() == 2);
  CHECK(res[0].passed);
  CHECK_FALSE(res[1].passed);
  CHECK_FALSE(all_passed(res));
  g.min_sqnr_db.reset();
  g.max_top1_drop = 1.0;
  res = check_gates(r, g);
  REQUIRE(res.size() == 1);  // only the labeled output
  CHECK(res[0].value == Approx(1.5));
  CHECK_FALSE(res[0].passed);
  g.max_top1_drop = 2.0;
  CHECK(all_passed(check_gates(r, g)));
  r.outputs[1].second.has_labels = false;
  CHECK_THROWS_AS(check_gates(r, g), Error);
  CHECK(check_gates(Report{}, AccuracyGates{}).empty());
}

TEST_CASE("inspect: structure and plan of the bundled CNN", "[cli]") {
  InspectOptions o;
  o.model_path = std::string(PTQ_SOURCE_DIR) + "/data/fashion_mnist_cnn.onnx";
  o.qopts.exclude_op_types = {"Gemm"};
  nlohmann::json j = inspect_model(o);
  REQUIRE(j["inputs"].size() == 1);
  CHECK(j["inputs"][0]["dtype"] == "float32");
  CHECK(j["unsupported_nodes"].empty());
  CHECK(j["op_counts"]["Gemm"] == 2);
  CHECK(j["op_counts"]["Conv"] == 5);
  const auto& q = j["quantization"];
  CHECK(q["dtype_source"].get<std::string>().find("zero-filled") != std::string::npos);
  size_t convs = 0;
  for (const auto& n : q["quantized_nodes"]) convs += n["op_type"] == "Conv";
  CHECK(convs == j["op_counts"]["Conv"].get<size_t>());
  size_t gemms_excluded = 0;
  for (const auto& n : q["float_nodes"])
    gemms_excluded += n["op_type"] == "Gemm" && n["reason"] == "excluded by --exclude-op-types";
  CHECK(gemms_excluded == 2);
  CHECK(inspect_to_text(j).find("unsupported ops: none") != std::string::npos);
}
