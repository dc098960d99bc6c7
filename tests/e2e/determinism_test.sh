#!/usr/bin/env bash
# Determinism: quantizing the bundled model twice with --threads 1 and once with --threads 2 gives
# byte-identical output models and identical report numbers (everything except timings and paths),
# for both weight schemes and for the kl / mse range searches (which run in parallel over tensors).
#   usage: tests/e2e/determinism_test.sh REPO_ROOT BUILD_DIR
set -euo pipefail
ROOT=${1:?usage: $0 REPO_ROOT BUILD_DIR}
BUILD=${2:?usage: $0 REPO_ROOT BUILD_DIR}
Q="$BUILD/src/quantize"
W="$BUILD/e2e/determinism"
rm -rf "$W" && mkdir -p "$W"
for config in per-tensor:minmax per-channel:minmax per-tensor:kl per-channel:mse; do
  scheme=${config%%:*}
  method=${config#*:}
  for run in t1a t1b t2; do
    threads=1; [ "$run" = t2 ] && threads=2
    mkdir -p "$W/$config/$run"
    "$Q" "$ROOT/data/fashion_mnist_cnn.onnx" --calib "$ROOT/data/calib" --max-samples 40 --scheme "$scheme" \
         --method "$method" --threads "$threads" -o "$W/$config/$run/m.onnx" -q
  done
  for run in t1b t2; do
    cmp "$W/$config/t1a/m.onnx" "$W/$config/$run/m.onnx" || { echo "FAIL: $config $run model differs from t1a"; exit 1; }
  done
  /usr/bin/python3 - "$W/$config" <<'PY'
import json, sys
def numbers(path):
    r = json.load(open(path))
    def strip(x):
        if isinstance(x, dict):
            return {k: strip(v) for k, v in x.items() if k not in ("seconds", "input", "output", "dir")}
        if isinstance(x, list):
            return [strip(v) for v in x]
        return x
    return strip(r)
base = numbers(f"{sys.argv[1]}/t1a/m.report.json")
assert base["outputs"] and base["quantized_tensors"], "report has no numbers to compare"
for run in ("t1b", "t2"):
    other = numbers(f"{sys.argv[1]}/{run}/m.report.json")
    if other != base:
        print(f"FAIL: {sys.argv[1]} {run} report numbers differ from t1a")
        for k in base:
            if base[k] != other.get(k): print("  differs:", k)
        sys.exit(1)
PY
  echo "ok: $config: 3 runs (threads 1, 1, 2) give identical model ($(stat -c %s "$W/$config/t1a/m.onnx") bytes) and report numbers"
done
