// Subcommands of the `quantize` CLI. Each registers its options on a CLI11 app and returns a
// runner that is called after parsing; runners throw ptq::Error and never exit().
#pragma once
#include <functional>

#include <CLI/CLI.hpp>

#include "cli/progress.h"

namespace ptq::cli {

struct GlobalFlags {
  bool verbose = false;
  bool quiet = false;
  Verbosity verbosity() const { return quiet ? Verbosity::Quiet : verbose ? Verbosity::Verbose : Verbosity::Normal; }
};

using Runner = std::function<int()>;

// `quantize MODEL --calib DIR ...` (options on the top-level app).
Runner add_quantize_options(CLI::App& app, const GlobalFlags& flags);
// `quantize run MODEL --inputs DIR ...`
Runner add_run_command(CLI::App& app, const GlobalFlags& flags);
// `quantize inspect MODEL [--json]`
Runner add_inspect_command(CLI::App& app, const GlobalFlags& flags);

}  // namespace ptq::cli
