// The histogram searches behind --method kl and --method mse (see calib/range.h for the methods).
#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
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
  const size_t n = static_cast<size_t>(nb) + 1;
  prefix.assign(n, 0);
  nonzero.assign(n, 0);
  for (auto& v : series) v.assign(n, 0.0L);
  for (int64_t k = 0; k < nb; ++k) {
    const size_t i = static_cast<size_t>(k);
    prefix[i + 1] = prefix[i] + h[k];
    nonzero[i + 1] = nonzero[i] + (h[k] != 0);
    long double d[kSeriesTerms] = {};
    if (h[k] != 0) {
      nz_pos.push_back(k);
      const long double x = static_cast<long double>(h[k]), lx = std::log(x);
      d[0] = x * lx;
      d[1] = lx + 1;
      d[2] = 1 / x;
      d[3] = d[2] / x;
      d[4] = d[3] / x;
    }
    for (int t = 0; t < kSeriesTerms; ++t) series[t][i + 1] = series[t][i] + d[t];
  }
}

double kl_window(const KlHist& H, int64_t a, int64_t b, int64_t levels) {
  // P = h[a, b) with everything below a added to P[0] and above b to P[len-1]; Q = the window alone
  // (no outliers) summed over `levels` chunks (bin k of the window is in chunk floor(k * levels /
  // len), i.e. chunk j = [ceil(j * len / levels), ceil((j + 1) * len / levels)), as in NVIDIA's
  // pytorch-quantization; TensorRT's older i / levels bins with the rest in the last chunk makes the
  // divergence jump with the remainder), each chunk's sum spread evenly over the bins where P is
  // nonzero. Chunk sums and nonzero counts come from prefix arrays.
  const int64_t len = b - a;
  // Chunk starts ceil(j * len / levels), j = 0..levels, without a division per chunk.
  std::vector<int64_t>& starts = H.starts;
  starts.resize(static_cast<size_t>(levels) + 1);
  {
    const int64_t q = len / levels, r = len % levels;
    int64_t start = (levels - 1) / levels, rem = (levels - 1) % levels;  // j = 0: numerator levels - 1
    for (int64_t j = 0; j <= levels; ++j) {
      starts[static_cast<size_t>(j)] = start;
      start += q;
      rem += r;
      if (rem >= levels) {
        rem -= levels;
        ++start;
      }
    }
  }
  auto chunk_start = [&](int64_t j) { return starts[static_cast<size_t>(j)]; };
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
  auto window_sum = [&](int64_t s, int64_t e) {
    return static_cast<double>(H.prefix[static_cast<size_t>(a + e)] - H.prefix[static_cast<size_t>(a + s)]);
  };
  // Per chunk: its P bins that are nonzero and Q's (unsmoothed) value on each of them.
  std::vector<int64_t>& nz = H.nz;
  std::vector<double>& qv = H.qv;
  nz.resize(static_cast<size_t>(levels));
  qv.resize(static_cast<size_t>(levels));
  int64_t nz_p = 0, nz_q = 0;
  for (int64_t j = 0; j < levels; ++j) {
    const int64_t s = chunk_start(j), e = chunk_start(j + 1);
    const size_t ju = static_cast<size_t>(j);
    nz[ju] = nonzero_in(s, e);
    const double qsum = window_sum(s, e);
    qv[ju] = qsum > 0 ? qsum / static_cast<double>(nz[ju]) : 0.0;
    nz_p += nz[ju];
    if (qsum > 0) nz_q += nz[ju];
  }
  if (nz_q == 0) return kInf;
  // Smoothing: zero bins get eps, nonzero bins give it back (eps1 each); a bin that would drop to
  // <= 0 keeps eps. Zero bins of P are zero in Q too: both eps, contributing eps * log(1) = 0.
  const double eps1_p = kSmoothEps * static_cast<double>(len - nz_p) / static_cast<double>(nz_p);
  const double eps1_q = kSmoothEps * static_cast<double>(len - nz_q) / static_cast<double>(nz_q);
  auto smooth_q = [&](size_t j) { return qv[j] > eps1_q ? qv[j] - eps1_q : kSmoothEps; };
  const double zero_bins = kSmoothEps * static_cast<double>(len - nz_p);

  // Dense windows: sum_k ps_k ln(ps_k / qs_j(k)) = sum_k ps_k ln ps_k - sum_j ln qs_j * sum_{k in j} ps_k.
  // P's counts are integers >= 1 and eps1_p < 1, so ps = p - eps1_p for every nonzero bin, and the
  // first sum is the Taylor series of (p - e) ln(p - e) around p from the prefix sums (terms up to
  // e^4: the remainder, below e^5 / 20 per bin, is far under double precision for eps1_p <= 1e-3).
  // That makes the window O(levels) instead of one log per nonzero bin.
  constexpr double kSeriesMaxEps = 1e-3;
  if (eps1_p <= kSeriesMaxEps && nz_p > 2 * levels) {
    // (-e)^n / n! * f^(n)(h) with f = x ln x, per d_n of KlHist::series: 1, -1, 1/2, 1/6, 1/12.
    static constexpr long double kCoef[KlHist::kSeriesTerms] = {1.0L, -1.0L, 0.5L, 1.0L / 6, 1.0L / 12};
    long double t1 = 0, epow = 1;
    for (int t = 0; t < KlHist::kSeriesTerms; ++t) {
      const auto& v = H.series[t];
      t1 += kCoef[t] * epow * (v[static_cast<size_t>(b)] - v[static_cast<size_t>(a)]);
      epow *= eps1_p;
    }
    // The end bins hold the outliers: replace their plain terms by the folded ones.
    auto f = [&](double p) { return p > 0 ? static_cast<long double>(p - eps1_p) * std::log(static_cast<long double>(p - eps1_p)) : 0.0L; };
    for (int64_t k : {int64_t{0}, len - 1}) {
      if (k == len - 1 && k == 0) break;  // one bin, done as k = 0
      const double plain = static_cast<double>(H.h[a + k]), folded = P(k);
      if (folded != plain) t1 += f(folded) - f(plain);
    }
    // ln qs_j first (double: a long double log costs 4x), so the long double sums below run
    // without calls in between (which would spill the x87 registers).
    std::vector<double>& lq = H.lq;
    lq.resize(static_cast<size_t>(levels));
    for (size_t j = 0; j < lq.size(); ++j) lq[j] = nz[j] ? std::log(smooth_q(j)) : 0.0;
    long double cross = 0, sq = zero_bins, ps_total = 0;
    for (int64_t j = 0; j < levels; ++j) {
      const size_t ju = static_cast<size_t>(j);
      if (nz[ju] == 0) continue;
      const int64_t s = chunk_start(j), e = chunk_start(j + 1);
      double psum = window_sum(s, e);
      if (s == 0) psum += below;
      if (e == len) psum += above;
      const long double ps = static_cast<long double>(psum) - static_cast<long double>(eps1_p) * static_cast<long double>(nz[ju]);
      cross += ps * lq[ju];
      sq += static_cast<long double>(smooth_q(ju)) * static_cast<long double>(nz[ju]);
      ps_total += ps;
    }
    const long double sp = zero_bins + ps_total;
    return static_cast<double>((t1 - cross) / sp + std::log(sq / sp));
  }

  // Sparse windows: one term per nonzero P bin (the end bins may be nonzero through the outliers).
  double sp = zero_bins, sq = zero_bins, acc = 0;
  auto term = [&](int64_t k) {
    const double p = P(k);
    const double ps = p > eps1_p ? p - eps1_p : kSmoothEps;
    const double qs = smooth_q(static_cast<size_t>(k * levels / len));
    sp += ps;
    sq += qs;
    acc += ps * std::log(ps / qs);
  };
  if (H.h[a] == 0 && P(0) > 0) term(0);
  auto it = std::lower_bound(H.nz_pos.begin(), H.nz_pos.end(), a);
  for (; it != H.nz_pos.end() && *it < b; ++it) term(*it - a);
  if (len > 1 && H.h[b - 1] == 0 && P(len - 1) > 0) term(len - 1);
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
  // Each sweep is remembered: the two descents below often sweep from the same end point.
  std::map<int64_t, int64_t> a_for_b, b_for_a;
  auto best_a = [&](int64_t b) {
    auto [it, fresh] = a_for_b.try_emplace(b, 0);
    if (fresh) it->second = argmin(0, std::min(zc, b - L), [&](int64_t x) { return kl(x, b); });
    return it->second;
  };
  auto best_b = [&](int64_t a) {
    auto [it, fresh] = b_for_a.try_emplace(a, 0);
    if (fresh) it->second = argmin(std::max(a + L, zc), nb, [&](int64_t x) { return kl(a, x); });
    return it->second;
  };
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
