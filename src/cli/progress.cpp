#include "cli/progress.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>

#include <fmt/format.h>

namespace ptq::cli {

bool interactive_stderr() {
  const char* ci = std::getenv("CI");
  if (ci && *ci && std::string(ci) != "0" && std::string(ci) != "false") return false;
  return ::isatty(STDERR_FILENO) != 0;
}

ConsoleObserver::ConsoleObserver(Verbosity v, bool tty) : verbosity_(v), tty_(tty) {}

ConsoleObserver::~ConsoleObserver() { finish_phase(); }

void ConsoleObserver::phase(const std::string& name, size_t total) {
  finish_phase();
  phase_ = name;
  total_ = total;
  done_ = 0;
  active_ = true;
  start_ = last_draw_ = std::chrono::steady_clock::now();
  if (verbosity_ != Verbosity::Quiet && !tty_) std::fprintf(stderr, "%s: %zu samples\n", name.c_str(), total);
}

void ConsoleObserver::step(size_t done) {
  done_ = done;
  if (verbosity_ == Verbosity::Quiet || !tty_) return;
  auto now = std::chrono::steady_clock::now();
  if (done < total_ && now - last_draw_ < std::chrono::milliseconds(100)) return;
  last_draw_ = now;
  draw(done, false);
}

void ConsoleObserver::draw(size_t done, bool final) {
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  double rate = secs > 0 ? static_cast<double>(done) / secs : 0;
  double eta = rate > 0 ? static_cast<double>(total_ - done) / rate : 0;
  const int width = 30;
  int filled = total_ ? static_cast<int>(width * done / total_) : width;
  std::string bar(static_cast<size_t>(filled), '#');
  bar += std::string(static_cast<size_t>(width - filled), '.');
  std::fprintf(stderr, "\r%-10s [%s] %zu/%zu  %.1f/s  %s", phase_.c_str(), bar.c_str(), done, total_, rate,
               final ? fmt::format("{:.1f}s   ", secs).c_str() : fmt::format("ETA {:.0f}s   ", eta).c_str());
  if (final) std::fputc('\n', stderr);
  std::fflush(stderr);
}

void ConsoleObserver::finish_phase() {
  if (!active_) return;
  active_ = false;
  if (verbosity_ == Verbosity::Quiet) return;
  if (tty_) {
    draw(done_, true);
  } else {
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    std::fprintf(stderr, "%s: done, %zu samples in %.2f s\n", phase_.c_str(), done_, secs);
  }
}

void ConsoleObserver::info(const std::string& msg) {
  if (verbosity_ == Verbosity::Quiet) return;
  finish_phase();
  std::fprintf(stderr, "%s\n", msg.c_str());
}

void ConsoleObserver::debug(const std::string& msg) {
  if (verbosity_ == Verbosity::Verbose) info(msg);
}

}  // namespace ptq::cli
