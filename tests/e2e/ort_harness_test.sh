#!/usr/bin/env bash
# End-to-end check of the ONNX Runtime harness in tools/ort (and, when the quantize binary is built,
# of `quantize run` against ORT on a few samples of the bundled model).
#   usage: tests/e2e/ort_harness_test.sh REPO_ROOT BUILD_DIR
# Exits 77 (skipped) when node/npm are missing or `npm ci` cannot fetch onnxruntime-node.
set -euo pipefail

ROOT=${1:?usage: $0 REPO_ROOT BUILD_DIR}
BUILD=${2:-}
ORT="$ROOT/tools/ort"
MODEL="$ROOT/data/fashion_mnist_cnn.onnx"
CALIB="$ROOT/data/calib"

# In CI (CI set) a missing runtime is a failure, not a skip.
source "$(dirname "$0")/lib.sh"
command -v node >/dev/null || skip "node not found"
if [ ! -d "$ORT/node_modules/onnxruntime-node" ]; then
  command -v npm >/dev/null || skip "npm not found"
  if ! (cd "$ORT" && ONNXRUNTIME_NODE_INSTALL=skip npm ci --no-audit --no-fund); then
    skip "npm ci in $ORT failed (offline?)"
  fi
fi

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

# 1. run.js: 5 samples, outputs saved as OUT/<sample id>/logits.npy of shape [1,10].
node "$ORT/run.js" "$MODEL" --inputs "$CALIB" --max-samples 5 --save-outputs "$TMP/ort" > "$TMP/run.json"
node -e '
  const fs = require("fs"), path = require("path");
  const npy = require(path.join(process.argv[1], "npy.js"));
  const [json, out] = process.argv.slice(2);
  const r = JSON.parse(fs.readFileSync(json, "utf8"));
  if (r.samples !== 5 || r.times_ms.length !== 5 || !(r.median_ms > 0)) throw new Error("bad run.js JSON: " + JSON.stringify(r));
  const ids = fs.readdirSync(out).sort();
  const want = ["sample_000.npy", "sample_001.npy", "sample_002.npy", "sample_003.npy", "sample_004.npy"];
  if (JSON.stringify(ids) !== JSON.stringify(want)) throw new Error("sample folders: " + ids.join(" "));
  for (const id of ids) {
    const a = npy.readNpy(path.join(out, id, "logits.npy"));
    if (a.dtype !== "float32" || JSON.stringify(a.shape) !== "[1,10]" || !a.data.every(Number.isFinite))
      throw new Error(`${id}/logits.npy: ${a.dtype} [${a.shape}]`);
  }
' "$ORT" "$TMP/run.json" "$TMP/ort"
echo "ok: run.js wrote 5 x logits [1,10]"

# 2. compare.js accepts ORT's own outputs (exit 0) and flags a perturbed one (exit 1).
node "$ORT/compare.js" "$MODEL" --inputs "$CALIB" --max-samples 5 --expected "$TMP/ort" > "$TMP/cmp.json"
grep -q '"mismatches":0' "$TMP/cmp.json"
node -e '
  const path = require("path"); const npy = require(path.join(process.argv[1], "npy.js"));
  const f = process.argv[2]; const a = npy.readNpy(f); a.data[3] += 0.5; npy.writeNpy(f, a);
' "$ORT" "$TMP/ort/sample_002.npy/logits.npy"
rc=0
node "$ORT/compare.js" "$MODEL" --inputs "$CALIB" --max-samples 5 --expected "$TMP/ort" > "$TMP/cmp2.json" 2>/dev/null || rc=$?
[ "$rc" -eq 1 ] || { echo "FAIL: compare.js exit $rc on a perturbed output (want 1)"; cat "$TMP/cmp2.json"; exit 1; }
grep -q '"mismatches":1' "$TMP/cmp2.json"
echo "ok: compare.js exit codes"

# 3. Our executor vs ORT on the same 5 samples, when the CLI is built.
QUANTIZE=""
for c in "$BUILD/src/quantize" "$BUILD/quantize"; do
  if [ -n "$BUILD" ] && [ -x "$c" ]; then QUANTIZE="$c"; break; fi
done
if [ -n "$QUANTIZE" ] && ! "$QUANTIZE" run --help 2>&1 | grep -q -- '--save-outputs'; then
  echo "note: $QUANTIZE has no 'run --save-outputs' yet; skipped the executor comparison"
elif [ -n "$QUANTIZE" ]; then
  "$QUANTIZE" run "$MODEL" --inputs "$CALIB" --max-samples 5 --save-outputs "$TMP/ours" > /dev/null
  node "$ORT/compare.js" "$MODEL" --inputs "$CALIB" --max-samples 5 --expected "$TMP/ours"
  echo "ok: quantize run matches ORT"
else
  echo "note: no quantize binary under '$BUILD'; skipped the executor comparison"
fi
