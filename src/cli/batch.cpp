#include "cli/batch.h"

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <new>
#include <sstream>

#include <nlohmann/json.hpp>

#include "app/inspect.h"
#include "core/error.h"
#include "report/report.h"

namespace fs = std::filesystem;

namespace ptq::cli {

namespace {

using Json = nlohmann::json;

QuantizeJob job_for(const BatchItem& it, const BatchSettings& s) {
  QuantizeJob job = s.job;
  job.model_path = it.model;
  if (!it.calib.empty()) job.calib_dir = it.calib;
  if (!it.output.empty()) {
    job.output_path = it.output;
  } else if (!s.output_dir.empty()) {
    job.output_path = default_output_path((fs::path(s.output_dir) / fs::path(it.model).filename()).string(), job.qopts);
  }
  if (job.calib_dir.empty()) fail(ErrorKind::Usage, "no calibration folder for '{}' (--calib DIR or a manifest column)", it.model);
  return job;
}

Json gates_json(const std::vector<GateResult>& gates) {
  Json a = Json::array();
  for (const auto& g : gates)
    a.push_back({{"gate", g.gate}, {"output", g.output}, {"value", json_number(g.value)},
                 {"limit", g.limit}, {"passed", g.passed}});
  return a;
}

// Quantizes one model; fills `entry` and returns its exit code.
int run_one(const BatchItem& it, const BatchSettings& s, const GlobalFlags& flags, bool batch, Json& entry) {
  auto t0 = std::chrono::steady_clock::now();
  entry["model"] = it.model;
  QuantizeJob job = job_for(it, s);
  if (s.dry_run) {
    InspectOptions io;
    io.model_path = job.model_path;
    io.calib_dir = job.calib_dir;
    io.qopts = job.qopts;
    io.threads = job.threads;
    Json info = inspect_model(io);
    if (!s.json) std::fputs(inspect_to_text(info).c_str(), stdout);
    entry["status"] = "ok";
    entry["exit_code"] = 0;
    entry["dry_run"] = true;
    entry["inspect"] = std::move(info);
    return 0;
  }
  std::string out = job.output_path.empty() ? default_output_path(job.model_path, job.qopts) : job.output_path;
  std::string report_path = job.report_path.empty() ? default_report_path(out) : job.report_path;
  ConsoleObserver obs(flags.verbosity(), interactive_stderr());
  Report r = run_quantize_job(job, &obs);
  obs.finish_phase();
  double total = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::vector<GateResult> gates = check_gates(r, s.gates);
  bool passed = all_passed(gates);
  int code = passed ? 0 : kGateExitCode;
  entry["status"] = passed ? "ok" : "gate_failed";
  entry["exit_code"] = code;
  entry["output"] = r.output_path;
  entry["report"] = report_path;
  entry["input_bytes"] = r.model_bytes;
  entry["output_bytes"] = r.output_bytes;
  entry["calibration_samples"] = r.calib_samples;
  entry["evaluation_samples"] = r.eval_samples;
  entry["seconds"] = {{"calibrate", r.calib_seconds}, {"total", total}};
  Json rj = report_to_json(r);
  entry["outputs"] = rj["outputs"];
  if (rj.contains("method_selection")) entry["method_selection"] = rj["method_selection"];
  entry["gates"] = gates_json(gates);
  if (!s.json && !flags.quiet) {
    if (batch) std::printf("== %s -> %s\n", it.model.c_str(), r.output_path.c_str());
    std::fputs(report_to_text(r).c_str(), stdout);
  }
  for (const auto& g : gates)
    if (!g.passed) std::fprintf(stderr, "error: %s%saccuracy gate failed: %s\n", batch ? it.model.c_str() : "", batch ? ": " : "", gate_to_text(g).c_str());
  return code;
}

}  // namespace

std::vector<BatchItem> read_manifest(const std::string& path) {
  std::ifstream in(path);
  if (!in) fail(ErrorKind::Usage, "cannot read manifest '{}'", path);
  std::vector<BatchItem> items;
  std::string line;
  for (int n = 1; std::getline(in, line); ++n) {
    std::istringstream ls(line);
    std::vector<std::string> f;
    for (std::string w; ls >> w;) f.push_back(w);
    if (f.empty() || f[0][0] == '#') continue;
    if (f.size() < 2 || f.size() > 3)
      fail(ErrorKind::Usage, "{}:{}: expected 'MODEL CALIB_DIR [OUTPUT]', got {} field(s)", path, n, f.size());
    items.push_back({f[0], f[1] == "-" ? "" : f[1], f.size() == 3 ? f[2] : ""});
  }
  if (items.empty()) fail(ErrorKind::Usage, "manifest '{}' lists no models", path);
  return items;
}

int run_batch(const std::vector<BatchItem>& items, const BatchSettings& s, const GlobalFlags& flags) {
  bool batch = items.size() > 1;
  int first_failure = 0;
  Json models = Json::array();
  for (const auto& it : items) {
    Json entry;
    int code = 0;
    std::string prefix = batch ? it.model + ": " : "";
    try {
      code = run_one(it, s, flags, batch, entry);
    } catch (const Error& e) {
      code = static_cast<int>(e.kind());
      std::fprintf(stderr, "error: %s%s\n", prefix.c_str(), e.what());
      entry["error"] = e.what();
    } catch (const std::bad_alloc&) {
      code = 3;
      std::fprintf(stderr, "error: %sout of memory\n", prefix.c_str());
      entry["error"] = "out of memory";
    } catch (const std::exception& e) {
      code = 1;
      std::fprintf(stderr, "internal error: %s%s\n", prefix.c_str(), e.what());
      entry["error"] = std::string("internal error: ") + e.what();
    }
    if (code != 0 && !entry.contains("status")) {
      entry["status"] = "failed";
      entry["exit_code"] = code;
    }
    if (code != 0 && first_failure == 0) first_failure = code;
    models.push_back(std::move(entry));
  }
  if (s.json) {
    Json j;
    j["schema_version"] = 1;
    j["tool"] = std::string("onnx-ptq ") + PTQ_VERSION;
    j["status"] = first_failure == 0 ? "ok" : "failed";
    j["exit_code"] = first_failure;
    j["models"] = std::move(models);
    std::printf("%s\n", j.dump().c_str());
  } else if (batch && !flags.quiet) {
    for (const auto& m : models)
      std::printf("%s: %s\n", m["model"].get<std::string>().c_str(), m["status"].get<std::string>().c_str());
  }
  std::fflush(stdout);
  return first_failure;
}

}  // namespace ptq::cli
