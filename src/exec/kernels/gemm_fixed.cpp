// Row-invariant float GEMM (gemm.h, sgemm_fixed_order): every element of C is
//   acc = 0; for k = 0..K-1: acc = fma(a[i][k], b[k][j], acc);  c = alpha * acc (+ beta * c)
// whatever M, N, the tiling or the thread count, so a row of a stacked batch gets exactly the bits
// it gets alone (calibration's --batch) and no thread split can change a value. Tiles only decide
// which elements are computed together: 6 rows x 32 columns (AVX-512) or 6 x 16 (AVX2+FMA) of
// register accumulators over the whole K, B read in [K x tile] column panels that stay in L2 while
// every row block passes over them. Tails use masked lanes (AVX-512) or scalar std::fma (the same
// fused operation). A CPU without FMA gets a scalar std::fma loop (slow, same definition).
// oneDNN is not used here: its result for a row depends on M, and its first call JIT-compiles
// kernels (33 ms measured for the bundled model's 576x128 layer).
#include <algorithm>
#include <cmath>
#include <type_traits>
#include <vector>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include "exec/kernels/gemm.h"

namespace ptq::kern {

namespace {

constexpr int kRows = 6;

struct Problem {
  int64_t M, N, K;
  float alpha, beta;
  const float* A;
  int64_t a_si, a_sk;  // element strides of A along rows (i) and depth (k)
  const float* B;      // [K, N] with row stride ldb
  int64_t ldb;
  float* C;
  int64_t ldc;
};

inline float finish(const Problem& p, float acc, float old) {
  return p.beta == 0.f ? p.alpha * acc : p.alpha * acc + p.beta * old;
}

// Reference for any CPU: one element at a time.
void tile_scalar(const Problem& p, int64_t i0, int64_t rows, int64_t j0, int64_t cols) {
  for (int64_t i = i0; i < i0 + rows; ++i)
    for (int64_t j = j0; j < j0 + cols; ++j) {
      float acc = 0.f;
      for (int64_t k = 0; k < p.K; ++k) acc = std::fma(p.A[i * p.a_si + k * p.a_sk], p.B[k * p.ldb + j], acc);
      float* c = p.C + i * p.ldc + j;
      *c = finish(p, acc, *c);
    }
}

void dot_scalar(const Problem& p, const float* Bt, int64_t ldbt, int64_t i0, int64_t rows, int64_t j0, int64_t cols) {
  for (int64_t i = i0; i < i0 + rows; ++i)
    for (int64_t j = j0; j < j0 + cols; ++j) {
      float acc = 0.f;
      for (int64_t k = 0; k < p.K; ++k) acc = std::fma(p.A[i * p.a_si + k], Bt[j * ldbt + k], acc);
      float* y = p.C + i * p.ldc + j;
      *y = finish(p, acc, *y);
    }
}

#if defined(__x86_64__)

// Rows past `rows` (a tail block) compute row i0 again and are not stored: accumulators stay
// named registers (arrays of vectors were spilled to the stack on every k by GCC 12).
__attribute__((target("avx512f"))) void tile_avx512(const Problem& p, int64_t i0, int64_t rows, int64_t j0,
                                                    int64_t cols) {
  const __mmask16 m0 = cols >= 16 ? __mmask16(0xFFFF) : __mmask16((1u << cols) - 1);
  const __mmask16 m1 = cols >= 32 ? __mmask16(0xFFFF) : cols > 16 ? __mmask16((1u << (cols - 16)) - 1) : __mmask16(0);
  const int64_t K = p.K, ldb = p.ldb, a_sk = p.a_sk;
  const float* a0 = p.A + i0 * p.a_si;
  const float* a1 = rows > 1 ? a0 + p.a_si : a0;
  const float* a2 = rows > 2 ? a0 + 2 * p.a_si : a0;
  const float* a3 = rows > 3 ? a0 + 3 * p.a_si : a0;
  const float* a4 = rows > 4 ? a0 + 4 * p.a_si : a0;
  const float* a5 = rows > 5 ? a0 + 5 * p.a_si : a0;
  __m512 c00 = _mm512_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00,
         c40 = c00, c41 = c00, c50 = c00, c51 = c00;
  const float* b = p.B + j0;
  for (int64_t k = 0, ak = 0; k < K; ++k, b += ldb, ak += a_sk) {
    const __m512 b0 = _mm512_maskz_loadu_ps(m0, b), b1 = _mm512_maskz_loadu_ps(m1, b + 16);
    __m512 av = _mm512_set1_ps(a0[ak]);
    c00 = _mm512_fmadd_ps(av, b0, c00);
    c01 = _mm512_fmadd_ps(av, b1, c01);
    av = _mm512_set1_ps(a1[ak]);
    c10 = _mm512_fmadd_ps(av, b0, c10);
    c11 = _mm512_fmadd_ps(av, b1, c11);
    av = _mm512_set1_ps(a2[ak]);
    c20 = _mm512_fmadd_ps(av, b0, c20);
    c21 = _mm512_fmadd_ps(av, b1, c21);
    av = _mm512_set1_ps(a3[ak]);
    c30 = _mm512_fmadd_ps(av, b0, c30);
    c31 = _mm512_fmadd_ps(av, b1, c31);
    av = _mm512_set1_ps(a4[ak]);
    c40 = _mm512_fmadd_ps(av, b0, c40);
    c41 = _mm512_fmadd_ps(av, b1, c41);
    av = _mm512_set1_ps(a5[ak]);
    c50 = _mm512_fmadd_ps(av, b0, c50);
    c51 = _mm512_fmadd_ps(av, b1, c51);
  }
  const __m512 acc[kRows][2] = {{c00, c01}, {c10, c11}, {c20, c21}, {c30, c31}, {c40, c41}, {c50, c51}};
  float tmp[32];
  for (int64_t r = 0; r < rows; ++r) {
    float* c = p.C + (i0 + r) * p.ldc + j0;
    _mm512_storeu_ps(tmp, acc[r][0]);
    _mm512_storeu_ps(tmp + 16, acc[r][1]);
    for (int64_t j = 0; j < cols; ++j) c[j] = finish(p, tmp[j], c[j]);
  }
}

__attribute__((target("avx2,fma"))) void tile_avx2(const Problem& p, int64_t i0, int64_t rows, int64_t j0, int64_t cols) {
  if (cols < 16) {  // column tail: the same fused operation one element at a time
    for (int64_t i = i0; i < i0 + rows; ++i)
      for (int64_t j = j0; j < j0 + cols; ++j) {
        float acc = 0.f;
        for (int64_t k = 0; k < p.K; ++k) acc = __builtin_fmaf(p.A[i * p.a_si + k * p.a_sk], p.B[k * p.ldb + j], acc);
        float* c = p.C + i * p.ldc + j;
        *c = finish(p, acc, *c);
      }
    return;
  }
  const int64_t K = p.K, ldb = p.ldb, a_sk = p.a_sk;
  const float* a0 = p.A + i0 * p.a_si;
  const float* a1 = rows > 1 ? a0 + p.a_si : a0;
  const float* a2 = rows > 2 ? a0 + 2 * p.a_si : a0;
  const float* a3 = rows > 3 ? a0 + 3 * p.a_si : a0;
  const float* a4 = rows > 4 ? a0 + 4 * p.a_si : a0;
  const float* a5 = rows > 5 ? a0 + 5 * p.a_si : a0;
  __m256 c00 = _mm256_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00,
         c40 = c00, c41 = c00, c50 = c00, c51 = c00;
  const float* b = p.B + j0;
  for (int64_t k = 0, ak = 0; k < K; ++k, b += ldb, ak += a_sk) {
    const __m256 b0 = _mm256_loadu_ps(b), b1 = _mm256_loadu_ps(b + 8);
    __m256 av = _mm256_broadcast_ss(a0 + ak);
    c00 = _mm256_fmadd_ps(av, b0, c00);
    c01 = _mm256_fmadd_ps(av, b1, c01);
    av = _mm256_broadcast_ss(a1 + ak);
    c10 = _mm256_fmadd_ps(av, b0, c10);
    c11 = _mm256_fmadd_ps(av, b1, c11);
    av = _mm256_broadcast_ss(a2 + ak);
    c20 = _mm256_fmadd_ps(av, b0, c20);
    c21 = _mm256_fmadd_ps(av, b1, c21);
    av = _mm256_broadcast_ss(a3 + ak);
    c30 = _mm256_fmadd_ps(av, b0, c30);
    c31 = _mm256_fmadd_ps(av, b1, c31);
    av = _mm256_broadcast_ss(a4 + ak);
    c40 = _mm256_fmadd_ps(av, b0, c40);
    c41 = _mm256_fmadd_ps(av, b1, c41);
    av = _mm256_broadcast_ss(a5 + ak);
    c50 = _mm256_fmadd_ps(av, b0, c50);
    c51 = _mm256_fmadd_ps(av, b1, c51);
  }
  const __m256 acc[kRows][2] = {{c00, c01}, {c10, c11}, {c20, c21}, {c30, c31}, {c40, c41}, {c50, c51}};
  float tmp[16];
  for (int64_t r = 0; r < rows; ++r) {
    float* c = p.C + (i0 + r) * p.ldc + j0;
    _mm256_storeu_ps(tmp, acc[r][0]);
    _mm256_storeu_ps(tmp + 8, acc[r][1]);
    for (int64_t j = 0; j < 16; ++j) c[j] = finish(p, tmp[j], c[j]);
  }
}

// B stored [N, K] (Gemm transB, PyTorch Linear): element (i, j) is a dot product of two rows read
// along k. Fixed per element: L lane-wise fma partial sums (lane l takes k = l, l + L, ...; the
// K tail masked to zero), then one fixed horizontal sum. Tiles of R rows x C columns (4 x 3, or
// 1 x 12 when M < 4) only group elements; rows and columns past a tail compute row/column 0
// again and are not stored.
template <int R, int C>
struct DotTile {
  const float* a[R];
  const float* b[C];
  DotTile(const Problem& p, const float* Bt, int64_t ldbt, int64_t i0, int64_t rows, int64_t j0, int64_t cols) {
    for (int64_t r = 0; r < R; ++r) a[r] = p.A + (i0 + (r < rows ? r : 0)) * p.a_si;
    for (int64_t c = 0; c < C; ++c) b[c] = Bt + (j0 + (c < cols ? c : 0)) * ldbt;
  }
};

template <int R, int C>
void store_dot(const Problem& p, const float (&dots)[R][C], int64_t i0, int64_t rows, int64_t j0, int64_t cols) {
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c) {
      float* y = p.C + (i0 + r) * p.ldc + j0 + c;
      *y = finish(p, dots[r][c], *y);
    }
}

template <int R, int C>
__attribute__((target("avx512f"))) void dot_avx512(const Problem& p, const float* Bt, int64_t ldbt, int64_t i0,
                                                   int64_t rows, int64_t j0, int64_t cols) {
  const DotTile<R, C> t(p, Bt, ldbt, i0, rows, j0, cols);
  __m512 acc[R][C];
  for (auto& row : acc)
    for (auto& v : row) v = _mm512_setzero_ps();
  const int64_t K = p.K;
  for (int64_t k = 0; k < K; k += 16) {
    const __mmask16 m = K - k >= 16 ? __mmask16(0xFFFF) : __mmask16((1u << (K - k)) - 1);
    __m512 bv[C];
#pragma GCC unroll 12
    for (int c = 0; c < C; ++c) bv[c] = _mm512_maskz_loadu_ps(m, t.b[c] + k);
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r) {
      const __m512 av = _mm512_maskz_loadu_ps(m, t.a[r] + k);
#pragma GCC unroll 12
      for (int c = 0; c < C; ++c) acc[r][c] = _mm512_fmadd_ps(av, bv[c], acc[r][c]);
    }
  }
  float dots[R][C];
  for (int r = 0; r < R; ++r)
    for (int c = 0; c < C; ++c) {
      float lanes[16];
      _mm512_storeu_ps(lanes, acc[r][c]);
      for (int w = 8; w >= 1; w /= 2)  // pairwise, in a fixed order
        for (int l = 0; l < w; ++l) lanes[l] += lanes[l + w];
      dots[r][c] = lanes[0];
    }
  store_dot<R, C>(p, dots, i0, rows, j0, cols);
}

