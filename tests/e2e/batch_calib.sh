#!/usr/bin/env bash
# --batch N: calibration stacks N samples along axis 0 per executor run. On generated models with a
# dynamic batch dim the statistics file and the model (minmax, kl) are byte-identical to --batch 1,
# also with a smaller last batch and with samples of two spatial sizes (a batch ends where the size
# changes); a fixed batch dim is a usage error naming the input; a NaN produced inside the model
# names the sample that caused it, as without --batch.
#   usage: tests/e2e/batch_calib.sh REPO_ROOT BUILD_DIR
set -euo pipefail
ROOT=${1:?usage: $0 REPO_ROOT BUILD_DIR}
BUILD=${2:?usage: $0 REPO_ROOT BUILD_DIR}
Q="$BUILD/src/quantize"
PY=/usr/bin/python3
source "$(dirname "$0")/lib.sh"
$PY -c "import onnx, numpy" 2>/dev/null || skip "$PY cannot import onnx/numpy"
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT

# cnn.onnx [N,3,H,W] -> Conv/Relu/MaxPool/Conv/Add/Relu/GlobalAveragePool/Flatten: every op computes
# each batch row on its own. (No Gemm/MatMul: the executor's float GEMM (oneDNN sgemm) may round
# a row differently depending on the number of rows, see the report.) fixed.onnx: the same with a
# batch dim of 1. sqrt.onnx: Sqrt(x) then Conv, so a negative input value makes a NaN activation.
$PY - "$W" <<'PY'
import os, sys
import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
w = sys.argv[1]
rng = np.random.default_rng(0)
def init(name, shape, scale=0.3):
    return numpy_helper.from_array((rng.standard_normal(shape) * scale).astype(np.float32), name)
inits = [init("w1", (8, 3, 3, 3)), init("b1", (8,), 0.1), init("w2", (8, 8, 3, 3)), init("b2", (8,), 0.1)]
nodes = [
    helper.make_node("Conv", ["x", "w1", "b1"], ["c1"], name="conv1", pads=[1, 1, 1, 1]),
    helper.make_node("Relu", ["c1"], ["r1"], name="relu1"),
    helper.make_node("MaxPool", ["r1"], ["p1"], name="pool1", kernel_shape=[2, 2], strides=[2, 2]),
    helper.make_node("Conv", ["p1", "w2", "b2"], ["c2"], name="conv2", pads=[1, 1, 1, 1]),
    helper.make_node("Add", ["c2", "p1"], ["a"], name="add"),
    helper.make_node("Relu", ["a"], ["r2"], name="relu2"),
    helper.make_node("GlobalAveragePool", ["r2"], ["g"], name="gap"),
    helper.make_node("Flatten", ["g"], ["y"], name="flatten"),
]
def save(name, in_dims, first=None):
    n = list(nodes)
    if first is not None:
        n = [first] + [helper.make_node(x.op_type, ["s" if i == "x" else i for i in x.input], x.output, name=x.name,
                                        **{a.name: helper.get_attribute_value(a) for a in x.attribute}) for x in nodes]
    g = helper.make_graph(n, name, [helper.make_tensor_value_info("x", TensorProto.FLOAT, in_dims)],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [in_dims[0], 8])], inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    m.ir_version = 8
    onnx.checker.check_model(m)
    onnx.save(m, os.path.join(w, name + ".onnx"))
save("cnn", ["N", 3, "H", "W"])
save("fixed", [1, 3, 16, 16])
save("sqrt", ["N", 3, 16, 16], helper.make_node("Sqrt", ["x"], ["s"], name="sqrt"))
def write(d, names_shapes, negative=None):
    os.makedirs(d)
    for name, hw in names_shapes:
        x = np.abs(rng.standard_normal((1, 3, hw, hw))).astype(np.float32)
        if name == negative: x[0, 1, 2, 3] = -1.0
        np.save(os.path.join(d, name), x)
write(os.path.join(w, "same"), [("s%02d.npy" % i, 16) for i in range(21)])                      # batches 8, 8, 5
write(os.path.join(w, "mixed"), [("s%02d.npy" % i, 16 if i % 7 < 4 else 20) for i in range(17)])  # size changes mid-batch
write(os.path.join(w, "nan"), [("s%02d.npy" % i, 16) for i in range(12)], negative="s09.npy")
PY

for set in same mixed; do
  "$Q" "$W/cnn.onnx" --calib "$W/$set" --batch 1 --save-stats "$W/$set.b1.json" --stats-only -q
  "$Q" "$W/cnn.onnx" --calib "$W/$set" --batch 8 --save-stats "$W/$set.b8.json" --stats-only -q
  cmp "$W/$set.b1.json" "$W/$set.b8.json" || { echo "FAIL: $set: --batch 8 statistics differ from --batch 1"; exit 1; }
  for method in minmax kl; do
    for b in 1 8; do
      "$Q" "$W/cnn.onnx" --calib "$W/$set" --batch $b --method $method -o "$W/$set.$method.b$b.onnx" --no-eval -q
    done
    cmp "$W/$set.$method.b1.onnx" "$W/$set.$method.b8.onnx" || { echo "FAIL: $set: $method model differs with --batch 8"; exit 1; }
  done
  echo "ok: $set: --batch 8 == --batch 1 (statistics file, minmax and kl models byte-identical)"
done

# The bundled model ends in a Gemm: calibration's batch-invariant products keep it exact too,
# at 1 and 2 threads.
for t in 1 2; do
  for b in 1 8; do
    "$Q" "$ROOT/data/fashion_mnist_cnn.onnx" --calib "$ROOT/data/calib" --max-samples 40 --batch $b --threads $t \
      --method minmax --scheme per-channel -o "$W/fm.t$t.b$b.onnx" --no-eval -q
  done
  cmp "$W/fm.t$t.b1.onnx" "$W/fm.t$t.b8.onnx" || { echo "FAIL: bundled model: --batch 8 differs at --threads $t"; exit 1; }
done
cmp "$W/fm.t1.b1.onnx" "$W/fm.t2.b8.onnx" || { echo "FAIL: bundled model: --threads 2 --batch 8 differs from 1/1"; exit 1; }
echo "ok: bundled model (Conv + Gemm): --batch 8 == --batch 1 at 1 and 2 threads"

set +e
msg=$("$Q" "$W/fixed.onnx" --calib "$W/same" --batch 4 -o "$W/f.onnx" -q 2>&1); code=$?
set -e
[ "$code" = 2 ] || { echo "FAIL: fixed batch dim: exit $code, expected 2: $msg"; exit 1; }
grep -q "input 'x' has a fixed first dim \[1,3,16,16\]" <<<"$msg" || { echo "FAIL: fixed batch message: $msg"; exit 1; }
[ ! -e "$W/f.onnx" ] || { echo "FAIL: output written after a usage error"; exit 1; }
echo "ok: fixed batch dim: exit 2: $msg"

for b in 1 4; do
  set +e
  msg=$("$Q" "$W/sqrt.onnx" --calib "$W/nan" --batch $b -o "$W/n.onnx" -q 2>&1); code=$?
  set -e
  [ "$code" = 3 ] || { echo "FAIL: NaN activation with --batch $b: exit $code, expected 3: $msg"; exit 1; }
  grep -q "sample 's09.npy': tensor 's' (output of node 'sqrt' (Sqrt)) contains -\?nan" <<<"$msg" ||
    { echo "FAIL: NaN message with --batch $b does not name the sample: $msg"; exit 1; }
  echo "ok: NaN activation with --batch $b: $msg"
done
