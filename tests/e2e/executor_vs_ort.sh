#!/usr/bin/env bash
# Our executor (`quantize run`) against ONNX Runtime on the exported test models of
# tools/models/export_models.py (CNNs, transformer block, LSTM/GRU, If/Loop, multi-input with an
# int64 scalar, one CNN at opsets 7/9/11, a converter-style graph).
#   usage: tests/e2e/executor_vs_ort.sh REPO_ROOT BUILD_DIR [WORKDIR]
# WORKDIR (default BUILD_DIR/models) holds the exported models; they are reused while the export
# script is unchanged (WORKDIR/.export_stamp). Our outputs go to WORKDIR/.ours/<model>/.
# Prints one line per model (PASS/FAIL and the max abs diff) and exits 1 if any model fails:
# an export error, a `quantize run` error (e.g. an op without a kernel: the op is named) or an
# output outside the tolerance are all failures.
# Environment: MODELS="name ..." restricts the run to these models; PYTHON (default /usr/bin/python3,
# which must import torch/torchvision/onnx). Exits 77 (skipped) when torch or node is missing,
# unless $CI is set (then those are failures too).
set -uo pipefail

ROOT=${1:?usage: $0 REPO_ROOT BUILD_DIR [WORKDIR]}
BUILD=${2:?usage: $0 REPO_ROOT BUILD_DIR [WORKDIR]}
WORK=${3:-$BUILD/models}
PY=${PYTHON:-/usr/bin/python3}
EXPORT="$ROOT/tools/models/export_models.py"
ORT="$ROOT/tools/ort"

# Tolerances, per element: |ours - ort| <= ATOL + RTOL*|ort|. Both sides compute in fp32 but with
# different kernels: other GEMM/conv blockings and summation orders (oneDNN vs MLAS), fused vs
# unfused bias/activation, different exp/tanh/sigmoid/erf approximations in Softmax, LSTM/GRU,
# LayerNorm. Each op then differs by a few ulp (~1e-7..1e-6 relative), which grows through
# ~50 layers (resnet18, mobilenet_v2) and accumulating reductions (K up to 4608) to ~1e-5..1e-4
# relative on large outputs: RTOL 1e-3 leaves an order of magnitude of margin above that while
# still catching any real semantic bug (wrong pad/stride/axis/coordinate mode shows up as >1e-2).
# (Measured with the first executor build: the worst element used ~20% of this budget, on
# mobilenet_v2; max abs diffs 3e-5 there, <= 3e-6 elsewhere.)
# ATOL 1e-4 covers elements near zero, where a relative bound is meaningless (cancellation in
# sums whose terms are O(1)). ORT runs with --opt basic: constant folding and exact rewrites only,
# no layout transforms (NCHWc) or approximate fusions (e.g. fast GELU) that would change its own
# numerics.
ATOL=1e-4
RTOL=1e-3

source "$(dirname "$0")/lib.sh"

"$PY" -c 'import torch, torchvision, onnx, numpy' 2>/dev/null ||
  skip "$PY cannot import torch/torchvision/onnx/numpy (Debian: apt-get install python3-torch python3-torchvision python3-onnx)"
command -v node >/dev/null || skip "node not found"
if [ ! -d "$ORT/node_modules/onnxruntime-node" ]; then
  command -v npm >/dev/null || skip "npm not found"
  (cd "$ORT" && ONNXRUNTIME_NODE_INSTALL=skip npm ci --no-audit --no-fund) || skip "npm ci in $ORT failed (offline?)"
fi

QUANTIZE=""
for c in "$BUILD/src/quantize" "$BUILD/quantize"; do
  if [ -x "$c" ]; then QUANTIZE="$c"; break; fi
done
[ -n "$QUANTIZE" ] || { echo "FAIL: no quantize binary under '$BUILD' (build the 'quantize' target)"; exit 1; }

# ---- export (or reuse) the models ----------------------------------------------------------------
ALL_MODELS=$("$PY" "$EXPORT" --list) || { echo "FAIL: $EXPORT --list"; exit 1; }
MODELS=${MODELS:-$ALL_MODELS}
STAMP="$WORK/.export_stamp"
want_stamp="$(sha256sum "$EXPORT" | cut -d' ' -f1) $("$PY" -c 'import torch, onnx; print(torch.__version__, onnx.__version__)')"
missing=()
for m in $MODELS; do
  [ -f "$WORK/$m/model.onnx" ] && [ -d "$WORK/$m/inputs" ] || missing+=("$m")
