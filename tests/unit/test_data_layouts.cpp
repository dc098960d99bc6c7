// SampleSource: layout detection, sorting, batch splitting, selection and checks.
#include <catch2/catch.hpp>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>

#include "data/npy.h"
#include "data/npz.h"
#include "data/sample_source.h"
#include "onnx_io/model_io.h"
#include "test_data_util.h"

using namespace ptq;
using ptq::test::input_decl;
using ptq::test::iota;
using ptq::test::TempDir;
using ptq::test::write_bytes;

namespace {

std::unique_ptr<SampleSource> open_dir(const std::string& dir, const std::vector<ValueInfo>& inputs,
                                       const SourceOptions& opts = {}) {
  std::vector<const ValueInfo*> ptrs;
  for (const auto& v : inputs) ptrs.push_back(&v);
  return SampleSource::open(dir, ptrs, opts);
}

// The error message of f(), which must throw Error(BadInput).
std::string bad_input_message(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    INFO(e.what());
    REQUIRE(e.kind() == ErrorKind::BadInput);
    return e.what();
  }
  FAIL("expected Error(BadInput)");
  return "";
}

#define REQUIRE_CONTAINS(haystack, needle)                   \
  do {                                                       \
    std::string h_ = (haystack);                             \
    INFO(h_);                                                \
    REQUIRE(h_.find(needle) != std::string::npos);           \
  } while (0)

// Bytes this process has read through read()/pread() so far (0 if /proc/self/io is unavailable).
uint64_t bytes_read_by_process() {
  std::ifstream f("/proc/self/io");
  std::string key;
  uint64_t v = 0;
  while (f >> key >> v)
    if (key == "rchar:") return v;
  return 0;
}

const ValueInfo kImg = input_decl("x", DType::Float32, {-1, 1, 2, 2});

}  // namespace

TEST_CASE("layout npy: one file per sample, sorted, batch dim added", "[data]") {
  TempDir tmp;
  write_npy(tmp / "s_2.npy", iota({1, 1, 2, 2}, 200));
  write_npy(tmp / "s_10.npy", iota({1, 2, 2}, 100));  // no batch dim
  write_npy(tmp / "s_1.npy", iota({1, 1, 2, 2}, 10));
  write_bytes(tmp / ".hidden", "ignored");
  auto src = open_dir(tmp.str(), {kImg});
  REQUIRE(src->layout() == "npy");
  REQUIRE(src->size() == 3);
  REQUIRE(src->sample_id(0) == "s_1.npy");
  REQUIRE(src->sample_id(1) == "s_10.npy");  // lexicographic
  REQUIRE(src->sample_id(2) == "s_2.npy");
  Sample s = src->load(1);
  REQUIRE(s.id == "s_10.npy");
  REQUIRE(s.files == std::vector<std::string>{tmp / "s_10.npy"});
  REQUIRE(s.inputs.at("x").shape() == Shape{1, 1, 2, 2});
  REQUIRE(s.inputs.at("x").data<float>()[3] == 103.f);
  REQUIRE(src->all_files() == std::vector<std::string>{"s_1.npy", "s_10.npy", "s_2.npy"});
}

TEST_CASE("layout npy: batch files are split into rows of batch 1", "[data]") {
  TempDir tmp;
  write_npy(tmp / "a_batch.npy", iota({5, 1, 2, 2}));
  write_npy(tmp / "b_single.npy", iota({1, 1, 2, 2}, 1000));
  auto src = open_dir(tmp.str(), {kImg});
  REQUIRE(src->size() == 6);
  REQUIRE(src->total() == 6);
  REQUIRE(src->sample_id(0) == "a_batch.npy[0]");
  REQUIRE(src->sample_id(4) == "a_batch.npy[4]");
  REQUIRE(src->sample_id(5) == "b_single.npy");
  Sample s = src->load(3);
  REQUIRE(s.id == "a_batch.npy[3]");
  REQUIRE(s.inputs.at("x").shape() == Shape{1, 1, 2, 2});
  REQUIRE(s.inputs.at("x").data<float>()[0] == 12.f);
  REQUIRE(src->all_files() == std::vector<std::string>{"a_batch.npy", "b_single.npy"});

  // A fixed batch of 1 splits too; a fixed batch of 2 takes the file whole.
  auto fixed1 = open_dir(tmp.str(), {input_decl("x", DType::Float32, {1, 1, 2, 2})});
  REQUIRE(fixed1->size() == 6);
  TempDir tmp2;
  write_npy(tmp2 / "pair.npy", iota({2, 1, 2, 2}));
  auto fixed2 = open_dir(tmp2.str(), {input_decl("x", DType::Float32, {2, 1, 2, 2})});
  REQUIRE(fixed2->size() == 1);
  REQUIRE(fixed2->load(0).inputs.at("x").shape() == Shape{2, 1, 2, 2});
}

