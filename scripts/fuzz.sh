#!/usr/bin/env bash
# Runs each libFuzzer target (fuzz/) for a while from its seeds, ASan and UBSan on.
#   bash scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]   (default 60 s, every target)
# Builds build-fuzz (clang, -Dfuzz=true) when it is missing. What a run finds is kept in
# fuzz/corpus/<target>/ (not committed; it grows run after run); a crash stops that
# target's run, is written to fuzz/crashes/, and makes this script exit 1.
# Environment: FUZZ_BUILD_DIR (default build-fuzz).
set -uo pipefail
cd "$(dirname "$0")/.."

seconds=${1:-60}
shift || true
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(http_request json_input storage_codec config_yaml ids)
build_dir=${FUZZ_BUILD_DIR:-build-fuzz}
# As in sanitizers.sh: the build is the same whatever its folder, so ccache may share it.
export CCACHE_NOHASHDIR=1

if [ ! -f "$build_dir/build.ninja" ]; then
  CXX=clang++ meson setup "$build_dir" -Dfuzz=true --buildtype=debugoptimized >/dev/null || exit 1
fi
ninja -C "$build_dir" -j "$(nproc)" >/dev/null || { ninja -C "$build_dir" -j 1; exit 1; }

mkdir -p fuzz/crashes
# One line per target, "ok <target>" or "fail <target>", for CI's count.
results=$build_dir/fuzz-results.txt
: >"$results"
status=0
for target in "${targets[@]}"; do
  corpus=fuzz/corpus/$target
  mkdir -p "$corpus"
  dict=()
  [ "$target" = http_request ] && dict=(-dict=fuzz/http.dict)
  log=$(mktemp)
  "$build_dir/fuzz/fuzz_$target" -max_total_time="$seconds" -print_final_stats=1 \
    -timeout=60 -rss_limit_mb=4096 \
    -artifact_prefix="fuzz/crashes/$target-" "${dict[@]}" \
    "$corpus" "fuzz/seeds/$target" "fuzz/regressions/$target" >"$log" 2>&1
  code=$?
  # One line per target: executions, coverage, corpus, and the verdict.
  runs=$(grep -o 'stat::number_of_executed_units: [0-9]*' "$log" | awk '{s+=$2} END {print s+0}')
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | awk '{print $2}')
  echo "fuzz $target: ${seconds}s, ${runs} executions, coverage ${cov:-?} edges, corpus $(ls "$corpus" | wc -l) inputs, exit $code"
  if [ "$code" -eq 0 ]; then
    echo "ok $target" >>"$results"
  else
    echo "fail $target" >>"$results"
    status=1
    grep -E 'ERROR|property broken|SUMMARY' "$log" | head -5
  fi
  rm -f "$log"
done
exit $status
