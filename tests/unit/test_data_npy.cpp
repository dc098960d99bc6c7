// .npy / .npz reading and writing, including hostile input.
#include <zip.h>

#include <catch2/catch.hpp>
#include <cstring>
#include <functional>
#include <random>

#include "core/atomic_file.h"
#include "data/npy.h"
#include "data/npz.h"
#include "test_data_util.h"

using namespace ptq;
using ptq::test::iota;
using ptq::test::TempDir;

namespace {

// Hand-made .npy bytes with an arbitrary header dict (version 1.0 unless told).
std::string make_npy(const std::string& dict, const std::string& data, int major = 1) {
  std::string h = dict;
  size_t prefix = major == 1 ? 10 : 12;
  while ((prefix + h.size() + 1) % 64) h += ' ';
  h += '\n';
  std::string out = std::string("\x93NUMPY", 6) + static_cast<char>(major) + '\0';
  for (size_t i = 0; i < prefix - 8; ++i) out += static_cast<char>((h.size() >> (8 * i)) & 0xff);
  return out + h + data;
}

std::string floats(std::vector<float> v) { return std::string(reinterpret_cast<const char*>(v.data()), v.size() * 4); }

void require_bad_input(const std::function<void()>& f, const std::string& needle) {
  try {
    f();
    FAIL("expected an error containing: " << needle);
  } catch (const Error& e) {
    INFO(e.what());
    REQUIRE(e.kind() == ErrorKind::BadInput);
    REQUIRE(std::string(e.what()).find(needle) != std::string::npos);
  }
}

// Parsing must either succeed or throw Error(BadInput); anything else (crash, bad_alloc) fails.
template <typename F>
void must_not_crash(F parse) {
  try {
    parse();
  } catch (const Error& e) {
    REQUIRE(e.kind() == ErrorKind::BadInput);
  }
}

}  // namespace

TEST_CASE("npy: round trip of every supported dtype", "[data]") {
  TempDir tmp;
  std::vector<Tensor> ts = {
      iota({2, 3}, -2.5f),
      Tensor::from_vector<double>({1.5, -2, 1e300}, {3}),
      Tensor::from_vector<int64_t>({-1, 1LL << 40}, {2, 1}),
      Tensor::from_vector<int32_t>({7}, {}),
      Tensor::from_vector<int16_t>({-300, 300}, {2}),
      Tensor::from_vector<int8_t>({-128, 127}, {1, 2}),
      Tensor::from_vector<uint8_t>({0, 255, 3}, {3}),
      Tensor::from_vector<uint16_t>({65535}, {1}),
      Tensor::from_vector<bool>({true, false, true}, {3}),
      Tensor(DType::Float32, {0, 4}),
  };
  for (const Tensor& t : ts) {
    INFO(dtype_name(t.dtype()) << shape_str(t.shape()));
    std::string bytes = npy_bytes(t);
    REQUIRE((bytes.size() - t.nbytes()) % 64 == 0);  // header padded like NumPy does
    for (const Tensor& back : {parse_npy(bytes, "mem"), [&] {
                                 write_npy(tmp / "t.npy", t);
                                 return read_npy(tmp / "t.npy");
                               }()}) {
      REQUIRE(back.dtype() == t.dtype());
      REQUIRE(back.shape() == t.shape());
      REQUIRE(std::memcmp(back.raw(), t.raw(), t.nbytes()) == 0);
    }
  }
}

TEST_CASE("npy: header text matches NumPy's", "[data]") {
  std::string b = npy_bytes(iota({2, 3}));
  REQUIRE(b.compare(0, 8, std::string("\x93NUMPY\x01\x00", 8)) == 0);
  REQUIRE(b.find("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }") == 10);
  REQUIRE(npy_bytes(iota({3})).find("'shape': (3,), }") != std::string::npos);
  REQUIRE(npy_bytes(Tensor::from_vector<uint8_t>({1}, {1})).find("'|u1'") != std::string::npos);
  REQUIRE(b[b.size() - 24 - 1] == '\n');
}

