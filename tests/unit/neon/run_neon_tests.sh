#!/usr/bin/env bash
# run_neon_tests.sh SRC_DIR OUT_DIR [HEADER_DIR...] -- the AArch64 build, checked on x86 hosts.
#
#  1. Every library source (src/*/*.c, minus the x86-only kernel families that
#     CMake leaves out of AArch64 builds) must compile for aarch64 with the
#     project's warnings as errors (-fsyntax-only): an x86-ism in shared code
#     fails here. HEADER_DIR... are the dependencies' include directories
#     (OpenBLAS, cJSON, ...; headers only, searched after the aarch64 system
#     headers).
#  2. tests/unit/neon/test_neon.c and tests/unit/test_dtype.c are linked
#     statically for aarch64 with src/tensor/dtype.c, kernels_ref.c and
#     kernels_neon.c alone, and run under qemu-aarch64 (user mode): the NEON
#     kernels against the scalar reference, and the dispatcher's choice
#     (default NEON; SG_CPU=ref caps it). Correctness only: emulated timings
#     mean nothing.
# Exits 77 (skipped) when aarch64-linux-gnu-gcc, its static C library or
# qemu-aarch64 is missing (scripts/install-deps.sh installs them).
set -uo pipefail
src=${1:?usage: run_neon_tests.sh SRC_DIR OUT_DIR [HEADER_DIR...]}
out=${2:?usage: run_neon_tests.sh SRC_DIR OUT_DIR [HEADER_DIR...]}
shift 2
cc=${SG_AARCH64_CC:-aarch64-linux-gnu-gcc}
qemu=${SG_QEMU_AARCH64:-qemu-aarch64}

if ! command -v "$cc" >/dev/null 2>&1; then
    echo "SKIP: $cc not found (apt-get install gcc-aarch64-linux-gnu)"
    exit 77
fi
if ! command -v "$qemu" >/dev/null 2>&1; then
    echo "SKIP: $qemu not found (apt-get install qemu-user)"
    exit 77
fi
if [ "$("$cc" -print-file-name=libc.a)" = libc.a ]; then
    echo "SKIP: no static C library for $cc (apt-get install libc6-dev-arm64-cross)"
    exit 77
fi

mkdir -p "$out" || exit 1
cflags=(-std=c17 -D_GNU_SOURCE -Wall -Wextra -Wshadow -Wno-unused-parameter -Wvla -Wformat=2 -Werror
        -I"$src/include" -I"$src/src")
deps=()
for d in "$@"; do [ -n "$d" ] && deps+=(-idirafter "$d"); done
# headers that multiarch Debian keeps under the host's triplet directory (curl)
multiarch=$(gcc -print-multiarch 2>/dev/null || true)
[ -n "$multiarch" ] && [ -d "/usr/include/$multiarch" ] && deps+=(-idirafter "/usr/include/$multiarch")
fail=0

# ---- 1. the library compiles for aarch64
n=0
for f in "$src"/src/*/*.c; do
    case "$f" in
    */src/tensor/kernels_avx2.c | */src/tensor/kernels_avx512.c) continue ;;
    esac
    n=$((n + 1))
    if ! "$cc" "${cflags[@]}" "${deps[@]}" -fsyntax-only "$f"; then
        echo "FAIL: ${f#"$src"/} does not compile for aarch64"
        fail=1
    fi
done
[ "$fail" -eq 0 ] && echo "ok: $n library sources compile for aarch64 (-Werror)"

# ---- 2. the NEON kernels, run under qemu-aarch64
kern=("$src/src/tensor/dtype.c" "$src/src/tensor/kernels_ref.c" "$src/src/tensor/kernels_neon.c")
for t in neon/test_neon test_dtype; do
    bin="$out/$(basename "$t").aarch64"
    if ! "$cc" "${cflags[@]}" -I"$src/tests/unit" -O2 -static -o "$bin" "$src/tests/unit/$t.c" "${kern[@]}" \
        -lm -lpthread; then
        echo "FAIL: $t.c does not build for aarch64"
        fail=1
    fi
done

# run BIN ARGS...: one emulated test binary (SG_CPU=... run ... sets its environment)
run() {
    echo "== qemu-aarch64 $(basename "$1") ${*:2}"
    if ! "$qemu" "$@"; then
        echo "FAIL: $(basename "$1") ${*:2}"
        fail=1
    fi
}
if [ -x "$out/test_neon.aarch64" ]; then
    SG_CPU='' run "$out/test_neon.aarch64" neon
    SG_CPU=neon run "$out/test_neon.aarch64" neon
    SG_CPU=ref run "$out/test_neon.aarch64" ref
fi
# the x86 suite's own dtype test, every usable family (ref, neon) in turn
[ -x "$out/test_dtype.aarch64" ] && SG_CPU='' run "$out/test_dtype.aarch64"

if [ "$fail" -ne 0 ]; then
    echo "NEON checks FAILED"
    exit 1
fi
echo "NEON checks passed"
