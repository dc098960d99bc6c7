// Gemm (opset 1+; the pre-7 `broadcast` attribute is implied), MatMul (1+), MatMulInteger (10+), and the shared gemm()/matmul() helpers.
// float32 products go to oneDNN's dnnl_sgemm (OpenMP-parallel inside); other types use a plain
// row-parallel loop. Every path gives bit-identical results for any thread count.
#include "exec/kernels/gemm.h"

#include <oneapi/dnnl/dnnl.h>

#include <algorithm>
#include <vector>

#include "exec/kernels/families.h"
#include "exec/kernels/kernel_util.h"

namespace ptq::kern {

namespace {

constexpr int64_t kParallelWork = 1 << 16;

// C = alpha * A*B + beta * C with the plain triple loop; rows run in parallel (each output element
// is summed in k order by one thread, so the result does not depend on the thread count).
template <typename T>
void gemm_loop(bool ta, bool tb, int64_t M, int64_t N, int64_t K, T alpha, const T* A, int64_t lda, const T* B,
               int64_t ldb, T beta, T* C, int64_t ldc) {
  const int64_t a_si = ta ? 1 : lda, a_sk = ta ? lda : 1;
  const int64_t b_sk = tb ? 1 : ldb, b_sj = tb ? ldb : 1;
  const bool par = M > 1 && M * N * K > kParallelWork;
#pragma omp parallel if (par)
  {
    std::vector<T> acc(static_cast<size_t>(N));
#pragma omp for schedule(static)
    for (int64_t i = 0; i < M; ++i) {
      std::fill(acc.begin(), acc.end(), T(0));
      for (int64_t k = 0; k < K; ++k) {
        const T av = A[i * a_si + k * a_sk];
        const T* b = B + k * b_sk;
        if (b_sj == 1) {
          for (int64_t j = 0; j < N; ++j) acc[j] += av * b[j];
        } else {
          for (int64_t j = 0; j < N; ++j) acc[j] += av * b[j * b_sj];
        }
      }
      T* c = C + i * ldc;
      for (int64_t j = 0; j < N; ++j) c[j] = beta == T(0) ? alpha * acc[j] : alpha * acc[j] + beta * c[j];
    }
  }
}

// out[j*ldo] = alpha * sum_k x[k*incx] * mat[k*ld + j] + beta * out[j*ldo] for j < L: the gemv
// shapes for which oneDNN splits K across threads. Columns are split in fixed chunks instead.
void gemv_columns(int64_t L, int64_t K, float alpha, const float* x, int64_t incx, const float* mat, int64_t ld,
                  float beta, float* out, int64_t ldo) {
  constexpr int64_t kChunk = 256;
  const int64_t chunks = (L + kChunk - 1) / kChunk;
#pragma omp parallel for schedule(static) if (chunks > 1 && L * K > kParallelWork)
  for (int64_t ch = 0; ch < chunks; ++ch) {
    const int64_t j0 = ch * kChunk, len = std::min(kChunk, L - j0);
    float acc[kChunk] = {};
    int64_t k = 0;
    for (; k + 4 <= K; k += 4) {  // four rows per pass over acc; same summation order as one by one
      const float x0 = x[k * incx], x1 = x[(k + 1) * incx], x2 = x[(k + 2) * incx], x3 = x[(k + 3) * incx];
      const float* r0 = mat + k * ld + j0;
      const float *r1 = r0 + ld, *r2 = r1 + ld, *r3 = r2 + ld;
      for (int64_t j = 0; j < len; ++j) {
        float a = acc[j];
        a += x0 * r0[j];
        a += x1 * r1[j];
        a += x2 * r2[j];
        a += x3 * r3[j];
        acc[j] = a;
      }
    }
    for (; k < K; ++k) {
      const float xv = x[k * incx];
      const float* row = mat + k * ld + j0;
      for (int64_t j = 0; j < len; ++j) acc[j] += xv * row[j];
    }
    for (int64_t j = 0; j < len; ++j) {
      float& o = out[(j0 + j) * ldo];
      o = beta == 0.0f ? alpha * acc[j] : alpha * acc[j] + beta * o;
    }
  }
}

}  // namespace

template <typename T>
void gemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, T alpha, const T* A, int64_t lda, const T* B, int64_t ldb,
          T beta, T* C, int64_t ldc, bool) {
  if (M <= 0 || N <= 0) return;
  gemm_loop<T>(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);  // rows are independent already
}

