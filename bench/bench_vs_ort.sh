#!/usr/bin/env bash
# Latency of our executor (`quantize run`) vs ONNX Runtime (tools/ort/run.js) on the same inputs.
#
# How to run (on a quiet machine: no parallel builds; numbers from a loaded box are meaningless):
#   bench/bench_vs_ort.sh REPO_ROOT BUILD_DIR
#   e.g.  cmake --build build --target quantize && bench/bench_vs_ort.sh . build
# Needs: BUILD_DIR/src/quantize (a Release build), node + tools/ort/node_modules
# (cd tools/ort && ONNXRUNTIME_NODE_INSTALL=skip npm ci), and /usr/bin/python3 with torch/torchvision/onnx
# the first time, to export resnet18 / mobilenet_v2 (random weights) into BUILD_DIR/models
# (shared with tests/e2e/executor_vs_ort.sh; reused afterwards, so later runs need no torch).
#
# Models: resnet18 and mobilenet_v2 (1x3x224x224, 4 samples each) and data/fashion_mnist_cnn.onnx
# (inputs data/calib, first MAX_SAMPLES samples); each at 1 and 2 threads. For every case it runs
#   ours: quantize run MODEL --inputs DIR --threads N --repeat R
#   ORT:  node tools/ort/run.js MODEL --inputs DIR --threads N --repeat R --warmup W --opt all
# one after the other, ROUNDS times, and prints median ms per sample for both (median over the
# rounds) and the ratio ours/ORT (< 1: we are faster; the median of the per-round ratios, with
# their range: this VM's speed swings by up to 1.5x for minutes, alternation cancels most). Medians: ours is the median over all samples x R runs (first, cold run included, no
# warm-up option: with R >= 10 the median ignores it); ORT's is the median of per-sample medians
# after W untimed warm-up runs. ORT times include onnxruntime-node's copy of outputs into JS
# arrays (microseconds for these outputs). ORT intra-op threads = N, inter-op = 1, sequential.
#
# Environment knobs (defaults): REPEAT (20) ROUNDS (5: ours/ORT pairs per case) WARMUP (5) THREADS ("1 2") MAX_SAMPLES (50, applies
# to the data/calib folder only) ORT_OPT (all: ORT's default and fastest level; "basic" matches the
# correctness test) MODELS_DIR (BUILD_DIR/models) PYTHON (/usr/bin/python3) PIN ("": set e.g.
# PIN="taskset -c 2,3" to pin both runtimes to the same cores).
# Memory: live_MiB is the most activation bytes our executor held at once (`quantize run --profile`;
# values are freed after their last reader), rss_MiB / ort_rss the peak RSS of each whole process
# (/usr/bin/time; includes weights, their reordered copies, libraries and JIT code).
# Output: a table on stdout, plus BUILD_DIR/bench_vs_ort.tsv with the same rows.
set -euo pipefail

ROOT=${1:?usage: $0 REPO_ROOT BUILD_DIR}
BUILD=${2:?usage: $0 REPO_ROOT BUILD_DIR}
REPEAT=${REPEAT:-20}
ROUNDS=${ROUNDS:-5}
WARMUP=${WARMUP:-5}
THREADS=${THREADS:-"1 2"}
MAX_SAMPLES=${MAX_SAMPLES:-50}
ORT_OPT=${ORT_OPT:-all}
MODELS_DIR=${MODELS_DIR:-$BUILD/models}
PY=${PYTHON:-/usr/bin/python3}
PIN=${PIN:-}
ORT="$ROOT/tools/ort"
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"

QUANTIZE=""
for c in "$BUILD/src/quantize" "$BUILD/quantize"; do
  if [ -x "$c" ]; then QUANTIZE="$c"; break; fi
done
[ -n "$QUANTIZE" ] || { echo "error: no quantize binary under '$BUILD'" >&2; exit 2; }
command -v node >/dev/null || { echo "error: node not found" >&2; exit 2; }
[ -d "$ORT/node_modules/onnxruntime-node" ] ||
  { echo "error: run 'cd $ORT && ONNXRUNTIME_NODE_INSTALL=skip npm ci' first" >&2; exit 2; }

need=()
for m in resnet18 mobilenet_v2; do
  [ -f "$MODELS_DIR/$m/model.onnx" ] && [ -d "$MODELS_DIR/$m/inputs" ] || need+=("$m")
