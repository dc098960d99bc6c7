// Reference quantization math: rounding, saturation, granularities, and scale/zero-point choice.
#include <catch2/catch.hpp>

#include "core/quant_math.h"
#include "quant/qparams.h"

using namespace ptq;

TEST_CASE("quantize rounds half to even and saturates", "[quant_math]") {
  QRange u8 = qrange(DType::UInt8), i8 = qrange(DType::Int8), i4 = qrange(DType::Int4);
  REQUIRE(quantize_value(0.5f, 1.0f, 0, i8) == 0);
  REQUIRE(quantize_value(1.5f, 1.0f, 0, i8) == 2);
  REQUIRE(quantize_value(2.5f, 1.0f, 0, i8) == 2);
  REQUIRE(quantize_value(-0.5f, 1.0f, 0, i8) == 0);
  REQUIRE(quantize_value(-1.5f, 1.0f, 0, i8) == -2);
  REQUIRE(quantize_value(1000.0f, 1.0f, 0, i8) == 127);
  REQUIRE(quantize_value(-1000.0f, 1.0f, 0, i8) == -128);
  REQUIRE(quantize_value(-3.0f, 0.1f, 10, u8) == 0);       // -30 + 10 saturates at 0
  REQUIRE(quantize_value(1.0f, 0.01f, 200, u8) == 255);    // 100 + 200 saturates
  REQUIRE(quantize_value(0.7f, 0.1f, 0, i4) == 7);
  REQUIRE(quantize_value(0.9f, 0.1f, 0, i4) == 7);
  REQUIRE(quantize_value(-0.9f, 0.1f, 0, i4) == -8);
  REQUIRE(dequantize_value(130, 0.5f, 128) == 1.0f);
}

TEST_CASE("per-axis and blocked quantization use the right parameters", "[quant_math]") {
  // x: [2,4]; per-axis on axis 0 with scales 1 and 10.
  Tensor x = Tensor::from_vector<float>({1, 2, 3, 4, 10, 20, 30, 40}, {2, 4});
  Tensor s = Tensor::from_vector<float>({1, 10}, {2});
  Tensor zp = Tensor::from_vector<int8_t>({0, 1}, {2});
  Tensor q = quantize_tensor(x, s, zp, {0, 0}, DType::Int8);
  REQUIRE(q.to_int64_vector() == std::vector<int64_t>{1, 2, 3, 4, 2, 3, 4, 5});
  Tensor back = dequantize_tensor(q, s, zp, {0, 0});
  REQUIRE(back.data<float>()[5] == 20.0f);
  // blocked along axis 1 with block 2: scale shape [2,2]
  Tensor sb = Tensor::from_vector<float>({1, 2, 10, 20}, {2, 2});
  Tensor qb = quantize_tensor(x, sb, Tensor(), {1, 2}, DType::Int8);
  REQUIRE(qb.to_int64_vector() == std::vector<int64_t>{1, 2, 2, 2, 1, 2, 2, 2});  // 3/2=1.5->2, 4/2=2, 30/20=1.5->2
  REQUIRE_THROWS_AS(quantize_tensor(x, s, zp, {1, 0}, DType::Int8), Error);  // wrong per-axis length
}

TEST_CASE("scale and zero point follow ONNX Runtime's conventions", "[quant_math]") {
  SECTION("asymmetric uint8 includes zero") {
    QParams p = compute_qparams({0.5f, 2.5f}, DType::UInt8, false);  // widened to [0, 2.5]
    REQUIRE(p.scale == Approx(2.5f / 255));
    REQUIRE(p.zero_point == 0);
    QParams n = compute_qparams({-1.0f, 3.0f}, DType::UInt8, false);
    REQUIRE(n.scale == Approx(4.0f / 255));
    REQUIRE(n.zero_point == 64);  // round(0 - (-1)/(4/255)) = round(63.75)
  }
  SECTION("symmetric int8 uses [-127, 127]") {
    QParams p = compute_qparams({-0.5f, 2.54f}, DType::Int8, true);
    REQUIRE(p.scale == Approx(2.54f / 127));
    REQUIRE(p.zero_point == 0);
  }
  SECTION("symmetric uint8 centers at 128") {
    QParams p = compute_qparams({-1.0f, 1.0f}, DType::UInt8, true);
    REQUIRE(p.zero_point == 128);
    REQUIRE(p.scale == Approx(2.0f / 255));
  }
  SECTION("all-zero range gives a valid scale") {
    QParams p = compute_qparams({0, 0}, DType::UInt8, false);
    REQUIRE(p.scale == 1.0f);
    REQUIRE(p.zero_point == 0);
  }
}

TEST_CASE("weights quantize per tensor, per channel and per block", "[quant_math]") {
  // w: [2,3]; channel 0 spans [-1,1], channel 1 spans [-4,2]
  Tensor w = Tensor::from_vector<float>({-1, 0.5f, 1, -4, 2, 1}, {2, 3});
  QuantizedTensor pt = quantize_weight(w, {}, DType::Int8, true);
  REQUIRE(pt.scale.numel() == 1);
  REQUIRE(pt.scale.data<float>()[0] == Approx(4.0f / 127));
  QuantizedTensor pc = quantize_weight(w, {0, 0}, DType::Int8, true);
  REQUIRE(pc.scale.shape() == Shape{2});
  REQUIRE(pc.scale.data<float>()[0] == Approx(1.0f / 127));
  REQUIRE(pc.scale.data<float>()[1] == Approx(4.0f / 127));
  REQUIRE(pc.values.get_as_int64(0) == -127);
  REQUIRE(pc.values.get_as_int64(3) == -127);
  REQUIRE(pc.values.get_as_int64(4) == 64);  // 2 / (4/127) = 63.5 -> 64 (half to even)
  QuantizedTensor pb = quantize_weight(w, {1, 2}, DType::Int4, true);
  REQUIRE(pb.scale.shape() == Shape{2, 2});
  REQUIRE(pb.scale.data<float>()[0] == Approx(1.0f / 7));  // block {-1, 0.5}
  REQUIRE(pb.scale.data<float>()[1] == Approx(1.0f / 7));  // block {1}
  REQUIRE(pb.scale.data<float>()[2] == Approx(4.0f / 7));  // block {-4, 2}
  REQUIRE(pb.values.get_as_int64(0) == -7);
}