namespace {

void sgemm_or_throw(bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
                    const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  SerialIfSmall serial(M * N * K, M * N);
  dnnl_status_t st = dnnl_sgemm(ta ? 'T' : 'N', tb ? 'T' : 'N', M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
  if (st != dnnl_success) internal_error("dnnl_sgemm failed (status {}) for M={} N={} K={}", static_cast<int>(st), M, N, K);
}

// Products with at most this many B elements (K x N) use sgemm_fixed_order when rows must be
// invariant; larger ones use oneDNN in fixed blocks of kInvariantRows rows. Both choices depend
// on K and N only (never on M), so a row's bits still do not depend on the batch. Measured (1
// thread, AVX-512): fixed order 4x faster than the blocks for one row (0.006 vs 0.027 ms for
// 1 x 576 x 128, oneDNN's own gemv 0.005; 0.049 vs 0.213 ms for 1 x 512 x 1000), 1.5-2x slower
// from 16 rows on (16 x 512 x 1000, 128 x 768 x 768, 512 x 768 x 3072); and it has no JIT
// warm-up (33 ms on the blocks' first call for the bundled model).
constexpr int64_t kFixedOrderMaxB = int64_t{1} << 19;
constexpr int64_t kInvariantRows = 16;

// See gemm.h (row_invariant). Measured: with a fixed block shape and one thread, oneDNN gives a
// row the same bits at every position of the block and whatever the other rows hold.
void sgemm_row_blocks(bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
                      const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  constexpr int64_t R = kInvariantRows;
  const int64_t blocks = (M + R - 1) / R;
  // One block is computed by one thread: inside a parallel region or, for a single block, in a
  // single-thread scope (oneDNN threads a call made outside a parallel region).
  auto run_block = [&](int64_t blk) {
    const int64_t m0 = blk * R, rows = std::min(R, M - m0);
    if (rows == R) {
      const float* a = ta ? A + m0 : A + m0 * lda;
      return dnnl_sgemm(ta ? 'T' : 'N', tb ? 'T' : 'N', R, N, K, alpha, a, lda, B, ldb, beta, C + m0 * ldc, ldc) ==
             dnnl_success;
    }
    // The zero-padded block keeps A's orientation: the same oneDNN path as the full blocks.
    std::vector<float> pa(static_cast<size_t>(R * K), 0.f), pc(static_cast<size_t>(R * N), 0.f);
    for (int64_t i = 0; i < rows; ++i)
      for (int64_t k = 0; k < K; ++k) {
        if (ta) pa[static_cast<size_t>(k * R + i)] = A[k * lda + m0 + i];
        else pa[static_cast<size_t>(i * K + k)] = A[(m0 + i) * lda + k];
      }
    if (beta != 0.f)
      for (int64_t i = 0; i < rows; ++i) std::copy(C + (m0 + i) * ldc, C + (m0 + i) * ldc + N, pc.begin() + i * N);
    bool ok = dnnl_sgemm(ta ? 'T' : 'N', tb ? 'T' : 'N', R, N, K, alpha, pa.data(), ta ? R : K, B, ldb, beta, pc.data(),
                         N) == dnnl_success;
    for (int64_t i = 0; i < rows; ++i) std::copy(pc.begin() + i * N, pc.begin() + (i + 1) * N, C + (m0 + i) * ldc);
    return ok;
  };
  bool failed = false;
  if (blocks == 1) {
    SerialIfSmall one_thread(0, 0);
    failed = !run_block(0);
  } else {
#pragma omp parallel for schedule(static) reduction(|| : failed)
    for (int64_t blk = 0; blk < blocks; ++blk) failed |= !run_block(blk);
  }
  if (failed) internal_error("dnnl_sgemm failed for blocks of M={} N={} K={}", M, N, K);
}

}  // namespace

template <>
void gemm<float>(bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
                 const float* B, int64_t ldb, float beta, float* C, int64_t ldc, bool row_invariant) {
  if (M <= 0 || N <= 0) return;
  if (K <= 0) {
    for (int64_t i = 0; i < M; ++i)
      for (int64_t j = 0; j < N; ++j) C[i * ldc + j] = beta == 0.0f ? 0.0f : beta * C[i * ldc + j];
    return;
  }
  if (row_invariant) {
    if (N * K <= kFixedOrderMaxB) sgemm_fixed_order(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    else sgemm_row_blocks(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    return;
  }
  if (M == 1 && !tb) {  // one row of A times B stored [K, N]
    gemv_columns(N, K, alpha, A, ta ? lda : 1, B, ldb, beta, C, 1);
    return;
  }
  if (N == 1 && ta) {  // A stored [K, M] times one column of B
    gemv_columns(M, K, alpha, B, tb ? 1 : ldb, A, lda, beta, C, ldc);
    return;
  }
  sgemm_or_throw(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

template void gemm<double>(bool, bool, int64_t, int64_t, int64_t, double, const double*, int64_t, const double*,
                           int64_t, double, double*, int64_t, bool);
template void gemm<int32_t>(bool, bool, int64_t, int64_t, int64_t, int32_t, const int32_t*, int64_t, const int32_t*,
                            int64_t, int32_t, int32_t*, int64_t, bool);
template void gemm<int64_t>(bool, bool, int64_t, int64_t, int64_t, int64_t, const int64_t*, int64_t, const int64_t*,
                            int64_t, int64_t, int64_t*, int64_t, bool);
template void gemm<uint32_t>(bool, bool, int64_t, int64_t, int64_t, uint32_t, const uint32_t*, int64_t,
                             const uint32_t*, int64_t, uint32_t, uint32_t*, int64_t, bool);
template void gemm<uint64_t>(bool, bool, int64_t, int64_t, int64_t, uint64_t, const uint64_t*, int64_t,
                             const uint64_t*, int64_t, uint64_t, uint64_t*, int64_t, bool);

namespace {

// Calls f(T{}) with the C++ type of a dtype supported by the matrix products.
template <typename F>
void dispatch_gemm_type(DType t, const std::string& what, F f) {
  switch (t) {
    case DType::Float32: f(float{}); return;
    case DType::Float64: f(double{}); return;
    case DType::Int32: f(int32_t{}); return;
    case DType::Int64: f(int64_t{}); return;
    case DType::UInt32: f(uint32_t{}); return;
    case DType::UInt64: f(uint64_t{}); return;
    default: unsupported("{}: type {} is not supported", what, dtype_name(t));
  }
}

template <typename T>
Tensor matmul_typed(const Tensor& a, const Tensor& b, const std::string& what, bool row_invariant) {
  Shape as = a.shape(), bs = b.shape();
  const bool a_vec = as.size() == 1, b_vec = bs.size() == 1;
  if (a_vec) as.insert(as.begin(), 1);
  if (b_vec) bs.push_back(1);
  const int64_t M = as[as.size() - 2], K = as.back(), N = bs.back();
  if (bs[bs.size() - 2] != K)
    bad_input("{}: shapes {} and {} cannot be multiplied", what, shape_str(a.shape()), shape_str(b.shape()));
  Shape batch_a(as.begin(), as.end() - 2), batch_b(bs.begin(), bs.end() - 2);
  Shape batch = broadcast_shapes(batch_a, batch_b);
  Shape out_shape = batch;
  if (!a_vec) out_shape.push_back(M);
  if (!b_vec) out_shape.push_back(N);
  Tensor out(a.dtype(), out_shape);
  const int64_t nbatch = shape_numel(batch);
  if (nbatch == 0 || M == 0 || N == 0) return out;
  const T* A = a.data<T>();
  const T* B = b.data<T>();
  T* C = out.data<T>();
  if (shape_numel(batch_b) == 1 && shape_numel(batch_a) == nbatch) {
    // B is shared: fold A's batch dimensions into M, one product.
    gemm<T>(false, false, nbatch * M, N, K, T(1), A, K, B, N, T(0), C, N, row_invariant);
    return out;
  }
  for_each_broadcast(batch_a, batch_b, batch, [&](int64_t p, int64_t pa, int64_t pb) {
    gemm<T>(false, false, M, N, K, T(1), A + pa * M * K, K, B + pb * K * N, N, T(0), C + p * M * N, N, row_invariant);
  });
  return out;
}

}  // namespace

Tensor matmul(const Tensor& a, const Tensor& b, const std::string& what, bool row_invariant) {
  if (a.rank() == 0 || b.rank() == 0) bad_input("{}: MatMul operands must not be scalars", what);
  if (a.dtype() != b.dtype())
    bad_input("{}: operand types differ ({} vs {})", what, dtype_name(a.dtype()), dtype_name(b.dtype()));
  Tensor out;
  dispatch_gemm_type(a.dtype(), what, [&](auto tag) { out = matmul_typed<decltype(tag)>(a, b, what, row_invariant); });
  return out;
}

Tensor batched_matmul(const Tensor& a, const Tensor& b, bool ta, bool tb, const std::string& what) {
  if (a.rank() != 3 || b.rank() != 3 || a.dim(0) != b.dim(0))
    internal_error("{}: batched_matmul needs 3-D operands of equal batch, got {} and {}", what, shape_str(a.shape()), shape_str(b.shape()));
  if (a.dtype() != b.dtype())
    bad_input("{}: operand types differ ({} vs {})", what, dtype_name(a.dtype()), dtype_name(b.dtype()));
  const int64_t nb = a.dim(0), M = ta ? a.dim(2) : a.dim(1), K = ta ? a.dim(1) : a.dim(2);
  const int64_t N = tb ? b.dim(1) : b.dim(2);
  if ((tb ? b.dim(2) : b.dim(1)) != K)
    bad_input("{}: shapes {} and {} cannot be multiplied", what, shape_str(a.shape()), shape_str(b.shape()));
  Tensor out(a.dtype(), {nb, M, N});
  dispatch_gemm_type(a.dtype(), what, [&](auto tag) {
    using T = decltype(tag);
    const T* A = a.data<T>();
    const T* B = b.data<T>();
    T* C = out.data<T>();
    for (int64_t p = 0; p < nb; ++p)
      gemm<T>(ta, tb, M, N, K, T(1), A + p * M * K, a.dim(2), B + p * K * N, b.dim(2), T(0), C + p * M * N, N);
  });
  return out;
}

namespace {

class MatMulKernel : public Kernel {
 public:
  explicit MatMulKernel(const KernelInit& init) : row_invariant_(init.batch_invariant) {}
  void run(KernelContext& ctx) override { ctx.outputs[0] = matmul(ctx.in(0), ctx.in(1), "MatMul", row_invariant_); }

 private:
  bool row_invariant_;
};

// Gemm: Y = alpha * A' * B' + beta * C, C unidirectionally broadcast to [M, N].
class GemmKernel : public Kernel {
 public:
  explicit GemmKernel(const KernelInit& init)
      : ta_(init.node.attr_int("transA", 0) != 0),
        tb_(init.node.attr_int("transB", 0) != 0),
        alpha_(init.node.attr_float("alpha", 1.0f)),
        beta_(init.node.attr_float("beta", 1.0f)),
        row_invariant_(init.batch_invariant) {}

  void run(KernelContext& ctx) override {
    const Tensor& a = ctx.in(0);
    const Tensor& b = ctx.in(1);
    if (a.rank() != 2 || b.rank() != 2)
      bad_input("Gemm needs 2-D A and B, got {} and {}", shape_str(a.shape()), shape_str(b.shape()));
    if (a.dtype() != b.dtype()) bad_input("Gemm: A is {} but B is {}", dtype_name(a.dtype()), dtype_name(b.dtype()));
    const int64_t M = ta_ ? a.dim(1) : a.dim(0), K = ta_ ? a.dim(0) : a.dim(1);
    const int64_t N = tb_ ? b.dim(0) : b.dim(1), Kb = tb_ ? b.dim(1) : b.dim(0);
    if (K != Kb) bad_input("Gemm: inner dimensions differ ({} vs {})", K, Kb);
    const Tensor* c = ctx.has_input(2) && beta_ != 0.0f ? &ctx.in(2) : nullptr;
    if (c && c->dtype() != a.dtype()) bad_input("Gemm: C is {} but A is {}", dtype_name(c->dtype()), dtype_name(a.dtype()));
    Tensor y(a.dtype(), {M, N});
    dispatch_gemm_type(a.dtype(), "Gemm", [&](auto tag) {
      using T = decltype(tag);
      T* yd = y.data<T>();
      if (c) fill_bias(*c, M, N, yd);
      gemm<T>(ta_, tb_, M, N, K, static_cast<T>(alpha_), a.data<T>(), a.dim(1), b.data<T>(), b.dim(1),
              c ? static_cast<T>(beta_) : T(0), yd, N, row_invariant_);
    });
    ctx.outputs[0] = y;
  }

 private:
  template <typename T>
  static void fill_bias(const Tensor& c, int64_t M, int64_t N, T* y) {
    const Shape mn{M, N};
    if (c.rank() > 2 || broadcast_shapes(c.shape(), mn) != mn)
      bad_input("Gemm: C of shape {} does not broadcast to [{},{}]", shape_str(c.shape()), M, N);
    auto st = broadcast_strides(c.shape(), mn);
    const T* cd = c.data<T>();
    for (int64_t i = 0; i < M; ++i)
      for (int64_t j = 0; j < N; ++j) y[i * N + j] = cd[i * st[0] + j * st[1]];
  }

  bool ta_, tb_;
  float alpha_, beta_;
  bool row_invariant_;
};

// A zero point as an int32 tensor shaped to broadcast against its operand: a 1-D per-row zero
// point of A becomes [M, 1]; everything else broadcasts numpy-style.
Tensor zero_point_for(const KernelContext& ctx, size_t idx, bool per_row, const Tensor& operand) {
  if (!ctx.has_input(idx)) return Tensor();
  const Tensor& zp = ctx.in(idx);
  Tensor z(DType::Int32, zp.shape());
  int32_t* zd = z.data<int32_t>();
  for (int64_t i = 0; i < zp.numel(); ++i) zd[i] = static_cast<int32_t>(zp.get_as_int64(i));
  if (per_row && zp.rank() == 1 && operand.rank() >= 2) z = z.reshaped({zp.numel(), 1});
  if (broadcast_shapes(operand.shape(), z.shape()) != operand.shape())
    bad_input("MatMulInteger: zero point of shape {} does not fit operand {}", shape_str(zp.shape()), shape_str(operand.shape()));
  return z;
}

// operand - zero_point, widened to int32.
Tensor widen_minus_zp(const Tensor& x, const Tensor& zp) {
  if (x.dtype() != DType::UInt8 && x.dtype() != DType::Int8)
    unsupported("MatMulInteger: type {} is not supported (int8/uint8 only)", dtype_name(x.dtype()));
  Tensor w(DType::Int32, x.shape());
  int32_t* wd = w.data<int32_t>();
  auto load = [&x](int64_t i) -> int32_t {
    return x.dtype() == DType::UInt8 ? x.data<uint8_t>()[i] : x.data<int8_t>()[i];
  };
  if (zp.empty()) {
    for (int64_t i = 0; i < x.numel(); ++i) wd[i] = load(i);
  } else {
    const int32_t* zd = zp.data<int32_t>();
    for_each_broadcast(x.shape(), zp.shape(), x.shape(), [&](int64_t i, int64_t ix, int64_t iz) { wd[i] = load(ix) - zd[iz]; });
  }
  return w;
}

void matmul_integer_kernel(KernelContext& ctx) {
  const Tensor& a = ctx.in(0);
  const Tensor& b = ctx.in(1);
  Tensor wa = widen_minus_zp(a, zero_point_for(ctx, 2, true, a));
  Tensor wb = widen_minus_zp(b, zero_point_for(ctx, 3, false, b));
  ctx.outputs[0] = matmul(wa, wb, "MatMulInteger");
}

}  // namespace

void register_gemm_norm(KernelRegistry& r) {
  r.add("", "Gemm", 1, kMaxOpset, [](const KernelInit& init) { return std::make_unique<GemmKernel>(init); });
  r.add("", "MatMul", 1, kMaxOpset, [](const KernelInit& init) { return std::make_unique<MatMulKernel>(init); });
  r.add_fn("", "MatMulInteger", 10, kMaxOpset, matmul_integer_kernel);
  register_norm(r);
  register_einsum(r);
}

}  // namespace ptq::kern
