// `quantize run MODEL --inputs DIR`: runs any model our executor supports (float or QDQ) and
// prints the median time per sample, so users can check our executor against their framework.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>

#include "cli/commands.h"
#include "cli/image_options.h"
#include "core/error.h"
#include "data/npy.h"
#include "data/sample_source.h"
#include "exec/executor.h"
#include "onnx_io/model_io.h"

namespace fs = std::filesystem;

namespace ptq::cli {

namespace {

struct RunArgs {
  std::string model, inputs, save_outputs;
  size_t max_samples = 0;
  int threads = 1;
  int repeat = 1;
  bool profile = false;
  ImageArgs image;
};

// --profile: time per op type and the slowest nodes, per sample run (stderr-free, on stdout).
void print_profile(const std::vector<NodeProfile>& prof, size_t runs, size_t peak_live) {
  double total = 0;
  std::map<std::string, std::pair<double, size_t>> by_op;
  for (const auto& p : prof) {
    total += p.seconds;
    auto& e = by_op[p.node->op_type];
    e.first += p.seconds;
    ++e.second;
  }
  if (runs == 0 || total <= 0) return;
  std::vector<std::pair<std::string, std::pair<double, size_t>>> ops(by_op.begin(), by_op.end());
  std::sort(ops.begin(), ops.end(), [](const auto& a, const auto& b) { return a.second.first > b.second.first; });
  std::printf("profile (ms per run, %zu runs, %zu nodes):\n  %-24s %6s %10s %6s\n", runs, prof.size(), "op", "nodes", "ms", "%");
  for (const auto& [op, e] : ops)
    std::printf("  %-24s %6zu %10.3f %5.1f%%\n", op.c_str(), e.second, 1e3 * e.first / runs, 100 * e.first / total);
  std::vector<const NodeProfile*> nodes;
  for (const auto& p : prof) nodes.push_back(&p);
  std::sort(nodes.begin(), nodes.end(), [](const auto* a, const auto* b) { return a->seconds > b->seconds; });
  std::printf("  slowest nodes:\n");
  for (size_t i = 0; i < nodes.size() && i < 10; ++i)
    std::printf("  %-40s %10.3f\n", nodes[i]->node->label().c_str(), 1e3 * nodes[i]->seconds / runs);
  std::printf("peak live activations: %.3f MiB\n", static_cast<double>(peak_live) / (1 << 20));
}

// File-system-safe version of a tensor or sample name.
std::string safe_name(std::string s) {
  for (char& c : s)
    if (c == '/' || c == ':' || c == '\\' || c == '[' || c == ']') c = '_';
  return s;
}

}  // namespace

Runner add_run_command(CLI::App& app, const GlobalFlags& flags) {
  auto a = std::make_shared<RunArgs>();
  CLI::App* cmd = app.add_subcommand("run", "run a model on input samples with the built-in executor");
  cmd->fallthrough();  // -q/-v may follow the subcommand
  cmd->add_option("model", a->model, "ONNX model (float or QDQ)")->required()->check(CLI::ExistingFile);
  cmd->add_option("--inputs", a->inputs, "input folder (same layouts as --calib)")->required();
  cmd->add_option("--save-outputs", a->save_outputs, "write outputs as DIR/<sample>/<output>.npy");
  cmd->add_option("--max-samples", a->max_samples, "use at most N samples")->check(CLI::PositiveNumber);
  cmd->add_option("--threads", a->threads, "CPU threads")->check(CLI::Range(1, 256));
  cmd->add_option("--repeat", a->repeat, "run each sample N times (timing)")->check(CLI::Range(1, 100000));
  cmd->add_flag("--profile", a->profile, "print the time per op type and the slowest nodes");
  add_image_options(*cmd, a->image);
  cmd->footer("Example:\n  quantize run model.onnx --inputs data/calib --save-outputs outs/ --threads 2 --repeat 10");
  return [a, &flags]() -> int {
    Model model = load_model(a->model);
    KernelRegistry reg = make_default_registry();
    Executor exec(model, reg, {a->threads, a->profile});
    SourceOptions so;
    so.max_samples = a->max_samples;
    so.image = to_image_options(a->image);
    auto src = SampleSource::open(a->inputs, exec.inputs(), so);
    if (!a->save_outputs.empty()) {
      std::error_code ec;
      fs::create_directories(a->save_outputs, ec);
      if (ec) fail(ErrorKind::Output, "cannot create output folder '{}': {}", a->save_outputs, ec.message());
    }
    std::vector<double> times;
    double one_pass = 0;  // loading + the first run of every sample (what a calibration pass does)
    for (size_t i = 0; i < src->size(); ++i) {
      auto tl = std::chrono::steady_clock::now();
      Sample s = src->load(i);
      one_pass += std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - tl).count();
      std::vector<Tensor> outs;
      for (int r = 0; r < a->repeat; ++r) {
        auto t0 = std::chrono::steady_clock::now();
        outs = exec.run(s.inputs);
        times.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
        if (r == 0) one_pass += times.back();
      }
      if (!a->save_outputs.empty()) {
        fs::path dir = fs::path(a->save_outputs) / safe_name(s.id);
        fs::create_directories(dir);
        for (size_t k = 0; k < outs.size(); ++k)
          write_npy((dir / (safe_name(exec.output_names()[k]) + ".npy")).string(), outs[k]);
      }
    }
    std::sort(times.begin(), times.end());
    double median = times.empty() ? 0 : times[times.size() / 2];
    if (!flags.quiet) {
      std::printf("%zu samples x %d runs, %d thread(s): median %.3f ms per sample\n", src->size(), a->repeat, a->threads, median);
      std::printf("one pass over the samples: %.3f ms (loading and first runs, kernel setup included)\n", one_pass);
    }
    if (a->profile) print_profile(exec.profile(), times.size(), exec.peak_live_bytes());
    return 0;
  };
}

}  // namespace ptq::cli
