#!/usr/bin/env bash
# The accuracy report on the bundled Fashion-MNIST model:
#  1. the report's output metrics (SQNR, top-1 float/quantized, agreement) equal an independent
#     computation from ONNX Runtime's outputs of the float and the quantized model (1000 test images);
#  2. --report PATH.json also writes PATH.md and a self-contained PATH.html; headless Chromium renders
#     the HTML and its DOM holds one SQNR bar per compared activation and one histogram per worst layer;
#  3. --sensitivity lists layers; --target-sqnr keeps sensitive layers float until met (exit 0,
#     output SQNR >= target) or exits 5 with the report written when the target cannot be met.
#   usage: tests/e2e/report_fashion_mnist.sh REPO_ROOT BUILD_DIR
set -euo pipefail
ROOT=${1:?usage: $0 REPO_ROOT BUILD_DIR}
BUILD=${2:?usage: $0 REPO_ROOT BUILD_DIR}
Q="$BUILD/src/quantize"
ORT="$ROOT/tools/ort"
source "$(dirname "$0")/lib.sh"
require_ort "$ORT"
[ -x /usr/bin/python3 ] && /usr/bin/python3 -c "import numpy" 2>/dev/null || skip "python3-numpy missing"
W="$BUILD/e2e/report_fm"
rm -rf "$W" && mkdir -p "$W"
/usr/bin/python3 "$ROOT/tools/make_fashion_mnist_data.py" --eval-out "$W/eval" >/dev/null
M="$ROOT/data/fashion_mnist_cnn.onnx"
N=1000

# 1. output metrics vs ONNX Runtime
"$Q" "$M" --calib "$ROOT/data/calib" -o "$W/fm.onnx" --report "$W/r.json" --eval "$W/eval" \
     --labels "$W/eval/labels.npy" --max-samples $N -q
node "$ORT/run.js" "$M" --inputs "$W/eval" --max-samples $N --ignore labels.npy --opt basic --save-outputs "$W/ort_float" >/dev/null
node "$ORT/run.js" "$W/fm.onnx" --inputs "$W/eval" --max-samples $N --ignore labels.npy --opt basic --save-outputs "$W/ort_quant" >/dev/null
node -e '
  const fs = require("fs"), path = require("path");
  const npy = require(process.argv[1] + "/npy.js");
  const [W, N] = [process.argv[2], Number(process.argv[3])];
  const r = JSON.parse(fs.readFileSync(W + "/r.json", "utf8"));
  const labels = npy.readNpy(W + "/eval/labels.npy").data;
  const one = (dir) => { const f = fs.readdirSync(dir).filter((x) => x.endsWith(".npy")); return npy.readNpy(path.join(dir, f[0])).data; };
  const argmax = (a) => { let k = 0; for (let i = 1; i < a.length; ++i) if (a[i] > a[k]) k = i; return k; };
  let sig = 0, noise = 0, rows = 0, agree = 0, okF = 0, okQ = 0;
  for (const s of fs.readdirSync(W + "/ort_float")) {
    const idx = Number(/_(\d+)_$/.exec(s)[1]);
    const f = one(path.join(W, "ort_float", s)), q = one(path.join(W, "ort_quant", s));
    for (let i = 0; i < f.length; ++i) { sig += f[i] * f[i]; noise += (f[i] - q[i]) ** 2; }
    const af = argmax(f), aq = argmax(q), l = Number(labels[idx]);
    ++rows; agree += af === aq; okF += af === l; okQ += aq === l;
  }
  const o = r.outputs[0];
  const sqnr = 10 * Math.log10(sig / noise);
  console.log(`ORT: SQNR ${sqnr.toFixed(3)} dB, top-1 float ${(100*okF/rows).toFixed(2)}%, quantized ${(100*okQ/rows).toFixed(2)}%, agreement ${(100*agree/rows).toFixed(2)}%`);
  console.log(`report: SQNR ${o.sqnr_db.toFixed(3)} dB, top-1 float ${(100*o.top1_float).toFixed(2)}%, quantized ${(100*o.top1_quantized).toFixed(2)}%, agreement ${(100*o.top1_agreement).toFixed(2)}%`);
  if (rows !== N || o.rows !== N) throw new Error(`expected ${N} rows: ORT ${rows}, report ${o.rows}`);
  if (Math.abs(sqnr - o.sqnr_db) > 0.05) throw new Error("SQNR differs from ONNX Runtime by more than 0.05 dB");
  if (okF / rows !== o.top1_float) throw new Error("float top-1 differs from ONNX Runtime");
  if (Math.abs(okQ / rows - o.top1_quantized) > 1.5 / N) throw new Error("quantized top-1 differs from ONNX Runtime by more than one row");
  if (Math.abs(agree / rows - o.top1_agreement) > 1.5 / N) throw new Error("top-1 agreement differs from ONNX Runtime by more than one row");
  if (r.schema_version !== 2) throw new Error("schema_version");
  const acts = r.quantized_tensors.filter((t) => t.accumulated_sqnr_db !== undefined);
  if (acts.length < 3) throw new Error("too few activations with accumulated SQNR");
  if (r.worst_layers.length !== Math.min(10, acts.length)) throw new Error("worst_layers length");
  for (const t of r.quantized_tensors)
    if (t.clip_rate === undefined || t.local_sqnr_db === undefined || !t.histogram) throw new Error("tensor metrics missing for " + t.name);
  fs.writeFileSync(W + "/expect.txt", `${acts.length} ${r.worst_layers.length}\n`);
