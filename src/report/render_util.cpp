#include "report/render_util.h"

#include <cmath>
#include <limits>

#include <fmt/format.h>

namespace ptq {

double json_double(const nlohmann::json& v) {
  if (v.is_number()) return v.get<double>();
  if (v.is_string()) {
    const std::string s = v.get<std::string>();
    if (s == "inf") return std::numeric_limits<double>::infinity();
    if (s == "-inf") return -std::numeric_limits<double>::infinity();
  }
  return std::numeric_limits<double>::quiet_NaN();
}

std::string fmt_num(const nlohmann::json& obj, const std::string& key, int digits) {
  if (!obj.contains(key) || obj[key].is_null()) return "-";
  const auto& v = obj[key];
  if (v.is_string()) return v.get<std::string>();
  if (!v.is_number()) return "-";
  if (v.is_number_integer()) return std::to_string(v.get<int64_t>());
  double d = v.get<double>();
  if (digits == 4) return fmt::format("{:.4g}", d);
  return fmt::format("{:.{}f}", d, digits);
}

std::string fmt_pct(const nlohmann::json& obj, const std::string& key, int digits) {
  if (!obj.contains(key) || !obj[key].is_number()) return "-";
  return fmt::format("{:.{}f}%", 100 * obj[key].get<double>(), digits);
}

std::string fmt_range(const nlohmann::json& r) {
  if (!r.is_array() || r.size() != 2) return "-";
  auto one = [](const nlohmann::json& v) { return v.is_number() ? fmt::format("{:.4g}", v.get<double>()) : v.dump(); };
  return "[" + one(r[0]) + ", " + one(r[1]) + "]";
}

std::string fmt_short(const nlohmann::json& v) {
  if (v.is_number_float()) return fmt::format("{:.4g}", v.get<double>());
  if (v.is_number()) return v.dump();
  if (v.is_array() && !v.empty()) {
    std::string first = v[0].is_number_float() ? fmt::format("{:.4g}", v[0].get<double>()) : v[0].dump();
    return fmt::format("{} ... ({} values)", first, v.size());
  }
  return "-";
}

}  // namespace ptq
