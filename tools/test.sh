#!/usr/bin/env bash
# Sets up, builds and runs the whole test suite (unit, conformance, end-to-end with ONNX Runtime),
# then the tests labelled slow (a model with 3 GiB of external weights) on their own.
#   usage: tools/test.sh [--sanitize]
# --sanitize also builds the suite under AddressSanitizer + UndefinedBehaviorSanitizer (build-asan)
# and runs it (all but the slow tests); any sanitizer report fails the test that triggered it.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
sanitize=0
for a in "$@"; do
  case "$a" in
    --sanitize) sanitize=1 ;;
    *) echo "usage: $0 [--sanitize]" >&2; exit 2 ;;
  esac
done
# The executor cross-check exports real PyTorch models, so the tests also need Debian's torch.
PTQ_EXTRA_PACKAGES="parallel python3-pil python3-torch python3-torchvision python3-onnx chromium" "$repo/tools/setup.sh" "$repo/build"
(cd "$repo/build" && ctest --output-on-failure -j2 -LE slow)
if [ "$sanitize" = 1 ]; then
  # -O1 -g1 instead of RelWithDebInfo's -O2 -g: half the compile time of the instrumented tree, and
  # reports still name file and line.
  "$repo/tools/setup.sh" "$repo/build-asan" -DCMAKE_BUILD_TYPE=RelWithDebInfo "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -g1 -DNDEBUG" \
    -DPTQ_SANITIZE=ON
  # exitcode=86: a report must not look like one of our documented exit codes (1 = internal error),
  # which some tests expect; UBSan aborts at the first report (built with -fno-sanitize-recover).
  (cd "$repo/build-asan" && ASAN_OPTIONS=detect_leaks=1:exitcode=86 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:exitcode=86 \
    ctest --output-on-failure -j2 -LE slow)
fi
# Serially, after everything else: it maps 3 GiB and peaks at about 4.3 GiB RSS (skips itself when
# the disk has less than 8 GB free).
(cd "$repo/build" && ctest --output-on-failure -L slow)
