#!/usr/bin/env bash
# Sets Baton up on a fresh Debian 12 machine and then either runs it or tests it.
#   bash scripts/setup.sh run    install what is missing, build, serve conf/baton.yaml on ./data
#   bash scripts/setup.sh test   install what is missing, build, run the whole test suite:
#                                every suite, then again under ASan+UBSan and (threads and
#                                integration) TSan, then each fuzz target for FUZZ_SECONDS
#                                (default 30)
#   bash scripts/setup.sh quick  the same, the plain build's suites only (for development)
#   bash scripts/setup.sh build  install what is missing and build
# Environment: BUILD_DIR (default build), BATON_CONFIG (default conf/baton.yaml).
set -euo pipefail
cd "$(dirname "$0")/.."

mode=${1:-run}
build_dir=${BUILD_DIR:-build}

# Every Debian package the build and the tests need, named explicitly (Boost 1.81, not the
# 1.74 that libboost-all-dev would bring).
packages=(
  meson ninja-build pkg-config g++ ccache curl
  libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev
  libboost-test1.81-dev libboost-program-options1.81-dev
  librocksdb-dev libyaml-cpp-dev libssl-dev libjemalloc-dev
  libhowardhinnant-date-dev tzdata libpq-dev
)
# The fuzz targets need clang and its libFuzzer runtime; the TLS tests make their
# certificates with the openssl command; the metrics tests check /metrics with promtool
# and scrape it with a real Prometheus; the dashboard's tests drive Debian's Chromium
# and the PostgreSQL backend's tests start a private PostgreSQL 15 (tests only: none of
# these is needed to run Baton).
test_packages=(clang libclang-rt-14-dev openssl prometheus chromium postgresql-15)

install_missing() {
  local missing=()
  for package in "$@"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' ||
      missing+=("$package")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "setup: installing ${missing[*]}"
  local sudo=()
  [ "$(id -u)" -ne 0 ] && sudo=(sudo)
  "${sudo[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends \
    "${missing[@]}"
}

# The node suite (tests/node) drives the server with real clients (the MCP SDK, the MCP
# Inspector, Redocly's OpenAPI linter). Node.js itself is needed to configure the build
# (Meson finds the suite's runner); Debian's is installed only when there is no node at
# all (one installed otherwise is kept). The suite's packages, pinned by its
# package-lock.json, are installed again whenever node_modules is missing or older than it.
install_node() {
  command -v node >/dev/null || install_missing nodejs
}

install_node_suite() {
  local suite=tests/node
  command -v npm >/dev/null || install_missing npm
  if [ ! -d "$suite/node_modules" ] || [ "$suite/package-lock.json" -nt "$suite/node_modules" ]; then
    echo "setup: installing the packages of $suite (npm ci)"
    (cd "$suite" && npm ci --no-audit --no-fund)
    touch "$suite/node_modules"
  fi
}

build() {
  if [ ! -f "$build_dir/build.ninja" ]; then
    meson setup "$build_dir" --buildtype=release
  fi
  ninja -C "$build_dir" -j "$(nproc)"
}

install_missing "${packages[@]}"
install_node
if [ "$mode" = test ] || [ "$mode" = quick ]; then
  install_node_suite
fi
if [ "$mode" = test ]; then
  install_missing "${test_packages[@]}"
fi
build

case "$mode" in
  run)
    exec "$build_dir/baton" serve --config "${BATON_CONFIG:-conf/baton.yaml}"
    ;;
  quick)
    meson test -C "$build_dir" --print-errorlogs --num-processes 2
    ;;
  test)
    status=0
    meson test -C "$build_dir" --print-errorlogs --num-processes 2 || status=1
    bash scripts/sanitizers.sh || status=1
    bash scripts/fuzz.sh "${FUZZ_SECONDS:-30}" || status=1
    exit $status
    ;;
  build)
    ;;
  *)
    echo "usage: bash scripts/setup.sh [run|test|quick|build]" >&2
    exit 2
    ;;
esac
