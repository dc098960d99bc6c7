#!/usr/bin/env bash
# Sets up, builds and runs the whole test suite (unit, conformance, end-to-end with ONNX Runtime).
# --sanitize additionally builds and runs the suite under AddressSanitizer + UBSan.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
sanitize=0
for a in "$@"; do [ "$a" = "--sanitize" ] && sanitize=1; done
# The executor cross-check exports real PyTorch models, so the tests also need Debian's torch.
PTQ_EXTRA_PACKAGES="parallel python3-pil python3-torch python3-torchvision python3-onnx chromium" "$repo/tools/setup.sh" "$repo/build"
# Tests labelled slow (the >2 GB external-data model) run with: ctest -L slow
(cd "$repo/build" && ctest --output-on-failure -j2 -LE slow)
if [ "$sanitize" = 1 ]; then
  "$repo/tools/setup.sh" "$repo/build-asan" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPTQ_SANITIZE=ON
  (cd "$repo/build-asan" && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ctest --output-on-failure -j2 -LE slow)
fi
