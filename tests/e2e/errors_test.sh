#!/usr/bin/env bash
# The README's exit-code table, checked on the real `quantize` binary: for each failure class
# (hostile model, external data, unsupported op, calibration data, output), the exit code, a one-line
# message naming the file/tensor/node, no output or temporary file left behind, and the input
# folder (model included) byte-for-byte unchanged (checksums of every file before and after).
#   usage: tests/e2e/errors_test.sh REPO_ROOT BUILD_DIR
set -uo pipefail
ROOT=${1:?usage: $0 REPO_ROOT BUILD_DIR}
BUILD=${2:?usage: $0 REPO_ROOT BUILD_DIR}
Q="$BUILD/src/quantize"
source "$(dirname "$0")/lib.sh"
/usr/bin/python3 -c "import numpy, onnx" 2>/dev/null || skip "python3-numpy / python3-onnx missing"
W="$BUILD/e2e/errors"
rm -rf "$W" && mkdir -p "$W"
/usr/bin/python3 "$ROOT/tests/e2e/make_hostile.py" "$W" "$ROOT/data/fashion_mnist_cnn.onnx" || exit 1

pass=0 failed=0
snapshot() { (cd "$1" && find . -type f -print0 | sort -z | xargs -0 -r md5sum); }
# check NAME EXPECTED_CODE MESSAGE_SUBSTRING [extra quantize args...]; runs in $W/NAME, output to
# NAME/out/ (created empty) unless -o is among the extra args.
check() {
  local name=$1 want=$2 substr=$3; shift 3
  local d="$W/$name"
  mkdir -p "$d/out"
  local before; before=$(snapshot "$d")
  local args=("$d/model.onnx" --calib "$d/calib" -q)
  [[ " $* " == *" -o "* ]] || args+=(-o "$d/out/model.int8.onnx")
  local err; err=$(timeout 60 "$Q" "${args[@]}" "$@" 2>&1 >/dev/null); local code=$?
  local after; after=$(snapshot "$d")
  local why=""
  [ "$code" = "$want" ] || why="exit $code, expected $want"
  [ -z "$why" ] && [ "$(printf '%s\n' "$err" | wc -l)" != 1 ] && why="message is not one line"
  [ -z "$why" ] && [[ "$err" != error:* ]] && why="message does not start with 'error:'"
  [ -z "$why" ] && [[ "$err" != *"$substr"* ]] && why="message lacks '$substr'"
  [ -z "$why" ] && [ "$before" != "$after" ] && why="files changed or left behind: $(diff <(echo "$before") <(echo "$after") | grep '^[<>]' | tr '\n' ' ')"
  if [ -z "$why" ]; then
    pass=$((pass + 1)); printf 'ok   %-26s %s  %s\n' "$name" "$code" "$err"
  else
    failed=$((failed + 1)); printf 'FAIL %-26s %s\n     got: %s\n' "$name" "$why" "$err"
  fi
}

# the model file
check truncated 3 "is not a valid ONNX model"
check corrupt 3 "is not a valid ONNX model"
check dangling_input 3 "node 'mm' (MatMul) reads 'nope'"
check cycle 3 "cycle"
check duplicate_output 3 "'y' is produced by two nodes"
check missing_initializer 3 "reads 'W'"
check wrong_dtype_initializer 3 "'mm'"
check negative_dims 3 "tensor 'W': negative dimension"
check initializer_size 3 "tensor 'W': raw data is 20 bytes"
check absurd_dims 3 "tensor 'W'"
check huge_dims 3 "tensor 'W'"
check external_missing 3 "cannot open external data file"
check external_short 3 "is too short"
check external_traversal 3 "points outside the model's folder"
check external_absolute 3 "must be a relative path"
check unsupported_op 4 "FrobnicateV9"
# calibration data
check calib_empty 3 "calib"
check calib_dtype 3 "s0.npy: input 'x' expects float32, got float64"
check calib_shape 3 "s0.npy"
check calib_rank 3 "s0.npy"
check calib_npy_corrupt 3 "s0.npy"
check calib_npy_header 3 "s0.npy"
check calib_npz_corrupt 3 "s0.npz"
check calib_pb_corrupt 3 "input_0.pb"
check calib_nan 3 "s0.npy"
check calib_inf 3 "s0.npy"
check calib_png_corrupt 3 "img0.png"
check calib_multi_missing 3 "s1"
# output
check out_unwritable 6 "does not exist" -o "$W/out_unwritable/calib/s0.npy/sub/m.onnx"
check out_exists 6 "already exists (use --force to overwrite)" -o "$W/out_exists/model.int8.onnx"
check out_is_input 2 "refusing to overwrite the input model" -o "$W/out_is_input/model.onnx" --force
mnt="$W/disk_full/out"
mkdir -p "$mnt"
if mount -t tmpfs -o size=48k tmpfs "$mnt" 2>/dev/null; then
  check disk_full 6 "No space left on device"
  umount "$mnt"
else
  echo "skip disk_full: cannot mount a tmpfs here (needs root)"
fi

# A report that cannot be written takes the already written model back with it.
mnt="$W/disk_full_report/full"
mkdir -p "$mnt"
if mount -t tmpfs -o size=4k tmpfs "$mnt" 2>/dev/null; then
  dd if=/dev/zero of="$mnt/filler" bs=1k count=64 2>/dev/null
  check disk_full_report 6 "No space left on device" --report "$mnt/r.json"
  umount "$mnt"
else
  echo "skip disk_full_report: cannot mount a tmpfs here (needs root)"
fi
check eval_nan 3 "e0.npy: input 'x' holds NaN" --eval "$W/eval_nan/eval"

echo "errors_test: $pass passed, $failed failed"
[ "$failed" = 0 ]
