// `quantize inspect MODEL`: what the model holds and what quantizing it would do (no calibration,
// nothing written). The same report is printed by `quantize MODEL --calib DIR --dry-run`.
#include <cstdio>
#include <memory>

#include "app/inspect.h"
#include "cli/commands.h"

namespace ptq::cli {

namespace {

struct InspectArgs {
  std::string model, calib, scheme = "per-tensor", activation_type = "uint8", weight_type = "int8";
  std::vector<std::string> exclude_nodes, exclude_op_types;
  int threads = 1;
  bool json = false;
};

}  // namespace

Runner add_inspect_command(CLI::App& app, const GlobalFlags& flags) {
  auto a = std::make_shared<InspectArgs>();
  CLI::App* cmd = app.add_subcommand("inspect", "show a model's inputs, outputs, ops, weights, provenance and quantization plan");
  cmd->fallthrough();
  cmd->add_option("model", a->model, "ONNX model (float or quantized)")->required()->check(CLI::ExistingFile);
  cmd->add_option("--calib", a->calib, "optional: take value dtypes from the first calibration sample");
  cmd->add_option("--scheme", a->scheme, "weight granularity")->check(CLI::IsMember({"per-tensor", "per-channel", "per-block"}));
  cmd->add_option("--activation-type", a->activation_type, "activation type")->check(CLI::IsMember({"uint8", "int8"}));
  cmd->add_option("--weight-type", a->weight_type, "weight type")->check(CLI::IsMember({"int8", "uint8"}));
  cmd->add_option("--exclude-nodes", a->exclude_nodes, "node names to keep in float");
  cmd->add_option("--exclude-op-types", a->exclude_op_types, "op types to keep in float");
  cmd->add_option("--threads", a->threads, "CPU threads")->check(CLI::Range(1, 256));
  cmd->add_flag("--json", a->json, "print one line of JSON instead of text");
  cmd->footer(
      "Examples:\n"
      "  quantize inspect model.onnx\n"
      "  quantize inspect model.int8.onnx --json        # provenance: metadata onnx_ptq.*\n"
      "  quantize inspect model.onnx --scheme per-channel --exclude-op-types Gemm --calib data/calib\n"
      "The plan needs value dtypes: from one forward pass on the first --calib sample, else on zero-filled\n"
      "inputs, else (no kernel, no input shape) from the declared types only (see README).");
  return [a, &flags]() -> int {
    InspectOptions o;
    o.model_path = a->model;
    o.calib_dir = a->calib;
    o.threads = a->threads;
    o.qopts.scheme = parse_weight_scheme(a->scheme);
    o.qopts.activation_type = parse_quant_type(a->activation_type);
    o.qopts.weight_type = parse_quant_type(a->weight_type);
    o.qopts.exclude_nodes.insert(a->exclude_nodes.begin(), a->exclude_nodes.end());
    o.qopts.exclude_op_types.insert(a->exclude_op_types.begin(), a->exclude_op_types.end());
    nlohmann::json j = inspect_model(o);
    if (a->json) std::printf("%s\n", j.dump().c_str());
    else if (!flags.quiet) std::fputs(inspect_to_text(j).c_str(), stdout);
    return 0;
  };
}

}  // namespace ptq::cli
