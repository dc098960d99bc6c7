#!/usr/bin/env bash
# --method a,b,...: one calibration pass, each method quantized and evaluated, the best kept.
# On the bundled model with labels: the chosen method has the highest lowest-output SQNR of the
# listed candidates (ties to the first), its model is byte-identical to the run with that method
# alone (also from --load-stats, with --bias-correction and with --target-sqnr), the report's
# outputs are the chosen candidate's, and the JSON report, Markdown, HTML and --json summary list
# every candidate. Bad combinations are usage errors (exit 2).
#   usage: tests/e2e/method_select.sh REPO_ROOT BUILD_DIR
set -euo pipefail
ROOT=${1:?usage: $0 REPO_ROOT BUILD_DIR}
BUILD=${2:?usage: $0 REPO_ROOT BUILD_DIR}
Q="$BUILD/src/quantize"
PY=/usr/bin/python3
source "$(dirname "$0")/lib.sh"
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
M="$ROOT/data/fashion_mnist_cnn.onnx"
C="$ROOT/data/calib"
$PY "$ROOT/tools/make_fashion_mnist_data.py" --eval-small "$W/eval" --n 300 >/dev/null 2>&1 ||
  skip "cannot make Fashion-MNIST evaluation data (dataset-fashion-mnist, python3-numpy)"
mv "$W/eval/labels.npy" "$W/labels.npy"
common=(--calib "$C" --max-samples 64 --eval "$W/eval" --labels "$W/labels.npy" --scheme per-channel)
LIST=minmax,percentile,kl,mse

# check_selection SUMMARY.json REPORT.json [target]: the chosen method is the best listed candidate,
# and the report's outputs are its outputs (unless "target": the target search then keeps nodes in
# float). Prints "CHOSEN method=score ...".
check_selection() {
  $PY - "$@" <<'PY'
import json, math, sys
summary, report_path = sys.argv[1:3]
target = sys.argv[3:] == ["target"]
s = json.load(open(summary))["models"][0]
r = json.load(open(report_path))
ms = r["method_selection"]
assert s["method_selection"] == ms, "--json summary and report disagree"
num = lambda v: float(v) if not isinstance(v, str) else {"inf": math.inf, "-inf": -math.inf, "nan": math.nan}[v]
scores = []
for c in ms["candidates"]:
    outs = c["outputs"]
    assert outs and all("top1_quantized" in o for o in outs), "candidate without top-1 (labels given)"
    score = min((-math.inf if math.isnan(num(o["sqnr_db"])) else num(o["sqnr_db"])) for o in outs)
    assert abs(score - num(c["score_db"])) < 1e-12, (score, c["score_db"])
    scores.append((c["method"], score))
best = max(range(len(scores)), key=lambda i: (scores[i][1], -i))  # highest score, then the earliest
assert ms["chosen"] == scores[best][0], (ms["chosen"], scores)
assert r["options"]["method"] == ms["chosen"]
chosen = ms["candidates"][best]
assert [o["name"] for o in r["outputs"]] == [o["name"] for o in chosen["outputs"]]
for a, b in zip(r["outputs"], chosen["outputs"]):
    assert a == b or target, ("final evaluation differs from the candidate's", a, b)
assert ("target" in r) == target
print(ms["chosen"] + " " + " ".join(f"{m}={v:.2f}" for m, v in scores))
PY
}

