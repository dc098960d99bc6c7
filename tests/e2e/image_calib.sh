#!/usr/bin/env bash
# Calibration from an image folder: 64 Fashion-MNIST training images as PNG files, decoded and
# normalized by the tool itself (--scale/--mean/--std), must quantize the bundled model as well as
# the .npy calibration set does (INT8 top-1 on 1000 test images within 1 point of FP32).
#   usage: tests/e2e/image_calib.sh REPO_ROOT BUILD_DIR
set -euo pipefail
ROOT=${1:?usage: $0 REPO_ROOT BUILD_DIR}
BUILD=${2:?usage: $0 REPO_ROOT BUILD_DIR}
Q="$BUILD/src/quantize"
source "$(dirname "$0")/lib.sh"
/usr/bin/python3 -c "import numpy, PIL" 2>/dev/null || skip "python3-numpy / python3-pil missing"
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
/usr/bin/python3 - "$ROOT/tools" "$W" <<'PY'
import sys, os
sys.path.insert(0, sys.argv[1])
import fashion_mnist as fm
from PIL import Image
out = sys.argv[2]
imgs = fm.load_images("train")
os.makedirs(f"{out}/png")
for i in range(64):
    Image.fromarray(imgs[i]).save(f"{out}/png/img_{i:03d}.png")
PY
/usr/bin/python3 "$ROOT/tools/make_fashion_mnist_data.py" --eval-small "$W/eval" --n 1000 >/dev/null
"$Q" "$ROOT/data/fashion_mnist_cnn.onnx" --calib "$W/png" --scale 0.00392156862745098 --mean 0.2860 --std 0.3530 \
     -o "$W/fm.onnx" --eval "$W/eval" --labels "$W/eval/labels.npy" -q --json > "$W/summary.json"
/usr/bin/python3 - "$W/summary.json" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))["models"][0]
o = m["outputs"][0]
print(f"image calibration ({m.get('calibration_samples', '?')} PNGs): FP32 {100*o['top1_float']:.2f}%, INT8 {100*o['top1_quantized']:.2f}%, SQNR {o['sqnr_db']:.2f} dB")
assert o["top1_float"] - o["top1_quantized"] <= 0.01, "INT8 more than 1 point below FP32"
assert o["sqnr_db"] > 30, "SQNR unexpectedly low for image calibration"
PY
