// `quantize`: the thin command-line layer. Parses options, calls the library, maps errors to the
// documented exit codes (README "Exit codes").
#include <cstdio>
#include <exception>
#include <new>

#include "cli/batch.h"
#include "cli/commands.h"
#include "core/error.h"

int main(int argc, char** argv) {
  CLI::App app{"onnx-ptq: post-training quantization of ONNX models (QDQ INT8/INT4)", "quantize"};
  app.set_version_flag("--version", std::string("onnx-ptq ") + PTQ_VERSION);
  ptq::cli::GlobalFlags flags;
  app.add_flag("-v,--verbose", flags.verbose, "more log output");
  app.add_flag("-q,--quiet", flags.quiet, "only errors");
  app.require_subcommand(0, 1);
  app.option_defaults()->always_capture_default();  // --help and --print-config show defaults
  app.set_config("--config", "", "read options from a TOML/INI file (command-line options override it)");
  bool print_config = false;
  app.add_flag("--print-config", print_config, "print the effective configuration (TOML) and exit")->configurable(false);
  app.footer(
      "Examples:\n"
      "  quantize model.onnx --calib data/calib --scheme per-channel\n"
      "  quantize model.onnx --calib data/calib -o out.onnx --report out.json --eval data/eval\n"
      "  quantize model.onnx --calib data/calib --json --min-sqnr 30 --max-top1-drop 1 --labels labels.npy\n"
      "  quantize a.onnx b.onnx --calib data/calib --output-dir out/ --json    # batch\n"
      "  quantize --manifest models.txt --output-dir out/                        # lines: MODEL CALIB [OUT]\n"
      "  quantize model.onnx --calib data/calib --dry-run                        # plan only, writes nothing\n"
      "  quantize model.onnx --calib data/calib --scheme per-channel --print-config > quantize.toml\n"
      "  quantize --config quantize.toml --force                                 # command line overrides the file\n"
      "  quantize inspect model.int8.onnx --json\n"
      "  quantize run model.int8.onnx --inputs data/calib --save-outputs outs/\n"
      "Exit codes: 0 ok, 1 internal error, 2 usage, 3 bad input (model or data), 4 unsupported op/type,\n"
      "            5 accuracy gate failed (model and report are written), 6 output cannot be written.\n"
      "            With several models: the first failing model's code; the others still run.");
  auto run_quantize = ptq::cli::add_quantize_options(app, flags);
  auto run_run = ptq::cli::add_run_command(app, flags);
  auto run_inspect = ptq::cli::add_inspect_command(app, flags);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "error: %s\nRun with --help for usage.\n", e.what());
    return 2;
  }
  try {
    if (print_config) {
      std::fputs(ptq::cli::effective_config(app).c_str(), stdout);
      return 0;
    }
    if (app.got_subcommand("run")) return run_run();
    if (app.got_subcommand("inspect")) return run_inspect();
    return run_quantize();
  } catch (const ptq::Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return static_cast<int>(e.kind());
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "error: out of memory\n");
    return 3;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "internal error: %s\n", e.what());
    return 1;
  }
}
