// Image folders: PNG/JPEG decoding, resizing, color/layout handling and normalization.
#include <cstddef>
#include <cstdio>

#include <jpeglib.h>
#include <png.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <cstring>
#include <random>

#include "data/image.h"
#include "data/sample_source.h"
#include "test_data_util.h"

using namespace ptq;
using ptq::test::input_decl;
using ptq::test::TempDir;

namespace {

// Encodes 8-bit pixels (channels 1 or 3) as PNG.
std::string png_bytes(int w, int h, int channels, const std::vector<uint8_t>& px) {
  png_image img;
  std::memset(&img, 0, sizeof img);
  img.version = PNG_IMAGE_VERSION;
  img.width = static_cast<png_uint_32>(w);
  img.height = static_cast<png_uint_32>(h);
  img.format = channels == 1 ? PNG_FORMAT_GRAY : PNG_FORMAT_RGB;
  png_alloc_size_t size = 0;
  REQUIRE(png_image_write_to_memory(&img, nullptr, &size, 0, px.data(), 0, nullptr));
  std::string out(size, '\0');
  REQUIRE(png_image_write_to_memory(&img, out.data(), &size, 0, px.data(), 0, nullptr));
  out.resize(size);
  return out;
}

std::string jpeg_bytes(int w, int h, const std::vector<uint8_t>& rgb) {
  jpeg_compress_struct c;
  jpeg_error_mgr err;
  c.err = jpeg_std_error(&err);
  jpeg_create_compress(&c);
  unsigned char* buf = nullptr;
  unsigned long size = 0;
  jpeg_mem_dest(&c, &buf, &size);
  c.image_width = static_cast<JDIMENSION>(w);
  c.image_height = static_cast<JDIMENSION>(h);
  c.input_components = 3;
  c.in_color_space = JCS_RGB;
  jpeg_set_defaults(&c);
  jpeg_set_quality(&c, 100, TRUE);
  jpeg_start_compress(&c, TRUE);
  while (c.next_scanline < c.image_height) {
    JSAMPROW row = const_cast<uint8_t*>(rgb.data()) + size_t(c.next_scanline) * w * 3;
    jpeg_write_scanlines(&c, &row, 1);
  }
  jpeg_finish_compress(&c);
  jpeg_destroy_compress(&c);
  std::string out(reinterpret_cast<char*>(buf), size);
  std::free(buf);
  return out;
}

Sample load_one(const std::string& dir, const ValueInfo& in, const ImageOptions& io = {}) {
  SourceOptions o;
  o.image = io;
  auto src = SampleSource::open(dir, {&in}, o);
  REQUIRE(src->layout() == "images");
  return src->load(0);
}

uint32_t crc32_of(const std::string& s) {
  uint32_t c = 0xffffffffu;
  for (unsigned char b : s) {
    c ^= b;
    for (int k = 0; k < 8; ++k) c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1u)));
  }
  return ~c;
}

void put_be32(std::string& s, size_t at, uint32_t v) {
  for (int i = 0; i < 4; ++i) s[at + i] = static_cast<char>((v >> (24 - 8 * i)) & 0xff);
}

const std::vector<uint8_t> kRgb2x2 = {10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110, 120};

}  // namespace

TEST_CASE("images: NCHW RGB normalization by hand", "[data]") {
  TempDir tmp;
  ptq::test::write_bytes(tmp / "a.png", png_bytes(2, 2, 3, kRgb2x2));
  ImageOptions io;
  io.mean = {0.5f, 0.4f, 0.3f};
  io.std = {0.2f, 0.25f, 0.5f};
  Sample s = load_one(tmp.str(), input_decl("x", DType::Float32, {-1, 3, 2, 2}), io);
  const Tensor& t = s.inputs.at("x");
  REQUIRE(t.shape() == Shape{1, 3, 2, 2});
  for (int c = 0; c < 3; ++c)
    for (int i = 0; i < 4; ++i) {
      float want = (kRgb2x2[size_t(i) * 3 + c] / 255.f - io.mean[c]) / io.std[c];
      REQUIRE(t.data<float>()[c * 4 + i] == Approx(want).margin(1e-6));
    }
}

