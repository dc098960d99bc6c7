#!/usr/bin/env bash
# Builds the libFuzzer targets (fuzz/) with clang++ and -fsanitize=fuzzer,address,undefined in their
# own build dir and runs each for a fixed number of runs from the seed corpus in fuzz/corpus.
#   usage: tools/fuzz.sh [RUNS]   (default 20000 runs per target; PTQ_FUZZ_TARGETS="fuzz_npy ..." picks targets;
#          PTQ_JOBS=N limits the build's parallelism)
# fuzz_model also starts from 2000 structure-aware mutants of its seeds (fuzz/mutate_models.py):
# byte mutations rarely produce a valid protobuf with a changed attribute, dim or opset.
# A crash leaves crash-* in build-fuzz/artifacts/ and fails the script: turn the input into a
# regression test in tests/unit/test_robust_*.cpp.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
runs="${1:-20000}"
build="$repo/build-fuzz"
targets=(${PTQ_FUZZ_TARGETS:-fuzz_npy fuzz_tensor_pb fuzz_model})
# clang and its runtime are needed only here, not for the default build (tools/setup.sh installs the
# project's other packages).
need=()
for p in clang libclang-rt-14-dev libomp-dev; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
[ -d "$repo/build" ] || "$repo/tools/setup.sh" "$repo/build" >/dev/null  # the project's own packages
cmake -S "$repo" -B "$build" -G Ninja -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPTQ_FUZZ=ON \
  -DPTQ_BUILD_TESTS=OFF >/dev/null
ninja -C "$build" ${PTQ_JOBS:+-j"$PTQ_JOBS"} "${targets[@]}" >/dev/null
mkdir -p "$build/artifacts"
declare -A corpus=([fuzz_model]="model" [fuzz_npy]="npy npz" [fuzz_tensor_pb]="tensor_pb")
status=0
for t in "${targets[@]}"; do
  work="$build/corpus/$t"  # the grown corpus stays out of the repo
  mkdir -p "$work"
  seeds=()
  for c in ${corpus[$t]}; do seeds+=("$repo/fuzz/corpus/$c"); done
  if [ "$t" = fuzz_model ]; then
    /usr/bin/python3 -c "import onnx" 2>/dev/null || { echo "fuzz: python3-onnx is needed for the model mutants" >&2; exit 1; }
    rm -rf "$build/mutants"
    /usr/bin/python3 "$repo/fuzz/mutate_models.py" "$repo/fuzz/corpus/model" "$build/mutants" 2000 >/dev/null
    seeds+=("$build/mutants")
  fi
  echo "fuzz: $t, $runs runs" >&2
  if ! ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1 UBSAN_OPTIONS=print_stacktrace=1 \
       "$build/fuzz/$t" -runs="$runs" -max_len=65536 -rss_limit_mb=4096 -timeout=20 -print_final_stats=1 \
       -artifact_prefix="$build/artifacts/$t-" "$work" "${seeds[@]}" > "$build/$t.log" 2>&1; then
    echo "fuzz: $t FAILED (see $build/$t.log and $build/artifacts/)" >&2
    tail -40 "$build/$t.log" >&2
    status=1
  else
    grep -E "stat::number_of_executed_units|stat::peak_rss_mb" "$build/$t.log" | sed "s/^/  $t /" >&2
  fi
done
exit $status