TEST_CASE("npy: header variants NumPy produces are accepted", "[data]") {
  std::string data = floats({1, 2, 3, 4, 5, 6});
  for (const std::string& dict : {
           std::string("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }"),
           std::string("{\"descr\": \"<f4\", \"fortran_order\": False, \"shape\": (2L, 3L)}"),
           std::string("{'shape': (2,3), 'fortran_order': False, 'descr': '<f4'}"),
       }) {
    Tensor t = parse_npy(make_npy(dict, data), "x");
    REQUIRE(t.shape() == Shape{2, 3});
    REQUIRE(t.data<float>()[5] == 6.f);
  }
  Tensor v2 = parse_npy(make_npy("{'descr': '<f4', 'fortran_order': False, 'shape': (6,), }", data, 2), "v2");
  REQUIRE(v2.shape() == Shape{6});
  Tensor v3 = parse_npy(make_npy("{'descr': '<f4', 'fortran_order': False, 'shape': (6,), }", data, 3), "v3");
  REQUIRE(v3.numel() == 6);
  Tensor i8 = parse_npy(make_npy("{'descr': '|i1', 'fortran_order': False, 'shape': (2,), }", "\xff\x01"), "i8");
  REQUIRE(i8.data<int8_t>()[0] == -1);
}

TEST_CASE("npy: unsupported or corrupt files are BadInput naming the source", "[data]") {
  std::string data = floats({1, 2, 3, 4, 5, 6});
  auto bad = [&](const std::string& dict, const std::string& d, const std::string& needle) {
    require_bad_input([&] { parse_npy(make_npy(dict, d), "f.npy"); }, needle);
    require_bad_input([&] { parse_npy(make_npy(dict, d), "f.npy"); }, "f.npy");
  };
  bad("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }", data, "Fortran");
  bad("{'descr': '>f4', 'fortran_order': False, 'shape': (2, 3), }", data, "big-endian");
  bad("{'descr': '<c8', 'fortran_order': False, 'shape': (3,), }", data, "unsupported .npy dtype");
  bad("{'descr': '|O', 'fortran_order': False, 'shape': (3,), }", data, "unsupported .npy dtype");
  bad("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (3,), }", data, "structured");
  bad("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 4), }", data, "truncated");
  bad("{'descr': '<f4', 'fortran_order': False, 'shape': (1, 3), }", data, "trailing");
  bad("{'descr': '<f4', 'fortran_order': False, 'shape': (-1, 3), }", data, "negative");
  bad("{'descr': '<f4', 'fortran_order': False}", data, "lacks");
  bad("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), 'x': 1}", data, "unexpected key");
  // A lying header claiming an enormous array must fail on the size check, not on allocation.
  bad("{'descr': '<f8', 'fortran_order': False, 'shape': (1000000000000, 1000000), }", data, "truncated");
  bad("{'descr': '<f8', 'fortran_order': False, 'shape': (99999999999999999999, 9), }", data, "too large");
  require_bad_input([] { parse_npy("PK\x03\x04 not npy", "z.npy"); }, "bad magic");
  require_bad_input([] { parse_npy(std::string("\x93NUMPY\x01\x00\xff\xff{", 11), "t.npy"); }, "truncated .npy header");
  require_bad_input([] { parse_npy(std::string("\x93NUMPY\x09\x00\x10\x00", 10), "v.npy"); }, "version");
}

TEST_CASE("npy: every truncation and random corruption is handled", "[data]") {
  std::string good = npy_bytes(iota({3, 5}));
  for (size_t n = 0; n < good.size(); ++n) must_not_crash([&] { parse_npy(good.substr(0, n), "trunc.npy"); });
  std::mt19937 rng(42);
  for (int iter = 0; iter < 3000; ++iter) {
    std::string b = good;
    int flips = 1 + static_cast<int>(rng() % 4);
    for (int k = 0; k < flips; ++k) b[rng() % 128] = static_cast<char>(rng() & 0xff);
    must_not_crash([&] { parse_npy(b, "fuzz.npy"); });
  }
}

