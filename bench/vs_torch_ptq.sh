#!/usr/bin/env bash
# Accuracy of onnx-ptq vs PyTorch's own post-training quantization on the bundled Fashion-MNIST CNN.
#   usage: bench/vs_torch_ptq.sh REPO_ROOT BUILD_DIR        (BUILD_DIR/src/quantize or BUILD_DIR/quantize)
# Both tools calibrate on exactly data/calib (200 train images, one sample per forward pass) and are
# evaluated on the full 10k Fashion-MNIST test set (tools/make_fashion_mnist_data.py --eval-out, as
# tests/e2e/fashion_mnist_e2e.sh does). SQNR is 10 log10(sum f^2 / sum (f-q)^2) over all logits, f being
# each tool's own float run of the same model (the two agree within 1e-5, checked below).
#  1. float check: tools/torch_ptq.py rebuilds the ONNX graph as a torch module from its initializers; its
#     outputs on the first CHECK_N test images must equal `quantize run` on the float model within 1e-5
#     (abs) and, when onnxruntime-node is installed in tools/ort, ONNX Runtime's within 1e-5 + 1e-5 rel.
#  2. PyTorch: FX prepare_fx/convert_fx, real int8 kernels of ENGINE (default onednn), configs TORCH_CONFIGS.
#  3. ours: `quantize ... --scheme S --method M --eval --labels` for every "S:M" in OURS.
# Output (markdown, stdout): the table of every run, then per-layer accumulated SQNR on the same 10k images
# for the MinMax pairs (torch minmax-per-X vs our X:minmax; our report's accumulated_sqnr_db), to find the
# layer where one tool loses. The JSON of every run stays in WORK (default: a temp dir, removed).
# Knobs (defaults): ENGINE (onednn) TORCH_CONFIGS (default,minmax-per-channel,minmax-per-tensor,
# histogram-per-tensor) OURS ("per-channel:minmax per-channel:percentile per-channel:kl per-channel:mse
# per-tensor:minmax per-tensor:mse") CHECK_N (1000) WORK PYTHON (/usr/bin/python3).
set -euo pipefail
ROOT=${1:?usage: $0 REPO_ROOT BUILD_DIR}
BUILD=${2:?usage: $0 REPO_ROOT BUILD_DIR}
ENGINE=${ENGINE:-onednn}
TORCH_CONFIGS=${TORCH_CONFIGS:-default,minmax-per-channel,minmax-per-tensor,histogram-per-tensor}
OURS=${OURS:-"per-channel:minmax per-channel:percentile per-channel:kl per-channel:mse per-tensor:minmax per-tensor:mse"}
CHECK_N=${CHECK_N:-1000}
PY=${PYTHON:-/usr/bin/python3}
MODEL="$ROOT/data/fashion_mnist_cnn.onnx"
CALIB="$ROOT/data/calib"
ORT="$ROOT/tools/ort"

Q=""
for c in "$BUILD/src/quantize" "$BUILD/quantize"; do
  if [ -x "$c" ]; then Q="$c"; break; fi
done
[ -n "$Q" ] || { echo "error: no quantize binary under '$BUILD'" >&2; exit 2; }
"$PY" -c "import numpy, onnx, torch" 2>/dev/null || { echo "error: $PY lacks numpy/onnx/torch" >&2; exit 2; }
if [ -n "${WORK:-}" ]; then
  W=$WORK; mkdir -p "$W"
else
  W=$(mktemp -d); trap 'rm -rf "$W"' EXIT
fi

"$PY" "$ROOT/tools/make_fashion_mnist_data.py" --eval-out "$W/eval" >/dev/null
"$PY" "$ROOT/tools/make_fashion_mnist_data.py" --eval-small "$W/check" --n "$CHECK_N" >/dev/null
rm "$W/check/labels.npy"  # `quantize run` / ORT take every .npy in the folder as a sample

# 1 + 2: torch (exits 1 if its float mirror differs from our executor by more than 1e-5)
rm -rf "$W/ours_float" "$W/torch_float"
"$Q" run "$MODEL" --inputs "$W/check" --save-outputs "$W/ours_float" >/dev/null
"$PY" "$ROOT/tools/torch_ptq.py" "$MODEL" --calib "$CALIB" --eval "$W/eval" --engine "$ENGINE" \
  --configs "$TORCH_CONFIGS" --layers --check-inputs "$W/check/images.npy" --check-n "$CHECK_N" \
  --check-outputs "$W/ours_float" --save-float-outputs "$W/torch_float" > "$W/torch.jsonl"
