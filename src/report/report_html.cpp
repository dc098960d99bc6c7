#include <algorithm>
#include <cmath>
#include <filesystem>
#include <set>

#include <fmt/format.h>

#include "core/atomic_file.h"
#include "report/render_util.h"
#include "report/report_render.h"

namespace ptq {

namespace {

std::string esc(const std::string& s) {
  std::string r;
  for (char c : s) {
    switch (c) {
      case '<': r += "&lt;"; break;
      case '>': r += "&gt;"; break;
      case '&': r += "&amp;"; break;
      case '"': r += "&quot;"; break;
      default: r += c;
    }
  }
  return r;
}

constexpr int kChartWidth = 760, kLabelWidth = 260, kRowHeight = 18;

// Horizontal bars, one per quantized activation in graph order: accumulated SQNR in dB.
std::string sqnr_chart(const nlohmann::json& tensors, const std::set<std::string>& worst) {
  std::vector<std::pair<std::string, double>> rows;
  double vmax = 1;
  for (const auto& t : tensors) {
    if (!t.contains("accumulated_sqnr_db")) continue;
    double v = json_double(t["accumulated_sqnr_db"]);
    rows.emplace_back(t.value("name", ""), v);
    if (std::isfinite(v)) vmax = std::max(vmax, v);
  }
  int h = static_cast<int>(rows.size()) * kRowHeight + 24;
  int bw = kChartWidth - kLabelWidth - 70;
  std::string s = fmt::format("<svg id=\"sqnr-chart\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{}\" role=\"img\">\n",
                              kChartWidth, h);
  for (size_t i = 0; i < rows.size(); ++i) {
    const auto& [name, v] = rows[i];
    double clamped = std::isnan(v) ? 0 : std::clamp(v, 0.0, vmax);
    int y = static_cast<int>(i) * kRowHeight + 4;
    int w = std::max(1, static_cast<int>(std::lround(clamped / vmax * bw)));
    s += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"end\" class=\"label\">{}</text>", kLabelWidth - 6, y + 12, esc(name));
    s += fmt::format("<rect class=\"bar{}\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\"><title>{}: {:.2f} dB</title></rect>",
                     worst.count(name) ? " worst" : "", kLabelWidth, y, w, kRowHeight - 4, esc(name), v);
    s += fmt::format("<text x=\"{}\" y=\"{}\" class=\"value\">{:.1f} dB</text>\n", kLabelWidth + w + 4, y + 12, v);
  }
  s += fmt::format("<text x=\"{}\" y=\"{}\" class=\"axis\">accumulated SQNR (dB, longer is better; red: worst {})</text>\n",
                   kLabelWidth, h - 4, worst.size());
  return s + "</svg>\n";
}

// Histogram of one tensor's evaluation values (log-scaled counts), with the calibration range
// (blue) and the representable range (dashed) drawn.
std::string histogram_svg(const nlohmann::json& t) {
  const auto& h = t.at("histogram");
  const auto& counts = h.at("counts");
  double lo = json_double(h["lo"]), hi = json_double(h["hi"]);
  constexpr int W = 360, H = 150, pad = 20;
  double cmax = 1;
  for (const auto& c : counts) cmax = std::max(cmax, std::log1p(c.get<double>()));
  double bw = static_cast<double>(W - 2 * pad) / static_cast<double>(std::max<size_t>(1, counts.size()));
  std::string s = fmt::format("<svg class=\"histogram\" data-tensor=\"{}\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{}\">\n",
                              esc(t.value("name", "")), W, H + 30);
  for (size_t i = 0; i < counts.size(); ++i) {
    double c = std::log1p(counts[i].get<double>());
    double bh = c / cmax * (H - 10);
    s += fmt::format("<rect class=\"hbar\" x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.1f}\"><title>{}</title></rect>", pad + i * bw,
                     H - bh, std::max(0.5, bw - 0.5), bh, counts[i].get<int64_t>());
  }
  auto xof = [&](double v) { return pad + (v - lo) / (hi - lo) * (W - 2 * pad); };
  auto vline = [&](double v, const char* cls) {
    if (!std::isfinite(v) || hi <= lo) return std::string();
    return fmt::format("<line class=\"{}\" x1=\"{:.1f}\" x2=\"{:.1f}\" y1=\"0\" y2=\"{}\"/>", cls, xof(v), xof(v), H);
  };
  const auto& r = t.at("range");
  s += vline(json_double(r[0]), "range") + vline(json_double(r[1]), "range");
  if (t.contains("representable")) s += vline(json_double(t["representable"][0]), "repr") + vline(json_double(t["representable"][1]), "repr");
  s += fmt::format("\n<text x=\"{}\" y=\"{}\" class=\"axis\">{:.4g}</text><text x=\"{}\" y=\"{}\" text-anchor=\"end\" class=\"axis\">{:.4g}</text>",
                   pad, H + 14, lo, W - pad, H + 14, hi);
  s += fmt::format("<text x=\"{}\" y=\"{}\" class=\"axis\">below: {}, above: {}, clipped {}</text>\n", pad, H + 28,
                   h.value("underflow", 0), h.value("overflow", 0), fmt_pct(t, "clip_rate", 3));
  return s + "</svg>\n";
}

std::string table(const std::vector<std::string>& head, const std::vector<std::vector<std::string>>& rows) {
  std::string s = "<table><tr>";
  for (const auto& h : head) s += "<th>" + esc(h) + "</th>";
  s += "</tr>\n";
  for (const auto& r : rows) {
    s += "<tr>";
    for (const auto& c : r) s += "<td>" + esc(c) + "</td>";
    s += "</tr>\n";
  }
  return s + "</table>\n";
}

const char* kStyle =
    "body{font-family:sans-serif;margin:2em;color:#222}table{border-collapse:collapse;margin:1em 0}"
    "td,th{border:1px solid #ccc;padding:3px 8px;font-size:13px;text-align:left}th{background:#f0f0f0}"
    ".bar{fill:#4a7fc1}.bar.worst{fill:#d0453a}.label,.value,.axis{font-size:11px;font-family:monospace}"
    ".hbar{fill:#7a9cc6}.range{stroke:#1b4fa0;stroke-width:2}.repr{stroke:#c0392b;stroke-width:1;stroke-dasharray:4 3}"
    ".hist{display:inline-block;margin:0 1em 1em 0;vertical-align:top}";

}  // namespace

