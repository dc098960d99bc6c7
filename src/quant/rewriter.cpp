// Phase two: turn a QuantPlan plus calibration ranges into a QDQ model.
//   activation T:  producer -> T -> QuantizeLinear -> DequantizeLinear -> consumers
//   weight W:      W_quantized (int) -> DequantizeLinear -> consumers
//   bias B:        B_quantized (int32, scale = input_scale * weight_scale) -> DequantizeLinear
#include <algorithm>
#include <cmath>
#include <limits>

#include "graph/graph_utils.h"
#include "quant/quantizer.h"

namespace ptq {

namespace {

struct Rewriter {
  const Model& src;
  const QuantPlan& plan;
  const RangeMap& ranges;
  const QuantOptions& opts;
  QuantizeSummary& summary;

  Model out;
  NameGenerator names;
  std::map<std::string, std::string> replacement;      // float value -> its DequantizeLinear output
  std::map<std::string, std::vector<Node>> after;      // nodes to insert after a value's producer
  std::vector<Node> front;                             // nodes for graph inputs and initializers
  std::map<std::string, QParams> act_params;           // activation -> params
  std::map<std::string, QuantizedTensor> weight_q;     // weight -> quantized form
  bool per_axis_used = false;
  bool block_used = false;

  Rewriter(const Model& m, const QuantPlan& p, const RangeMap& r, const QuantOptions& o, QuantizeSummary& sum)
      : src(m), plan(p), ranges(r), opts(o), summary(sum), out(m), names(m.graph) {}

  Node make_node(const std::string& op, const std::string& base, std::vector<std::string> in, std::string o, int64_t axis) {
    Node n;
    n.op_type = op;
    n.name = names.make(base + "_" + op);
    n.inputs = std::move(in);
    n.outputs = {std::move(o)};
    if (axis >= 0) n.attrs.push_back(Attribute::make_int("axis", axis));
    return n;
  }

  // Ranges of sharing groups: the union of members' ranges.
  std::map<std::string, Range> group_ranges() {
    std::map<std::string, Range> r;
    for (const auto& t : plan.activations()) {
      auto it = ranges.find(t);
      if (it == ranges.end()) continue;
      const Range& chosen = it->second;
      auto [gi, fresh] = r.emplace(plan.group_of(t), chosen);
      if (!fresh) {
        gi->second.lo = std::min(gi->second.lo, chosen.lo);
        gi->second.hi = std::max(gi->second.hi, chosen.hi);
      }
    }
    return r;
  }

  void add_activation(const std::string& t, const QParams& p, const Range& range) {
    std::string scale = names.make(t + "_scale");
    std::string zp = names.make(t + "_zero_point");
    out.graph.initializers[scale] = Tensor::scalar<float>(p.scale);
    out.graph.initializers[zp] = make_zero_point_tensor({p}, {}, opts.activation_type);
    std::string qout = names.make(t + "_QuantizeLinear_Output");
    std::string dqout = names.make(t + "_DequantizeLinear_Output");
    std::vector<Node>& dst = after[t];
    dst.push_back(make_node("QuantizeLinear", t, {t, scale, zp}, qout, -1));
    dst.push_back(make_node("DequantizeLinear", t, {qout, scale, zp}, dqout, -1));
    replacement[t] = dqout;
    summary.q_nodes++;
    summary.dq_nodes++;
    act_params[t] = p;
    summary.tensors.push_back({t, "activation", range, {p.scale}, {p.zero_point}, -1, opts.activation_type});
  }

  QuantAxis weight_axis(const std::string& w, const Tensor& t) const {
    const WeightMark& m = plan.weights().at(w);
    QuantAxis ax;
    if (m.conflicting || m.channel_axis < 0 || opts.scheme == WeightScheme::PerTensor) return ax;
    ax.axis = m.channel_axis;
    if (opts.scheme == WeightScheme::PerBlock) {
      // Blocks run along the reduction axis, i.e. the axis that is not the output channel.
      if (t.rank() != 2) return ax;  // blocked only for 2-D (MatMul/Gemm) weights; others per-channel
      ax.axis = 1 - m.channel_axis;
      ax.block_size = opts.block_size;
    }
    return ax;
  }

