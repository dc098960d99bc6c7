// Model IO: round trips, external data (incl. refusal of paths outside the model folder),
// Constant-held weights, 4-bit packing, atomic writes.
#include <catch2/catch.hpp>

#include <filesystem>
#include <cstring>
#include <fstream>

#include <unistd.h>

#include "core/atomic_file.h"
#include "exec/executor.h"
#include "graph/passes.h"
#include "onnx_io/model_io.h"
#include "test_util.h"

namespace fs = std::filesystem;
using namespace ptq;

namespace {

fs::path temp_dir(const std::string& name) {
  fs::path d = fs::temp_directory_path() / ("ptq_io_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

// y = x * w + b, with w and b as initializers.
Model mul_add_model(int64_t n) {
  Model m;
  m.opsets.push_back({"", 13});
  std::vector<float> w(static_cast<size_t>(n)), b(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    w[static_cast<size_t>(i)] = 0.5f + static_cast<float>(i % 7);
    b[static_cast<size_t>(i)] = -1.0f * static_cast<float>(i % 3);
  }
  m.graph.initializers["w"] = Tensor::from_vector(w, {n});
  m.graph.initializers["b"] = Tensor::from_vector(b, {n});
  m.graph.inputs.push_back({"x", DType::Float32, true, {Dim{n, ""}}});
  m.graph.outputs.push_back({"y", DType::Float32, true, {Dim{n, ""}}});
  Node mul;
  mul.op_type = "Mul";
  mul.name = "mul";
  mul.inputs = {"x", "w"};
  mul.outputs = {"t"};
  Node add;
  add.op_type = "Add";
  add.name = "add";
  add.inputs = {"t", "b"};
  add.outputs = {"y"};
  m.graph.nodes = {mul, add};
  return m;
}

}  // namespace

TEST_CASE("model round trip keeps graph, attributes and tensors", "[io]") {
  fs::path d = temp_dir("roundtrip");
  Model m = mul_add_model(8);
  m.graph.nodes[0].attrs.push_back(Attribute::make_ints("dummy", {1, 2, 3}));
  m.metadata.push_back({"k", "v"});
  save_model(m, (d / "m.onnx").string());
  Model r = load_model((d / "m.onnx").string());
  REQUIRE(r.graph.nodes.size() == 2);
  REQUIRE(r.graph.nodes[0].attr_ints("dummy") == std::vector<int64_t>{1, 2, 3});
  REQUIRE(r.opset() == 13);
  REQUIRE(r.metadata == m.metadata);
  REQUIRE(r.graph.initializers.at("w").data<float>()[3] == 3.5f);
  // ONNX's checker accepts what we write (without the made-up attribute, which it would reject).
  r.graph.nodes[0].attrs.clear();
  INFO(check_model(r));
  REQUIRE(check_model(r).empty());
}

TEST_CASE("external data is written beside the model and read back", "[io]") {
  fs::path d = temp_dir("external");
  Model m = mul_add_model(4096);
  SaveOptions so;
  so.external = SaveOptions::External::Always;
  save_model(m, (d / "m.onnx").string(), so);
  REQUIRE(fs::exists(d / "m.onnx.data"));
  REQUIRE(fs::file_size(d / "m.onnx") < 4096);  // weights are not inline
  Model r = load_model((d / "m.onnx").string());
  const Tensor& w = r.graph.initializers.at("w");
  REQUIRE(w.numel() == 4096);
  REQUIRE(w.data<float>()[4095] == m.graph.initializers.at("w").data<float>()[4095]);
  // The loaded model runs.
  KernelRegistry reg = make_default_registry();
  Executor ex(r, reg);
  Tensor x(DType::Float32, {4096});
  auto out = ex.run({{"x", x}});
  REQUIRE(out[0].data<float>()[2] == -2.0f);
}

TEST_CASE("external data is switched on automatically past the size limit", "[io]") {
  fs::path d = temp_dir("auto");
  Model m = mul_add_model(1024);
  SaveOptions so;
  so.auto_limit_bytes = 4000;  // stands in for protobuf's 2 GB so the test stays small
  save_model(m, (d / "m.onnx").string(), so);
  REQUIRE(fs::exists(d / "m.onnx.data"));
  so.auto_limit_bytes = 1 << 20;
  save_model(m, (d / "n.onnx").string(), so);
  REQUIRE_FALSE(fs::exists(d / "n.onnx.data"));
}

TEST_CASE("external data outside the model folder, missing or short is refused", "[io]") {
  fs::path d = temp_dir("hostile");
  Model m = mul_add_model(512);
  SaveOptions so;
  so.external = SaveOptions::External::Always;
  save_model(m, (d / "m.onnx").string(), so);
  std::string bytes = read_file((d / "m.onnx").string());

  SECTION("path traversal") {
    std::string evil = bytes;
    size_t pos = evil.find("m.onnx.data");
    REQUIRE(pos != std::string::npos);
    evil.replace(pos, 11, "../../x.dat");
    REQUIRE_THROWS_WITH(parse_model(evil, d.string(), "evil.onnx"), Catch::Contains("outside the model's folder"));
  }
  SECTION("missing file") {
    fs::remove(d / "m.onnx.data");
    REQUIRE_THROWS_WITH(load_model((d / "m.onnx").string()), Catch::Contains("cannot open external data"));
  }
  SECTION("short file") {
    fs::resize_file(d / "m.onnx.data", 100);
    REQUIRE_THROWS_WITH(load_model((d / "m.onnx").string()), Catch::Contains("too short"));
  }
}

TEST_CASE("corrupt and truncated models give a clear error", "[io]") {
  fs::path d = temp_dir("corrupt");
  Model m = mul_add_model(64);
  save_model(m, (d / "m.onnx").string());
  std::string bytes = read_file((d / "m.onnx").string());
  std::string cut = bytes.substr(0, bytes.size() / 2);
  REQUIRE_THROWS_AS(parse_model(cut, d.string(), "cut.onnx"), Error);
  REQUIRE_THROWS_WITH(parse_model("this is not protobuf", d.string(), "junk.onnx"), Catch::Contains("junk.onnx"));
  REQUIRE_THROWS_WITH(load_model((d / "nope.onnx").string()), Catch::Contains("does not exist"));
}

TEST_CASE("weights held in Constant nodes become initializers", "[io][graph]") {
  Model m = mul_add_model(4);
  // Move w into a Constant node, as many exporters do.
  Node c;
  c.op_type = "Constant";
  c.name = "const_w";
  c.outputs = {"w"};
  c.attrs.push_back(Attribute::make_tensor("value", m.graph.initializers.at("w")));
  m.graph.initializers.erase("w");
  m.graph.nodes.insert(m.graph.nodes.begin(), c);
  fs::path d = temp_dir("constant");
  save_model(m, (d / "m.onnx").string());
  Model r = load_model((d / "m.onnx").string());
  REQUIRE(r.graph.nodes.size() == 3);
  REQUIRE(constants_to_initializers(r.graph) == 1);
  REQUIRE(r.graph.nodes.size() == 2);
  REQUIRE(r.graph.find_initializer("w") != nullptr);
  REQUIRE(r.graph.find_initializer("w")->data<float>()[1] == 1.5f);
}

TEST_CASE("4-bit tensors are packed two per byte, low nibble first", "[io]") {
  Tensor t = Tensor::from_vector<int8_t>({-8, 7, -1, 3, 5}, {5});
  Tensor t4(DType::Int4, {5});
  std::memcpy(t4.raw(), t.raw(), 5);
  std::string pb = serialize_tensor_pb(t4, "q");
  Tensor back = parse_tensor_pb(pb, "q.pb");
  REQUIRE(back.dtype() == DType::Int4);
  for (int i = 0; i < 5; ++i) REQUIRE(back.get_as_int64(i) == t.get_as_int64(i));
  // raw bytes: (-8 & 0xF) | (7 << 4) = 0x78 ; (-1 & 0xF) | (3 << 4) = 0x3F ; 5
  REQUIRE(pb.find(std::string("\x78\x3F\x05", 3)) != std::string::npos);
}

TEST_CASE("atomic writes leave no partial file on failure", "[io]") {
  fs::path d = temp_dir("atomic");
  std::string target = (d / "out.bin").string();
  {
    AtomicFile f(target);
    f.write("partial");
    // destroyed without commit (as when an exception unwinds)
  }
  REQUIRE_FALSE(fs::exists(target));
  REQUIRE(fs::is_empty(d));
  write_file_atomic(target, "complete");
  REQUIRE(read_file(target) == "complete");
  REQUIRE_THROWS_AS(write_file_atomic((d / "no_such_dir" / "x").string(), "x"), Error);
}
