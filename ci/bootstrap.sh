#!/usr/bin/env bash
# Installs every Debian package jostle needs. Idempotent; prints nothing when all are present.
#   ci/bootstrap.sh            install what is missing for building and running (./jostle)
#   ci/bootstrap.sh --test     also what the test suite uses (a real browser for the HTML, GNU parallel,
#                              the SpiderMonkey shell, the real libraries behind the library plugins)
#   ci/bootstrap.sh --check    exit 1 (and list them) if something is missing, install nothing
set -euo pipefail

mode=${1:-}

PACKAGES=(
  cmake ninja-build g++ clang libclang-rt-14-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  python3 python3-pytest python3-jinja2
  libxml2-utils gdb elfutils procps
  python3-yaml
)
if [ "$mode" = "--test" ]; then
  # libmozjs-102-dev: the SpiderMonkey shell /usr/bin/js102 for the test262 engine bridge (docs/engines.md)
  PACKAGES+=(chromium parallel libmozjs-102-dev)
  # real libraries run through the plugin ABI (harness/backends/plugin/libs, docs/real-libraries.md); CMake
  # builds each plugin only when its package is present
  PACKAGES+=(libuv1-dev libabsl-dev libboost-thread-dev libtbb-dev pkg-config cargo rustc librust-parking-lot-dev
             librust-spin-dev)
fi

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$mode" = "--check" ]; then
  echo "missing Debian packages: ${missing[*]}" >&2
  exit 1
fi

SUDO=()
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    SUDO=(sudo)
  else
    echo "jostle: these Debian packages are missing and I am not root (and there is no sudo): ${missing[*]}" >&2
    echo "jostle: install them with: apt-get install ${missing[*]}" >&2
    exit 3
  fi
fi

echo "jostle: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
log=$(mktemp)
if ! "${SUDO[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}" >"$log" 2>&1; then
  # A fresh machine has empty package lists: refresh them once and try again.
  "${SUDO[@]}" apt-get update -q >>"$log" 2>&1 || true
  if ! "${SUDO[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}" >>"$log" 2>&1; then
    tail -n 20 "$log" >&2
    echo "jostle: apt-get could not install: ${missing[*]} (full log: $log)" >&2
    exit 3
  fi
fi
rm -f "$log"
