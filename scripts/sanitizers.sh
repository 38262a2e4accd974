#!/usr/bin/env bash
# The test suite again under sanitizers, each in its own build folder (ccache makes the
# second and later builds quick):
#   build-asan  AddressSanitizer (leaks included) + UndefinedBehaviorSanitizer: every suite
#               but 'parity' (the integration suites again on the postgres engine)
#   build-tsan  ThreadSanitizer: the unit tests that run threads (suite 'threads'), the
#               fuzz replays and the integration suite (a multi-shard server under test)
# Any report fails its test. Exit status: 0 when both runs pass. `meson test` builds only
# what the chosen suites run (their executables and `depends`), so neither build compiles
# the load generator, and the TSan build skips the single-threaded unit tests.
#   bash scripts/sanitizers.sh [asan|tsan]...   (default: both)
set -uo pipefail
cd "$(dirname "$0")/.."

stages=("$@")
[ ${#stages[@]} -eq 0 ] && stages=(asan tsan)

# Debug info makes ccache hash the build folder; these builds are the same whatever the
# folder (a fresh CI clone's included), so let them share the cache.
export CCACHE_NOHASHDIR=1

configure() {
  local dir=$1 sanitizers=$2
  if [ ! -f "$dir/build.ninja" ]; then
    meson setup "$dir" --buildtype=debugoptimized -Db_sanitize="$sanitizers" \
      -Db_lundef=false -Dcpp_args=-fno-sanitize-recover=undefined >/dev/null || return 1
  fi
}

status=0
for stage in "${stages[@]}"; do
  case "$stage" in
    asan)
      configure build-asan address,undefined || { status=1; continue; }
      ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:detect_stack_use_after_return=1 \
      UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
        meson test -C build-asan --print-errorlogs --num-processes 2 --timeout-multiplier 3 \
        --no-suite parity ||
        status=1
      ;;
    tsan)
      configure build-tsan thread || { status=1; continue; }
      TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1:ignore_noninstrumented_modules=1:suppressions=$PWD/scripts/tsan.supp \
        meson test -C build-tsan --print-errorlogs --num-processes 2 --timeout-multiplier 5 \
        --suite threads --suite integration --suite fuzz || status=1
      ;;
    *)
      echo "sanitizers: unknown stage $stage (asan or tsan)" >&2
      exit 2
      ;;
  esac
done
exit $status