  void add_quantized_constant(const std::string& w, const QuantizedTensor& q, const std::string& kind, bool with_zp) {
    std::string qname = names.make(w + "_quantized");
    std::string scale = names.make(w + "_scale");
    out.graph.initializers[qname] = q.values;
    out.graph.initializers[scale] = q.scale;
    std::vector<std::string> ins{qname, scale};
    if (with_zp) {
      std::string zp = names.make(w + "_zero_point");
      out.graph.initializers[zp] = q.zero_point;
      ins.push_back(zp);
    }
    std::string dqout = names.make(w + "_DequantizeLinear_Output");
    Node dq = make_node("DequantizeLinear", w, ins, dqout, q.axis.axis);
    if (q.axis.block_size > 0) dq.attrs.push_back(Attribute::make_int("block_size", q.axis.block_size));
    front.push_back(std::move(dq));
    replacement[w] = dqout;
    out.graph.initializers.erase(w);
    summary.dq_nodes++;
    if (q.axis.axis >= 0) per_axis_used = true;
    if (q.axis.block_size > 0 || is_4bit(q.values.dtype())) block_used = true;
    QuantizedTensorInfo info{w, kind, {}, {}, {}, q.axis.axis, q.values.dtype()};
    const Tensor& orig = *src.graph.find_initializer(w);
    Tensor of = orig.to_float();
    if (of.numel()) {
      auto [lo, hi] = std::minmax_element(of.data<float>(), of.data<float>() + of.numel());
      info.range = {*lo, *hi};
    }
    for (int64_t i = 0; i < q.scale.numel(); ++i) {
      info.scales.push_back(q.scale.data<float>()[i]);
      info.zero_points.push_back(q.zero_point.empty() ? 0 : static_cast<int32_t>(q.zero_point.get_as_int64(i)));
    }
    summary.tensors.push_back(std::move(info));
  }

  void quantize_weights() {
    for (const auto& [w, mark] : plan.weights()) {
      const Tensor* t = src.graph.find_initializer(w);
      if (!t || t->dtype() != DType::Float32) continue;
      // 4-bit weights: MSE-optimal clipping per group (15 levels cannot afford min/max outliers).
      QuantizedTensor q = quantize_weight(*t, weight_axis(w, *t), opts.weight_type, opts.weight_symmetric, is_4bit(opts.weight_type));
      weight_q[w] = q;
      add_quantized_constant(w, q, "weight", true);
    }
    for (const auto& c : plan.constant_activations()) {
      const Tensor* t = src.graph.find_initializer(c);
      if (!t || t->dtype() != DType::Float32 || replacement.count(c)) continue;
      QuantizedTensor q = quantize_weight(*t, QuantAxis{}, opts.activation_type, opts.activation_symmetric);
      add_quantized_constant(c, q, "constant", true);
    }
  }

  void quantize_biases() {
    for (const auto& [b, mark] : plan.biases()) {
      auto ai = act_params.find(mark.input);
      auto wi = weight_q.find(mark.weight);
      const Tensor* bt = src.graph.find_initializer(b);
      if (ai == act_params.end() || wi == weight_q.end() || !bt || replacement.count(b)) continue;
      if (wi->second.axis.block_size > 0 || is_4bit(wi->second.values.dtype())) continue;  // int32 bias needs per-channel/tensor weights
      const Tensor& wscale = wi->second.scale;
      int64_t n = bt->numel();
      bool per_channel = wscale.numel() > 1;
      if (per_channel && wscale.numel() != n) continue;
      Tensor scale(DType::Float32, per_channel ? Shape{n} : Shape{});
      Tensor values(DType::Int32, bt->shape());
      const float* bf = bt->data<float>();
      bool overflow = false;
      for (int64_t i = 0; i < n; ++i) {
        float s = ai->second.scale * wscale.data<float>()[per_channel ? i : 0];
        if (per_channel || i == 0) scale.data<float>()[per_channel ? i : 0] = s;
        double q = std::nearbyint(static_cast<double>(bf[i]) / s);
        if (!(std::fabs(q) <= 2147483647.0)) overflow = true;
        values.data<int32_t>()[i] = overflow ? 0 : static_cast<int32_t>(q);
      }
      if (overflow) {
        summary.float_nodes.push_back({b, "bias", "bias / (input_scale * weight_scale) overflows int32"});
        continue;
      }
      QuantizedTensor q{values, scale, Tensor(), QuantAxis{per_channel ? 0 : -1, 0}};
      add_quantized_constant(b, q, "bias", false);
    }
  }

