#!/usr/bin/env bash
# Large models (label `slow`): a model whose external weights pass protobuf's 2 GB limit (3 GiB of
# float32, mostly zeros, written as a sparse file) is quantized; the output must switch to external
# data by itself (one 2 GiB MatMul is kept in float with --exclude-nodes, so the output's tensors
# pass the 1.8 GB auto limit), load again in `quantize run`, and peak RSS must stay under the input
# model's size + 1.5 GiB (weights are memory-mapped, not copied). Timings are printed.
#   usage: tests/e2e/large_model_test.sh REPO_ROOT BUILD_DIR
set -euo pipefail
ROOT=${1:?usage: $0 REPO_ROOT BUILD_DIR}
BUILD=${2:?usage: $0 REPO_ROOT BUILD_DIR}
Q="$BUILD/src/quantize"
source "$(dirname "$0")/lib.sh"
/usr/bin/python3 -c "import numpy, onnx" 2>/dev/null || skip "python3-numpy / python3-onnx missing"
W="$BUILD/e2e/large_model"
rm -rf "$W" && mkdir -p "$W/calib"
avail_kb=$(df -Pk "$BUILD" | awk 'NR==2 {print $4}')
[ "$avail_kb" -gt $((8 * 1024 * 1024)) ] || skip "needs 8 GB free disk in $BUILD"
trap 'rm -rf "$W"' EXIT  # gigabytes: never leave them behind

t0=$(date +%s)
/usr/bin/python3 - "$W" <<'PY'
import os, sys
import numpy as np
import onnx
from onnx import TensorProto, helper
W = sys.argv[1]
K, N = 32768, 16384  # big: [K, N] float32 = 2 GiB (kept float); small: [N, N] = 1 GiB (quantized)
shapes = {"big": (K, N), "small": (N, N)}
data = os.path.join(W, "model.onnx.data")
inits, offset = [], 0
with open(data, "wb") as f:
    for name, (r, c) in shapes.items():
        nbytes = r * c * 4
        # a sparse file of zeros, with one non-zero row so ranges are not degenerate
        f.seek(offset); f.write((np.arange(c, dtype=np.float32) / c - 0.5).tobytes())
        t = TensorProto(name=name, data_type=TensorProto.FLOAT, dims=[r, c])
        t.data_location = TensorProto.EXTERNAL
        for k, v in (("location", "model.onnx.data"), ("offset", str(offset)), ("length", str(nbytes))):
            e = t.external_data.add(); e.key = k; e.value = v
        inits.append(t)
        offset += nbytes
    f.truncate(offset)
nodes = [helper.make_node("MatMul", ["x", "big"], ["h"], name="mm_big"),
         helper.make_node("MatMul", ["h", "small"], ["y"], name="mm_small")]
g = helper.make_graph(nodes, "large", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, K])],
                      [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, N])], inits)
m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)], ir_version=8)
open(os.path.join(W, "model.onnx"), "wb").write(m.SerializeToString())
np.save(os.path.join(W, "calib", "s0.npy"), np.random.default_rng(0).standard_normal((1, K)).astype(np.float32))
PY
t1=$(date +%s)
model_bytes=$(( $(stat -c %s "$W/model.onnx") + $(stat -c %s "$W/model.onnx.data") ))
# peak RSS of the child in kB (what /usr/bin/time -v reports, without needing that package)
rss_kb=$(/usr/bin/python3 -c '
import resource, subprocess, sys
rc = subprocess.run(sys.argv[1:]).returncode
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
sys.exit(rc)' "$Q" "$W/model.onnx" --calib "$W/calib" -o "$W/out.onnx" --exclude-nodes mm_big -q)
t2=$(date +%s)
out_model=$(stat -c %s "$W/out.onnx")
[ -f "$W/out.onnx.data" ] || { echo "FAIL: output did not switch to external data (no out.onnx.data)"; exit 1; }
out_data=$(stat -c %s "$W/out.onnx.data")
echo "input: $model_bytes bytes; output: $out_model + $out_data bytes (external); peak RSS $((rss_kb / 1024)) MiB"
[ "$out_model" -lt $((1 << 20)) ] || { echo "FAIL: output .onnx is $out_model bytes: weights were not moved to external data"; exit 1; }
# int8 small weight (256 MiB) + float big weight (2 GiB), 64-byte aligned
[ "$out_data" -ge $(( (1 << 31) + (1 << 28) )) ] || { echo "FAIL: output .data holds only $out_data bytes"; exit 1; }
# RSS counts the memory-mapped input weights (3 GiB) once; the rest is the int8 copy of the quantized
# weight and the evaluation's dequantized float copy of it (1 GiB). A second copy of the weights
# would pass the limit.
limit_kb=$(( model_bytes / 1024 + 1536 * 1024 ))
[ "$rss_kb" -lt "$limit_kb" ] || { echo "FAIL: peak RSS $rss_kb kB >= input size + 1.5 GiB ($limit_kb kB)"; exit 1; }
"$Q" run "$W/out.onnx" --inputs "$W/calib" --save-outputs "$W/outs" -q
[ -n "$(find "$W/outs" -name y.npy)" ] || { echo "FAIL: quantize run wrote no output for the quantized model"; ls -R "$W/outs"; exit 1; }
t3=$(date +%s)
echo "ok: generate $((t1 - t0)) s, quantize $((t2 - t1)) s, run $((t3 - t2)) s"