TEST_CASE("npy: read_npy_rows reads one row of a batch file", "[data]") {
  TempDir tmp;
  std::string p = tmp / "b.npy";
  write_npy(p, iota({4, 2, 3}));
  NpyInfo info = read_npy_info(p);
  REQUIRE(info.shape == Shape{4, 2, 3});
  REQUIRE(info.dtype == DType::Float32);
  REQUIRE(info.data_offset % 64 == 0);
  Tensor r = read_npy_rows(p, info, 2, 1);
  REQUIRE(r.shape() == Shape{1, 2, 3});
  REQUIRE(r.data<float>()[0] == 12.f);
  REQUIRE(read_npy(p).data<float>()[23] == 23.f);
  require_bad_input([&] { read_npy(tmp / "missing.npy"); }, "missing.npy");
}

TEST_CASE("npz: write and read, stored and deflated", "[data]") {
  TempDir tmp;
  std::map<std::string, Tensor> arrays = {{"x", iota({1, 3})}, {"ids", Tensor::from_vector<int64_t>({5, 6}, {2})}};
  for (bool compress : {false, true}) {
    std::string p = tmp / (compress ? "c.npz" : "s.npz");
    write_npz(p, arrays, compress);
    auto back = read_npz(p);
    REQUIRE(back.size() == 2);
    REQUIRE(back.at("x").data<float>()[2] == 2.f);
    REQUIRE(back.at("ids").data<int64_t>()[1] == 6);
    NpzFile f = NpzFile::open(p);
    REQUIRE(f.has("x"));
    REQUIRE_FALSE(f.has("x.npy"));
    REQUIRE(f.read("ids").shape() == Shape{2});
    REQUIRE(parse_npz(ptq::read_file(p), "mem").size() == 2);
  }
}

TEST_CASE("npz: corrupt archives are BadInput naming the file", "[data]") {
  TempDir tmp;
  std::string p = tmp / "a.npz";
  write_npz(p, {{"x", iota({64})}}, true);
  std::string good = ptq::read_file(p);
  require_bad_input([&] { parse_npz("this is not a zip file at all", "bad.npz"); }, "bad.npz");
  ptq::test::write_bytes(tmp / "bad.npz", "garbage");
  require_bad_input([&] { read_npz(tmp / "bad.npz"); }, "bad.npz");
  for (size_t n = 0; n < good.size(); ++n) must_not_crash([&] { parse_npz(good.substr(0, n), "trunc.npz"); });
  std::mt19937 rng(7);
  for (int iter = 0; iter < 2000; ++iter) {
    std::string b = good;
    b[rng() % b.size()] = static_cast<char>(rng() & 0xff);
    must_not_crash([&] { parse_npz(b, "fuzz.npz"); });
  }
  // Flipping a byte of the deflated data is caught (inflate error or CRC mismatch).
  std::string c = good;
  c[60] = static_cast<char>(c[60] ^ 0x55);
  must_not_crash([&] { parse_npz(c, "crc.npz"); });
}

TEST_CASE("npz: members that are not .npy arrays are refused", "[data]") {
  TempDir tmp;
  std::string p = tmp / "odd.npz";
  int err = 0;
  zip_t* z = zip_open(p.c_str(), ZIP_CREATE | ZIP_TRUNCATE, &err);
  REQUIRE(z);
  static const char text[] = "hello";
  zip_source_t* s = zip_source_buffer(z, text, 5, 0);
  REQUIRE(zip_file_add(z, "notes.txt", s, 0) >= 0);
  REQUIRE(zip_close(z) == 0);
  require_bad_input([&] { read_npz(p); }, "notes.txt");
}
