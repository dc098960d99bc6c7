#!/usr/bin/env bash
# Calibration spread over shards with GNU parallel, then merged: the merged statistics must give a
# byte-identical model to one calibration pass over all samples (statistics merge exactly).
#   usage: tests/e2e/shard_merge.sh REPO_ROOT BUILD_DIR
set -euo pipefail
ROOT=${1:?usage: $0 REPO_ROOT BUILD_DIR}
BUILD=${2:?usage: $0 REPO_ROOT BUILD_DIR}
Q="$BUILD/src/quantize"
source "$(dirname "$0")/lib.sh"
command -v parallel >/dev/null || skip "GNU parallel not installed (apt-get install parallel)"
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
M="$ROOT/data/fashion_mnist_cnn.onnx"
C="$ROOT/data/calib"
n=4
parallel --will-cite -j2 "$Q" "$M" --calib "$C" --shard {}/$n --save-stats "$W/stats.{}.json" --stats-only -q ::: $(seq 0 $((n - 1)))
for method in minmax kl mse; do
  "$Q" "$M" --calib "$C" $(for i in $(seq 0 $((n - 1))); do echo --load-stats "$W/stats.$i.json"; done) \
       --method "$method" -o "$W/merged.$method.onnx" --no-eval -q
  "$Q" "$M" --calib "$C" --method "$method" -o "$W/single.$method.onnx" --no-eval -q
  cmp "$W/merged.$method.onnx" "$W/single.$method.onnx"
  echo "$method: $n merged shards == one pass (byte-identical model)"
done
