#include "calib/collector.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

#include "core/error.h"
#include "exec/layout.h"

namespace ptq {

namespace {

// Most bytes of tensors waiting for the folding thread; the executor blocks beyond it.
constexpr size_t kPipelineBytes = size_t{64} << 20;
// Pipelining starts only when the first sample had fewer float values than this (StatsOptions).
constexpr uint64_t kPipelineMaxValues = uint64_t{1} << 18;

// Folds `value` into `st`; throws Error(BadInput) naming the sample, tensor and producer on NaN/Inf.
void fold(TensorStats& st, const Tensor& value, int threads, const std::string& name, const std::string& sample,
          const Node* producer) {
  int64_t bad = st.update(value.data<float>(), value.numel(), threads);
  if (bad < 0) return;
  Tensor plain = to_plain(value);  // the message names the element by its logical index
  const float* p = plain.data<float>();
  if (value.layout() != Layout::Plain)
    bad = std::find_if(p, p + plain.numel(), [](float x) { return !std::isfinite(x); }) - p;
  std::string where = producer ? " (output of node " + producer->label() + ")" : " (model input)";
  bad_input("sample '{}': tensor '{}'{} contains {} at flat index {}", sample, name, where, p[bad], bad);
}

}  // namespace

// One folding thread fed through a single-producer single-consumer ring: the executor's thread
// writes items and destroys them after the folding thread is done with them (so every allocation
// is freed by the thread that made it: frees from the other thread contended for malloc's arena
// lock), the folding thread only reads items and advances `done_`. No mutex on the hot path
// (a contended mutex put both threads to sleep in the kernel on most values); the mutex and
// condition variable only let an idle folding thread sleep. Each TensorStats is touched by the
// folding thread only (the collector's map only gains nodes, which leaves the others in place).
class StatsCollector::Pipeline {
 public:
  struct Item {
    TensorStats* st = nullptr;
    Tensor value;
    std::string name, sample;
    const Node* producer = nullptr;
  };

  Pipeline() : ring_(kCapacity), worker_([this] { loop(); }) {}
  ~Pipeline() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_.store(true);
    }
    wake_.notify_all();
    worker_.join();
  }

  void push(TensorStats& st, const Tensor& value, const std::string& name, const std::string& sample, const Node* producer) {
    reclaim();
    const size_t bytes = value.nbytes();
    // Room: a free slot, and at most kPipelineBytes waiting (one value alone may exceed it).
    while (head_ - freed_ == kCapacity || (in_flight_ > 0 && in_flight_ + bytes > kPipelineBytes)) {
      wait_a_little();
      reclaim();
    }
    ring_[head_ % kCapacity] = Item{&st, value, name, sample, producer};
    in_flight_ += bytes;
    head_published_.store(++head_);  // seq_cst, paired with sleeping_ (no lost wake-up)
    if (sleeping_.load()) {
      std::lock_guard<std::mutex> lock(mu_);
      wake_.notify_one();
    }
  }

  // Waits until the folding thread has caught up; rethrows its first error.
  void drain() {
    while (done_.load(std::memory_order_acquire) != head_) wait_a_little();
    reclaim();
    if (failed_.load(std::memory_order_acquire)) std::rethrow_exception(error_);
  }

  bool failed() const { return failed_.load(std::memory_order_acquire); }

 private:
  static constexpr size_t kCapacity = 1024;
  static constexpr int kSpins = 20000;  // about 0.1-0.5 ms of pause instructions

  static void pause() {
#if defined(__x86_64__)
    __builtin_ia32_pause();
#endif
  }
  static void wait_a_little() {
    for (int i = 0; i < 64; ++i) pause();
    std::this_thread::yield();
  }

  // Destroys the items the folding thread has finished (executor's thread only).
  void reclaim() {
    const size_t done = done_.load(std::memory_order_acquire);
    for (; freed_ < done; ++freed_) {
      Item& it = ring_[freed_ % kCapacity];
      in_flight_ -= it.value.nbytes();
      it = Item{};
    }
  }

  void loop() {
    size_t next = 0;
    for (;;) {
      if (head_published_.load() == next) {
        // Values come every few microseconds during a forward pass: spin a while, then sleep.
        for (int spin = 0; spin < kSpins && head_published_.load(std::memory_order_acquire) == next; ++spin) pause();
        if (head_published_.load() == next) {
          std::unique_lock<std::mutex> lock(mu_);
          sleeping_.store(true);
          wake_.wait(lock, [&] { return stop_.load() || head_published_.load() != next; });
          sleeping_.store(false);
        }
        if (stop_.load()) return;
        continue;
      }
      const Item& it = ring_[next % kCapacity];
      if (!failed_.load(std::memory_order_relaxed)) {  // after an error the rest is skipped, as inline
        try {
          fold(*it.st, it.value, 1, it.name, it.sample, it.producer);
        } catch (...) {
          error_ = std::current_exception();
          failed_.store(true, std::memory_order_release);
        }
      }
      done_.store(++next, std::memory_order_release);
    }
  }

  std::vector<Item> ring_;
  // Executor's thread: next slot to write, slots destroyed, bytes written but not destroyed.
  size_t head_ = 0, freed_ = 0, in_flight_ = 0;
  std::atomic<size_t> head_published_{0};  // head_, for the folding thread
  std::atomic<size_t> done_{0};            // items the folding thread has finished
  std::atomic<bool> failed_{false};
  std::exception_ptr error_;  // written before failed_ is set
  std::atomic<bool> sleeping_{false}, stop_{false};
  std::mutex mu_;
  std::condition_variable wake_;
  std::thread worker_;  // last: starts after the members above exist
};

StatsCollector::StatsCollector(StatsOptions opts) : opts_(opts) {
  Histogram check(opts.bins);  // validates the bin count up front (Error(Usage))
  data_.bins = opts.bins;
}

StatsCollector::~StatsCollector() = default;

void StatsCollector::on_value(const std::string& name, const Tensor& value, const Node* producer) {
  data_.dtypes[name] = value.dtype();
  if (value.dtype() != DType::Float32 || !needs(name)) return;
  TensorStats& st = data_.tensors.try_emplace(name, opts_.bins).first->second;
  if (!pipeline_) {
    fold(st, value, opts_.threads, name, sample_, producer);
    values_ += static_cast<uint64_t>(value.numel());
    return;
  }
  if (pipeline_->failed()) pipeline_->drain();  // throws the error
  pipeline_->push(st, value, name, sample_, producer);
}

void StatsCollector::count_sample() {
  ++data_.samples;
  if (opts_.pipelined && !pipeline_ && data_.samples == 1 && values_ < kPipelineMaxValues)
    pipeline_ = std::make_unique<Pipeline>();
}

void StatsCollector::sync() {
  if (pipeline_) pipeline_->drain();
}

const CalibStats& StatsCollector::result() {
  sync();
  return data_;
}

CalibStats StatsCollector::take() {
  sync();
  return std::move(data_);
}

}  // namespace ptq