done
if [ ${#need[@]} -gt 0 ]; then
  echo "exporting ${need[*]} into $MODELS_DIR" >&2
  "$PY" "$ROOT/tools/models/export_models.py" "$MODELS_DIR" --only "${need[@]}" >&2
fi

# name | model | inputs | extra args for both tools
CASES=(
  "resnet18|$MODELS_DIR/resnet18/model.onnx|$MODELS_DIR/resnet18/inputs|"
  "mobilenet_v2|$MODELS_DIR/mobilenet_v2/model.onnx|$MODELS_DIR/mobilenet_v2/inputs|"
  "fashion_mnist_cnn|$ROOT/data/fashion_mnist_cnn.onnx|$ROOT/data/calib|--max-samples $MAX_SAMPLES"
)

echo "# $(date -u +%FT%TZ)  $(nproc) cpus  load: $(cut -d' ' -f1-3 /proc/loadavg)  $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
echo "# ours: $QUANTIZE ($("$QUANTIZE" --version 2>/dev/null | head -n 1))  ORT: onnxruntime-node $(node -p 'require(process.argv[1] + "/node_modules/onnxruntime-node/package.json").version' "$ORT") --opt $ORT_OPT"
echo "# repeat $REPEAT, ORT warm-up $WARMUP, $ROUNDS alternating rounds; median ms per sample (median over rounds), ours/ort = median of the per-round ratios (range: their min-max)"
TSV="$BUILD/bench_vs_ort.tsv"
printf 'model\tthreads\tsamples\tours_ms\tort_ms\tours_over_ort\tratio_range\tlive_mib\tours_rss_mib\tort_rss_mib\n' > "$TSV"
printf '%-18s %7s %7s %10s %10s %9s %11s %9s %9s %9s\n' model threads samples ours_ms ort_ms ours/ort range live_MiB rss_MiB ort_rss
for c in "${CASES[@]}"; do
  IFS='|' read -r name model inputs extra <<< "$c"
  for t in $THREADS; do
    # ROUNDS pairs, ours then ORT each time, so that the VM's speed swings hit both alike; the
    # figures are the medians over the rounds, the ratio the median of the per-round ratios.
    ours_list=() ort_list=() ratio_list=()
    for r in $(seq "$ROUNDS"); do
      # shellcheck disable=SC2086  # $extra / $PIN are word lists
      ours_out=$($PIN /usr/bin/time -f '%M' -o "$BUILD/bench_rss_ours" "$QUANTIZE" run "$model" --inputs "$inputs" \
        --threads "$t" --repeat "$REPEAT" $extra)
      ours1=$(sed -n 's/.*median \([0-9.]*\) ms per sample.*/\1/p' <<< "$ours_out" | tail -n 1)
      samples=$(sed -n 's/^\([0-9]*\) samples x.*/\1/p' <<< "$ours_out" | tail -n 1)
      [ -n "$ours1" ] || { echo "error: cannot parse quantize run output: $ours_out" >&2; exit 1; }
      # shellcheck disable=SC2086
      ort_json=$($PIN /usr/bin/time -f '%M' -o "$BUILD/bench_rss_ort" node "$ORT/run.js" "$model" --inputs "$inputs" \
        --threads "$t" --repeat "$REPEAT" --warmup "$WARMUP" --opt "$ORT_OPT" $extra)
      read -r ort1 ort_samples < <(node -e 'const r = JSON.parse(process.argv[1]); console.log(r.median_ms, r.samples);' "$ort_json")
      [ "$samples" = "$ort_samples" ] || echo "warning: $name: ours ran $samples samples, ORT $ort_samples" >&2
      ours_list+=("$ours1")
      ort_list+=("$ort1")
      ratio_list+=("$(awk -v a="$ours1" -v b="$ort1" 'BEGIN{printf "%.3f", a / b}')")
    done
    ours=$(printf '%s\n' "${ours_list[@]}" | median)
    ort=$(printf '%s\n' "${ort_list[@]}" | median)
    ratio=$(printf '%s\n' "${ratio_list[@]}" | median | awk '{printf "%.2f", $1}')
    ratio_range=$(printf '%s\n' "${ratio_list[@]}" | sort -g | awk 'NR==1{lo=$1} {hi=$1} END{printf "%.2f-%.2f", lo, hi}')
    # Working set of our forward pass: the most activation bytes alive at once (values are freed
    # after their last reader), from one untimed profiled run.
    # shellcheck disable=SC2086
    live=$("$QUANTIZE" run "$model" --inputs "$inputs" --threads "$t" --max-samples 1 --profile |
      sed -n 's/^peak live activations: \([0-9.]*\) MiB/\1/p')
    rss_ours=$(awk '{printf "%.1f", $1 / 1024}' "$BUILD/bench_rss_ours")
    rss_ort=$(awk '{printf "%.1f", $1 / 1024}' "$BUILD/bench_rss_ort")
    printf '%-18s %7s %7s %10.3f %10.3f %9s %11s %9s %9s %9s\n' "$name" "$t" "$samples" "$ours" "$ort" "$ratio" \
      "$ratio_range" "$live" "$rss_ours" "$rss_ort"
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$t" "$samples" "$ours" "$ort" "$ratio" "$ratio_range" \
      "$live" "$rss_ours" "$rss_ort" >> "$TSV"
  done
done
