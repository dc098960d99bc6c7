// Shared matrix-multiply helpers of the gemm family (gemm.cpp) used by MatMul, Gemm and Einsum,
// plus the registration hooks of norm.cpp and einsum.cpp (called from register_gemm_norm).
#pragma once
#include <cstdint>
#include <vector>

#include "core/tensor.h"
#include "exec/kernel.h"

namespace ptq::kern {

// Row-major C[M,N] = alpha * op(A) * op(B) + beta * C, op = transpose when ta/tb. lda/ldb/ldc are
// the row strides of A, B, C as stored. float32 goes to oneDNN (except the gemv shapes whose
// oneDNN result depends on the thread count); other types use a plain loop. Results never depend
// on the thread count. Must not be called from inside an OpenMP parallel region.
//
// row_invariant: every row of C is computed exactly as it would be with any other M (float32:
// sgemm_fixed_order below when K x N is small, else fixed 16-row blocks of single-threaded oneDNN
// calls, the last zero-padded; oneDNN's result for a row depends on M otherwise). Calibration uses
// it so a batch of stacked samples gives each sample's exact values (--batch).
template <typename T>
void gemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, T alpha, const T* A, int64_t lda, const T* B, int64_t ldb,
          T beta, T* C, int64_t ldc, bool row_invariant = false);

// float32 GEMM with one fixed summation per element (gemm_fixed.cpp): acc = fma(a_ik, b_kj, acc)
// for k = 0..K-1, then alpha * acc (+ beta * c). Independent of M, tiling and thread count.
// `isa` picks the code path (tests run each one the CPU has); Auto: the best the CPU supports.
enum class FixedOrderIsa { Auto, Scalar, Avx2, Avx512 };
void sgemm_fixed_order(bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
                       const float* B, int64_t ldb, float beta, float* C, int64_t ldc,
                       FixedOrderIsa isa = FixedOrderIsa::Auto);
// The paths this CPU can run, Scalar first.
std::vector<FixedOrderIsa> fixed_order_isas();

// numpy.matmul of two tensors of the same dtype (float32, float64, int32, int64, uint32, uint64):
// 1-D operands get a dimension prepended (a) / appended (b) and removed again; batch dimensions
// broadcast. `what` names the node in errors.
Tensor matmul(const Tensor& a, const Tensor& b, const std::string& what, bool row_invariant = false);

// Batched product of 3-D tensors of one dtype: a is [B, M, K] ([B, K, M] when ta), b is [B, K, N]
// ([B, N, K] when tb); returns [B, M, N].
Tensor batched_matmul(const Tensor& a, const Tensor& b, bool ta, bool tb, const std::string& what);

void register_norm(KernelRegistry& r);    // norm.cpp: BatchNormalization, InstanceNormalization, LayerNormalization, ...
void register_einsum(KernelRegistry& r);  // einsum.cpp: Einsum

}  // namespace ptq::kern
