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
  # stargate pull: HTTPS downloads from the Hugging Face hub
  libcurl4-openssl-dev
  # tests: PyTorch/numpy references (run with /usr/bin/python3)
  python3 python3-numpy python3-torch python3-jinja2
  # fuzzing (libFuzzer) and sanitizers
  clang libclang-rt-14-dev
  # serving: HTTP library; curl and Node.js for the client tests
  libmicrohttpd-dev curl nodejs
  # terminal chat end-to-end tests
  tmux
  # data-parallel training (MPI)
  libopenmpi-dev openmpi-bin
  # deployments: accounts, keys and conversations (SQLite by default,
  # PostgreSQL through libpq; the tests start a real PostgreSQL on loopback),
  # key hashing and constant-time comparison (libsodium)
  libsqlite3-dev sqlite3 libpq-dev postgresql libsodium-dev
  # web chat end-to-end tests: headless Chromium driven by playwright-core
  chromium
  # the NEON kernels: cross-compiled for arm64 and run under qemu in the tests
  gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user
)

# The serving tests' official OpenAI client (npm "openai", pinned by
# tests/serve/js/package-lock.json). npm comes with NodeSource's nodejs; on
# Debian's it is a package of its own.
serve_js() {
  local js
  js="$(dirname "$0")/../tests/serve/js"
  [ -f "$js/package-lock.json" ] && [ ! -d "$js/node_modules/openai" ] || return 0
  if ! command -v npm >/dev/null; then
    ${SUDO:-} apt-get install -y -qq --no-install-recommends npm || return 0
  fi
  echo "stargate: npm ci --prefix tests/serve/js (openai client for the serving tests)"
  npm ci --prefix "$js" --no-audit --no-fund --loglevel=error ||
    echo "stargate: npm ci failed; the serve.openai_js test will be skipped"
}

# The web chat's browser test drives Debian's Chromium with playwright-core
# (npm, pinned by tests/web/package-lock.json).
web_js() {
  local js
  js="$(dirname "$0")/../tests/web"
  [ -f "$js/package-lock.json" ] && [ ! -d "$js/node_modules/playwright-core" ] || return 0
  command -v npm >/dev/null || return 0
  echo "stargate: npm ci --prefix tests/web (playwright-core for the web chat test)"
  npm ci --prefix "$js" --no-audit --no-fund --loglevel=error ||
    echo "stargate: npm ci failed; the web chat browser test will be skipped"
}

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -eq 0 ]; then
  serve_js
  web_js
  exit 0
fi
echo "stargate: installing Debian packages: ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
serve_js
web_js
