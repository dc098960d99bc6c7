#include "app/evaluate.h"

#include <filesystem>
#include <map>
#include <memory>

#include "data/npy.h"
#include "data/sample_source.h"
#include "exec/executor.h"
#include "report/layer_metrics.h"

namespace fs = std::filesystem;

namespace ptq {

namespace {

const std::string kPrequant = "_prequant";

// Float run: local metrics of each quantized tensor; keeps this sample's value of each activation
// that has a dequantized counterpart in the QDQ model.
class FloatObserver : public ValueObserver {
 public:
  FloatObserver(std::map<std::string, TensorMetricsAccumulator*> acc, std::set<std::string> keep)
      : acc_(std::move(acc)), keep_(std::move(keep)) {}
  void on_value(const std::string& name, const Tensor& value, const Node*) override {
    auto it = acc_.find(name);
    if (it == acc_.end()) return;
    it->second->add_local(value);
    if (keep_.count(name)) kept[name] = value.to_float().clone();
  }
  std::map<std::string, Tensor> kept;

 private:
  std::map<std::string, TensorMetricsAccumulator*> acc_;
  std::set<std::string> keep_;
};

// QDQ run: compares each dequantized activation with the float value kept for this sample.
class QuantObserver : public ValueObserver {
 public:
  QuantObserver(std::map<std::string, std::pair<std::string, TensorMetricsAccumulator*>> by_dq,
                std::map<std::string, Tensor>& kept)
      : by_dq_(std::move(by_dq)), kept_(kept) {}
  void on_value(const std::string& name, const Tensor& value, const Node*) override {
    auto it = by_dq_.find(name);
    if (it == by_dq_.end()) return;
    auto k = kept_.find(it->second.first);
    if (k == kept_.end()) return;
    it->second.second->add_accumulated(k->second, value);
    kept_.erase(k);
  }

 private:
  std::map<std::string, std::pair<std::string, TensorMetricsAccumulator*>> by_dq_;
  std::map<std::string, Tensor>& kept_;
};

}  // namespace

std::map<std::string, std::string> dequantized_names(const Model& qm) {
  std::map<std::string, std::string> q_input;  // QuantizeLinear output -> its input
  for (const auto& n : qm.graph.nodes)
    if (n.op_type == "QuantizeLinear" && !n.inputs.empty() && !n.outputs.empty()) q_input[n.outputs[0]] = n.inputs[0];
  std::map<std::string, std::string> r;
  for (const auto& n : qm.graph.nodes) {
    if (n.op_type != "DequantizeLinear" || n.inputs.empty() || n.outputs.empty()) continue;
    auto it = q_input.find(n.inputs[0]);
    if (it == q_input.end()) continue;
    std::string t = it->second;
    const std::string& dq = n.outputs[0];
    if (t.size() > kPrequant.size() && t.compare(t.size() - kPrequant.size(), kPrequant.size(), kPrequant) == 0 &&
        t.substr(0, t.size() - kPrequant.size()) == dq)
      t = dq;
    r.emplace(t, dq);
  }
  return r;
}

void evaluate(const Model& float_model, const Model& quant_model, const QuantizeJob& job, int threads,
              const KernelRegistry& reg, Report& report, JobObserver& obs, const EvalOptions& eo) {
  Executor fexec(float_model, reg, {threads});
  Executor qexec(quant_model, reg, {threads});
  SourceOptions so;
  so.max_samples = eo.max_samples ? eo.max_samples : job.max_samples;
  so.image = job.image;
  std::string dir = job.eval_dir.empty() ? job.calib_dir : job.eval_dir;
  // A labels file kept beside the evaluation samples is not a sample.
  std::error_code ec;
  if (!job.labels_path.empty() && fs::equivalent(fs::path(job.labels_path).parent_path(), dir, ec))
    so.ignore.push_back(fs::path(job.labels_path).filename().string());
  auto src = SampleSource::open(dir, fexec.inputs(), so);
  std::vector<int64_t> labels;
  if (!job.labels_path.empty()) {
    Tensor l = read_npy(job.labels_path);
    if (!is_integer(l.dtype())) bad_input("labels file '{}' must hold integers, has {}", job.labels_path, dtype_name(l.dtype()));
    labels = l.to_int64_vector();
  }

  // Per-tensor accumulators: weights/biases/constants measured once on the value itself,
  // activations on every evaluation sample.
  std::vector<std::unique_ptr<TensorMetricsAccumulator>> tacc;
  std::map<std::string, TensorMetricsAccumulator*> act_acc;
  std::set<std::string> keep;
  std::map<std::string, std::pair<std::string, TensorMetricsAccumulator*>> by_dq;
  if (eo.tensor_metrics) {
    std::map<std::string, std::string> dq = dequantized_names(quant_model);
    for (const auto& info : report.summary.tensors) {
      tacc.push_back(std::make_unique<TensorMetricsAccumulator>(info));
      TensorMetricsAccumulator* a = tacc.back().get();
      if (const Tensor* w = float_model.graph.find_initializer(info.name)) {
        a->add_local(*w);
        continue;
      }
      act_acc[info.name] = a;
      auto it = dq.find(info.name);
      if (it != dq.end()) {
        keep.insert(info.name);
        by_dq[it->second] = {info.name, a};
      }
    }
  }
  FloatObserver fobs(act_acc, keep);
  QuantObserver qobs(by_dq, fobs.kept);

  std::vector<MetricsAccumulator> acc(fexec.output_names().size());
  size_t label_pos = 0;
  obs.phase("evaluate", src->size());
  for (size_t i = 0; i < src->size(); ++i) {
    Sample s = src->load(i);
    auto ref = fexec.run(s.inputs, eo.tensor_metrics ? &fobs : nullptr);
    auto q = qexec.run(s.inputs, eo.tensor_metrics ? &qobs : nullptr);
    fobs.kept.clear();
    size_t rows_used = 0;
    for (size_t k = 0; k < ref.size(); ++k) {
      std::vector<int64_t> lab;
      if (!labels.empty() && ref[k].rank() == 2) {
        int64_t rows = ref[k].dim(0);
        if (label_pos + static_cast<size_t>(rows) > labels.size())
          bad_input("labels file '{}' has {} labels, fewer than the {}+ evaluation rows", job.labels_path, labels.size(), label_pos + rows);
        lab.assign(labels.begin() + static_cast<long>(label_pos), labels.begin() + static_cast<long>(label_pos + rows));
        rows_used = static_cast<size_t>(rows);
      }
      acc[k].add(ref[k], q[k], lab);
    }
    label_pos += rows_used;
    obs.step(i + 1);
  }
  report.eval_dir = dir;
  report.eval_samples = src->size();
  report.outputs.clear();
  for (size_t k = 0; k < acc.size(); ++k) report.outputs.emplace_back(fexec.output_names()[k], acc[k].result());
  report.tensor_metrics.clear();
  for (const auto& a : tacc) report.tensor_metrics.push_back(a->result());
}

}  // namespace ptq