  void quantize_activations() {
    auto groups = group_ranges();
    for (const auto& t : plan.activations()) {
      auto gi = groups.find(plan.group_of(t));
      if (gi == groups.end()) {
        summary.float_nodes.push_back({t, "tensor", "no calibration data reached this tensor"});
        continue;
      }
      add_activation(t, compute_qparams(gi->second, opts.activation_type, opts.activation_symmetric), gi->second);
    }
  }

  // Graph outputs keep their names: the producer writes "<name>_prequant" and the DQ writes <name>.
  void rename_graph_outputs(std::vector<Node>& nodes) {
    for (const auto& o : src.graph.outputs) {
      auto it = replacement.find(o.name);
      if (it == replacement.end()) continue;
      std::string pre = names.make(o.name + "_prequant");
      std::string dq_out = it->second;
      for (auto& n : nodes) {
        for (auto& x : n.outputs)
          if (x == o.name) x = pre;
          else if (x == dq_out) x = o.name;
        for (auto& x : n.inputs)
          if (x == o.name) x = pre;
          else if (x == dq_out) x = o.name;
      }
    }
  }

  Model run() {
    quantize_activations();
    quantize_weights();
    quantize_biases();
    std::vector<Node> nodes = front;
    // Q/DQ of graph inputs come first; then each node followed by the Q/DQ of its outputs.
    for (const auto& in : src.graph.inputs)
      if (auto it = after.find(in.name); it != after.end()) nodes.insert(nodes.end(), it->second.begin(), it->second.end());
    for (const auto& n : src.graph.nodes) {
      Node copy = n;
      for (auto& x : copy.inputs)
        if (auto it = replacement.find(x); it != replacement.end()) x = it->second;
      nodes.push_back(std::move(copy));
      for (const auto& o : n.outputs)
        if (auto it = after.find(o); it != after.end()) nodes.insert(nodes.end(), it->second.begin(), it->second.end());
    }
    rename_graph_outputs(nodes);
    out.graph.nodes = std::move(nodes);
    summary.opset_before = src.opset();
    int64_t need = 10;
    if (per_axis_used) need = 13;
    if (block_used) need = 21;
    summary.opset_after = std::max(src.opset(), need);
    return out;
  }
};

}  // namespace

RangeRequest activation_range_request(const QuantOptions& opts) {
  return RangeRequest{opts.method, opts.percentile, opts.activation_type, opts.activation_symmetric};
}

RangeMap activation_ranges(const QuantPlan& plan, const std::map<std::string, TensorStats>& stats,
                           const QuantOptions& opts) {
  const RangeRequest req = activation_range_request(opts);
  RangeMap r;
  for (const auto& t : plan.activations()) {
    auto it = stats.find(t);
    if (it != stats.end() && !it->second.empty()) r.emplace(t, choose_range(it->second, req));
  }
  return r;
}

Model rewrite_qdq(const Model& model, const QuantPlan& plan, const RangeMap& ranges, const QuantOptions& opts,
                  QuantizeSummary* summary) {
  QuantizeSummary local;
  QuantizeSummary& s = summary ? *summary : local;
  s.float_nodes = plan.float_nodes();
  Rewriter rw(model, plan, ranges, opts, s);
  return rw.run();
}

Model rewrite_qdq(const Model& model, const QuantPlan& plan, const std::map<std::string, TensorStats>& stats,
                  const QuantOptions& opts, QuantizeSummary* summary) {
  return rewrite_qdq(model, plan, activation_ranges(plan, stats, opts), opts, summary);
}

}  // namespace ptq
