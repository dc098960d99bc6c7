#!/usr/bin/env bash
# Calibration overhead: the calibration pass (forward + per-tensor statistics) over our own pure
# forward time, on the bundled model and on resnet18 (random weights, tools/models/export_models.py),
# with the same samples (256 by default), plus the range search time of every method for all
# tensors of the model (at --threads 1 and 2). Target: pass / forward <= 1.3.
#   usage: bench/calib_overhead.sh REPO_ROOT BUILD_DIR [SAMPLES] [REPEATS]
#   env: THREADS (1: --threads of the pass and the forward), MODELS ("fashion_mnist resnet18"), BATCHES ("32": also time the pass with --batch B, whose
#        statistics must equal --batch 1's byte for byte; "" to skip)
# forward  = one pure forward pass over the same samples: `quantize run` on the prepared model (the
#            graph calibration runs: BatchNormalization folded), its "one pass" line (sample loading
#            + the first run of every sample, kernel setup included, as in calibration), the median
#            of REPEATS runs; the steady-state median per sample x SAMPLES is printed beside it;
# pass     = the calibration pass as the pipeline times it (sample loading + forward + statistics,
#            --stats-only), the median of REPEATS (default 3) runs; pass and forward both at
#            --threads $THREADS (default 1);
# search   = the `ranges (METHOD): N tensors in S s` line of -v (choose_ranges over every tensor);
# total    = (pass + search) / forward, i.e. everything before the quantized model is built.
set -euo pipefail
ROOT=${1:?usage: $0 REPO_ROOT BUILD_DIR [SAMPLES] [REPEATS]}
BUILD=${2:?usage: $0 REPO_ROOT BUILD_DIR [SAMPLES] [REPEATS]}
N=${3:-256}
REPEATS=${4:-3}
PASS_THREADS=${THREADS:-1}
Q="$BUILD/src/quantize"
PY=/usr/bin/python3
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT

# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"

# The bundled model: Fashion-MNIST test images; resnet18: seeded N(0,1) inputs.
$PY "$ROOT/tools/make_fashion_mnist_data.py" --eval-small "$W/fm" --n "$N" >/dev/null
rm "$W/fm/labels.npy"
$PY "$ROOT/tools/models/export_models.py" "$W/models" --only resnet18 >/dev/null
$PY - "$W/r18" "$N" <<'PY'
import os, sys
import numpy as np
out, n = sys.argv[1], int(sys.argv[2])
os.makedirs(out)
rng = np.random.default_rng(0)
for i in range(n):
    np.save(os.path.join(out, "s%03d.npy" % i), rng.standard_normal((1, 3, 224, 224)).astype(np.float32))
PY

bench() {  # NAME MODEL SAMPLES_DIR
  local name=$1 model=$2 set=$3 d="$W/$1"
  mkdir -p "$d"
  local passes=() fwds=() meds=()
  for r in $(seq "$REPEATS"); do  # calibration and forward alternate, so drift hits both alike
    passes+=("$("$Q" "$model" --calib "$set" --threads "$PASS_THREADS" --save-prepared "$d/prepared.onnx" --save-stats "$d/stats.json" \
      --stats-only --force --json | $PY -c 'import json,sys; print(json.load(sys.stdin)["models"][0]["seconds"]["calibrate"])')")
    local out
    out=$("$Q" run "$d/prepared.onnx" --inputs "$set" --threads "$PASS_THREADS")
    fwds+=("$(echo "$out" | sed -n 's/^one pass over the samples: \([0-9.]*\) ms.*/\1/p' | awk '{printf "%.4f", $1 / 1000}')")
    meds+=("$(echo "$out" | sed -n 's/.*median \([0-9.]*\) ms per sample.*/\1/p')")
  done
  local pass fwd_ms
  pass=$(printf '%s\n' "${passes[@]}" | median)
  local fwd
  fwd=$(printf '%s\n' "${fwds[@]}" | median)
  fwd_ms=$(printf '%s\n' "${meds[@]}" | median)
  echo "$name: $N samples, --threads $PASS_THREADS: forward pass ${fwd} s (median of $REPEATS: ${fwds[*]}; steady state ${fwd_ms} ms/sample x $N = $(awk -v m="$fwd_ms" -v n="$N" 'BEGIN{printf "%.3f", m * n / 1000}') s), calibration pass ${pass} s (median of $REPEATS: ${passes[*]}), pass/forward $(awk -v a="$pass" -v b="$fwd" 'BEGIN{printf "%.2f", a/b}')"
  for b in ${BATCHES-32}; do  # the same pass with samples stacked (byte-identical statistics)
    local bp=()
    for r in $(seq "$REPEATS"); do
      bp+=("$("$Q" "$model" --calib "$set" --threads "$PASS_THREADS" --batch "$b" --save-stats "$d/stats.b$b.json" --stats-only --force --json |
        $PY -c 'import json,sys; print(json.load(sys.stdin)["models"][0]["seconds"]["calibrate"])')")
    done
    cmp -s "$d/stats.json" "$d/stats.b$b.json" && local same="byte-identical statistics" || local same="STATISTICS DIFFER"
    local bpass
    bpass=$(printf '%s\n' "${bp[@]}" | median)
    echo "  --batch $b: calibration pass $bpass s (median of $REPEATS), pass/forward $(awk -v a="$bpass" -v b="$fwd" 'BEGIN{printf "%.2f", a/b}'), $same"
  done
  for m in minmax percentile kl mse; do
    local line=""
    for t in 1 2; do
      local s
      s=$("$Q" "$d/prepared.onnx" --calib "$set" --load-stats "$d/stats.json" --method "$m" --threads "$t" --no-eval \
          -o "$d/q.onnx" --force -v 2>&1 | sed -n 's/^ranges ([a-z]*): \([0-9]*\) tensors in \([0-9.]*\) s.*/\1 \2/p')
      line+=" threads $t: ${s#* } s;"
      [ "$t" = 1 ] && local s1=${s#* } tensors=${s%% *}
    done
    echo "  $m: search over $tensors tensors:$line total (pass + search at 1 thread) / forward $(awk -v a="$pass" -v s="$s1" -v b="$fwd" 'BEGIN{printf "%.2f", (a+s)/b}')"
  done
}

for m in ${MODELS:-fashion_mnist resnet18}; do
  case $m in
    fashion_mnist) bench fashion_mnist "$ROOT/data/fashion_mnist_cnn.onnx" "$W/fm" ;;
    resnet18) bench resnet18 "$W/models/resnet18/model.onnx" "$W/r18" ;;
    *) echo "unknown model $m (fashion_mnist, resnet18)" >&2; exit 2 ;;
  esac
done