__attribute__((target("avx2,fma"))) float hsum256(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
  return _mm_cvtss_f32(s);
}

template <int R, int C>
__attribute__((target("avx2,fma"))) void dot_avx2(const Problem& p, const float* Bt, int64_t ldbt, int64_t i0,
                                                  int64_t rows, int64_t j0, int64_t cols) {
  const DotTile<R, C> t(p, Bt, ldbt, i0, rows, j0, cols);
  __m256 acc[R][C];
  for (auto& row : acc)
    for (auto& v : row) v = _mm256_setzero_ps();
  const int64_t K = p.K;
  for (int64_t k = 0; k < K; k += 8) {
    const int64_t left = K - k;
    const __m256i m = _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(left < 8 ? left : 8)),
                                         _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
    __m256 bv[C];
#pragma GCC unroll 12
    for (int c = 0; c < C; ++c) bv[c] = _mm256_maskload_ps(t.b[c] + k, m);
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r) {
      const __m256 av = _mm256_maskload_ps(t.a[r] + k, m);
#pragma GCC unroll 12
      for (int c = 0; c < C; ++c) acc[r][c] = _mm256_fmadd_ps(av, bv[c], acc[r][c]);
    }
  }
  float dots[R][C];
  for (int r = 0; r < R; ++r)
    for (int c = 0; c < C; ++c) dots[r][c] = hsum256(acc[r][c]);
  store_dot<R, C>(p, dots, i0, rows, j0, cols);
}

