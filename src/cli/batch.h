// Several models in one call (positional models or --manifest): each model is quantized on its own,
// a failing model does not stop the others, and the exit code is the first failure's code.
#pragma once
#include <string>
#include <vector>

#include "app/gates.h"
#include "app/pipeline.h"
#include "cli/commands.h"

namespace ptq::cli {

struct BatchItem {
  std::string model;
  std::string calib;   // "" = the --calib option
  std::string output;  // "" = --output-dir/<stem>.int8.onnx, or beside the model
};

struct BatchSettings {
  QuantizeJob job;         // template: options shared by every model
  std::string output_dir;  // "" = beside each model (or -o for a single model)
  AccuracyGates gates;
  bool json = false;     // one-line JSON summary on stdout instead of the text summary
  bool dry_run = false;  // inspect what would be quantized; write nothing
};

// Manifest: one model per line, "MODEL CALIB_DIR [OUTPUT]" separated by blanks; "-" as CALIB_DIR
// means --calib; blank lines and lines starting with '#' are ignored. Relative paths are taken
// relative to the current directory. Throws Error(Usage) naming file and line.
std::vector<BatchItem> read_manifest(const std::string& path);

// The effective configuration for --print-config: TOML of the top-level options that `--config`
// reads back; options left at their default are written as comments.
std::string effective_config(const CLI::App& app);

// Runs every item; prints per-model errors on stderr and the summary on stdout. Returns the exit
// code of the first failing model (errors 1-4/6, gate failure 5), 0 when all succeeded.
int run_batch(const std::vector<BatchItem>& items, const BatchSettings& s, const GlobalFlags& flags);

}  // namespace ptq::cli
