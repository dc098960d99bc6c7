#!/usr/bin/env bash
# Peak RSS of calibration with 16 vs 1024 samples on the bundled model (memory must not grow with the
# number of samples: observers keep statistics only). Prints both and their ratio.
#   usage: bench/calib_memory.sh REPO_ROOT BUILD_DIR
set -euo pipefail
ROOT=${1:?usage: $0 REPO_ROOT BUILD_DIR}
BUILD=${2:?usage: $0 REPO_ROOT BUILD_DIR}
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
/usr/bin/python3 "$ROOT/tools/make_fashion_mnist_data.py" --eval-small "$W/set" --n 1024 >/dev/null
rm "$W/set/labels.npy"
rss() {
  /usr/bin/time -f "%M" "$BUILD/src/quantize" "$ROOT/data/fashion_mnist_cnn.onnx" --calib "$W/set" --max-samples "$1" \
    --method kl -o "$W/out.onnx" --force --no-eval -q 2>&1 >/dev/null | tail -1
}
a=$(rss 16)
b=$(rss 1024)
echo "peak RSS: 16 samples ${a} KiB, 1024 samples ${b} KiB, ratio $(awk -v a="$a" -v b="$b" 'BEGIN{printf "%.3f", b/a}')"