TEST_CASE("layout npy: load reads only the requested row", "[data]") {
  TempDir tmp;
  std::string p = tmp / "big.npy";
  write_npy(p, iota({1000, 1, 32, 32}));  // 4 KiB per row, 4 MB in all
  auto src = open_dir(tmp.str(), {input_decl("x", DType::Float32, {-1, 1, 32, 32})});
  REQUIRE(src->size() == 1000);
  uint64_t before = bytes_read_by_process();
  Sample s = src->load(700);
  uint64_t after = bytes_read_by_process();
  REQUIRE(s.inputs.at("x").data<float>()[0] == 700.f * 1024);
  if (before == 0 && after == 0) {
    WARN("/proc/self/io unavailable; skipping the read-volume check");
  } else {
    REQUIRE(after - before < 16 * 1024);  // one 4 KiB row plus the header, not the 4 MB file
  }
  // Rows come from their own offsets even when the file's content changes after open().
  write_npy(p, iota({1000, 1, 32, 32}, 5));
  REQUIRE(src->load(1).inputs.at("x").data<float>()[0] == 1029.f);
  // A file that shrank since open() is reported, not read past its end.
  write_npy(p, iota({10, 1, 32, 32}));
  REQUIRE_CONTAINS(bad_input_message([&] { src->load(999); }), "big.npy");
}

TEST_CASE("layout npy: selection shards first, then caps", "[data]") {
  TempDir tmp;
  write_npy(tmp / "all.npy", iota({10, 1, 2, 2}));
  SourceOptions o;
  o.shard_index = 1;
  o.shard_count = 3;
  auto src = open_dir(tmp.str(), {kImg}, o);
  REQUIRE(src->size() == 3);
  REQUIRE(src->sample_id(0) == "all.npy[1]");
  REQUIRE(src->sample_id(1) == "all.npy[4]");
  REQUIRE(src->sample_id(2) == "all.npy[7]");
  o.max_samples = 2;
  src = open_dir(tmp.str(), {kImg}, o);
  REQUIRE(src->size() == 2);
  REQUIRE(src->load(1).inputs.at("x").data<float>()[0] == 16.f);
  REQUIRE(src->total() == 10);
  o = {};
  o.max_samples = 4;
  REQUIRE(open_dir(tmp.str(), {kImg}, o)->sample_id(3) == "all.npy[3]");
  o.shard_index = 3;
  o.shard_count = 3;
  REQUIRE_THROWS_AS(open_dir(tmp.str(), {kImg}, o), Error);
}

TEST_CASE("layout npy-folders: one folder per sample, files named after inputs", "[data]") {
  TempDir tmp;
  std::vector<ValueInfo> ins = {input_decl("img", DType::Float32, {-1, 3}),
                                input_decl("ids:0", DType::Int64, {-1, 2})};
  for (int i : {1, 0}) {
    std::string d = "sample_" + std::to_string(i) + "/";
    write_npy(tmp / (d + "img.npy"), iota({1, 3}, float(10 * i)));
    write_npy(tmp / (d + "ids_0.npy"), Tensor::from_vector<int64_t>({i, 7}, {2}));  // sanitized name, no batch dim
  }
  auto src = open_dir(tmp.str(), ins);
  REQUIRE(src->layout() == "npy-folders");
  REQUIRE(src->size() == 2);
  Sample s = src->load(1);
  REQUIRE(s.id == "sample_1");
  REQUIRE(s.files.size() == 2);
  REQUIRE(s.inputs.at("img").data<float>()[0] == 10.f);
  REQUIRE(s.inputs.at("ids:0").shape() == Shape{1, 2});
  REQUIRE(s.inputs.at("ids:0").data<int64_t>()[0] == 1);
  REQUIRE(src->all_files() ==
          std::vector<std::string>{"sample_0/img.npy", "sample_0/ids_0.npy", "sample_1/img.npy", "sample_1/ids_0.npy"});

  std::filesystem::remove(tmp / "sample_1/ids_0.npy");
  std::string msg = bad_input_message([&] { open_dir(tmp.str(), ins); });
  REQUIRE_CONTAINS(msg, "sample_1");
  REQUIRE_CONTAINS(msg, "'ids:0'");
  write_npy(tmp / "sample_1/ids_0.npy", Tensor::from_vector<int64_t>({1, 7}, {2}));
  write_bytes(tmp / "sample_1/notes.txt", "x");
  REQUIRE_CONTAINS(bad_input_message([&] { open_dir(tmp.str(), ins); }), "unexpected file 'notes.txt'");
}

