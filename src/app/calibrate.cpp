#include "app/calibrate.h"

#include <chrono>

#include "calib/collector.h"
#include "calib/stats_io.h"
#include "data/batching.h"
#include "data/sample_source.h"

namespace ptq {

namespace {

// One executor run over `batch`, folded into `collector`.
void run_batch(Executor& exec, const std::vector<Sample>& batch, StatsCollector& collector, const StatsOptions& so) {
  collector.set_sample(batch_id(batch));
  if (batch.size() == 1) {
    exec.run(batch[0].inputs, &collector);
    return;
  }
  try {
    exec.run(stack_samples(batch), &collector);
  } catch (const Error& e) {
    // Locate the failing sample: alone, it throws the same error an unbatched run would. (The
    // statistics folded so far are discarded with the failing job.)
    for (const Sample& s : batch) {
      StatsCollector scratch(so);
      scratch.set_sample(s.id);
      exec.run(s.inputs, &scratch);
    }
    throw Error(e.kind(), fmt::format("{} (each of these samples runs without error alone: the model may not accept "
                                      "batches; use --batch 1)",
                                      e.what()));
  }
}

}  // namespace

CalibrationResult run_calibration(Executor& exec, const QuantizeJob& job, JobObserver& obs,
                                  const std::set<std::string>* observe) {
  CalibrationResult r;
  if (!job.load_stats_paths.empty()) {
    r.stats = load_and_merge_stats(job.load_stats_paths);
    return r;
  }
  if (job.batch == 0) fail(ErrorKind::Usage, "--batch must be at least 1");
  if (job.batch > 1) {
    std::string why = batching_blocker(exec.inputs());
    if (!why.empty())
      fail(ErrorKind::Usage, "--batch {} stacks samples along the first dim, which every model input must leave dynamic, but {}; "
                             "use --batch 1",
           job.batch, why);
  }
  SourceOptions so;
  so.image = job.image;
  so.max_samples = job.max_samples;
  so.shard_index = job.shard_index;
  so.shard_count = job.shard_count;
  auto src = SampleSource::open(job.calib_dir, exec.inputs(), so);
  const StatsOptions sopts{job.qopts.histogram_bins, job.threads};
  StatsCollector collector(sopts);
  if (observe) collector.observe_only(*observe);
  auto t0 = std::chrono::steady_clock::now();
  obs.phase("calibrate", src->size());
  std::vector<Sample> batch;
  size_t done = 0;
  auto flush = [&] {
    if (batch.empty()) return;
    run_batch(exec, batch, collector, sopts);
    for (size_t k = 0; k < batch.size(); ++k) collector.count_sample();
    done += batch.size();
    batch.clear();
    obs.step(done);
  };
  for (size_t i = 0; i < src->size(); ++i) {
    Sample s = src->load(i);
    if (!batch.empty() && !stackable(batch.front(), s)) flush();
    batch.push_back(std::move(s));
    if (batch.size() >= job.batch) flush();
  }
  flush();
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  r.layout = src->layout();
  r.stats = collector.take();
  return r;
}

}  // namespace ptq