TEST_CASE("images: NHWC, BGR, gray and uint8 inputs", "[data]") {
  TempDir tmp;
  ptq::test::write_bytes(tmp / "a.png", png_bytes(2, 2, 3, kRgb2x2));
  ImageOptions bgr;
  bgr.color = ImageOptions::Color::BGR;
  Tensor t = load_one(tmp.str(), input_decl("x", DType::Float32, {1, 2, 2, 3}), bgr).inputs.at("x");
  REQUIRE(t.shape() == Shape{1, 2, 2, 3});
  REQUIRE(t.data<float>()[0] == Approx(30 / 255.f));
  REQUIRE(t.data<float>()[2] == Approx(10 / 255.f));
  REQUIRE(t.data<float>()[11] == Approx(100 / 255.f));

  Tensor u = load_one(tmp.str(), input_decl("x", DType::UInt8, {1, 2, 2, 3})).inputs.at("x");
  REQUIRE(std::vector<uint8_t>(u.data<uint8_t>(), u.data<uint8_t>() + 12) == kRgb2x2);

  // A 1-channel model gets luma; a gray PNG comes through exactly.
  Tensor g = load_one(tmp.str(), input_decl("x", DType::Float32, {1, 1, 2, 2})).inputs.at("x");
  REQUIRE(g.data<float>()[0] == Approx((0.299f * 10 + 0.587f * 20 + 0.114f * 30) / 255.f));
  TempDir gray;
  ptq::test::write_bytes(gray / "g.PNG", png_bytes(2, 2, 1, {0, 51, 102, 255}));
  ImageOptions raw;
  raw.scale = 1.f;
  Tensor e = load_one(gray.str(), input_decl("x", DType::Float32, {1, 1, 2, 2}), raw).inputs.at("x");
  REQUIRE(std::vector<float>(e.data<float>(), e.data<float>() + 4) == std::vector<float>{0, 51, 102, 255});
}

TEST_CASE("images: stretch, letterbox and shorter-side crop", "[data]") {
  ImageOptions raw;
  raw.scale = 1.f;
  TempDir a;
  ptq::test::write_bytes(a / "a.png", png_bytes(2, 1, 1, {0, 100}));
  // Stretch 2x1 -> 4x1, half-pixel centers: 0, 25, 75, 100.
  Tensor s = load_one(a.str(), input_decl("x", DType::Float32, {1, 1, 1, 4}), raw).inputs.at("x");
  REQUIRE(std::vector<float>(s.data<float>(), s.data<float>() + 4) == std::vector<float>{0, 25, 75, 100});
  // Letterbox 2x1 into 2x2: image on row 0, padding (114) on row 1.
  ImageOptions lb = raw;
  lb.mode = ImageOptions::ResizeMode::Letterbox;
  Tensor l = load_one(a.str(), input_decl("x", DType::Float32, {1, 1, 2, 2}), lb).inputs.at("x");
  REQUIRE(std::vector<float>(l.data<float>(), l.data<float>() + 4) == std::vector<float>{0, 100, 114, 114});
  // Shorter side to 2 (already), then center-crop 2x2 out of 4x2: columns 1 and 2.
  TempDir b;
  ptq::test::write_bytes(b / "b.jpg.png", png_bytes(4, 2, 1, {0, 10, 20, 30, 0, 10, 20, 30}));
  ImageOptions cc = raw;
  cc.mode = ImageOptions::ResizeMode::ShorterSideCrop;
  cc.shorter_side = 2;
  Tensor c = load_one(b.str(), input_decl("x", DType::Float32, {1, 1, 2, 2}), cc).inputs.at("x");
  REQUIRE(std::vector<float>(c.data<float>(), c.data<float>() + 4) == std::vector<float>{10, 20, 10, 20});
  // Explicit resize for a model with dynamic height/width.
  ImageOptions rs = raw;
  rs.resize = std::make_pair(4, 1);
  Tensor d = load_one(a.str(), input_decl("x", DType::Float32, {-1, 1, -1, -1}), rs).inputs.at("x");
  REQUIRE(d.shape() == Shape{1, 1, 1, 4});
  Tensor own = load_one(a.str(), input_decl("x", DType::Float32, {-1, 1, -1, -1}), raw).inputs.at("x");
  REQUIRE(own.shape() == Shape{1, 1, 1, 2});
}

