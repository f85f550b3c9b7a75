#!/usr/bin/env bash
# Every test of the project: installs what is missing, builds the presets the tests need, runs ctest and
# pytest. Exit status is non-zero if anything failed.
set -euo pipefail
ROOT=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)
cd "$ROOT"

"$ROOT/ci/bootstrap.sh" --test
# shellcheck source=ci/python.sh
. "$ROOT/ci/python.sh"
NEED_PYTEST=1 pick_python

jobs=$(nproc 2>/dev/null || echo 2)
status=0
step() { echo; echo "=== $*"; }

step "build: release (g++, warnings are errors)"
cmake --preset release -DJOSTLE_WERROR=ON >/dev/null
cmake --build --preset release -j "$jobs"

step "ctest: harness self-tests and every suite instance on every correct backend (release)"
ctest --preset release -j "$jobs" || status=1

step "build: clang (warnings are errors)"
cmake --preset clang -DJOSTLE_WERROR=ON -DJOSTLE_BUILD_BENCH=OFF >/dev/null
cmake --build --preset clang -j "$jobs"

step "ctest: harness self-tests (clang)"
ctest --preset clang -j "$jobs" -R '^(Process|BadInput|Json|Probe|WideCounter|Chaos)\.' || status=1

step "pytest: runner and reports"
tests=()
for d in runner/tests reports/tests; do [ -d "$d" ] && tests+=("$d"); done
if [ ${#tests[@]} -gt 0 ]; then
  PYTHONPATH="$ROOT/runner:$ROOT" JOSTLE_BUILD_DIR="$ROOT/build/release" \
    "$JOSTLE_PYTHON" -m pytest -q -p no:cacheprovider "${tests[@]}" || status=1
fi

echo
if [ $status -eq 0 ]; then echo "ci/test.sh: all passed"; else echo "ci/test.sh: FAILED"; fi
exit $status
