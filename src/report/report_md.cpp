#include <fmt/format.h>

#include "report/report_render.h"
#include "report/render_util.h"

namespace ptq {

namespace {

std::string md_cell(const std::string& s) {
  std::string r;
  for (char c : s) r += c == '|' ? std::string("\\|") : std::string(1, c);
  return r;
}

}  // namespace

std::string report_to_markdown(const nlohmann::json& j) {
  std::string s = "# Quantization report\n\n";
  const auto& m = j.at("model");
  s += fmt::format("- model: `{}` ({} B) -> `{}` ({} B)\n", md_cell(m.value("input", "")), m.value("input_bytes", 0),
                   md_cell(m.value("output", "")), m.value("output_bytes", 0));
  const auto& o = j.at("options");
  s += fmt::format("- options: {} weights {}, activations {}, calibration method {}\n", o.value("scheme", ""),
                   o.value("weight_type", ""), o.value("activation_type", ""), o.value("method", ""));
  s += fmt::format("- calibration: {} samples from `{}`; evaluation: {} samples from `{}`\n\n",
                   j["calibration"].value("samples", 0), md_cell(j["calibration"].value("dir", "")),
                   j["evaluation"].value("samples", 0), md_cell(j["evaluation"].value("dir", "")));
  s += "## Outputs\n\n| output | SQNR dB | cosine | max abs error | top-1 agreement | top-1 float | top-1 quantized |\n"
       "|---|---|---|---|---|---|---|\n";
  for (const auto& out : j.at("outputs"))
    s += fmt::format("| {} | {} | {} | {} | {} | {} | {} |\n", md_cell(out.value("name", "")), fmt_num(out, "sqnr_db", 2),
                     fmt_num(out, "cosine", 6), fmt_num(out, "max_abs_error", 4), fmt_pct(out, "top1_agreement"),
                     fmt_pct(out, "top1_float"), fmt_pct(out, "top1_quantized"));
  if (j.contains("method_selection")) {
    const auto& ms = j["method_selection"];
    s += fmt::format("\n## Calibration method selection\n\nchosen: **{}** ({})\n\n| method | lowest output SQNR dB | top-1 quantized | |\n"
                     "|---|---|---|---|\n",
                     ms.value("chosen", ""), ms.value("criterion", ""));
    for (const auto& c : ms.at("candidates")) {
      const auto& outs = c.at("outputs");
      std::string top1 = outs.empty() ? "-" : fmt_pct(outs[0], "top1_quantized");
      s += fmt::format("| {} | {} | {} | {} |\n", c.value("method", ""), fmt_num(c, "score_db", 2), top1,
                       c.value("method", "") == ms.value("chosen", "") ? "chosen" : "");
    }
  }
  s += "\n## Worst layers (accumulated SQNR vs the float model)\n\n| # | tensor | accumulated SQNR dB | local SQNR dB | clipped |\n"
       "|---|---|---|---|---|\n";
  int k = 0;
  for (const auto& w : j.value("worst_layers", nlohmann::json::array()))
    s += fmt::format("| {} | {} | {} | {} | {} |\n", ++k, md_cell(w.value("name", "")), fmt_num(w, "accumulated_sqnr_db", 2),
                     fmt_num(w, "local_sqnr_db", 2), fmt_pct(w, "clip_rate", 3));
  const auto sens = j.value("sensitivity", nlohmann::json::array());
  if (!sens.empty()) {
    s += "\n## Sensitivity (one layer quantized at a time)\n\n| # | node | op | output SQNR dB |\n|---|---|---|---|\n";
    k = 0;
    for (const auto& e : sens)
      s += fmt::format("| {} | {} | {} | {} |\n", ++k, md_cell(e.value("node", "")), e.value("op_type", ""), fmt_num(e, "sqnr_db", 2));
  }
  if (j.contains("target")) {
    const auto& t = j["target"];
    s += fmt::format("\n## Accuracy target: {}\n\ntarget SQNR {} dB, max top-1 drop {}\n\n| step | kept in float | SQNR dB | top-1 drop |\n|---|---|---|---|\n",
                     t.value("met", false) ? "met" : "**not met**", fmt_num(t, "sqnr_db", 2), fmt_pct(t, "max_top1_drop"));
    k = 0;
    for (const auto& st : t.at("steps")) {
      std::string nodes;
      for (const auto& n : st.at("float_nodes")) nodes += (nodes.empty() ? "" : ", ") + n.get<std::string>();
      s += fmt::format("| {} | {} | {} | {} |\n", k++, md_cell(nodes.empty() ? "-" : nodes), fmt_num(st, "sqnr_db", 2), fmt_pct(st, "top1_drop"));
    }
  }
  s += "\n## Quantized tensors\n\n| tensor | kind | type | range | scale | zero point | clipped | local SQNR dB | accumulated SQNR dB |\n"
       "|---|---|---|---|---|---|---|---|---|\n";
  for (const auto& t : j.at("quantized_tensors"))
    s += fmt::format("| {} | {} | {} | {} | {} | {} | {} | {} | {} |\n", md_cell(t.value("name", "")), t.value("kind", ""),
                     t.value("type", ""), fmt_range(t["range"]), fmt_short(t["scales"]), fmt_short(t["zero_points"]),
                     fmt_pct(t, "clip_rate", 3), fmt_num(t, "local_sqnr_db", 2), fmt_num(t, "accumulated_sqnr_db", 2));
  s += "\n## Left in float\n\n";
  const auto& fl = j.at("left_in_float");
  if (fl.empty()) s += "none\n";
  for (const auto& f : fl)
    s += fmt::format("- `{}` ({}): {}\n", f.value("node", ""), f.value("op_type", ""), f.value("reason", ""));
  return s;
}

}  // namespace ptq
