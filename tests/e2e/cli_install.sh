#!/usr/bin/env bash
# Packaging: `cmake --install` gives a relocatable tree usable through find_package(onnx_ptq) (a tiny
# consumer project is configured, built and run against a moved copy), and CPack's .deb unpacks
# (dpkg -x) into a scratch root whose `quantize --version` runs; its Depends come from dpkg-shlibdeps.
#   usage: tests/e2e/cli_install.sh REPO_ROOT BUILD_DIR
set -euo pipefail
ROOT=${1:?usage: $0 REPO_ROOT BUILD_DIR}
BUILD=${2:?usage: $0 REPO_ROOT BUILD_DIR}
source "$(dirname "$0")/lib.sh"
command -v cpack >/dev/null || skip "cpack missing"
command -v dpkg-shlibdeps >/dev/null || skip "dpkg-shlibdeps missing (apt-get install dpkg-dev)"
W="$BUILD/e2e/cli_install"
rm -rf "$W" && mkdir -p "$W"
fail() { echo "FAIL: $*"; exit 1; }

# 1. install, then move the tree: nothing may point back at the first prefix.
cmake --install "$BUILD" --prefix "$W/first" >/dev/null
mv "$W/first" "$W/moved"
for f in bin/quantize lib/libonnx_ptq.a include/onnx_ptq/core/tensor.h include/onnx_ptq/app/pipeline.h \
         lib/cmake/onnx_ptq/onnx_ptqConfig.cmake lib/cmake/onnx_ptq/onnx_ptqTargets.cmake; do
  [ -f "$W/moved/$f" ] || fail "$f not installed"
done
[ ! -e "$W/moved/include/onnx_ptq/cli" ] || fail "CLI headers must not be installed"
! grep -rq "$W/first" "$W/moved/lib/cmake" || fail "installed CMake files mention the install prefix"
"$W/moved/bin/quantize" --version | grep -x "onnx-ptq [0-9.]*" >/dev/null || fail "installed quantize --version"

# 2. a consumer project finds the moved tree and links the library.
cmake -S "$ROOT/tests/e2e/consumer" -B "$W/consumer" -G Ninja -DCMAKE_PREFIX_PATH="$W/moved" >/dev/null
cmake --build "$W/consumer" >/dev/null
out=$("$W/consumer/consumer")
want=$'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad\nm/model.int8.onnx'
[ "$out" = "$want" ] || fail "consumer printed '$out'"
echo "ok   install tree relocatable, find_package(onnx_ptq) consumer builds and runs"

# 3. the .deb: dependencies from dpkg-shlibdeps, unpacks and runs from a scratch root.
(cd "$W" && cpack --config "$BUILD/CPackConfig.cmake" -B "$W/pkg" >/dev/null 2>&1) || fail "cpack"
deb=$(ls "$W"/pkg/onnx-ptq_*.deb)
deps=$(dpkg-deb -f "$deb" Depends)
for lib in libc6 libstdc++6 libprotobuf libdnnl; do
  [[ "$deps" == *"$lib"* ]] || fail "Depends lacks $lib: $deps"
done
dpkg-deb -c "$deb" | grep "./usr/bin/quantize" >/dev/null || fail "the .deb lacks usr/bin/quantize"
dpkg -x "$deb" "$W/root"
"$W/root/usr/bin/quantize" --version | grep -x "onnx-ptq [0-9.]*" >/dev/null || fail "quantize from the .deb"
echo "ok   $(basename "$deb"): Depends: $deps"
