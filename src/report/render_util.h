// Number formatting shared by the Markdown and HTML renderers (JSON values may be numbers or the
// strings "inf"/"-inf"/"nan"; missing keys render as "-").
#pragma once
#include <string>

#include <nlohmann/json.hpp>

namespace ptq {

// Numeric value of a report number (strings "inf", "-inf", "nan" included); nan when absent.
double json_double(const nlohmann::json& v);
std::string fmt_num(const nlohmann::json& obj, const std::string& key, int digits);
std::string fmt_pct(const nlohmann::json& obj, const std::string& key, int digits = 2);
std::string fmt_range(const nlohmann::json& range);
std::string fmt_short(const nlohmann::json& v);  // a scalar, or "first ... (n values)"

}  // namespace ptq
