#!/usr/bin/env bash
# The whole test suite, from a fresh Debian machine:
#   1. install the Debian packages (scripts/install-deps.sh)
#   2. Release build, -Werror; every test (unit, reference vs PyTorch, bad input)
#   3. ASan+UBSan build; unit and bad-input tests again under the sanitizers
#   3b. ThreadSanitizer build; the server's end-to-end tests
#   4. clang libFuzzer build; a short run of each fuzz target
# Prints a final line "N passed, N failed" and exits non-zero on any failure.
# Set SG_FUZZ_SECONDS to change the fuzzing time per target (default 30).
# Set SG_FUZZ_SEED to change the fuzzers' random seed (default 1: CI runs are repeatable;
# run long randomised campaigns outside CI, e.g. SG_FUZZ_SEED=0 SG_FUZZ_SECONDS=3600).
set -uo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

bash scripts/install-deps.sh || { echo "0 passed, 1 failed"; exit 1; }

jobs=$(nproc)
total_pass=0
total_fail=0
logdir="$root/build/test-logs"
mkdir -p "$logdir"

# run_ctest NAME BUILD_DIR [ctest args...]: runs ctest, adds its counts to the totals
run_ctest() {
  local name=$1 dir=$2
  shift 2
  local log="$logdir/$name.log"
  (cd "$dir" && ctest --output-on-failure -j"$jobs" "$@") 2>&1 | tee "$log"
  local line
  line=$(grep -E "tests passed, [0-9]+ tests failed out of [0-9]+" "$log" | tail -1)
  if [ -z "$line" ]; then
    if grep -q "No tests were found" "$log"; then return 0; fi
    echo "== $name: ctest produced no summary"
    total_fail=$((total_fail + 1))
    return 0
  fi
  local failed all
  failed=$(echo "$line" | sed -E 's/.* ([0-9]+) tests failed out of ([0-9]+).*/\1/')
  all=$(echo "$line" | sed -E 's/.* ([0-9]+) tests failed out of ([0-9]+).*/\2/')
  total_fail=$((total_fail + failed))
  total_pass=$((total_pass + all - failed))
}

build() { # build NAME DIR [cmake args...]
  local name=$1 dir=$2
  shift 2
  echo "== build: $name"
  if ! cmake -S . -B "$dir" -DSG_WERROR=ON "$@" >"$logdir/$name-configure.log" 2>&1 ||
     ! cmake --build "$dir" -j"$jobs" >"$logdir/$name-build.log" 2>&1; then
    cat "$logdir/$name-configure.log" "$logdir/$name-build.log" 2>/dev/null | tail -60
    echo "== build $name FAILED"
    total_fail=$((total_fail + 1))
    return 1
  fi
}

if build release build/release -DCMAKE_BUILD_TYPE=Release; then
  run_ctest release build/release -LE fuzz
fi

if build asan build/asan -DCMAKE_BUILD_TYPE=Debug -DSG_SANITIZE=ON -DSG_NATIVE=ON; then
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    run_ctest asan build/asan -L "unit|badinput|model|cli"
fi

# ThreadSanitizer on the server: handler threads, the engine thread and the pool
if build tsan build/tsan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSG_TSAN=ON; then
  SG_SANITIZED=1 TSAN_OPTIONS=halt_on_error=1:report_signal_unsafe=0 run_ctest tsan build/tsan -L serve
fi

if command -v clang >/dev/null; then
  if build fuzz build/fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER=clang -DSG_FUZZ=ON; then
    run_ctest fuzz build/fuzz -L fuzz
  fi
fi

echo
echo "$total_pass passed, $total_fail failed"
[ "$total_fail" -eq 0 ]
