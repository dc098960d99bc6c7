// Einsum (opset 12+) on float32/float64/int32/int64/uint32/uint64. Plan: take diagonals of repeated
// labels, sum out labels nobody else needs, then contract operands left to right, each pair as a
// batched matrix product (batch = shared kept labels, K = shared summed labels) through gemm(),
// i.e. oneDNN for float32. Labels are character codes; ellipsis dimensions get codes 128+j,
// right-aligned so they broadcast numpy-style.
#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "exec/kernels/gemm.h"
#include "exec/kernels/kernel_util.h"

namespace ptq::kern {

namespace {

constexpr int kEllipsisLabel = 128;

// A tensor whose dimensions carry einsum labels (distinct after take_diagonals).
struct Operand {
  Tensor t;
  std::vector<int> labels;
};

bool contains(const std::vector<int>& v, int x) { return std::find(v.begin(), v.end(), x) != v.end(); }

// dst[i] = src[offset of index i] for a row-major walk over `shape` with source strides `st`.
template <typename E>
void strided_copy_typed(const E* src, E* dst, const Shape& shape, const std::vector<int64_t>& st) {
  const int64_t n = shape_numel(shape);
  if (n == 0) return;
  if (shape.empty()) {
    dst[0] = src[0];
    return;
  }
  const size_t r = shape.size();
  const int64_t inner = shape[r - 1], is = st[r - 1];
  std::vector<int64_t> idx(r - 1, 0);
  int64_t off = 0;
  for (int64_t o = 0; o < n / inner; ++o) {
    const E* s = src + off;
    E* d = dst + o * inner;
    for (int64_t j = 0; j < inner; ++j) d[j] = s[j * is];
    for (size_t k = r - 1; k-- > 0;) {
      ++idx[k];
      off += st[k];
      if (idx[k] < shape[k]) break;
      off -= st[k] * shape[k];
      idx[k] = 0;
    }
  }
}

Tensor strided_copy(const Tensor& src, const Shape& shape, const std::vector<int64_t>& st) {
  Tensor out(src.dtype(), shape);
  switch (dtype_size(src.dtype())) {
    case 1: strided_copy_typed(static_cast<const uint8_t*>(src.raw()), static_cast<uint8_t*>(out.raw()), shape, st); break;
    case 2: strided_copy_typed(static_cast<const uint16_t*>(src.raw()), static_cast<uint16_t*>(out.raw()), shape, st); break;
    case 4: strided_copy_typed(static_cast<const uint32_t*>(src.raw()), static_cast<uint32_t*>(out.raw()), shape, st); break;
    case 8: strided_copy_typed(static_cast<const uint64_t*>(src.raw()), static_cast<uint64_t*>(out.raw()), shape, st); break;
    default: unsupported("Einsum: type {} is not supported", dtype_name(src.dtype()));
  }
  return out;
}

// The operand's data laid out with labels in `order` (each must be one of its labels), dimensions
// of size 1 broadcast to the label sizes in `sizes`.
Tensor arrange(const Operand& op, const std::vector<int>& order, const std::map<int, int64_t>& sizes) {
  Shape shape;
  std::vector<int64_t> st;
  auto src_st = strides_of(op.t.shape());
  for (int l : order) {
    size_t d = static_cast<size_t>(std::find(op.labels.begin(), op.labels.end(), l) - op.labels.begin());
    int64_t size = sizes.at(l), own = op.t.shape()[d];
    shape.push_back(size);
    st.push_back(own == size ? src_st[d] : 0);
  }
  if (order == op.labels && shape == op.t.shape()) return op.t;
  return strided_copy(op.t, shape, st);
}

// Sums rows of `len` consecutive values: out[i] = sum_j in[i * len + j].
template <typename T>
void sum_rows(const T* in, T* out, int64_t rows, int64_t len) {
  for (int64_t i = 0; i < rows; ++i) {
    T s = T(0);
    for (int64_t j = 0; j < len; ++j) s += in[i * len + j];
    out[i] = s;
  }
}

// Sums away every label of `op` for which keep(label) is false.
template <typename Keep>
Operand reduce_labels(const Operand& op, Keep keep) {
  std::vector<int> kept, summed;
  for (int l : op.labels) (keep(l) ? kept : summed).push_back(l);
  if (summed.empty()) return op;
  std::vector<int> order = kept;
  order.insert(order.end(), summed.begin(), summed.end());
  Shape kept_shape;
  int64_t len = 1;
  for (size_t i = 0; i < op.labels.size(); ++i) {
    if (keep(op.labels[i])) kept_shape.push_back(op.t.shape()[i]);
    else len *= op.t.shape()[i];
  }
  // Summed dimensions keep their own sizes (no broadcasting needed to sum them).
  std::map<int, int64_t> own;
  for (size_t i = 0; i < op.labels.size(); ++i) own[op.labels[i]] = op.t.shape()[i];
  Tensor src = arrange(op, order, own);
  Tensor out(op.t.dtype(), kept_shape);
  const int64_t rows = shape_numel(kept_shape);
  switch (op.t.dtype()) {
    case DType::Float32: sum_rows(src.data<float>(), out.data<float>(), rows, len); break;
    case DType::Float64: sum_rows(src.data<double>(), out.data<double>(), rows, len); break;
    case DType::Int32: sum_rows(src.data<int32_t>(), out.data<int32_t>(), rows, len); break;
    case DType::Int64: sum_rows(src.data<int64_t>(), out.data<int64_t>(), rows, len); break;
    case DType::UInt32: sum_rows(src.data<uint32_t>(), out.data<uint32_t>(), rows, len); break;
    case DType::UInt64: sum_rows(src.data<uint64_t>(), out.data<uint64_t>(), rows, len); break;
    default: unsupported("Einsum: type {} is not supported", dtype_name(op.t.dtype()));
  }
  return Operand{out, kept};
}

// Replaces repeated labels of one operand by their diagonal.
Operand take_diagonals(const Operand& op) {
  std::vector<int> uniq;
  Shape shape;
  std::vector<int64_t> st;
  auto src_st = strides_of(op.t.shape());
  for (size_t d = 0; d < op.labels.size(); ++d) {
    auto it = std::find(uniq.begin(), uniq.end(), op.labels[d]);
    if (it == uniq.end()) {
      uniq.push_back(op.labels[d]);
      shape.push_back(op.t.shape()[d]);
      st.push_back(src_st[d]);
      continue;
    }
    size_t u = static_cast<size_t>(it - uniq.begin());
    if (shape[u] != op.t.shape()[d])
      bad_input("Einsum: repeated label '{}' has sizes {} and {}", static_cast<char>(op.labels[d]), shape[u], op.t.shape()[d]);
    st[u] += src_st[d];
  }
  if (uniq.size() == op.labels.size()) return op;
  return Operand{strided_copy(op.t, shape, st), uniq};
}

// Contracts a and b over shared labels that `keep` rejects; the result's labels are
// [batch (shared, kept)..., a-only..., b-only...].
template <typename Keep>
Operand contract(const Operand& a, const Operand& b, const std::map<int, int64_t>& sizes, Keep keep) {
  std::vector<int> batch, ks, ms, ns;
  for (int l : a.labels) {
    if (!contains(b.labels, l)) ms.push_back(l);
    else (keep(l) ? batch : ks).push_back(l);
  }
  for (int l : b.labels)
    if (!contains(a.labels, l)) ns.push_back(l);
  auto prod = [&sizes](const std::vector<int>& ls) {
    int64_t p = 1;
    for (int l : ls) p *= sizes.at(l);
    return p;
  };
  const int64_t nb = prod(batch), m = prod(ms), k = prod(ks), n = prod(ns);
  auto concat = [&batch](const std::vector<int>& x, const std::vector<int>& y) {
    std::vector<int> r = batch;
    r.insert(r.end(), x.begin(), x.end());
    r.insert(r.end(), y.begin(), y.end());
    return r;
  };
  // Use a transposed operand as stored rather than copying it into [batch, rows, cols].
  const bool trans_a = a.labels == concat(ks, ms) && a.labels != concat(ms, ks);
  const bool trans_b = b.labels == concat(ns, ks) && b.labels != concat(ks, ns);
  Tensor ta = arrange(a, trans_a ? concat(ks, ms) : concat(ms, ks), sizes).reshaped(trans_a ? Shape{nb, k, m} : Shape{nb, m, k});
  Tensor tb = arrange(b, trans_b ? concat(ns, ks) : concat(ks, ns), sizes).reshaped(trans_b ? Shape{nb, n, k} : Shape{nb, k, n});
  Operand out;
  out.labels = batch;
  out.labels.insert(out.labels.end(), ms.begin(), ms.end());
  out.labels.insert(out.labels.end(), ns.begin(), ns.end());
  Shape shape;
  for (int l : out.labels) shape.push_back(sizes.at(l));
  out.t = batched_matmul(ta, tb, trans_a, trans_b, "Einsum").reshaped(shape);
  return out;
}

class EinsumKernel : public Kernel {
 public:
  explicit EinsumKernel(const KernelInit& init) {
    std::string eq;
    for (char c : init.node.attr_string("equation", "")) {
      if (c != ' ' && c != '\t' && c != '\n') eq += c;
    }
    size_t arrow = eq.find("->");
    explicit_out_ = arrow != std::string::npos;
    std::string lhs = explicit_out_ ? eq.substr(0, arrow) : eq;
    if (explicit_out_) out_term_ = eq.substr(arrow + 2);
    size_t start = 0;
    while (true) {
      size_t comma = lhs.find(',', start);
      terms_.push_back(lhs.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
    for (const auto& t : terms_) check_term(t);
    if (explicit_out_) check_term(out_term_);
  }

  void run(KernelContext& ctx) override {
    if (ctx.num_inputs() != terms_.size())
      bad_input("Einsum: equation has {} operands but the node has {} inputs", terms_.size(), ctx.num_inputs());
    // Expand ellipses: E = the widest ellipsis, each operand's part right-aligned within it.
    std::vector<int64_t> ell_rank(terms_.size());
    int64_t E = 0;
    for (size_t i = 0; i < terms_.size(); ++i) {
      const Tensor& t = ctx.in(i);
      int64_t letters = static_cast<int64_t>(terms_[i].size()) - (has_ellipsis(terms_[i]) ? 3 : 0);
      ell_rank[i] = t.rank() - letters;
      if (ell_rank[i] < 0 || (!has_ellipsis(terms_[i]) && ell_rank[i] != 0))
        bad_input("Einsum: term '{}' does not match input {} of rank {}", terms_[i], i, t.rank());
      E = std::max(E, ell_rank[i]);
    }
    std::vector<Operand> ops(terms_.size());
    std::map<int, int64_t> sizes;
    for (size_t i = 0; i < terms_.size(); ++i) {
      ops[i].t = ctx.in(i);
      ops[i].labels = expand(terms_[i], ell_rank[i], E);
      for (size_t d = 0; d < ops[i].labels.size(); ++d) {
        int l = ops[i].labels[d];
        int64_t s = ops[i].t.shape()[d];
        auto it = sizes.find(l);
        if (it == sizes.end() || it->second == 1) sizes[l] = s;
        else if (s != 1 && s != it->second)
          bad_input("Einsum: label '{}' has sizes {} and {}", label_name(l), it->second, s);
      }
    }
    std::vector<int> out_labels = output_labels(ops, E);
    for (int l : out_labels)
      if (!sizes.count(l)) bad_input("Einsum: output label '{}' appears in no input", label_name(l));
    for (auto& op : ops) op = take_diagonals(op);

    // Is label l needed by the output or by an operand after index i?
    auto needed_after = [&](int l, size_t i) {
      if (contains(out_labels, l)) return true;
      for (size_t j = i + 1; j < ops.size(); ++j)
        if (contains(ops[j].labels, l)) return true;
      return false;
    };
    Operand cur = reduce_labels(ops[0], [&](int l) { return needed_after(l, 0); });
    for (size_t i = 1; i < ops.size(); ++i) {
      auto keep = [&](int l) { return needed_after(l, i); };
      Operand next = reduce_labels(ops[i], [&](int l) { return keep(l) || contains(cur.labels, l); });
      cur = reduce_labels(cur, [&](int l) { return keep(l) || contains(next.labels, l); });
      cur = contract(cur, next, sizes, keep);
    }
    cur = reduce_labels(cur, [&](int l) { return contains(out_labels, l); });
    ctx.outputs[0] = arrange(cur, out_labels, sizes);
  }

 private:
  static bool has_ellipsis(const std::string& t) { return t.find("...") != std::string::npos; }
  static std::string label_name(int l) { return l >= kEllipsisLabel ? "..." : std::string(1, static_cast<char>(l)); }

  static void check_term(const std::string& t) {
    size_t dots = 0;
    for (char c : t) {
      if (c == '.') ++dots;
      else if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')))
        bad_input("Einsum: invalid character '{}' in equation term '{}'", c, t);
    }
    if (dots != 0 && (dots != 3 || t.find("...") == std::string::npos))
      bad_input("Einsum: malformed ellipsis in equation term '{}'", t);
  }

  // Labels of one term; the ellipsis stands for `ell` dimensions right-aligned in E.
  static std::vector<int> expand(const std::string& term, int64_t ell, int64_t E) {
    std::vector<int> labels;
    for (size_t p = 0; p < term.size(); ++p) {
      if (term[p] == '.') {
        for (int64_t j = 0; j < ell; ++j) labels.push_back(kEllipsisLabel + static_cast<int>(E - ell + j));
        p += 2;
      } else {
        labels.push_back(static_cast<unsigned char>(term[p]));
      }
    }
    return labels;
  }

  std::vector<int> output_labels(const std::vector<Operand>& ops, int64_t E) const {
    if (explicit_out_) {
      std::vector<int> out = expand(out_term_, E, E);
      for (size_t i = 0; i < out.size(); ++i)
        if (std::find(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(i), out[i]) != out.begin() + static_cast<std::ptrdiff_t>(i))
          bad_input("Einsum: output label '{}' is repeated", label_name(out[i]));
      return out;
    }
    // Implicit output: the ellipsis dimensions, then letters used exactly once, in ASCII order.
    std::vector<int> out;
    for (int64_t j = 0; j < E; ++j) out.push_back(kEllipsisLabel + static_cast<int>(j));
    std::map<int, int> count;
    for (const auto& op : ops)
      for (int l : op.labels)
        if (l < kEllipsisLabel) ++count[l];
    for (const auto& [l, c] : count)
      if (c == 1) out.push_back(l);
    return out;
  }

  std::vector<std::string> terms_;
  std::string out_term_;
  bool explicit_out_ = false;
};

}  // namespace

void register_einsum(KernelRegistry& r) {
  r.add("", "Einsum", 12, kMaxOpset, [](const KernelInit& init) { return std::make_unique<EinsumKernel>(init); });
}

}  // namespace ptq::kern
