#!/usr/bin/env bash
# Sets up, builds and runs the main job on the bundled example: the Fashion-MNIST CNN in data/,
# calibrated on data/calib, evaluated on the 10k Fashion-MNIST test set with labels.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
build="$repo/build"
"$repo/tools/setup.sh" "$build"
out="$repo/out"
mkdir -p "$out"
/usr/bin/python3 "$repo/tools/make_fashion_mnist_data.py" --eval-out "$out/eval" >/dev/null
"$build/src/quantize" "$repo/data/fashion_mnist_cnn.onnx" --calib "$repo/data/calib" --scheme per-channel \
  -o "$out/fashion_mnist_cnn.int8.onnx" --eval "$out/eval" --labels "$out/eval/labels.npy" --force "$@"
echo "report: $out/fashion_mnist_cnn.int8.report.json"
