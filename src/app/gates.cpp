#include "app/gates.h"

#include <fmt/format.h>

#include "core/error.h"

namespace ptq {

std::vector<GateResult> check_gates(const Report& r, const AccuracyGates& g) {
  std::vector<GateResult> out;
  if (!g.any()) return out;
  if (r.outputs.empty()) fail(ErrorKind::Usage, "accuracy gates need the evaluation (remove --no-eval)");
  if (g.min_sqnr_db) {
    for (const auto& [name, m] : r.outputs)
      out.push_back({"min_sqnr_db", name, m.sqnr_db, *g.min_sqnr_db, m.sqnr_db >= *g.min_sqnr_db});
  }
  if (g.max_top1_drop) {
    bool any_labeled = false;
    for (const auto& [name, m] : r.outputs) {
      if (!m.has_labels) continue;
      any_labeled = true;
      double drop = 100.0 * (m.top1_float - m.top1_quant);
      out.push_back({"max_top1_drop", name, drop, *g.max_top1_drop, drop <= *g.max_top1_drop});
    }
    if (!any_labeled)
      fail(ErrorKind::Usage, "--max-top1-drop needs --labels and an output of class scores shaped [N, C]");
  }
  return out;
}

bool all_passed(const std::vector<GateResult>& results) {
  for (const auto& g : results)
    if (!g.passed) return false;
  return true;
}

std::string gate_to_text(const GateResult& g) {
  if (g.gate == "min_sqnr_db")
    return fmt::format("output '{}': SQNR {:.2f} dB {} minimum {:.2f} dB", g.output, g.value,
                       g.passed ? ">=" : "below the", g.limit);
  return fmt::format("output '{}': top-1 drop {:.2f} points {} maximum {:.2f}", g.output, g.value,
                     g.passed ? "<=" : "above the", g.limit);
}

}  // namespace ptq
