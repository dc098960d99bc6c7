#!/usr/bin/env bash
# ONNX Runtime latency of the float model vs our INT8 QDQ output (ORT --opt all, 1 thread): does
# ORT actually run our QDQ layout with integer kernels (QLinearConv / MatMulInteger fusions)?
#
# How to run (on a quiet machine: numbers from a loaded box are meaningless):
#   bench/ort_int8_speed.sh REPO_ROOT BUILD_DIR
# Needs BUILD_DIR/src/quantize, node + tools/ort/node_modules, and (first time only) /usr/bin/python3
# with torch/torchvision/onnx to export resnet18 / mobilenet_v2 into BUILD_DIR/models (shared with
# tests/e2e/executor_vs_ort.sh and bench/bench_vs_ort.sh).
# Each model is quantized per-tensor and per-channel (calibrated on its 4 exported inputs), then
#   node tools/ort/run.js MODEL --inputs DIR --threads 1 --repeat R --warmup W --opt all
# times float and INT8; printed: median ms per sample and speedup = float / int8 (> 1: INT8 faster).
# Knobs: REPEAT (20) WARMUP (5) MODELS_DIR (BUILD_DIR/models) PYTHON (/usr/bin/python3) SCHEMES.
set -euo pipefail
ROOT=${1:?usage: $0 REPO_ROOT BUILD_DIR}
BUILD=${2:?usage: $0 REPO_ROOT BUILD_DIR}
REPEAT=${REPEAT:-20}
WARMUP=${WARMUP:-5}
MODELS_DIR=${MODELS_DIR:-$BUILD/models}
PY=${PYTHON:-/usr/bin/python3}
SCHEMES=${SCHEMES:-"per-tensor per-channel"}
ORT="$ROOT/tools/ort"
Q="$BUILD/src/quantize"
[ -x "$Q" ] || { echo "error: no quantize binary at '$Q'" >&2; exit 2; }
[ -d "$ORT/node_modules/onnxruntime-node" ] ||
  { echo "error: run 'cd $ORT && ONNXRUNTIME_NODE_INSTALL=skip npm ci' first" >&2; exit 2; }
need=()
for m in resnet18 mobilenet_v2; do
  [ -f "$MODELS_DIR/$m/model.onnx" ] && [ -d "$MODELS_DIR/$m/inputs" ] || need+=("$m")
done
if [ ${#need[@]} -gt 0 ]; then
  "$PY" "$ROOT/tools/models/export_models.py" "$MODELS_DIR" --only "${need[@]}" >&2
fi
ort_ms() {
  node "$ORT/run.js" "$1" --inputs "$2" --threads 1 --repeat "$REPEAT" --warmup "$WARMUP" --opt all |
    node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).median_ms))'
}
OUT="$BUILD/bench_int8"
mkdir -p "$OUT"
echo "# $(date -u +%FT%TZ)  $(nproc) cpus  load: $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-14s %-12s %10s %10s %8s\n' model scheme float_ms int8_ms speedup
for m in resnet18 mobilenet_v2; do
  model="$MODELS_DIR/$m/model.onnx"
  inputs="$MODELS_DIR/$m/inputs"
  f=$(ort_ms "$model" "$inputs")
  for s in $SCHEMES; do
    q="$OUT/$m.$s.int8.onnx"
    "$Q" "$model" --calib "$inputs" --scheme "$s" -o "$q" --no-eval --force -q
    i=$(ort_ms "$q" "$inputs")
    printf '%-14s %-12s %10.3f %10.3f %8s\n' "$m" "$s" "$f" "$i" "$(node -p "($f / $i).toFixed(2)")"
  done
done