std::string report_to_html(const nlohmann::json& j) {
  const auto& m = j.at("model");
  std::string s = "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Quantization report</title><style>";
  s += kStyle;
  s += "</style></head><body>\n<h1>Quantization report</h1>\n";
  s += fmt::format("<p>{} ({} B) &rarr; {} ({} B); {} calibration samples, {} evaluation samples</p>\n", esc(m.value("input", "")),
                   m.value("input_bytes", 0), esc(m.value("output", "")), m.value("output_bytes", 0),
                   j["calibration"].value("samples", 0), j["evaluation"].value("samples", 0));
  std::vector<std::vector<std::string>> rows;
  for (const auto& o : j.at("outputs"))
    rows.push_back({o.value("name", ""), fmt_num(o, "sqnr_db", 2), fmt_num(o, "cosine", 6), fmt_num(o, "max_abs_error", 4),
                    fmt_pct(o, "top1_agreement"), fmt_pct(o, "top1_float"), fmt_pct(o, "top1_quantized")});
  s += "<h2>Outputs</h2>\n" + table({"output", "SQNR dB", "cosine", "max abs error", "top-1 agreement", "top-1 float", "top-1 quantized"}, rows);

  if (j.contains("method_selection")) {
    const auto& ms = j["method_selection"];
    rows.clear();
    for (const auto& c : ms.at("candidates")) {
      const auto& outs = c.at("outputs");
      rows.push_back({c.value("method", ""), fmt_num(c, "score_db", 2), outs.empty() ? "-" : fmt_pct(outs[0], "top1_quantized"),
                      c.value("method", "") == ms.value("chosen", "") ? "chosen" : ""});
    }
    s += "<h2>Calibration method selection</h2>\n<p>" + esc(ms.value("criterion", "")) + "</p>\n" +
         table({"method", "lowest output SQNR dB", "top-1 quantized", ""}, rows);
  }
  const auto worst = j.value("worst_layers", nlohmann::json::array());
  std::set<std::string> worst_names;
  rows.clear();
  for (const auto& w : worst) {
    worst_names.insert(w.value("name", ""));
    rows.push_back({w.value("name", ""), fmt_num(w, "accumulated_sqnr_db", 2), fmt_num(w, "local_sqnr_db", 2), fmt_pct(w, "clip_rate", 3)});
  }
  s += "<h2>Worst layers</h2>\n" + table({"tensor", "accumulated SQNR dB", "local SQNR dB", "clipped"}, rows);
  s += "<h2>Accumulated SQNR per layer</h2>\n" + sqnr_chart(j.at("quantized_tensors"), worst_names);
  s += "<h2>Value histograms of the worst layers</h2>\n<p>log-scaled counts of the evaluation values; solid blue: calibration "
       "range, dashed red: representable range</p>\n";
  for (const auto& w : worst)
    for (const auto& t : j.at("quantized_tensors"))
      if (t.value("name", "") == w.value("name", "") && t.contains("histogram"))
        s += "<div class=\"hist\"><div>" + esc(t.value("name", "")) + "</div>\n" + histogram_svg(t) + "</div>\n";

  const auto sens = j.value("sensitivity", nlohmann::json::array());
  if (!sens.empty()) {
    rows.clear();
    for (const auto& e : sens) rows.push_back({e.value("node", ""), e.value("op_type", ""), fmt_num(e, "sqnr_db", 2)});
    s += "<h2>Sensitivity (one layer quantized at a time)</h2>\n" + table({"node", "op", "output SQNR dB"}, rows);
  }
  if (j.contains("target")) {
    const auto& t = j["target"];
    rows.clear();
    for (const auto& st : t.at("steps")) {
      std::string nodes;
      for (const auto& n : st.at("float_nodes")) nodes += (nodes.empty() ? "" : ", ") + n.get<std::string>();
      rows.push_back({nodes.empty() ? "-" : nodes, fmt_num(st, "sqnr_db", 2), fmt_pct(st, "top1_drop")});
    }
    s += fmt::format("<h2>Accuracy target: {}</h2>\n", t.value("met", false) ? "met" : "NOT met") +
         table({"kept in float", "SQNR dB", "top-1 drop"}, rows);
  }
  rows.clear();
  for (const auto& t : j.at("quantized_tensors"))
    rows.push_back({t.value("name", ""), t.value("kind", ""), t.value("type", ""), fmt_range(t["range"]), fmt_short(t["scales"]),
                    fmt_short(t["zero_points"]), fmt_pct(t, "clip_rate", 3), fmt_num(t, "local_sqnr_db", 2),
                    fmt_num(t, "accumulated_sqnr_db", 2)});
  s += "<h2>Quantized tensors</h2>\n" +
       table({"tensor", "kind", "type", "range", "scale", "zero point", "clipped", "local SQNR dB", "accumulated SQNR dB"}, rows);
  rows.clear();
  for (const auto& f : j.at("left_in_float")) rows.push_back({f.value("node", ""), f.value("op_type", ""), f.value("reason", "")});
  s += "<h2>Left in float</h2>\n" + table({"node", "op", "reason"}, rows);
  return s + "</body></html>\n";
}

void write_report_files(const std::string& json_path, const nlohmann::json& report) {
  std::filesystem::path p(json_path);
  std::filesystem::path base = p.extension() == ".json" ? p.parent_path() / p.stem() : p;
  write_file_atomic(base.string() + ".md", report_to_markdown(report));
  write_file_atomic(base.string() + ".html", report_to_html(report));
}

}  // namespace ptq
