#!/usr/bin/env bash
# Every test of the project: installs what is missing, builds the presets the tests need, runs ctest, pytest
# and a sanitizer pass. Exit status is non-zero if anything failed.
#   JOSTLE_SKIP_SANITIZERS=1   leave out the TSan/ASan pass (the slowest step) for a quick local check
set -euo pipefail
ROOT=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)
cd "$ROOT"

"$ROOT/ci/bootstrap.sh" --test
# shellcheck source=ci/python.sh
. "$ROOT/ci/python.sh"
NEED_PYTEST=1 pick_python

jobs=$(nproc 2>/dev/null || echo 2)
status=0
failed=()
step() { echo; echo "=== $* ($(date -u +%H:%M:%S))"; }
fail() { status=1; failed+=("$1"); }

step "build: release (g++, warnings are errors)"
cmake --preset release -DJOSTLE_WERROR=ON >/dev/null
cmake --build --preset release -j "$jobs"

step "ctest: harness self-tests, every suite instance on every correct backend, the mutant gates (release)"
ctest --preset release -j "$jobs" || fail "ctest (release)"

step "pytest: runner and reports"
PYTHONPATH="$ROOT/runner:$ROOT" JOSTLE_BUILD_DIR="$ROOT/build/release" \
  "$JOSTLE_PYTHON" -m pytest -q -p no:cacheprovider runner/tests reports/tests || fail "pytest"

# Unoptimised: this build checks clang's warnings (a front-end matter) and the core's self-tests, at half the
# compile time of an optimised one.
step "detect --quick: every mutant the detect baseline rates as reliably killed must still be killed"
JOSTLE_NO_BUILD=1 "$ROOT/jostle" detect --quick --build-dir "$ROOT/build/release" --out "$ROOT/build/detect-quick" \
  --seed 1 || fail "detect --quick"

step "build: clang 14 (warnings are errors)"
cmake --preset clang -DJOSTLE_WERROR=ON -DJOSTLE_BUILD_BENCH=OFF -DCMAKE_BUILD_TYPE=Debug >/dev/null
cmake --build --preset clang -j "$jobs"

step "ctest: harness self-tests (clang)"
ctest --preset clang -j "$jobs" -R '^(Process|BadInput|Json|Probe|WideCounter|Chaos)' || fail "ctest (clang)"

if [ "${JOSTLE_SKIP_SANITIZERS:-0}" != 1 ]; then
  # The harness and every correct backend must be sanitizer-clean: a short run of every instance under each.
  for preset in tsan asan; do
    step "sanitizer pass: $preset build and a run of every correct-backend instance"
    cmake --preset "$preset" -DJOSTLE_BUILD_TESTS=OFF >/dev/null
    cmake --build --preset "$preset" -j "$jobs"
    JOSTLE_NO_BUILD=1 "$ROOT/jostle" run --build "$preset" --out "$ROOT/build/$preset-run" \
      --budget 3m --seed 1 --progress lines --quarantine "$ROOT/ci/sanitizer-quarantine.txt" \
      || fail "sanitizer pass ($preset)"
    if [ "$preset" = tsan ]; then
      step "plugins under TSan: a race inside a TSan-built plugin is reported against its source"
      JOSTLE_TSAN_BUILD_DIR="$ROOT/build/tsan" PYTHONPATH="$ROOT/runner:$ROOT" \
        "$JOSTLE_PYTHON" -m pytest -q -p no:cacheprovider runner/tests/test_plugin_sanitizers.py \
        || fail "plugins under TSan"
    fi
  done
fi

echo
if [ $status -eq 0 ]; then
  echo "ci/test.sh: all passed"
else
  echo "ci/test.sh: FAILED: ${failed[*]}"
fi
exit $status