TEST_CASE("layout npz: arrays keyed by input name", "[data]") {
  TempDir tmp;
  std::vector<ValueInfo> ins = {input_decl("a", DType::Float32, {1, 2}), input_decl("b", DType::Int32, {1})};
  write_npz(tmp / "s1.npz", {{"a", iota({1, 2}, 5)}, {"b", Tensor::from_vector<int32_t>({9}, {1})}}, true);
  write_npz(tmp / "s0.npz", {{"a", iota({1, 2})}, {"b", Tensor::from_vector<int32_t>({8}, {1})}});
  auto src = open_dir(tmp.str(), ins);
  REQUIRE(src->layout() == "npz");
  REQUIRE(src->sample_id(0) == "s0.npz");
  Sample s = src->load(1);
  REQUIRE(s.inputs.at("a").data<float>()[1] == 6.f);
  REQUIRE(s.inputs.at("b").data<int32_t>()[0] == 9);

  // Single-input models accept any single key.
  TempDir one;
  write_npz(one / "x.npz", {{"arr_0", iota({1, 2, 2})}});
  REQUIRE(open_dir(one.str(), {kImg})->load(0).inputs.at("x").shape() == Shape{1, 1, 2, 2});
  // A missing key is named.
  write_npz(tmp / "s2.npz", {{"a", iota({1, 2})}, {"c", iota({1})}});
  std::string msg = bad_input_message([&] { open_dir(tmp.str(), ins); });
  REQUIRE_CONTAINS(msg, "s2.npz");
  REQUIRE_CONTAINS(msg, "'b'");
}

TEST_CASE("layout onnx-pb: test_data_set_N folders, numeric order, name binding", "[data]") {
  TempDir tmp;
  std::vector<ValueInfo> ins = {input_decl("p", DType::Float32, {1, 2}), input_decl("q", DType::Float32, {1, 3})};
  for (int n : {10, 2}) {
    std::string d = "test_data_set_" + std::to_string(n) + "/";
    write_bytes(tmp / (d + "input_0.pb"), serialize_tensor_pb(iota({1, 2}, float(n)), ""));
    write_bytes(tmp / (d + "input_1.pb"), serialize_tensor_pb(iota({1, 3}, float(100 * n)), ""));
    write_bytes(tmp / (d + "output_0.pb"), serialize_tensor_pb(iota({1}), "y"));
  }
  auto src = open_dir(tmp.str(), ins);
  REQUIRE(src->layout() == "onnx-pb");
  REQUIRE(src->sample_id(0) == "test_data_set_2");
  REQUIRE(src->sample_id(1) == "test_data_set_10");
  Sample s = src->load(1);
  REQUIRE(s.inputs.at("p").data<float>()[0] == 10.f);
  REQUIRE(s.inputs.at("q").data<float>()[0] == 1000.f);

  // Names win over positions.
  write_bytes(tmp / "test_data_set_2/input_0.pb", serialize_tensor_pb(iota({1, 3}, 1), "q"));
  write_bytes(tmp / "test_data_set_2/input_1.pb", serialize_tensor_pb(iota({1, 2}, 2), "p"));
  s = src->load(0);
  REQUIRE(s.inputs.at("p").data<float>()[0] == 2.f);
  REQUIRE(s.inputs.at("q").data<float>()[0] == 1.f);

  std::filesystem::remove(tmp / "test_data_set_10/input_1.pb");
  std::string msg = bad_input_message([&] { open_dir(tmp.str(), ins); });
  REQUIRE_CONTAINS(msg, "test_data_set_10");
  REQUIRE_CONTAINS(msg, "input_1.pb");
  REQUIRE_CONTAINS(msg, "'q'");
}

