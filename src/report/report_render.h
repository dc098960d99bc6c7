// Human-readable renderings of the report JSON (report_to_json): Markdown and a self-contained
// HTML page (no network: inline CSS and inline SVG charts drawn here, no scripts needed).
#pragma once
#include <string>

#include <nlohmann/json.hpp>

namespace ptq {

std::string report_to_markdown(const nlohmann::json& report);
// Charts: <svg id="sqnr-chart"> with one <rect class="bar"> per quantized activation (accumulated
// SQNR), and one <svg class="histogram"> per worst layer (values with the chosen range drawn).
std::string report_to_html(const nlohmann::json& report);

// Writes PATH.json's siblings PATH.md and PATH.html (PATH with its .json extension replaced).
void write_report_files(const std::string& json_path, const nlohmann::json& report);

}  // namespace ptq
