// Batch invariance (ExecOptions::batch_invariant, kernels/gemm.h row_invariant): a sample stacked
// into a batch must get bit-identical values to the sample run alone, whatever the thread count,
// so that calibration with --batch N gives the same ranges as --batch 1.
#include <catch2/catch.hpp>

#include <omp.h>

#include <cmath>
#include <cstring>
#include <random>

#include "exec/executor.h"
#include "exec/kernels/gemm.h"
#include "test_util.h"

using namespace ptq;
using ptq::test::make;

namespace {

std::vector<float> random_floats(size_t n, uint32_t seed) {
  std::mt19937 gen(seed);
  std::normal_distribution<float> d;
  std::vector<float> v(n);
  for (auto& x : v) x = d(gen);
  return v;
}

}  // namespace

TEST_CASE("row-invariant float gemm gives every row the bits it gets alone, and the right values", "[gemm][batch]") {
  // Shapes cover the fixed-order kernels' row/column/depth tails (6-row and 4x3 tiles, 32/16
  // columns, 16-wide k) and, with K x N above 2^19, the oneDNN 16-row blocks.
  struct Shape3 {
    int64_t M, N, K;
  };
  for (Shape3 sh : {Shape3{37, 300, 129}, Shape3{5, 301, 17}, Shape3{23, 1100, 480}}) {
    const int64_t M = sh.M, N = sh.N, K = sh.K;
    auto A = random_floats(M * K, 1), B = random_floats(K * N, 2), bias = random_floats(M * N, 3);
    for (int threads : {1, 2}) {
      omp_set_num_threads(threads);
      for (bool ta : {false, true})
        for (bool tb : {false, true})
          for (float beta : {0.f, 0.5f}) {
            INFO("M " << M << " N " << N << " K " << K << " threads " << threads << " ta " << ta << " tb " << tb
                      << " beta " << beta);
            // A as stored: [M, K], or [K, M] when ta; B as stored: [K, N], or [N, K] when tb
            std::vector<float> As(M * K), Bs(K * N);
            for (int64_t i = 0; i < M; ++i)
              for (int64_t k = 0; k < K; ++k) (ta ? As[k * M + i] : As[i * K + k]) = A[i * K + k];
            for (int64_t k = 0; k < K; ++k)
              for (int64_t j = 0; j < N; ++j) (tb ? Bs[j * K + k] : Bs[k * N + j]) = B[k * N + j];
            std::vector<float> C(bias);
            kern::gemm<float>(ta, tb, M, N, K, 1.5f, As.data(), ta ? M : K, Bs.data(), tb ? K : N, beta, C.data(), N, true);
            for (int64_t i = 0; i < M; i += 4) {
              for (int64_t j = 0; j < N; j += 7) {  // against a double-precision product
                double ref = 0;
                for (int64_t k = 0; k < K; ++k) ref += static_cast<double>(A[i * K + k]) * B[k * N + j];
                ref = 1.5 * ref + beta * bias[i * N + j];
                REQUIRE(std::fabs(C[i * N + j] - ref) <= 1e-4 * (1 + std::sqrt(static_cast<double>(K))));
              }
              std::vector<float> row(bias.begin() + i * N, bias.begin() + (i + 1) * N);
              kern::gemm<float>(ta, tb, 1, N, K, 1.5f, A.data() + i * K, ta ? 1 : K, Bs.data(), tb ? K : N, beta,
                                row.data(), N, true);
              REQUIRE(std::memcmp(row.data(), C.data() + i * N, N * sizeof(float)) == 0);
            }
          }
    }
  }
  omp_set_num_threads(1);
}

TEST_CASE("a batch-invariant executor computes a stacked batch exactly as its samples alone", "[exec][batch]") {
  // x [B, 64] -> Gemm(W [64, 48], transB=0) -> Relu -> MatMul(V [48, 10]) -> y
  Model m;
  m.set_opset("", 13);
  m.graph.name = "g";
  ValueInfo x;
  x.name = "x";
  x.dtype = DType::Float32;
  m.graph.inputs.push_back(x);
  auto wv = random_floats(64 * 48, 4), vv = random_floats(48 * 10, 5);
  m.graph.initializers["W"] = Tensor::from_vector<float>(wv, {64, 48});
  m.graph.initializers["V"] = Tensor::from_vector<float>(vv, {48, 10});
  m.graph.nodes = {make("Gemm", {"x", "W"}, {"h"}), make("Relu", {"h"}, {"r"}), make("MatMul", {"r", "V"}, {"y"})};
  ValueInfo y;
  y.name = "y";
  y.dtype = DType::Float32;
  m.graph.outputs = {y};
  const int64_t B = 21;
  Tensor batch = Tensor::from_vector<float>(random_floats(B * 64, 6), {B, 64});
  KernelRegistry reg = make_default_registry();
  for (int threads : {1, 2}) {
    Executor ex(m, reg, {threads, false, true});
    Tensor all = ex.run({{"x", batch}})[0];
    for (int64_t i = 0; i < B; ++i) {
      Tensor one = Tensor::from_vector<float>(std::vector<float>(batch.data<float>() + i * 64, batch.data<float>() + (i + 1) * 64), {1, 64});
      Tensor out = ex.run({{"x", one}})[0];
      REQUIRE(std::memcmp(out.data<float>(), all.data<float>() + i * 10, 10 * sizeof(float)) == 0);
    }
  }
}

TEST_CASE("fixed-order gemm: every code path the CPU has is right and row-invariant", "[gemm][batch]") {
  const int64_t M = 13, N = 35, K = 21;  // tails everywhere: 6-row / 4x3 tiles, 32 / 16 columns, 16 / 8 k
  auto A = random_floats(M * K, 4), B = random_floats(K * N, 5);
  for (kern::FixedOrderIsa isa : kern::fixed_order_isas())
    for (bool ta : {false, true})
      for (bool tb : {false, true}) {
        INFO("isa " << static_cast<int>(isa) << " ta " << ta << " tb " << tb);
        std::vector<float> As(M * K), Bs(K * N);
        for (int64_t i = 0; i < M; ++i)
          for (int64_t k = 0; k < K; ++k) (ta ? As[k * M + i] : As[i * K + k]) = A[i * K + k];
        for (int64_t k = 0; k < K; ++k)
          for (int64_t j = 0; j < N; ++j) (tb ? Bs[j * K + k] : Bs[k * N + j]) = B[k * N + j];
        std::vector<float> C(M * N, 0.f);
        kern::sgemm_fixed_order(ta, tb, M, N, K, 1.f, As.data(), ta ? M : K, Bs.data(), tb ? K : N, 0.f, C.data(), N, isa);
        for (int64_t i = 0; i < M; ++i) {
          for (int64_t j = 0; j < N; ++j) {
            double ref = 0;
            for (int64_t k = 0; k < K; ++k) ref += static_cast<double>(A[i * K + k]) * B[k * N + j];
            REQUIRE(std::fabs(C[i * N + j] - ref) <= 1e-4);
          }
          std::vector<float> row(N, 0.f);
          kern::sgemm_fixed_order(ta, tb, 1, N, K, 1.f, A.data() + i * K, ta ? 1 : K, Bs.data(), tb ? K : N, 0.f,
                                  row.data(), N, isa);
          REQUIRE(std::memcmp(row.data(), C.data() + i * N, N * sizeof(float)) == 0);
        }
      }
}
