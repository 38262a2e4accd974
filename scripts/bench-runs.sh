#!/usr/bin/env bash
# Runs baton-bench N times, each against a fresh server and data directory, and prints
# each run's ratio (lifecycle req/s ÷ health req/s) and the medians of the main figures.
#   bash scripts/bench-runs.sh [RUNS] [extra baton-bench flags]
# Environment: BUILD_DIR (default build), BATON_STORAGE_SYNC (default batch), PORT (7432),
# BATON (server binary, default $BUILD_DIR/baton).
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
shift || true
build_dir=${BUILD_DIR:-build}
baton=${BATON:-$build_dir/baton}
port=${PORT:-7432}
export BATON_STORAGE_SYNC=${BATON_STORAGE_SYNC:-batch}
results=$(mktemp)
for ((run = 1; run <= runs; run++)); do
  data=$(mktemp -d /tmp/baton-bench-data.XXXXXX)
  "$baton" serve --config conf/baton.yaml --listen "127.0.0.1:$port" --data "$data" \
    >/dev/null 2>&1 &
  server=$!
  for _ in $(seq 100); do
    curl -sf "http://127.0.0.1:$port/health" >/dev/null 2>&1 && break
    sleep 0.05
  done
  "$build_dir/bench/baton-bench" --url "http://127.0.0.1:$port" --seconds 8 --warmup 2 \
    --json "$@" | tail -1 >>"$results"
  kill -TERM "$server"
  wait "$server" || true
  rm -rf "$data"
  tail -1 "$results" | python3 -c '
import json, sys
r = json.loads(sys.stdin.read())
print("run: ratio %.3f health %.0f lifecycle %.0f req/s claim p99 %.2f ms" % (
    r["lifecycle_health_ratio"], r["health_requests_per_s"], r["lifecycle_requests_per_s"],
    r["claim_p99_ms"]))'
done
python3 - "$results" <<'PY'
import json, statistics, sys
rows = [json.loads(line) for line in open(sys.argv[1])]
for key in ("lifecycle_health_ratio", "health_requests_per_s", "lifecycle_requests_per_s",
            "lifecycle_tasks_per_s", "claim_p99_ms"):
    print("median %s: %.3f" % (key, statistics.median(r[key] for r in rows)))
PY
rm -f "$results"