TEST_CASE("images: JPEG decoding", "[data]") {
  TempDir tmp;
  std::vector<uint8_t> px;
  for (int i = 0; i < 64; ++i) px.insert(px.end(), {200, 100, 50});
  ptq::test::write_bytes(tmp / "c.JPEG", jpeg_bytes(8, 8, px));
  ImageOptions raw;
  raw.scale = 1.f;
  Tensor t = load_one(tmp.str(), input_decl("x", DType::Float32, {1, 3, 8, 8}), raw).inputs.at("x");
  REQUIRE(t.data<float>()[0] == Approx(200).margin(3));
  REQUIRE(t.data<float>()[64 + 9] == Approx(100).margin(3));
  REQUIRE(t.data<float>()[128 + 63] == Approx(50).margin(3));
}

TEST_CASE("images: corrupt files and unsuitable models are BadInput", "[data]") {
  TempDir tmp;
  std::string png = png_bytes(2, 2, 3, kRgb2x2);
  ptq::test::write_bytes(tmp / "a.png", png);
  ptq::test::write_bytes(tmp / "b.png", png.substr(0, png.size() / 2));
  ptq::test::write_bytes(tmp / "c.jpg", "not an image");
  ValueInfo in = input_decl("x", DType::Float32, {1, 3, 2, 2});
  auto src = SampleSource::open(tmp.str(), {&in}, {});
  REQUIRE(src->size() == 3);
  REQUIRE(src->load(0).inputs.size() == 1);
  for (size_t i : {1, 2}) {
    try {
      src->load(i);
      FAIL("corrupt image accepted");
    } catch (const Error& e) {
      REQUIRE(e.kind() == ErrorKind::BadInput);
      REQUIRE(std::string(e.what()).find(i == 1 ? "b.png" : "c.jpg") != std::string::npos);
    }
  }
  ValueInfo odd = input_decl("x", DType::Float32, {1, 5, 7, 9});
  REQUIRE_THROWS_AS(SampleSource::open(tmp.str(), {&odd}, {}), Error);
  ValueInfo ints = input_decl("x", DType::Int64, {1, 3, 2, 2});
  REQUIRE_THROWS_AS(SampleSource::open(tmp.str(), {&ints}, {}), Error);
}

TEST_CASE("images: decoder survives truncation and corruption", "[data]") {
  std::vector<uint8_t> px;
  for (int i = 0; i < 16 * 16 * 3; ++i) px.push_back(static_cast<uint8_t>(i * 7));
  std::string png = png_bytes(16, 16, 3, px), jpg = jpeg_bytes(16, 16, px);
  auto must_not_crash = [](const std::string& b) {
    try {
      Image img = decode_image(b, "fuzz");
      REQUIRE(img.pixels.size() == size_t(img.width) * img.height * 3);
    } catch (const Error& e) {
      REQUIRE(e.kind() == ErrorKind::BadInput);
    }
  };
  for (const std::string* f : {&png, &jpg}) {
    for (size_t n = 0; n < f->size(); ++n) must_not_crash(f->substr(0, n));
    std::mt19937 rng(3);
    for (int iter = 0; iter < 1500; ++iter) {
      std::string b = *f;
      for (int k = 0; k < 3; ++k) b[rng() % b.size()] = static_cast<char>(rng() & 0xff);
      must_not_crash(b);
    }
  }
  REQUIRE_THROWS_AS(decode_image(png.substr(0, png.size() - 20), "t.png"), Error);
  // A header claiming 30000x30000 pixels (with a valid CRC) is refused before any allocation.
  std::string huge = png;
  put_be32(huge, 16, 30000);
  put_be32(huge, 20, 30000);
  put_be32(huge, 29, crc32_of(huge.substr(12, 17)));
  try {
    decode_image(huge, "huge.png");
    FAIL("huge image accepted");
  } catch (const Error& e) {
    REQUIRE(std::string(e.what()).find("huge.png: cannot decode PNG image: unsupported image size 30000x30000") == 0);
  }
  REQUIRE_THROWS_AS(decode_image(jpg.substr(0, jpg.size() / 2), "t.jpg"), Error);
}
