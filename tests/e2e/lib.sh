# Shared by the end-to-end scripts (source it; it defines functions only).
# skip MSG: exit 77 (ctest "skipped") on a developer machine, fail when CI is set, where every
# prerequisite must have been installed by tools/setup.sh.
skip() { echo "SKIP: $1"; if [ -n "${CI:-}" ]; then exit 1; fi; exit 77; }
# require_ort ORT_DIR: onnxruntime-node must be installed in tools/ort.
require_ort() { [ -d "$1/node_modules/onnxruntime-node" ] || skip "onnxruntime-node not installed (run tools/setup.sh)"; }
