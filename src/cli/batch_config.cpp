// `--print-config`: the effective configuration as a TOML file that `--config` reads back.
#include <sstream>

#include "cli/batch.h"

namespace ptq::cli {

std::string effective_config(const CLI::App& app) {
  // CLI11 writes one block per option: "# description" lines, then "key=value". Options of
  // subcommands ("run.", "inspect.") are dropped; options not set on the command line or in a
  // config file are kept as comments, so that their default stays visible but reading the file
  // back does not turn them into given options (a gate, a flag callback such as --no-eval).
  std::istringstream in(app.config_to_str(true, true));
  std::string out, line;
  while (std::getline(in, line)) {
    size_t eq = line.find('=');
    if (line.empty() || line[0] == '#' || eq == std::string::npos) {
      out += line + "\n";
      continue;
    }
    std::string key = line.substr(0, eq);
    if (key.find('.') != std::string::npos) {
      // drop the subcommand option and its description block
      while (!out.empty() && out.size() >= 2 && out[out.size() - 2] != '\n') {
        size_t start = out.rfind('\n', out.size() - 2);
        std::string last = out.substr(start == std::string::npos ? 0 : start + 1);
        if (last.empty() || last[0] != '#') break;
        out.erase(start == std::string::npos ? 0 : start + 1);
      }
      while (out.size() >= 2 && out[out.size() - 1] == '\n' && out[out.size() - 2] == '\n') out.pop_back();
      continue;
    }
    const CLI::Option* opt = app.get_option_no_throw("--" + key);
    if (!opt) opt = app.get_option_no_throw(key);
    if (!opt) opt = app.get_option_no_throw("-" + key);
    bool given = opt && opt->count() > 0;
    out += given ? line + "\n" : "# " + line + "\n";
  }
  return out;
}

}  // namespace ptq::cli
