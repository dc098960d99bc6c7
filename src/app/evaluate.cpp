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

namespace {

// The evaluation samples of a job (--eval DIR, else the calibration set) and the optional labels.
struct EvalData {
  std::string dir;
  std::unique_ptr<SampleSource> src;
  std::vector<int64_t> labels;
};

EvalData open_eval_data(const QuantizeJob& job, const std::vector<const ValueInfo*>& inputs, size_t max_samples) {
  EvalData d;
  SourceOptions so;
  so.max_samples = max_samples ? max_samples : job.max_samples;
  so.image = job.image;
  d.dir = job.eval_dir.empty() ? job.calib_dir : job.eval_dir;
  // A labels file kept beside the evaluation samples is not a sample.
  std::error_code ec;
  if (!job.labels_path.empty() && fs::equivalent(fs::path(job.labels_path).parent_path(), d.dir, ec))
    so.ignore.push_back(fs::path(job.labels_path).filename().string());
  d.src = SampleSource::open(d.dir, inputs, so);
  if (!job.labels_path.empty()) {
    Tensor l = read_npy(job.labels_path);
    if (!is_integer(l.dtype())) bad_input("labels file '{}' must hold integers, has {}", job.labels_path, dtype_name(l.dtype()));
    d.labels = l.to_int64_vector();
  }
  return d;
}

// One pass over the evaluation set: per sample the float model runs once, then every QDQ model;
// returns each model's output accumulators. Observers (optional) watch the float run and the
// first QDQ model's run (per-tensor metrics); the float values kept for a sample are dropped after it.
std::vector<std::vector<MetricsAccumulator>> eval_pass(const std::vector<const Model*>& quant_models, const QuantizeJob& job,
                                                       int threads, const KernelRegistry& reg, EvalData& d, Executor& fexec,
                                                       JobObserver& obs, FloatObserver* fobs, QuantObserver* qobs) {
  std::vector<std::unique_ptr<Executor>> qexecs;
  for (const Model* m : quant_models) qexecs.push_back(std::make_unique<Executor>(*m, reg, ExecOptions{threads}));
  std::vector<std::vector<MetricsAccumulator>> acc(quant_models.size(), std::vector<MetricsAccumulator>(fexec.output_names().size()));
  size_t label_pos = 0;
  obs.phase("evaluate", d.src->size());
  for (size_t i = 0; i < d.src->size(); ++i) {
    Sample s = d.src->load(i);
    auto ref = fexec.run(s.inputs, fobs);
    // Labels of this sample's rows, for each output shaped [rows, C].
    std::vector<std::vector<int64_t>> lab(ref.size());
    size_t rows_used = 0;
    for (size_t k = 0; k < ref.size(); ++k) {
      if (d.labels.empty() || ref[k].rank() != 2) continue;
      size_t rows = static_cast<size_t>(ref[k].dim(0));
      if (label_pos + rows > d.labels.size())
        bad_input("labels file '{}' has {} labels, fewer than the {}+ evaluation rows", job.labels_path, d.labels.size(), label_pos + rows);
      lab[k].assign(d.labels.begin() + static_cast<long>(label_pos), d.labels.begin() + static_cast<long>(label_pos + rows));
      rows_used = rows;
    }
    for (size_t m = 0; m < qexecs.size(); ++m) {
      auto q = qexecs[m]->run(s.inputs, m == 0 ? qobs : nullptr);
      for (size_t k = 0; k < ref.size(); ++k) acc[m][k].add(ref[k], q[k], lab[k]);
    }
    if (fobs) fobs->kept.clear();
    label_pos += rows_used;
    obs.step(i + 1);
  }
  return acc;
}

std::vector<std::pair<std::string, OutputMetrics>> named_results(const std::vector<std::string>& names,
                                                                 const std::vector<MetricsAccumulator>& acc) {
  std::vector<std::pair<std::string, OutputMetrics>> r;
  for (size_t k = 0; k < acc.size(); ++k) r.emplace_back(names[k], acc[k].result());
  return r;
}

}  // namespace

void evaluate(const Model& float_model, const Model& quant_model, const QuantizeJob& job, int threads,
              const KernelRegistry& reg, Report& report, JobObserver& obs, const EvalOptions& eo) {
  Executor fexec(float_model, reg, {threads});
  EvalData d = open_eval_data(job, fexec.inputs(), eo.max_samples);

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
  auto acc = eval_pass({&quant_model}, job, threads, reg, d, fexec, obs, eo.tensor_metrics ? &fobs : nullptr,
                       eo.tensor_metrics ? &qobs : nullptr);
  report.eval_dir = d.dir;
  report.eval_samples = d.src->size();
  report.outputs = named_results(fexec.output_names(), acc[0]);
  report.tensor_metrics.clear();
  for (const auto& a : tacc) report.tensor_metrics.push_back(a->result());
}

std::vector<std::vector<std::pair<std::string, OutputMetrics>>> evaluate_outputs(const Model& float_model,
                                                                                 const std::vector<const Model*>& quant_models,
                                                                                 const QuantizeJob& job, int threads,
                                                                                 const KernelRegistry& reg, JobObserver& obs) {
  Executor fexec(float_model, reg, {threads});
  EvalData d = open_eval_data(job, fexec.inputs(), 0);
  auto acc = eval_pass(quant_models, job, threads, reg, d, fexec, obs, nullptr, nullptr);
  std::vector<std::vector<std::pair<std::string, OutputMetrics>>> r;
  for (const auto& a : acc) r.push_back(named_results(fexec.output_names(), a));
  return r;
}

}  // namespace ptq
