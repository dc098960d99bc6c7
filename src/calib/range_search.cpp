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

// Zero bins get eps, nonzero bins give the same mass back (a bin that would go <= 0 keeps eps).
// False if everything is zero.
bool smooth(double* v, int64_t n) {
  int64_t nz = 0;
  for (int64_t k = 0; k < n; ++k) nz += v[k] != 0;
  if (nz == 0) return false;
  const double eps1 = kSmoothEps * static_cast<double>(n - nz) / static_cast<double>(nz);
  for (int64_t k = 0; k < n; ++k) v[k] = v[k] == 0 ? kSmoothEps : (v[k] > eps1 ? v[k] - eps1 : kSmoothEps);
  return true;
}

std::vector<uint64_t> prefix_sums(const std::vector<uint64_t>& c, int64_t nb) {
  std::vector<uint64_t> p(static_cast<size_t>(nb) + 1, 0);
  for (int64_t k = 0; k < nb; ++k) p[static_cast<size_t>(k) + 1] = p[static_cast<size_t>(k)] + c[static_cast<size_t>(k)];
  return p;
}

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

double kl_window(const uint64_t* h, int64_t nb, const uint64_t* prefix, int64_t a, int64_t b, int64_t levels,
                 std::vector<double>& scratch) {
  const int64_t len = b - a;
  scratch.resize(static_cast<size_t>(2 * len));
  double* P = scratch.data();
  double* Q = P + len;
  // Reference distribution: the window with everything outside folded into its end bins.
  for (int64_t k = 0; k < len; ++k) P[k] = static_cast<double>(h[a + k]);
  P[0] += static_cast<double>(prefix[a]);
  P[len - 1] += static_cast<double>(prefix[nb] - prefix[b]);
  // Candidate: the window alone merged into `levels` chunks, spread back over P's nonzero bins.
  const int64_t m = len / levels;
  for (int64_t j = 0; j < levels; ++j) {
    const int64_t s = j * m, e = j == levels - 1 ? len : s + m;
    const double qsum = static_cast<double>(prefix[a + e] - prefix[a + s]);
    int64_t nz = 0;
    for (int64_t k = s; k < e; ++k) nz += P[k] != 0;
    const double v = nz ? qsum / static_cast<double>(nz) : 0.0;
    for (int64_t k = s; k < e; ++k) Q[k] = P[k] != 0 ? v : 0.0;
  }
  if (!smooth(P, len) || !smooth(Q, len)) return kInf;
  double sp = 0, sq = 0, acc = 0;
  for (int64_t k = 0; k < len; ++k) {
    sp += P[k];
    sq += Q[k];
    // Bins that were zero in P are zero in Q too: both became eps and contribute eps * log(1) = 0.
    if (P[k] != Q[k]) acc += P[k] * std::log(P[k] / Q[k]);
  }
  return acc / sp + std::log(sq / sp);
}

Range kl_range(const TensorStats& s, const Target& t) {
  const Histogram& H = t.symmetric ? s.abs_hist : s.hist;
  const int64_t nb = H.used_bins(), L = t.kl_levels;
  if (nb <= L) return {static_cast<float>(s.min), static_cast<float>(s.max)};  // nothing to clip at this resolution
  const uint64_t* h = H.counts().data();
  const std::vector<uint64_t> prefix = prefix_sums(H.counts(), nb);
  std::vector<double> scratch;
  auto kl = [&](int64_t a, int64_t b) { return kl_window(h, nb, prefix.data(), a, b, L, scratch); };
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
    for (int round = 0; round < 16; ++round) {
      const int64_t na = best_a(b), nbb = best_b(na);
      if (na == a && nbb == b) break;
      a = na;
      b = nbb;
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
