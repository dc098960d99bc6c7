// Conformance runner over the ONNX backend test data (Debian package libonnx-testdata).
// Runs every case whose ops all have kernels, compares with the stored outputs
// (|got - want| <= atol + rtol * |want|, rtol 1e-3, atol 1e-5; NaN matches NaN), and prints
// "N passed, M failed, K skipped" plus the ops that caused skips. Exit 1 if any case failed.
//   conformance ROOT [--filter SUBSTRING] [--verbose]
#include <algorithm>
#include <cstring>
#include <memory>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "exec/executor.h"
#include "onnx_io/model_io.h"

namespace fs = std::filesystem;
using namespace ptq;

namespace {

constexpr double kRtol = 1e-3, kAtol = 1e-5;

float half_bits_to_float(DType t, uint16_t h) {
  if (t == DType::BFloat16) {
    uint32_t b = static_cast<uint32_t>(h) << 16;
    float f;
    std::memcpy(&f, &b, 4);
    return f;
  }
  uint32_t sign = (h >> 15) & 1, exp = (h >> 10) & 0x1F, man = h & 0x3FF;
  float v = exp == 0 ? std::ldexp(static_cast<float>(man), -24)
            : exp == 31 ? (man ? NAN : INFINITY)
                        : std::ldexp(static_cast<float>(man | 0x400), static_cast<int>(exp) - 25);
  return sign ? -v : v;
}

// ONNX 1.12's test data stores bfloat16 tensors with data_type UINT16; take them as bfloat16
// where the model says so.
Tensor as_type(const Tensor& t, DType want) {
  if (t.dtype() == DType::UInt16 && want == DType::BFloat16) {
    Tensor r(DType::BFloat16, t.shape());
    std::memcpy(r.raw(), t.raw(), t.nbytes());
    return r;
  }
  return t;
}

std::string compare(const Tensor& got, const Tensor& want) {
  if (got.shape() != want.shape()) return "shape " + shape_str(got.shape()) + " != expected " + shape_str(want.shape());
  if (got.dtype() != want.dtype()) return "dtype " + dtype_name(got.dtype()) + " != expected " + dtype_name(want.dtype());
  if (want.dtype() == DType::Float16 || want.dtype() == DType::BFloat16) {
    // One unit in the last place of the 16-bit type: bfloat16 keeps 8 significant bits, and the
    // 1.12 data rounds FLOAT->BFLOAT16 by truncation where current ONNX rounds to nearest even.
    double rtol = want.dtype() == DType::BFloat16 ? 1.0 / 128 : 1.0 / 1024;
    const auto* g16 = static_cast<const uint16_t*>(got.raw());
    const auto* w16 = static_cast<const uint16_t*>(want.raw());
    for (int64_t i = 0; i < want.numel(); ++i) {
      float g = half_bits_to_float(want.dtype(), g16[i]), w = half_bits_to_float(want.dtype(), w16[i]);
      if (std::isnan(g) && std::isnan(w)) continue;
      if (g == w) continue;
      if (!(std::fabs(g - w) <= rtol * std::fabs(w))) return "element " + std::to_string(i) + " differs";
    }
    return "";
  }
  for (int64_t i = 0; i < want.numel(); ++i) {
    double g = got.get_as_double(i), w = want.get_as_double(i);
    if (std::isnan(w) && std::isnan(g)) continue;
    if (std::isinf(w) && g == w) continue;
    if (!(std::fabs(g - w) <= kAtol + kRtol * std::fabs(w)))
      return "element " + std::to_string(i) + ": got " + std::to_string(g) + ", expected " + std::to_string(w);
  }
  return "";
}

std::vector<fs::path> sorted_files(const fs::path& dir, const std::string& prefix) {
  std::vector<fs::path> r;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().filename().string().rfind(prefix, 0) == 0) r.push_back(e.path());
  std::sort(r.begin(), r.end(), [](const fs::path& a, const fs::path& b) {
    auto num = [](const fs::path& p) {
      std::string s = p.stem().string();
      return std::stoi(s.substr(s.find('_') + 1));
    };
    return num(a) < num(b);
  });
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: conformance ROOT [--filter SUBSTRING] [--verbose]\n");
    return 2;
  }
  fs::path root = argv[1];
  std::string filter;
  bool verbose = false;
  for (int i = 2; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--filter" && i + 1 < argc) filter = argv[++i];
    else if (a == "--verbose") verbose = true;
  }
  KernelRegistry reg = make_default_registry();
  int passed = 0, failed = 0, skipped = 0;
  std::map<std::string, int> skip_reasons;
  std::vector<std::string> failures;
  std::vector<fs::path> cases;
  for (const char* suite : {"node", "pytorch-converted", "pytorch-operator", "simple"}) {
    if (!fs::is_directory(root / suite)) continue;
    for (const auto& e : fs::directory_iterator(root / suite))
      if (fs::exists(e.path() / "model.onnx")) cases.push_back(e.path());
  }
  std::sort(cases.begin(), cases.end());
  for (const auto& dir : cases) {
    std::string name = dir.parent_path().filename().string() + "/" + dir.filename().string();
    if (!filter.empty() && name.find(filter) == std::string::npos) continue;
    auto skip = [&](const std::string& why) {
      ++skipped;
      ++skip_reasons[why];
      if (verbose) std::printf("SKIP %s: %s\n", name.c_str(), why.c_str());
    };
    try {
      Model m = load_model((dir / "model.onnx").string());
      auto missing = find_unsupported_nodes(m, reg);
      if (!missing.empty()) {
        std::set<std::string> ops;
        std::function<void(const Graph&)> walk = [&](const Graph& g) {
          for (const auto& n : g.nodes) {
            std::string dom = n.domain.empty() ? "" : n.domain + ".";
            if (!reg.find(n.domain, n.op_type, m.opset(n.domain))) ops.insert("op " + dom + n.op_type);
            for (const auto& a : n.attrs) {
              if (a.g) walk(*a.g);
              for (const auto& sg : a.graphs) walk(*sg);
            }
          }
        };
        walk(m.graph);
        for (const auto& op : ops) skip(op);
        continue;
      }
      bool non_tensor = false;
      for (const auto* vi : m.graph.runtime_inputs()) non_tensor |= vi->dtype == DType::Undefined;
      for (const auto& vi : m.graph.outputs) non_tensor |= vi.dtype == DType::Undefined;
      if (non_tensor) { skip("non-tensor (sequence/optional) inputs or outputs"); continue; }

      Executor ex(m, reg);
      std::string err;
      for (const auto& ds : sorted_files(dir, "test_data_set_")) {
        std::map<std::string, Tensor> feeds;
        auto ins = sorted_files(ds, "input_");
        auto rt = m.graph.runtime_inputs();
        for (size_t k = 0; k < ins.size() && k < rt.size(); ++k)
          feeds[rt[k]->name] = as_type(load_tensor_pb(ins[k].string()), rt[k]->dtype);
        // Some 1.12 cases feed tensors whose rank contradicts the model's declaration; ONNX Runtime
        // rejects those as well, so they count as skipped, not as executor results.
        bool mismatch = false;
        for (const auto* vi : rt) {
          try {
            if (feeds.count(vi->name)) check_input_matches(*vi, feeds[vi->name], "test data");
          } catch (const Error&) {
            mismatch = true;
          }
        }
        if (mismatch) { err = "skip"; break; }
        auto outs = ex.run(feeds);
        auto expected = sorted_files(ds, "output_");
        for (size_t k = 0; k < expected.size() && err.empty(); ++k) {
          if (k >= outs.size()) { err = "missing output " + std::to_string(k); break; }
          std::string d = compare(outs[k], as_type(load_tensor_pb(expected[k].string()), outs[k].dtype()));
          if (!d.empty()) err = ds.filename().string() + " output " + std::to_string(k) + ": " + d;
        }
        if (!err.empty()) break;
      }
      if (err == "skip") {
        skip("test data contradicts the model's declared input shape");
      } else if (err.empty()) {
        ++passed;
        if (verbose) std::printf("PASS %s\n", name.c_str());
      } else {
        ++failed;
        failures.push_back(name + ": " + err);
      }
    } catch (const Error& e) {
      if (e.kind() == ErrorKind::Unsupported) {
        skip(std::string("unsupported: ") + e.what());
      } else {
        ++failed;
        failures.push_back(name + ": " + e.what());
      }
    } catch (const std::exception& e) {
      ++failed;
      failures.push_back(name + ": exception: " + e.what());
    }
  }
  for (const auto& f : failures) std::printf("FAIL %s\n", f.c_str());
  if (!skip_reasons.empty()) {
    std::printf("skipped because of:\n");
    for (const auto& [why, n] : skip_reasons) std::printf("  %-60s %d\n", why.c_str(), n);
  }
  std::printf("%d passed, %d failed, %d skipped\n", passed, failed, skipped);
  return failed ? 1 : 0;
}