if [ -d "$ORT/node_modules/onnxruntime-node" ] && command -v node >/dev/null; then
  node "$ORT/compare.js" "$MODEL" --inputs "$W/check" --expected "$W/torch_float" --opt basic \
    --atol 1e-5 --rtol 1e-5 > "$W/ort_vs_torch_float.json" ||
    { echo "error: ONNX Runtime differs from the torch float mirror: $(cat "$W/ort_vs_torch_float.json")" >&2; exit 1; }
  ort_check="ONNX Runtime vs torch float: $(cat "$W/ort_vs_torch_float.json")"
else
  ort_check="ONNX Runtime vs torch float: skipped (onnxruntime-node not installed in tools/ort)"
fi

# 3: ours
for sm in $OURS; do
  scheme=${sm%%:*} method=${sm#*:}
  "$Q" "$MODEL" --calib "$CALIB" --scheme "$scheme" --method "$method" -o "$W/ours.$scheme.$method.onnx" \
    --eval "$W/eval" --labels "$W/eval/labels.npy" --force --json -q > "$W/ours.$scheme.$method.json"
done

"$PY" - "$W" "$OURS" "$ort_check" "$("$Q" --version | head -n 1)" <<'PY'
import json, os, sys
w, ours, ort_check, version = sys.argv[1], sys.argv[2].split(), sys.argv[3], sys.argv[4]
rows = [json.loads(l) for l in open(os.path.join(w, "torch.jsonl"))]
check = next(r for r in rows if r["kind"] == "check")
fl = next(r for r in rows if r["kind"] == "float")
print("# torch %s (engine %s) vs %s; calib: %d samples, eval: %d test images" %
      (fl["torch"], fl["engine"], version, fl["calib_samples"], fl["rows"]))
print("# torch float mirror vs our executor: max |diff| %.2g on %d images; %s" %
      (check["max_abs_diff"], check["samples"], ort_check))
print()
print("| tool | weights | activation ranges | top-1 | SQNR (dB) | top-1 agreement |")
print("|---|---|---|---|---|---|")
print("| float (both) | - | - | %.2f%% | - | - |" % (100 * fl["top1"]))
for r in rows:
    if r["kind"] != "config":
        continue
    weights = "per-channel" if "channel" in r["weight_qscheme"] else "per-tensor"
    name = r["activation_observer"] + (" (default qconfig)" if r["config"] == "default" else "")
    print("| PyTorch %s | %s | %s | %.2f%% | %.2f | %.2f%% |" %
          (r["engine"], weights, name, 100 * r["top1"], r["sqnr_db"], 100 * r["top1_agreement"]))
for sm in ours:
    scheme, method = sm.split(":", 1)
    o = json.load(open(os.path.join(w, "ours.%s.%s.json" % (scheme, method))))["models"][0]["outputs"][0]
    if abs(o["top1_float"] - fl["top1"]) > 1e-9:
        sys.exit("error: our FP32 top-1 %.4f differs from torch's %.4f" % (o["top1_float"], fl["top1"]))
    print("| onnx-ptq | %s | %s | %.2f%% | %.2f | %.2f%% |" %
          (scheme, method, 100 * o["top1_quantized"], o["sqnr_db"], 100 * o["top1_agreement"]))

# Per-layer: torch's values in graph order, ours from the report, for each scheme both ran with MinMax.
cols = []
for scheme in ("per-channel", "per-tensor"):
    rep = os.path.join(w, "ours.%s.minmax.report.json" % scheme)
    torch_layers = {r["value"]: r["sqnr_db"] for r in rows
                    if r["kind"] == "layer" and r["config"] == "minmax-" + scheme}
    if torch_layers and scheme + ":minmax" in ours:
        ours_layers = {t["name"]: t["accumulated_sqnr_db"] for t in json.load(open(rep))["quantized_tensors"]
                       if t["kind"] == "activation" and "accumulated_sqnr_db" in t}
        cols.append((scheme, torch_layers, ours_layers))
if cols:
    order = [r["value"] for r in rows if r["kind"] == "layer" and r["config"] == "minmax-" + cols[0][0]]
    print()
    print("Accumulated SQNR (dB) per layer, MinMax activation ranges:")
    print()
    print("| tensor | " + " | ".join("PyTorch %s | onnx-ptq %s" % (c[0], c[0]) for c in cols) + " |")
    print("|---|" + "---|---|" * len(cols))
    fmt = lambda v: "-" if v is None else "%.2f" % v
    for name in order:
        print("| %s | " % name + " | ".join("%s | %s" % (fmt(t.get(name)), fmt(o.get(name))) for _, t, o in cols) + " |")
PY
