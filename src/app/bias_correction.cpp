#include "app/bias_correction.h"

#include <map>

#include "core/quant_math.h"
#include "data/sample_source.h"
#include "exec/executor.h"

namespace ptq {

namespace {

struct Target {
  const Node* node;
  Tensor w, wq;              // float weight and its dequantized quantization
  std::string input;         // float input x
};

// Per-channel (axis 1) sums of the observed inputs.
class MeanObserver : public ValueObserver {
 public:
  explicit MeanObserver(const std::set<std::string>& names) {
    for (const auto& n : names) sums[n];
  }
  void on_value(const std::string& name, const Tensor& v, const Node*) override {
    auto it = sums.find(name);
    if (it == sums.end() || v.rank() < 2) return;
    Tensor x = v.to_float();
    int64_t n = x.dim(0), c = x.dim(1), inner = x.numel() / std::max<int64_t>(1, n * c);
    auto& s = it->second;
    if (s.sum.empty()) s.sum.assign(static_cast<size_t>(c), 0.0);
    if (s.sum.size() != static_cast<size_t>(c)) return;
    const float* d = x.data<float>();
    for (int64_t i = 0; i < x.numel(); ++i) s.sum[static_cast<size_t>((i / inner) % c)] += d[i];
    s.count += n * inner;
  }
  struct Sums {
    std::vector<double> sum;
    int64_t count = 0;
  };
  std::map<std::string, Sums> sums;
};

// The dequantized weight the QDQ model uses for `dq_out` (output of a DequantizeLinear of constants).
bool dequantized_weight(const Model& qm, const std::string& dq_out, Tensor* out) {
  for (const auto& n : qm.graph.nodes) {
    if (n.op_type != "DequantizeLinear" || n.outputs.empty() || n.outputs[0] != dq_out || n.inputs.size() < 2) continue;
    const Tensor* q = qm.graph.find_initializer(n.inputs[0]);
    const Tensor* s = qm.graph.find_initializer(n.inputs[1]);
    const Tensor* z = n.inputs.size() > 2 ? qm.graph.find_initializer(n.inputs[2]) : nullptr;
    if (!q || !s) return false;
    QuantAxis ax{s->numel() > 1 ? n.attr_int("axis", 1) : -1, n.attr_int("block_size", 0)};
    if (ax.axis < 0 && s->numel() > 1) ax.axis += q->rank();
    *out = dequantize_tensor(*q, *s, z ? *z : Tensor(), ax);
    return true;
  }
  return false;
}

}  // namespace

Model correct_biases(const QuantizeContext& ctx, const QuantizeJob& job, const std::set<std::string>& extra_float,
                     JobObserver& obs, size_t* corrected) {
  if (corrected) *corrected = 0;
  Model qmodel = build_qdq(ctx, job, extra_float, nullptr);
  std::map<std::string, const Node*> qnodes;
  for (const auto& n : qmodel.graph.nodes)
    if (!n.name.empty()) qnodes[n.name] = &n;
  std::vector<Target> targets;
  std::set<std::string> inputs;
  for (const auto& n : ctx.model.graph.nodes) {
    if ((n.op_type != "Conv" && n.op_type != "Gemm") || n.inputs.size() < 3 || n.inputs[2].empty() || n.name.empty()) continue;
    if (n.op_type == "Gemm" && (n.attr_float("alpha", 1.f) != 1.f || n.attr_int("transA", 0) != 0)) continue;
    const Tensor* b = ctx.model.graph.find_initializer(n.inputs[2]);
    const Tensor* w = ctx.model.graph.find_initializer(n.inputs[1]);
    auto qn = qnodes.find(n.name);
    if (!b || !w || b->dtype() != DType::Float32 || w->dtype() != DType::Float32 || b->rank() != 1 || qn == qnodes.end()) continue;
    if (qn->second->inputs.size() < 2) continue;
    Tensor wq;
    if (!dequantized_weight(qmodel, qn->second->inputs[1], &wq) || wq.shape() != w->shape()) continue;  // weight not quantized
    targets.push_back({&n, *w, wq, n.inputs[0]});
    inputs.insert(n.inputs[0]);
  }
  if (targets.empty()) return ctx.model;

  // E[x] per input channel on the calibration data (float model).
  Executor fexec(ctx.model, ctx.reg, {job.threads});
  SourceOptions so;
  so.max_samples = job.max_samples;
  so.image = job.image;
  auto src = SampleSource::open(job.calib_dir, fexec.inputs(), so);
  MeanObserver mobs(inputs);
  obs.phase("bias correction", src->size());
  for (size_t i = 0; i < src->size(); ++i) {
    fexec.run(src->load(i).inputs, &mobs);
    obs.step(i + 1);
  }

  Model out = ctx.model;
  for (const auto& t : targets) {
    const auto& s = mobs.sums[t.input];
    if (s.count == 0) continue;
    const Node& n = *t.node;
    Tensor b = out.graph.initializers.at(n.inputs[2]).clone();
    float* bd = b.data<float>();
    const float* w = t.w.data<float>();
    const float* wq = t.wq.data<float>();
    int64_t cin = static_cast<int64_t>(s.sum.size());
    auto mean = [&](int64_t c) { return s.sum[static_cast<size_t>(c)] / static_cast<double>(s.count); };
    if (n.op_type == "Gemm") {
      bool tb = n.attr_int("transB", 0) != 0;
      int64_t m_out = tb ? t.w.dim(0) : t.w.dim(1), k_in = tb ? t.w.dim(1) : t.w.dim(0);
      if (k_in != cin || m_out != b.numel()) continue;
      for (int64_t m = 0; m < m_out; ++m) {
        double d = 0;
        for (int64_t k = 0; k < k_in; ++k) {
          int64_t idx = tb ? m * k_in + k : k * m_out + m;
          d += (static_cast<double>(w[idx]) - wq[idx]) * mean(k);
        }
        bd[m] += static_cast<float>(d);
      }
    } else {  // Conv: W [O, C/group, k...]; padding edges are ignored (the usual approximation)
      int64_t o_n = t.w.dim(0), cpg = t.w.dim(1), group = n.attr_int("group", 1);
      int64_t ksz = t.w.numel() / std::max<int64_t>(1, o_n * cpg);
      if (o_n != b.numel() || cpg * group != cin || o_n % group) continue;
      for (int64_t o = 0; o < o_n; ++o) {
        double d = 0;
        int64_t g = o / (o_n / group);
        for (int64_t ci = 0; ci < cpg; ++ci)
          for (int64_t k = 0; k < ksz; ++k) {
            int64_t idx = (o * cpg + ci) * ksz + k;
            d += (static_cast<double>(w[idx]) - wq[idx]) * mean(g * cpg + ci);
          }
        bd[o] += static_cast<float>(d);
      }
    }
    out.graph.initializers[n.inputs[2]] = b;
    if (corrected) ++*corrected;
  }
  return out;
}

}  // namespace ptq