done
mkdir -p "$WORK"
if [ "$(cat "$STAMP" 2>/dev/null)" != "$want_stamp" ]; then
  to_export=(); for m in $MODELS; do to_export+=("$m"); done
  rm -f "$STAMP"
else
  to_export=("${missing[@]}")
fi
if [ ${#to_export[@]} -gt 0 ]; then
  echo "exporting ${to_export[*]} into $WORK"
  t0=$(date +%s)
  if "$PY" "$EXPORT" "$WORK" --only "${to_export[@]}"; then
    # a stamp only once every model of the run exists, so a partial export is retried next time
    [ "$MODELS" = "$ALL_MODELS" ] && echo "$want_stamp" > "$STAMP"
  else
    echo "warning: some exports failed (those models fail below)"
  fi
  echo "export took $(( $(date +%s) - t0 )) s"
fi

# ---- run and compare -------------------------------------------------------------------------------
OURS="$WORK/.ours"
LOG=$(mktemp -d)
trap 'rm -rf "$LOG"' EXIT
failed=()
missing_ops=()
printf '%-20s %-6s %-14s %s\n' model result max_abs_diff details
for m in $MODELS; do
  model="$WORK/$m/model.onnx"
  inputs="$WORK/$m/inputs"
  if [ ! -f "$model" ] || [ ! -d "$inputs" ]; then
    printf '%-20s %-6s %-14s %s\n' "$m" FAIL - "export failed (no $model)"
    failed+=("$m"); continue
  fi
  rm -rf "${OURS:?}/$m"
  if ! "$QUANTIZE" run "$model" --inputs "$inputs" --save-outputs "$OURS/$m" > "$LOG/$m.run" 2>&1; then
    msg=$(grep -v '^\s*$' "$LOG/$m.run" | tail -n 1)
    op=$(grep -o 'no kernel for node .*(op [^,]*' "$LOG/$m.run" | head -n 1 | sed 's/.*(op //')
    [ -n "$op" ] && missing_ops+=("$m:$op")
    printf '%-20s %-6s %-14s %s\n' "$m" FAIL - "quantize run: ${msg:0:300}"
    failed+=("$m"); continue
  fi
  rc=0
  node "$ORT/compare.js" "$model" --inputs "$inputs" --expected "$OURS/$m" --opt basic \
    --atol "$ATOL" --rtol "$RTOL" > "$LOG/$m.json" 2> "$LOG/$m.err" || rc=$?
  json=$(grep '^{' "$LOG/$m.json" | tail -n 1)
  if [ -z "$json" ]; then
    printf '%-20s %-6s %-14s %s\n' "$m" FAIL - "compare.js exit $rc: $(tail -n 1 "$LOG/$m.err" | cut -c1-300)"
    failed+=("$m"); continue
  fi
  # shellcheck disable=SC2016  # JavaScript, not shell
  read -r mad detail < <(node -e '
    const r = JSON.parse(process.argv[1]);
    const e = (x) => (typeof x === "number" ? x.toExponential(2) : String(x));
    console.log(e(r.max_abs_diff), `max_rel ${e(r.max_rel_diff)} mismatches ${r.mismatches}/${r.elements} samples ${r.samples}`);
  ' "$json")
  if [ "$rc" -eq 0 ]; then
    printf '%-20s %-6s %-14s %s\n' "$m" PASS "$mad" "$detail"
  else
    printf '%-20s %-6s %-14s %s\n' "$m" FAIL "$mad" "$detail; first mismatches:"
    head -n 3 "$LOG/$m.err" | sed 's/^/    /'
    failed+=("$m")
  fi
done

if [ ${#missing_ops[@]} -gt 0 ]; then echo "ops without a kernel (first per model): ${missing_ops[*]}"; fi
if [ ${#failed[@]} -gt 0 ]; then
  echo "FAILED: ${failed[*]}"
  exit 1
fi
echo "ok: $(wc -w <<< "$MODELS") models match ONNX Runtime (atol $ATOL, rtol $RTOL)"
