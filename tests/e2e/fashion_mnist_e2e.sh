#!/usr/bin/env bash
# End-to-end on the bundled Fashion-MNIST model with real ONNX Runtime as the peer:
#  1. quantize (per-channel and per-tensor) with the report evaluated on the full 10k test set;
#     INT8 top-1 must be within 1.0 point of FP32.
#  2. ORT (onnxruntime-node, graph optimisation 'basic') loads the QDQ model and its outputs equal
#     our executor's simulation within atol 1e-5 + rtol 1e-5: both compute the same float
#     Q/DQ arithmetic, so only float summation order may differ.
#  3. ORT's own top-1 of the quantized model on the 10k set equals the report's figure.
#   usage: tests/e2e/fashion_mnist_e2e.sh REPO_ROOT BUILD_DIR
set -euo pipefail
ROOT=${1:?usage: $0 REPO_ROOT BUILD_DIR}
BUILD=${2:?usage: $0 REPO_ROOT BUILD_DIR}
Q="$BUILD/src/quantize"
ORT="$ROOT/tools/ort"
source "$(dirname "$0")/lib.sh"
require_ort "$ORT"
[ -x /usr/bin/python3 ] && /usr/bin/python3 -c "import numpy" 2>/dev/null || skip "python3-numpy missing"
W="$BUILD/e2e/fashion_mnist"
rm -rf "$W" && mkdir -p "$W"
/usr/bin/python3 "$ROOT/tools/make_fashion_mnist_data.py" --eval-out "$W/eval" >/dev/null

for scheme in per-channel per-tensor; do
  out="$W/fm.$scheme.onnx"
  "$Q" "$ROOT/data/fashion_mnist_cnn.onnx" --calib "$ROOT/data/calib" --scheme "$scheme" -o "$out" \
       --eval "$W/eval" --labels "$W/eval/labels.npy" -q
  # 1. accuracy within 1 point of float
  node -e '
    const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    const o = r.outputs[0];
    console.log(`${process.argv[2]}: FP32 top-1 ${(100*o.top1_float).toFixed(2)}%, INT8 ${(100*o.top1_quantized).toFixed(2)}%, SQNR ${o.sqnr_db.toFixed(2)} dB, agreement ${(100*o.top1_agreement).toFixed(2)}%`);
    if (o.rows !== 10000) throw new Error("expected 10000 evaluated rows, got " + o.rows);
    if (o.top1_float - o.top1_quantized > 0.01) throw new Error("INT8 top-1 more than 1 point below FP32");
  ' "${out%.onnx}.report.json" "$scheme"
  # 2. ORT loads the model and matches our simulation on the calibration samples
  "$Q" run "$out" --inputs "$ROOT/data/calib" --max-samples 50 --save-outputs "$W/ours.$scheme" -q
  node "$ORT/compare.js" "$out" --inputs "$ROOT/data/calib" --max-samples 50 --expected "$W/ours.$scheme" \
       --opt basic --atol 1e-5 --rtol 1e-5
  # 3. ORT's accuracy of our quantized model equals what our report says
  node "$ORT/compare.js" "$out" --inputs "$W/eval" --top1 "$W/eval/labels.npy" --opt basic > "$W/ort_top1.$scheme.json"
  node -e '
    const fs = require("fs");
    const ort = JSON.parse(fs.readFileSync(process.argv[1], "utf8"));
    const ours = JSON.parse(fs.readFileSync(process.argv[2], "utf8")).outputs[0].top1_quantized;
    console.log(`ORT top-1 of the quantized model: ${(100*ort.top1).toFixed(2)}% (report: ${(100*ours).toFixed(2)}%)`);
    if (Math.abs(ort.top1 - ours) > 1e-9) throw new Error("report top-1 differs from ONNX Runtime");
  ' "$W/ort_top1.$scheme.json" "${out%.onnx}.report.json"
done
echo "fashion_mnist_e2e: OK"
