// The histogram searches behind --method kl and --method mse (see calib/range.h for the methods).
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "calib/range_detail.h"

namespace ptq::calib_detail {

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kSmoothEps = 1e-4;  // TensorRT / MXNet _smooth_distribution

// argmin of f over [from, to] (first minimum); `to` < `from` cannot happen by construction.
template <typename F>
int64_t argmin(int64_t from, int64_t to, F f) {
  int64_t best_k = from;
  double best = kInf;
  for (int64_t k = from; k <= to; ++k) {
    double d = f(k);
    if (d < best) {
      best = d;
      best_k = k;
    }
  }
  return best_k;
}

}  // namespace

KlHist::KlHist(const uint64_t* counts, int64_t bins) : h(counts), nb(bins) {
  prefix.assign(static_cast<size_t>(nb) + 1, 0);
  nonzero.assign(static_cast<size_t>(nb) + 1, 0);
  for (int64_t k = 0; k < nb; ++k) {
    const size_t i = static_cast<size_t>(k);
    prefix[i + 1] = prefix[i] + h[k];
    nonzero[i + 1] = nonzero[i] + (h[k] != 0);
  }
}

double kl_window(const KlHist& H, int64_t a, int64_t b, int64_t levels) {
  // P = h[a, b) with everything below a added to P[0] and above b to P[len-1]; Q = the window alone
  // (no outliers) summed over `levels` chunks (bin k of the window is in chunk floor(k * levels /
  // len), i.e. chunk j = [ceil(j * len / levels), ceil((j + 1) * len / levels)), as in NVIDIA's
  // pytorch-quantization; TensorRT's older i / levels bins with the rest in the last chunk makes the
  // divergence jump with the remainder), each chunk's sum spread evenly over the bins where P is
  // nonzero. Chunk sums and nonzero counts come from prefix arrays, so the only per-bin work is the
  // final sum over P's nonzero bins.
  const int64_t len = b - a;
  auto chunk_start = [&](int64_t j) { return (j * len + levels - 1) / levels; };
  const double below = static_cast<double>(H.prefix[static_cast<size_t>(a)]);
  const double above = static_cast<double>(H.prefix[static_cast<size_t>(H.nb)] - H.prefix[static_cast<size_t>(b)]);
  auto P = [&](int64_t k) {  // k in [0, len)
    double p = static_cast<double>(H.h[a + k]);
    if (k == 0) p += below;
    if (k == len - 1) p += above;
    return p;
  };
  auto nonzero_in = [&](int64_t s, int64_t e) {  // nonzero P bins in [s, e)
    int64_t nz = static_cast<int64_t>(H.nonzero[static_cast<size_t>(a + e)] - H.nonzero[static_cast<size_t>(a + s)]);
    if (s == 0 && H.h[a] == 0 && below > 0) ++nz;
    if (e == len && H.h[b - 1] == 0 && above > 0 && len - 1 != 0) ++nz;
    return nz;
  };
  int64_t nz_p = 0, nz_q = 0;
  for (int64_t j = 0; j < levels; ++j) {
    const int64_t s = chunk_start(j), e = chunk_start(j + 1);
    const int64_t nz = nonzero_in(s, e);
    nz_p += nz;
    if (H.prefix[static_cast<size_t>(a + e)] > H.prefix[static_cast<size_t>(a + s)]) nz_q += nz;
  }
  if (nz_q == 0) return kInf;
  // Smoothing: zero bins get eps, nonzero bins give it back (eps1 each); a bin that would drop to
  // <= 0 keeps eps. Zero bins of P are zero in Q too: both eps, contributing eps * log(1) = 0.
  const double eps1_p = kSmoothEps * static_cast<double>(len - nz_p) / static_cast<double>(nz_p);
  const double eps1_q = kSmoothEps * static_cast<double>(len - nz_q) / static_cast<double>(nz_q);
  double sp = kSmoothEps * static_cast<double>(len - nz_p), sq = sp, acc = 0;
  for (int64_t j = 0; j < levels; ++j) {
    const int64_t s = chunk_start(j), e = chunk_start(j + 1);
    const double qsum = static_cast<double>(H.prefix[static_cast<size_t>(a + e)] - H.prefix[static_cast<size_t>(a + s)]);
    const double qv = qsum > 0 ? qsum / static_cast<double>(nonzero_in(s, e)) : 0.0;
    const double qs = qv > eps1_q ? qv - eps1_q : kSmoothEps;
    for (int64_t k = s; k < e; ++k) {
      const double p = P(k);
      if (p == 0) continue;
      const double ps = p > eps1_p ? p - eps1_p : kSmoothEps;
      sp += ps;
      sq += qs;
      acc += ps * std::log(ps / qs);
    }
  }
  return acc / sp + std::log(sq / sp);
}

