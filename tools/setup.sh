#!/usr/bin/env bash
# Installs what onnx-ptq needs on Debian 12 (apt-get; npm for onnxruntime-node), then configures and
# builds it. Usage: tools/setup.sh [BUILD_DIR] [extra cmake args...]. Idempotent: skips what is there.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
build="${1:-$repo/build}"
shift || true

pkgs=(build-essential cmake ninja-build pkg-config
      libonnx-dev libprotobuf-dev protobuf-compiler libcli11-dev libspdlog-dev libfmt-dev catch2
      libdnnl-dev ocl-icd-opencl-dev libzip-dev nlohmann-json3-dev libstb-dev libpng-dev libjpeg-dev
      libonnx-testdata dataset-fashion-mnist python3-numpy ${PTQ_EXTRA_PACKAGES:-})
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# Node.js may come from elsewhere than Debian (as on these build machines): any node+npm will do.
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then missing+=(nodejs npm); fi
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}" >&2
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ ! -d "$repo/tools/ort/node_modules/onnxruntime-node" ]; then
  echo "setup: installing onnxruntime-node (npm)" >&2
  (cd "$repo/tools/ort" && ONNXRUNTIME_NODE_INSTALL=skip npm ci --no-audit --no-fund --loglevel=error >/dev/null)
fi

cmake -S "$repo" -B "$build" -G Ninja "$@" >/dev/null
ninja -C "$build" -j"$(nproc)" >/dev/null
echo "setup: built $build" >&2
