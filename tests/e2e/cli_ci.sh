#!/usr/bin/env bash
# CI and batch use of `quantize`: the --json summary (one line on stdout, logs on stderr),
# provenance in metadata_props (calibration digest recomputed here from its definition), inspect
# and --dry-run (nothing written), accuracy gates (exit 5 after writing), batch runs that survive a
# failing model, and config files (--print-config / --config).
#   usage: tests/e2e/cli_ci.sh REPO_ROOT BUILD_DIR
set -uo pipefail
ROOT=${1:?usage: $0 REPO_ROOT BUILD_DIR}
BUILD=${2:?usage: $0 REPO_ROOT BUILD_DIR}
Q="$BUILD/src/quantize"
PY=/usr/bin/python3
source "$(dirname "$0")/lib.sh"
$PY -c "import numpy" 2>/dev/null || skip "python3-numpy missing"
W="$BUILD/e2e/cli_ci"
rm -rf "$W" && mkdir -p "$W/calib" "$W/out"
for i in $(seq -w 0 11); do cp "$ROOT/data/calib/sample_0$i.npy" "$W/calib/"; done
cp "$ROOT/data/fashion_mnist_cnn.onnx" "$W/m.onnx"
failed=0
check() { if eval "$2"; then echo "ok   $1"; else echo "FAIL $1"; failed=1; fi; }
# jq-like helper: py EXPR FILE evaluates EXPR with j = the JSON in FILE.
py() { $PY -c "import json,sys; j=json.load(open(sys.argv[1])); print($1)" "$2"; }

# 1. --json: exactly one line on stdout, the log on stderr, numbers equal to the report's.
"$Q" "$W/m.onnx" --calib "$W/calib" -o "$W/out/m.int8.onnx" --json >"$W/j1.out" 2>"$W/j1.err"; code=$?
check "json: exit 0" "[ $code = 0 ]"
check "json: one stdout line" "[ \$(wc -l <'$W/j1.out') = 1 ]"
check "json: log lines on stderr" "grep -q 'wrote' '$W/j1.err'"
check "json: status ok" "[ \"\$(py 'j[\"status\"], j[\"exit_code\"], j[\"models\"][0][\"status\"]' '$W/j1.out')\" = 'ok 0 ok' ]"
check "json: output_bytes = file size" "[ \"\$(py 'j[\"models\"][0][\"output_bytes\"]' '$W/j1.out')\" = \$(stat -c %s '$W/out/m.int8.onnx') ]"
check "json: sqnr equals the report's" "[ \"\$(py 'j[\"models\"][0][\"outputs\"][0][\"sqnr_db\"]' '$W/j1.out')\" = \"\$(py 'j[\"outputs\"][0][\"sqnr_db\"]' '$W/out/m.int8.report.json')\" ]"

# 2. provenance: inspect shows metadata; the digest matches the documented definition.
"$Q" inspect "$W/out/m.int8.onnx" --json >"$W/insp.json"; code=$?
check "inspect: exit 0" "[ $code = 0 ]"
want=$($PY - "$W/calib" <<'PYEOF'
import hashlib, os, sys
d = sys.argv[1]; h = hashlib.sha256()
files = sorted(os.path.relpath(os.path.join(r, f), d) for r, _, fs in os.walk(d) for f in fs)
for rel in files:
    data = open(os.path.join(d, rel), 'rb').read()
    h.update(f"{rel}\n{len(data)}\n".encode()); h.update(data)
print(h.hexdigest())
PYEOF
)
check "provenance: calibration digest" "[ \"\$(py 'j[\"metadata\"][\"onnx_ptq.calibration_sha256\"]' '$W/insp.json')\" = '$want' ]"
check "provenance: method and samples" "[ \"\$(py 'j[\"metadata\"][\"onnx_ptq.method\"], j[\"metadata\"][\"onnx_ptq.calibration_samples\"]' '$W/insp.json')\" = 'minmax 12' ]"
check "provenance: options" "py 'json.loads(j[\"metadata\"][\"onnx_ptq.options\"])[\"scheme\"]' '$W/insp.json' | grep -qx per-tensor"
"$Q" inspect "$W/out/m.int8.onnx" >"$W/insp.txt"
check "inspect text: provenance line" "grep -q '^metadata onnx_ptq.tool = onnx-ptq ' '$W/insp.txt'"

# 3. inspect of the float model and --dry-run: the plan, nothing written.
"$Q" inspect "$W/m.onnx" --exclude-op-types Gemm --json >"$W/plan.json"
check "inspect: Gemm left float by option" "py '[n[\"reason\"] for n in j[\"quantization\"][\"float_nodes\"] if n[\"op_type\"]==\"Gemm\"][0]' '$W/plan.json' | grep -qx 'excluded by --exclude-op-types'"
check "inspect: Convs quantized, no unsupported op" "[ \"\$(py 'sum(n[\"op_type\"]==\"Conv\" for n in j[\"quantization\"][\"quantized_nodes\"]) == j[\"op_counts\"][\"Conv\"], len(j[\"unsupported_nodes\"])' '$W/plan.json')\" = 'True 0' ]"
mkdir -p "$W/dry"
"$Q" "$W/m.onnx" --calib "$W/calib" --output-dir "$W/dry" --dry-run >"$W/dry.txt"; code=$?
check "dry-run: exit 0, nothing written" "[ $code = 0 ] && [ -z \"\$(ls -A '$W/dry')\" ] && [ ! -e '$W/m.int8.onnx' ]"
check "dry-run: prints the plan" "grep -q '^  quantized .*(Conv)' '$W/dry.txt'"

