#!/usr/bin/env bash
# Installs every Debian package stargate needs to build, run and test.
# Nothing else is ever downloaded: builds and tests use only these packages.
# Safe to re-run: it does nothing when everything is present.
set -euo pipefail

PACKAGES=(
  # build
  build-essential cmake pkg-config git
  # libraries linked into stargate
  libopenblas-dev libcjson-dev libpcre2-dev
  # tests: PyTorch/numpy references (run with /usr/bin/python3)
  python3 python3-numpy python3-torch python3-jinja2
  # fuzzing (libFuzzer) and sanitizers
  clang libclang-rt-14-dev
  # terminal chat end-to-end tests
  tmux
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
echo "stargate: installing Debian packages: ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