enum class Isa { Scalar, Avx2, Avx512 };

Isa detect_isa() {
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f")) return Isa::Avx512;
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return Isa::Avx2;
  return Isa::Scalar;
}

template <int R, int C>
void run_dot_tile(Isa isa, const Problem& p, const float* Bt, int64_t ldbt, int64_t i0, int64_t rows, int64_t j0,
                  int64_t cols) {
  switch (isa) {
    case Isa::Avx512: return dot_avx512<R, C>(p, Bt, ldbt, i0, rows, j0, cols);
    case Isa::Avx2: return dot_avx2<R, C>(p, Bt, ldbt, i0, rows, j0, cols);
    case Isa::Scalar: return dot_scalar(p, Bt, ldbt, i0, rows, j0, cols);
  }
}

void run_tile(Isa isa, const Problem& p, int64_t i0, int64_t rows, int64_t j0, int64_t cols) {
  switch (isa) {
    case Isa::Avx512: return tile_avx512(p, i0, rows, j0, cols);
    case Isa::Avx2: return tile_avx2(p, i0, rows, j0, cols);
    case Isa::Scalar: return tile_scalar(p, i0, rows, j0, cols);
  }
}

#else

enum class Isa { Scalar };
Isa detect_isa() { return Isa::Scalar; }
void run_tile(Isa, const Problem& p, int64_t i0, int64_t rows, int64_t j0, int64_t cols) {
  tile_scalar(p, i0, rows, j0, cols);
}
template <int R, int C>
void run_dot_tile(Isa, const Problem& p, const float* Bt, int64_t ldbt, int64_t i0, int64_t rows, int64_t j0,
                  int64_t cols) {
  dot_scalar(p, Bt, ldbt, i0, rows, j0, cols);
}

