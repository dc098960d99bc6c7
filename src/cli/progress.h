// Terminal feedback: a progress bar (samples done, rate, ETA) when stderr is a terminal, plain log
// lines otherwise, nothing with --quiet.
#pragma once
#include <chrono>
#include <string>

#include "app/pipeline.h"

namespace ptq::cli {

enum class Verbosity { Quiet, Normal, Verbose };

class ConsoleObserver : public JobObserver {
 public:
  ConsoleObserver(Verbosity v, bool tty);
  ~ConsoleObserver() override;
  void phase(const std::string& name, size_t total) override;
  void step(size_t done) override;
  void info(const std::string& msg) override;
  void debug(const std::string& msg) override;  // -v only
  void finish_phase();

 private:
  void draw(size_t done, bool final);
  Verbosity verbosity_;
  bool tty_;
  std::string phase_;
  size_t total_ = 0, done_ = 0;
  bool active_ = false;
  std::chrono::steady_clock::time_point start_, last_draw_;
};

// True when stderr is a terminal and the environment is not a CI runner.
bool interactive_stderr();

}  // namespace ptq::cli
