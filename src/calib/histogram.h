// A fixed-size histogram whose bin grid is a deterministic function of the value range it covers,
// so that histograms merge EXACTLY: binning shard A and shard B separately and merging gives
// bit-identical counts to binning A ∪ B in one pass, in any order, with any batching.
//
// Grid. Bins have width w = 2^exp and are anchored at 0: grid bin g covers [g*w, (g+1)*w). The
// histogram holds `bins` consecutive grid bins starting at grid index `offset`. For a covered
// range [lo, hi] (the data min/max, float values) the layout is
//   exp    = the smallest integer >= max(kMinExp, ilogb(max(|lo|,|hi|)) - kRelBits) such that
//            floor(hi / 2^exp) - floor(lo / 2^exp) <= bins - 1,
//   offset = floor(lo / 2^exp).
// Every constraint is monotone in the range, so when the range grows the new exp is >= the old one
// and old bins map exactly into new ones (grid index g -> floor(g / 2^(exp' - exp)), i.e. an
// arithmetic shift): re-binning on growth is lossless and needs no second pass over the data.
// Bin indices are exact: x * 2^-exp is computed without rounding (a power-of-two scaling; the
// kRelBits floor keeps |x / w| < 2^30).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace ptq {

constexpr int kDefaultBins = 2048;
constexpr int kMinBins = 16;
constexpr int kMaxBins = 8192;

class Histogram {
 public:
  static constexpr int kMinExp = -120;  // finest bin width 2^-120 (an all-zero tensor uses it)
  static constexpr int kRelBits = 29;   // bins never finer than max|x| * 2^-30

  // Throws Error(Usage) unless kMinBins <= bins <= kMaxBins.
  explicit Histogram(int bins = kDefaultBins);

  int bins() const { return bins_; }
  bool covered() const { return lo_ <= hi_; }  // false until the first cover()
  double lo() const { return lo_; }            // covered range (the data min/max)
  double hi() const { return hi_; }
  int exp() const { return exp_; }
  int64_t offset() const { return offset_; }
  double width() const;
  // Lower edge of local bin k (k = bins() gives the upper edge of the last bin).
  double edge(int64_t k) const;
  // Bins up to and including the one holding hi() (0 when not covered).
  int64_t used_bins() const;
  const std::vector<uint64_t>& counts() const { return counts_; }
  uint64_t total() const;

  // Grows the covered range to include [lo, hi] (finite values of float precision), re-binning
  // existing counts exactly. Never shrinks.
  void cover(double lo, double hi);
  // Adds values, which must lie inside the covered range (a value outside is clamped to the end
  // bins, so memory stays safe, but exactness is then lost: cover() first).
  void add(const float* x, int64_t n);
  // Exact merge; throws Error(BadInput) if the bin counts differ.
  void merge(const Histogram& other);

  bool operator==(const Histogram& o) const;
  bool operator!=(const Histogram& o) const { return !(*this == o); }

  // Rebuilds a histogram from stored parts; checks that the layout is the one the rule above gives
  // for [lo, hi]. Throws Error(BadInput) with `what` in the message if not.
  static Histogram from_parts(int bins, double lo, double hi, int exp, int64_t offset, std::vector<uint64_t> counts,
                              const std::string& what);

  // Layout rule (exposed for tests): exp and offset for a covered range.
  static int layout_exp(double lo, double hi, int bins);
  static int64_t grid_index(double x, int exp);  // floor(x / 2^exp), exact for float x

  // Parameters of the fast binning kernel (see bin_values below).
  struct Kernel {
    float scale;     // 2^-exp
    float width;     // 2^exp
    int32_t offset;  // first grid index
    int32_t last;    // bins - 1
  };
  Kernel kernel() const;

 private:
  friend struct TensorStats;  // bins straight into counts_
  int bins_;
  int exp_ = 0;
  int64_t offset_ = 0;
  double lo_, hi_;
  std::vector<uint64_t> counts_;
};

// Bins x[0..n) into `sc` (signed grid `s`) and |x| into `ac` (grid `a`): the one hot loop. Values
// must be finite, inside both grids' covered ranges and within [lo, hi]; `nonnegative` says that
// none is < 0 (then identical grids share one index computation and one scatter).
void bin_values(const float* x, int64_t n, float lo, float hi, const Histogram::Kernel& s, const Histogram::Kernel& a,
                uint64_t* sc, uint64_t* ac, bool nonnegative);

}  // namespace ptq