"$Q" "$M" "${common[@]}" --method $LIST -o "$W/all.onnx" --json -q > "$W/all.json"
out=$(check_selection "$W/all.json" "$W/all.report.json")
read -r chosen scores <<<"$out"
for m in ${LIST//,/ }; do
  "$Q" "$M" "${common[@]}" --method "$m" -o "$W/alone.$m.onnx" -q > /dev/null
done
cmp "$W/all.onnx" "$W/alone.$chosen.onnx" || { echo "FAIL: chosen model differs from --method $chosen alone"; exit 1; }
for m in ${LIST//,/ }; do  # the list must hold at least two different models, or the choice proves nothing
  if [ "$m" != "$chosen" ] && ! cmp -s "$W/all.onnx" "$W/alone.$m.onnx"; then differs=1; fi
done
[ -n "${differs:-}" ] || { echo "FAIL: every candidate gave the chosen model"; exit 1; }
grep -q "## Calibration method selection" "$W/all.report.md" || { echo "FAIL: Markdown report lacks the selection"; exit 1; }
grep -q "<h2>Calibration method selection</h2>" "$W/all.report.html" || { echo "FAIL: HTML report lacks the selection"; exit 1; }
for m in ${LIST//,/ }; do grep -q "| $m |" "$W/all.report.md" || { echo "FAIL: Markdown lacks $m"; exit 1; }; done
echo "ok: --method $LIST chose $chosen ($scores); model == --method $chosen alone"

# From saved statistics: the same choice and model.
"$Q" "$M" "${common[@]}" --save-stats "$W/stats.json" --stats-only -q
"$Q" "$M" "${common[@]}" --load-stats "$W/stats.json" --method $LIST -o "$W/loaded.onnx" --json -q > "$W/loaded.json"
out=$(check_selection "$W/loaded.json" "$W/loaded.report.json")
read -r chosen2 _ <<<"$out"
[ "$chosen2" = "$chosen" ] && cmp "$W/loaded.onnx" "$W/all.onnx" || { echo "FAIL: --load-stats selection differs"; exit 1; }
echo "ok: --load-stats: same choice and byte-identical model"

# A tie (percentile 100 keeps [min, max], as minmax does): the method listed first wins.
for list in minmax,percentile percentile,minmax; do
  "$Q" "$M" "${common[@]}" --method $list --percentile 100 -o "$W/tie.onnx" --force --json -q > "$W/tie.json"
  out=$(check_selection "$W/tie.json" "$W/tie.report.json")
read -r c _ <<<"$out"
  [ "$c" = "${list%%,*}" ] || { echo "FAIL: tie in $list chose $c"; exit 1; }
done
echo "ok: ties go to the method listed first"

# With bias correction and with an accuracy target: each candidate / the winner is exactly what the
# single-method run produces.
"$Q" "$M" "${common[@]}" --method kl,mse --bias-correction -o "$W/bc.onnx" --json -q > "$W/bc.json"
out=$(check_selection "$W/bc.json" "$W/bc.report.json")
read -r cbc _ <<<"$out"
"$Q" "$M" "${common[@]}" --method "$cbc" --bias-correction -o "$W/bc.alone.onnx" -q > /dev/null
cmp "$W/bc.onnx" "$W/bc.alone.onnx" || { echo "FAIL: --bias-correction: chosen model differs from $cbc alone"; exit 1; }
"$Q" "$M" "${common[@]}" --method kl,minmax --target-sqnr 40 -o "$W/t.onnx" --json -q > "$W/t.json" || [ $? = 5 ]
out=$(check_selection "$W/t.json" "$W/t.report.json" target)
read -r ct _ <<<"$out"
"$Q" "$M" "${common[@]}" --method "$ct" --target-sqnr 40 -o "$W/t.alone.onnx" -q > /dev/null || [ $? = 5 ]
cmp "$W/t.onnx" "$W/t.alone.onnx" || { echo "FAIL: --target-sqnr: chosen model differs from $ct alone"; exit 1; }
echo "ok: --bias-correction (chose $cbc) and --target-sqnr 40 (chose $ct): model == the winner alone"

expect_usage() {  # MESSAGE_PATTERN ARGS...
  local pat=$1; shift
  set +e
  msg=$("$Q" "$M" --calib "$C" --max-samples 8 -o "$W/u.onnx" "$@" 2>&1); code=$?
  set -e
  [ "$code" = 2 ] && grep -q -- "$pat" <<<"$msg" || { echo "FAIL: $* -> exit $code: $msg"; exit 1; }
  [ ! -e "$W/u.onnx" ] || { echo "FAIL: $* wrote a model"; exit 1; }
}
expect_usage "drop --no-eval" --method minmax,kl --no-eval
expect_usage "lists 'kl' twice" --method kl,minmax,entropy
expect_usage "unknown calibration method 'foo'" --method minmax,foo
expect_usage "empty method name" --method minmax,
expect_usage "weight-only" --method minmax,kl --weight-only
echo "ok: usage errors (exit 2, nothing written)"