#endif

// Runs f(t) for tiles t < tiles, in parallel when the product is large enough to share.
template <typename F>
void for_tiles(int64_t tiles, int64_t macs, F f) {
  const bool par = tiles > 1 && macs >= (int64_t{1} << 18);
#pragma omp parallel for schedule(static) if (par)
  for (int64_t t = 0; t < tiles; ++t) f(t);
}

}  // namespace

std::vector<FixedOrderIsa> fixed_order_isas() {
  std::vector<FixedOrderIsa> r{FixedOrderIsa::Scalar};
  Isa best = detect_isa();
#if defined(__x86_64__)
  if (best == Isa::Avx2 || best == Isa::Avx512) r.push_back(FixedOrderIsa::Avx2);
  if (best == Isa::Avx512) r.push_back(FixedOrderIsa::Avx512);
#else
  (void)best;
#endif
  return r;
}

void sgemm_fixed_order(bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
                       const float* B, int64_t ldb, float beta, float* C, int64_t ldc, FixedOrderIsa want) {
  if (M <= 0 || N <= 0) return;
  static const Isa best = detect_isa();
  Isa isa = best;
#if defined(__x86_64__)
  if (want == FixedOrderIsa::Scalar) isa = Isa::Scalar;
  if (want == FixedOrderIsa::Avx2 && best != Isa::Scalar) isa = Isa::Avx2;
#else
  (void)want;
#endif
  const int64_t macs = M * N * K;
  if (tb && !ta) {  // rows of A and rows of B along k: dot products, no packing
    const Problem p{M, N, K, alpha, beta, A, lda, 1, nullptr, 0, C, ldc};
    auto tiles = [&](auto r, auto c) {
      constexpr int64_t R = decltype(r)::value, C = decltype(c)::value;
      const int64_t row_blocks = (M + R - 1) / R, col_blocks = (N + C - 1) / C;
      for_tiles(row_blocks * col_blocks, macs, [&](int64_t t) {
        const int64_t i0 = t % row_blocks * R, j0 = t / row_blocks * C;
        run_dot_tile<R, C>(isa, p, B, ldb, i0, std::min(R, M - i0), j0, std::min(C, N - j0));
      });
    };
    if (M < 4) tiles(std::integral_constant<int, 1>{}, std::integral_constant<int, 12>{});
    else tiles(std::integral_constant<int, 4>{}, std::integral_constant<int, 3>{});
    return;
  }
  std::vector<float> bt;
  if (tb) {  // (with ta) B stored [N, K]: bring it to [K, N], in 32 x 32 blocks
    bt.resize(static_cast<size_t>(K * N));
    for (int64_t j0 = 0; j0 < N; j0 += 32)
      for (int64_t k0 = 0; k0 < K; k0 += 32)
        for (int64_t j = j0; j < std::min(N, j0 + 32); ++j)
          for (int64_t k = k0; k < std::min(K, k0 + 32); ++k) bt[static_cast<size_t>(k * N + j)] = B[j * ldb + k];
    B = bt.data();
    ldb = N;
  }
  const Problem p{M, N, K, alpha, beta, A, ta ? 1 : lda, ta ? lda : 1, B, ldb, C, ldc};
#if defined(__x86_64__)
  const int64_t tile_cols = isa == Isa::Avx512 ? 32 : 16;
#else
  const int64_t tile_cols = 16;
#endif
  const int64_t col_tiles = (N + tile_cols - 1) / tile_cols, row_blocks = (M + kRows - 1) / kRows;
  // Column panel outer, row blocks inner: a [K x tile] panel of B is reused by every row block.
  for_tiles(col_tiles * row_blocks, macs, [&](int64_t t) {
    const int64_t i0 = t % row_blocks * kRows, j0 = t / row_blocks * tile_cols;
    run_tile(isa, p, i0, std::min<int64_t>(kRows, M - i0), j0, std::min(tile_cols, N - j0));
  });
}

}  // namespace ptq::kern
