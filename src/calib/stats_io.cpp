#include "calib/stats_io.h"

#include <cmath>
#include <set>

#include <nlohmann/json.hpp>

#include "core/atomic_file.h"
#include "core/error.h"

namespace ptq {

namespace {

using nlohmann::json;

constexpr const char* kFormat = "onnx-ptq-calib-stats";

json hist_json(const Histogram& h) {
  const auto& c = h.counts();
  size_t first = 0, end = c.size();
  while (first < end && c[first] == 0) ++first;
  while (end > first && c[end - 1] == 0) --end;
  if (first == end) first = end = 0;
  return json{{"exp", h.exp()},
              {"offset", h.offset()},
              {"width", h.width()},
              {"first", first},
              {"counts", std::vector<uint64_t>(c.begin() + static_cast<std::ptrdiff_t>(first), c.begin() + static_cast<std::ptrdiff_t>(end))}};
}

DType parse_dtype_name(const std::string& s, const std::string& what) {
  for (int32_t code = 0; code <= 32; ++code) {
    DType t = dtype_from_onnx(code);
    if ((t != DType::Undefined || code == 0) && dtype_name(t) == s) return t;
  }
  bad_input("{}: unknown dtype '{}'", what, s);
}

const json& field(const json& j, const char* key, const std::string& what) {
  auto it = j.find(key);
  if (it == j.end()) bad_input("{}: missing \"{}\"", what, key);
  return *it;
}

uint64_t get_u64(const json& j, const char* key, const std::string& what) {
  const json& v = field(j, key, what);
  if (!v.is_number_unsigned()) bad_input("{}: \"{}\" must be a non-negative integer", what, key);
  return v.get<uint64_t>();
}

int64_t get_i64(const json& j, const char* key, const std::string& what) {
  const json& v = field(j, key, what);
  if (!v.is_number_integer()) bad_input("{}: \"{}\" must be an integer", what, key);
  return v.get<int64_t>();
}

double get_number(const json& j, const char* key, const std::string& what) {
  const json& v = field(j, key, what);
  if (!v.is_number()) bad_input("{}: \"{}\" must be a number", what, key);
  return v.get<double>();
}

Histogram parse_hist(const json& j, int bins, double lo, double hi, const std::string& what) {
  if (!j.is_object()) bad_input("{}: must be an object", what);
  const int64_t exp = get_i64(j, "exp", what);
  const int64_t offset = get_i64(j, "offset", what);
  const uint64_t first = get_u64(j, "first", what);
  const json& cj = field(j, "counts", what);
  if (!cj.is_array()) bad_input("{}: \"counts\" must be an array", what);
  if (first + cj.size() > static_cast<uint64_t>(bins)) bad_input("{}: {} counts from bin {} exceed {} bins", what, cj.size(), first, bins);
  std::vector<uint64_t> counts(static_cast<size_t>(bins), 0);
  for (size_t i = 0; i < cj.size(); ++i) {
    if (!cj[i].is_number_unsigned()) bad_input("{}: counts[{}] must be a non-negative integer", what, i);
    counts[static_cast<size_t>(first) + i] = cj[i].get<uint64_t>();
  }
  if (exp < Histogram::kMinExp || exp > 1024) bad_input("{}: bad exp {}", what, exp);
  return Histogram::from_parts(bins, lo, hi, static_cast<int>(exp), offset, std::move(counts), what);
}

TensorStats parse_tensor_stats(const json& t, int bins, const std::string& what) {
  TensorStats st(bins);
  st.count = get_u64(t, "count", what);
  if (st.count == 0) return st;
  st.min = get_number(t, "min", what);
  st.max = get_number(t, "max", what);
  if (!(st.min <= st.max)) bad_input("{}: min {} > max {}", what, st.min, st.max);
  st.hist = parse_hist(field(t, "hist", what), bins, st.min, st.max, what + " hist");
  st.abs_hist = parse_hist(field(t, "abs_hist", what), bins, 0.0, std::max(std::fabs(st.min), std::fabs(st.max)), what + " abs_hist");
  if (st.hist.total() != st.count || st.abs_hist.total() != st.count)
    bad_input("{}: histogram totals ({}, {}) differ from count {}", what, st.hist.total(), st.abs_hist.total(), st.count);
  return st;
}

}  // namespace

std::string stats_to_json(const CalibStats& stats) {
  std::set<std::string> names;
  for (const auto& kv : stats.tensors) names.insert(kv.first);
  for (const auto& kv : stats.dtypes) names.insert(kv.first);
  std::string out = fmt::format("{{\"format\": \"{}\", \"version\": {}, \"bins\": {}, \"samples\": {},\n \"tensors\": [", kFormat,
                                kStatsFormatVersion, stats.bins, stats.samples);
  bool first = true;
  for (const std::string& name : names) {
    json t{{"name", name}};
    auto dt = stats.dtypes.find(name);
    if (dt != stats.dtypes.end()) t["dtype"] = dtype_name(dt->second);
    auto st = stats.tensors.find(name);
    if (st != stats.tensors.end()) {
      const TensorStats& s = st->second;
      t["count"] = s.count;
      if (!s.empty()) {
        t["min"] = s.min;
        t["max"] = s.max;
        t["hist"] = hist_json(s.hist);
        t["abs_hist"] = hist_json(s.abs_hist);
      }
    }
    out += first ? "\n  " : ",\n  ";
    out += t.dump();
    first = false;
  }
  out += "\n ]}\n";
  return out;
}

void save_stats(const std::string& path, const CalibStats& stats) { write_file_atomic(path, stats_to_json(stats)); }

CalibStats stats_from_json(const std::string& text, const std::string& what) {
  json root;
  try {
    root = json::parse(text);
  } catch (const json::exception& e) {
    bad_input("{}: not valid JSON: {}", what, e.what());
  }
  if (!root.is_object() || !root.contains("format") || root["format"] != kFormat)
    bad_input("{}: not a calibration statistics file (expected \"format\": \"{}\")", what, kFormat);
  const int64_t version = get_i64(root, "version", what);
  if (version != kStatsFormatVersion)
    bad_input("{}: statistics format version {} is not supported (this build reads version {})", what, version, kStatsFormatVersion);
  CalibStats cs;
  const uint64_t bins = get_u64(root, "bins", what);
  if (bins < static_cast<uint64_t>(kMinBins) || bins > static_cast<uint64_t>(kMaxBins))
    bad_input("{}: bins must be in [{}, {}], got {}", what, kMinBins, kMaxBins, bins);
  cs.bins = static_cast<int>(bins);
  cs.samples = get_u64(root, "samples", what);
  const json& tensors = field(root, "tensors", what);
  if (!tensors.is_array()) bad_input("{}: \"tensors\" must be an array", what);
  std::set<std::string> seen;
  for (size_t i = 0; i < tensors.size(); ++i) {
    const json& t = tensors[i];
    std::string where = fmt::format("{}: tensors[{}]", what, i);
    if (!t.is_object() || !t.contains("name") || !t["name"].is_string()) bad_input("{}: needs a string \"name\"", where);
    const std::string name = t["name"].get<std::string>();
    where = fmt::format("{}: tensor '{}'", what, name);
    if (!seen.insert(name).second) bad_input("{} appears twice", where);
    if (t.contains("dtype")) {
      if (!t["dtype"].is_string()) bad_input("{}: \"dtype\" must be a string", where);
      cs.dtypes[name] = parse_dtype_name(t["dtype"].get<std::string>(), where);
    }
    if (t.contains("count")) cs.tensors.emplace(name, parse_tensor_stats(t, cs.bins, where));
  }
  return cs;
}

CalibStats load_stats(const std::string& path) { return stats_from_json(read_file(path), path); }

CalibStats load_and_merge_stats(const std::vector<std::string>& paths) {
  if (paths.empty()) fail(ErrorKind::Usage, "no statistics files given");
  CalibStats all = load_stats(paths[0]);
  for (size_t i = 1; i < paths.size(); ++i) {
    CalibStats next = load_stats(paths[i]);
    try {
      all.merge(next);
    } catch (const Error& e) {
      bad_input("merging '{}' into '{}': {}", paths[i], paths[0], e.what());
    }
  }
  return all;
}

}  // namespace ptq