' "$ORT" "$W" "$N"

# 2. Markdown and HTML beside the JSON; the HTML renders in headless Chromium
[ -s "$W/r.md" ] && grep -q "^## Worst layers" "$W/r.md" || { echo "r.md missing or without worst layers"; exit 1; }
[ -s "$W/r.html" ] || { echo "r.html missing"; exit 1; }
if grep -Eq '(src|href)="(https?:)?//' "$W/r.html"; then echo "r.html references the network"; exit 1; fi
CHROME=$(command -v chromium || command -v chromium-browser || true)
[ -n "$CHROME" ] || skip "chromium not installed (apt-get install chromium)"
read -r BARS HISTS < "$W/expect.txt"
chrome() { "$CHROME" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking \
  --disable-component-update --disable-sync --user-data-dir="$(mktemp -d)" "$@" 2>/dev/null; }
chrome --dump-dom "file://$W/r.html" > "$W/dom.html"
got_bars=$(grep -o '<rect class="bar[^"]*"' "$W/dom.html" | wc -l)
got_hists=$(grep -o '<svg class="histogram"' "$W/dom.html" | wc -l)
grep -q '<svg id="sqnr-chart"' "$W/dom.html" || { echo "no SQNR chart in the rendered DOM"; exit 1; }
[ "$got_bars" = "$BARS" ] || { echo "rendered $got_bars SQNR bars, expected $BARS"; exit 1; }
[ "$got_hists" = "$HISTS" ] || { echo "rendered $got_hists histograms, expected $HISTS"; exit 1; }
chrome --screenshot="$W/report.png" --window-size=1000,1600 "file://$W/r.html" >/dev/null || true
echo "HTML: $got_bars bars, $got_hists histograms (screenshot $W/report.png)"

# 3. sensitivity and accuracy targets (50 samples keep the sweeps short)
S=50
"$Q" "$M" --calib "$ROOT/data/calib" -o "$W/t.onnx" --report "$W/t.json" --eval "$W/eval" --labels "$W/eval/labels.npy" --max-samples $S \
     --sensitivity --target-sqnr 40 -q
set +e
"$Q" "$M" --calib "$ROOT/data/calib" -o "$W/u.onnx" --report "$W/u.json" --eval "$W/eval" --labels "$W/eval/labels.npy" --max-samples $S \
     --target-sqnr 1000 -q 2> "$W/u.err"
code=$?
set -e
[ "$code" = 5 ] || { echo "unreachable target: exit code $code, expected 5"; cat "$W/u.err"; exit 1; }
node -e '
  const fs = require("fs");
  const t = JSON.parse(fs.readFileSync(process.argv[1], "utf8")), u = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
  if (t.sensitivity.length < 3) throw new Error("sensitivity lists too few layers");
  for (let i = 1; i < t.sensitivity.length; ++i)
    if (t.sensitivity[i].sqnr_db < t.sensitivity[i - 1].sqnr_db) throw new Error("sensitivity not sorted");
  if (!t.target.met || t.outputs[0].sqnr_db < 40) throw new Error("target 40 dB not met: " + JSON.stringify(t.target));
  const kept = t.target.kept_float;
  for (const n of kept) if (!t.left_in_float.some((f) => f.node === n)) throw new Error("kept-float node not in left_in_float: " + n);
  console.log(`target 40 dB: ${kept.length} node(s) kept float (${kept.join(", ")}), SQNR ${t.outputs[0].sqnr_db.toFixed(2)} dB, ${t.target.steps.length} steps`);
  if (u.target.met || u.target.steps.length < 2) throw new Error("unreachable target reported as met");
' "$W/t.json" "$W/u.json"
echo "report_fashion_mnist: OK"