# 4. gates: exit 5 after writing the model and the report; passing gates exit 0.
"$Q" "$W/m.onnx" --calib "$W/calib" -o "$W/out/g.onnx" --min-sqnr 1000 --json -q >"$W/g.out" 2>"$W/g.err"; code=$?
check "gate min-sqnr: exit 5" "[ $code = 5 ]"
check "gate min-sqnr: model and report written" "[ -s '$W/out/g.onnx' ] && [ -s '$W/out/g.report.json' ]"
check "gate min-sqnr: json says gate_failed" "[ \"\$(py 'j[\"exit_code\"], j[\"models\"][0][\"status\"], j[\"models\"][0][\"gates\"][0][\"passed\"]' '$W/g.out')\" = '5 gate_failed False' ]"
check "gate min-sqnr: message" "grep -q 'accuracy gate failed' '$W/g.err'"
"$Q" "$W/m.onnx" --calib "$W/calib" -o "$W/out/g2.onnx" --min-sqnr 10 -q; code=$?
check "gate min-sqnr 10: exit 0" "[ $code = 0 ]"
# labels = the float model's own argmax, so top-1 drop = 100 x (1 - top-1 agreement).
"$Q" run "$W/m.onnx" --inputs "$W/calib" --save-outputs "$W/fouts" -q
$PY -c "
import numpy as np, glob, sys
rows = [np.load(sorted(glob.glob(d + '/*.npy'))[0]).reshape(-1, 10).argmax(1) for d in sorted(glob.glob(sys.argv[1] + '/*'))]
np.save(sys.argv[2], np.concatenate(rows).astype(np.int64))" "$W/fouts" "$W/labels.npy"
"$Q" "$W/m.onnx" --calib "$W/calib" -o "$W/out/t.onnx" --labels "$W/labels.npy" --max-top1-drop 100 --json >"$W/t.out" 2>/dev/null; code=$?
check "gate top1-drop 100: exit 0" "[ $code = 0 ]"
check "gate top1-drop = 100 x (1 - agreement)" "py 'abs(j[\"models\"][0][\"gates\"][0][\"value\"] - 100*(1-j[\"models\"][0][\"outputs\"][0][\"top1_agreement\"])) < 1e-9' '$W/t.out' | grep -qx True"
"$Q" "$W/m.onnx" --calib "$W/calib" -o "$W/out/t2.onnx" --labels "$W/labels.npy" --max-top1-drop -1 -q 2>/dev/null; code=$?
check "gate top1-drop -1: exit 5" "[ $code = 5 ]"
"$Q" "$W/m.onnx" --calib "$W/calib" -o "$W/out/t3.onnx" --max-top1-drop 1 -q 2>/dev/null; code=$?
check "gate top1-drop without labels: usage error 2" "[ $code = 2 ]"

# 5. batch: a broken model in the middle does not stop the others; exit = its code (3).
mkdir -p "$W/b" "$W/bout"
cp "$W/m.onnx" "$W/b/a.onnx"; cp "$W/m.onnx" "$W/b/c.onnx"; echo "not a model" >"$W/b/b.onnx"
"$Q" "$W/b/a.onnx" "$W/b/b.onnx" "$W/b/c.onnx" --calib "$W/calib" --output-dir "$W/bout" --no-eval --json >"$W/b.out" 2>"$W/b.err"; code=$?
check "batch: exit 3 (first failure)" "[ $code = 3 ]"
check "batch: statuses" "[ \"\$(py '\" \".join(m[\"status\"] for m in j[\"models\"])' '$W/b.out')\" = 'ok failed ok' ]"
check "batch: a and c written" "[ -s '$W/bout/a.int8.onnx' ] && [ -s '$W/bout/c.int8.onnx' ] && [ ! -e '$W/bout/b.int8.onnx' ]"
check "batch: error names the model" "grep -q '^error: .*b.onnx: ' '$W/b.err'"
printf '# model calib output\n%s %s %s\n\n%s - \n' "$W/b/a.onnx" "$W/calib" "$W/bout/x.onnx" "$W/b/c.onnx" >"$W/manifest.txt"
"$Q" --manifest "$W/manifest.txt" --calib "$W/calib" --output-dir "$W/mout" --no-eval -q 2>"$W/m.err"; code=$?
check "manifest: --output-dir must exist (usage 2)" "[ $code = 2 ]"
mkdir -p "$W/mout"
"$Q" --manifest "$W/manifest.txt" --calib "$W/calib" --output-dir "$W/mout" --no-eval -q; code=$?
check "manifest: exit 0, explicit and default outputs" "[ $code = 0 ] && [ -s '$W/bout/x.onnx' ] && [ -s '$W/mout/c.int8.onnx' ]"

# 6. config: --print-config round trip; the command line overrides the file.
"$Q" "$W/m.onnx" --calib "$W/calib" --scheme per-channel --max-samples 3 --print-config >"$W/q.toml"; code=$?
check "print-config: exit 0, nothing written" "[ $code = 0 ] && [ ! -e '$W/m.int8.onnx' ]"
check "print-config: effective options" "grep -q '^scheme=\"per-channel\"' '$W/q.toml' && grep -q '^max-samples=3' '$W/q.toml'"
"$Q" --config "$W/q.toml" -o "$W/out/c.onnx" --max-samples 2 --no-eval --json -q >"$W/c.out"; code=$?
check "config: run from the file" "[ $code = 0 ] && [ -s '$W/out/c.onnx' ]"
check "config: file scheme, command-line max-samples" "[ \"\$(py 'j[\"models\"][0][\"calibration_samples\"]' '$W/c.out')\" = 2 ] && grep -q '\"scheme\": \"per-channel\"' '$W/out/c.report.json'"
exit $failed