Range kl_range(const TensorStats& s, const Target& t) {
  const Histogram& H = t.symmetric ? s.abs_hist : s.hist;
  const int64_t nb = H.used_bins(), L = t.kl_levels;
  if (nb <= L) return {static_cast<float>(s.min), static_cast<float>(s.max)};  // nothing to clip at this resolution
  // Like NVIDIA's pytorch-quantization, the bin holding 0.0 takes its neighbour's count first:
  // post-ReLU zeros are a spike that no coarser chunking can represent, and would otherwise drive
  // the search to the smallest chunks (i.e. the most clipping).
  std::vector<uint64_t> counts(H.counts().begin(), H.counts().begin() + nb);
  const int64_t zero_bin = -H.offset();
  if (zero_bin >= 0 && zero_bin < nb && nb > 1)
    counts[static_cast<size_t>(zero_bin)] = counts[static_cast<size_t>(zero_bin + 1 < nb ? zero_bin + 1 : zero_bin - 1)];
  const KlHist kh(counts.data(), nb);
  auto kl = [&](int64_t a, int64_t b) { return kl_window(kh, a, b, L); };
  if (t.symmetric) {
    int64_t i = argmin(L, nb, [&](int64_t b) { return kl(0, b); });
    return symmetric_result(s, std::min(H.edge(i), H.hi()));
  }
  // Windows [a, b) must contain the 0 edge when it lies inside the histogram (the grid always
  // includes 0); when all data is on one side that side's end is fixed.
  const int64_t zc = std::clamp<int64_t>(-H.offset(), 0, nb);
  auto best_a = [&](int64_t b) { return argmin(0, std::min(zc, b - L), [&](int64_t x) { return kl(x, b); }); };
  auto best_b = [&](int64_t a) { return argmin(std::max(a + L, zc), nb, [&](int64_t x) { return kl(a, x); }); };
  // Coordinate descent can stall where the chunk size len / L jumps, so it runs twice (a first from
  // the full window, and b first) and keeps the better end point.
  auto descend = [&](bool b_first) {
    int64_t a = 0, b = b_first ? best_b(0) : nb;
    bool b_best_for_a = b_first;
    for (int round = 0; round < 16; ++round) {
      const int64_t na = best_a(b);
      if (na == a && b_best_for_a) break;
      a = na;
      const int64_t nbb = best_b(a);
      if (nbb == b) break;  // a is already the best for this b: a fixed point
      b = nbb;
      b_best_for_a = true;
    }
    return std::pair<int64_t, int64_t>{a, b};
  };
  auto [a, b] = descend(false);
  auto [a2, b2] = descend(true);
  if (kl(a2, b2) < kl(a, b)) {
    a = a2;
    b = b2;
  }
  return {static_cast<float>(std::max(H.edge(a), s.min)), static_cast<float>(std::min(H.edge(b), s.max))};
}

Range mse_range(const TensorStats& s, const Target& t) {
  const Histogram& H = t.symmetric ? s.abs_hist : s.hist;
  const int64_t nb = H.used_bins();
  const std::vector<uint64_t>& c = H.counts();
  const double w = H.width(), e0 = H.edge(0);
  // Everything in bin units measured from edge(0): bin j is centred at j + 0.5. Prefix sums of the
  // count, count * centre and count * centre^2 give each candidate's error in O(1).
  std::vector<double> C0(static_cast<size_t>(nb) + 1, 0.0), C1(C0), C2(C0);
  for (int64_t j = 0; j < nb; ++j) {
    const double n = static_cast<double>(c[static_cast<size_t>(j)]), u = static_cast<double>(j) + 0.5;
    const size_t k = static_cast<size_t>(j);
    C0[k + 1] = C0[k] + n;
    C1[k + 1] = C1[k] + n * u;
    C2[k + 1] = C2[k] + n * u * u;
  }
  const size_t N = static_cast<size_t>(nb);
  // Squared error of clipping bins [0, a) up to position x, and bins [b, nb) down to x (+ the
  // in-bin variance 1/12 of a value spread evenly over its bin).
  auto clip_below = [&](int64_t a, double x) {
    const size_t k = static_cast<size_t>(a);
    return C2[k] - 2 * x * C1[k] + x * x * C0[k] + C0[k] / 12;
  };
  auto clip_above = [&](int64_t b, double x) {
    const size_t k = static_cast<size_t>(b);
    const double n0 = C0[N] - C0[k], n1 = C1[N] - C1[k], n2 = C2[N] - C2[k];
    return n2 - 2 * x * n1 + x * x * n0 + n0 / 12;
  };
  const double steps = t.grid_steps;
  if (t.symmetric) {
    const double top = H.hi() / w;  // max|x| in bin units; the last candidate clips nothing
    auto err = [&](int64_t k) {
      const double x = k == nb ? top : static_cast<double>(k), step = x / steps;
      return C0[static_cast<size_t>(k)] * step * step / 12 + clip_above(k, x);
    };
    const int64_t k = argmin(1, nb, err);
    return symmetric_result(s, k == nb ? H.hi() : H.edge(k));
  }
  const double zero = -static_cast<double>(H.offset());  // position of 0.0
  const double umin = (s.min - e0) / w, umax = (s.max - e0) / w;
  const int64_t z = -H.offset();
  const int64_t a_hi = z <= 0 ? 0 : std::min(z, nb - 1);
  double best = kInf;
  int64_t best_a = 0, best_b = nb;
  for (int64_t a = 0; a <= a_hi; ++a) {
    const double lo = a == 0 ? umin : static_cast<double>(a);
    const double below = clip_below(a, lo);
    const int64_t b_lo = z >= nb ? nb : std::max(z, a + 1);
    for (int64_t b = b_lo; b <= nb; ++b) {
      const double hi = b == nb ? umax : static_cast<double>(b);
      const double step = (std::max(hi, zero) - std::min(lo, zero)) / steps;
      const double inside = C0[static_cast<size_t>(b)] - C0[static_cast<size_t>(a)];
      const double e = inside * step * step / 12 + below + clip_above(b, hi);
      if (e < best) {
        best = e;
        best_a = a;
        best_b = b;
      }
    }
  }
  return {static_cast<float>(std::max(H.edge(best_a), s.min)), static_cast<float>(std::min(H.edge(best_b), s.max))};
}

}  // namespace ptq::calib_detail