TEST_CASE("layout detection errors name the folder", "[data]") {
  TempDir tmp;
  REQUIRE_CONTAINS(bad_input_message([&] { open_dir(tmp / "nope", {kImg}); }), "nope");
  REQUIRE_CONTAINS(bad_input_message([&] { open_dir(tmp.str(), {kImg}); }), "empty");
  write_npy(tmp / "a.npy", iota({1, 1, 2, 2}));
  write_npz(tmp / "b.npz", {{"x", iota({1, 1, 2, 2})}});
  REQUIRE_CONTAINS(bad_input_message([&] { open_dir(tmp.str(), {kImg}); }), "mixed layouts");
  std::filesystem::remove(tmp / "b.npz");
  write_npy(tmp / "sub/x.npy", iota({1, 1, 2, 2}));
  REQUIRE_CONTAINS(bad_input_message([&] { open_dir(tmp.str(), {kImg}); }), "mixed layouts");
  std::filesystem::remove_all(tmp / "sub");
  write_bytes(tmp / "labels.txt", "1 2 3");
  REQUIRE_CONTAINS(bad_input_message([&] { open_dir(tmp.str(), {kImg}); }), "labels.txt");
  SourceOptions o;
  o.ignore = {"labels.txt"};
  REQUIRE(open_dir(tmp.str(), {kImg}, o)->size() == 1);
  std::filesystem::remove(tmp / "labels.txt");

  std::vector<ValueInfo> two = {input_decl("a", DType::Float32, {1}), input_decl("b", DType::Float32, {1})};
  std::string msg = bad_input_message([&] { open_dir(tmp.str(), two); });
  REQUIRE_CONTAINS(msg, "single-input");
  REQUIRE_CONTAINS(msg, "'a', 'b'");
  // A single file path works like a folder holding only it.
  REQUIRE(open_dir(tmp / "a.npy", {kImg})->size() == 1);
}

TEST_CASE("sample checks: dtype, shape, NaN, truncation", "[data]") {
  TempDir tmp;
  write_npy(tmp / "d.npy", Tensor::from_vector<double>({1, 2, 3, 4}, {1, 1, 2, 2}));
  std::string msg = bad_input_message([&] { open_dir(tmp.str(), {kImg}); });
  REQUIRE_CONTAINS(msg, "d.npy: input 'x' expects float32, got float64");

  TempDir t2;
  write_npy(t2 / "s.npy", iota({1, 1, 3, 2}));
  REQUIRE_CONTAINS(bad_input_message([&] { open_dir(t2.str(), {kImg}); }),
                   "s.npy: input 'x' expects shape [N,1,2,2], got [1,1,3,2]");
  // Dynamic dims accept any size.
  REQUIRE(open_dir(t2.str(), {input_decl("x", DType::Float32, {-1, 1, -1, -1})})->load(0).inputs.at("x").dim(2) == 3);

  TempDir t3;
  Tensor nan = iota({3, 1, 2, 2});
  nan.data<float>()[6] = std::numeric_limits<float>::quiet_NaN();
  write_npy(t3 / "n.npy", nan);
  auto src = open_dir(t3.str(), {kImg});
  REQUIRE(src->load(0).inputs.size() == 1);
  msg = bad_input_message([&] { src->load(1); });
  REQUIRE_CONTAINS(msg, "n.npy[1]: input 'x' holds NaN at index [0,0,1,0]");

  TempDir t4;
  std::string bytes = npy_bytes(iota({1, 1, 2, 2}));
  write_bytes(t4 / "cut.npy", bytes.substr(0, bytes.size() - 3));
  REQUIRE_CONTAINS(bad_input_message([&] { open_dir(t4.str(), {kImg}); }), "cut.npy");
  write_bytes(t4 / "cut.npy", "\x93NUMPY");
  REQUIRE_CONTAINS(bad_input_message([&] { open_dir(t4.str(), {kImg}); }), "cut.npy");

  TempDir t5;
  write_bytes(t5 / "z.npz", "PK\x03\x04 broken zip");
  REQUIRE_CONTAINS(bad_input_message([&] { open_dir(t5.str(), {kImg}); }), "z.npz");
}
