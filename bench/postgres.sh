#!/usr/bin/env bash
# baton-bench against storage.engine: postgres, on this machine's PostgreSQL 15 cluster
# (Debian's postgresql-15, started with pg_ctlcluster; run as root). Each run gets a fresh
# database `batondev` owned by the role `baton` (password `baton`), both made here;
# docs/benchmarks.md ("PostgreSQL backend") has the figures.
#
#   bash bench/postgres.sh depth       claims at 1 000 and at DEPTH pending, open loop at RATE
#   bash bench/postgres.sh two-nodes   one node against two on one database
#
# Env: RUNS (3), BUILD (build), CONNS (connections_per_shard, 16), SECS (measured seconds
# per phase), DEPTH (1000000), RATE (600), CONNS_TWO (each of the two nodes' CONNS).
set -u
mode=${1:-}
RUNS=${RUNS:-3}; BUILD=${BUILD:-build}; CONNS=${CONNS:-16}
bin=$(realpath "$BUILD")/baton
bench=$(realpath "$BUILD")/bench/baton-bench
conf=$(dirname "$(realpath "$0")")/../conf/baton.yaml
url=postgres://baton:baton@127.0.0.1:5432/batondev

pg_ctlcluster 15 main start 2>/dev/null
su postgres -c "psql -qc \"DO \\\$\\\$BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname='baton') THEN CREATE ROLE baton LOGIN PASSWORD 'baton'; END IF; END\\\$\\\$\""

# A fresh database. FORCE: a statement of a node killed before runs on until it ends.
fresh_db() {
  su postgres -c "psql -qc 'DROP DATABASE IF EXISTS batondev WITH (FORCE)' -c 'CREATE DATABASE batondev OWNER baton'" >/dev/null
}
start_node() {  # port data_dir connections_per_shard; prints the pid
  env BATON_STORAGE_ENGINE=postgres BATON_STORAGE_POSTGRES_URL=$url \
    BATON_STORAGE_POSTGRES_CONNECTIONS_PER_SHARD="$3" BATON_SERVER_LISTEN=127.0.0.1:"$1" \
    BATON_STORAGE_PATH="$2" "$bin" serve --config "$conf" >"$2/log" 2>&1 &
  echo $!
}
wait_up() {
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$1/health" >/dev/null && return; sleep 0.1; done
  echo "no server on port $1" >&2
  exit 1
}
lifecycle_rate() {  # port workers
  "$bench" --url "http://127.0.0.1:$1" --workers "$2" --seconds "${SECS:-5}" --warmup 2 |
    awk '/^lifecycle tasks\/s/ {print $3}'
}

case "$mode" in
  depth)
    for r in $(seq "$RUNS"); do
      fresh_db
      dir=$(mktemp -d); pid=$(start_node 7651 "$dir" "$CONNS"); wait_up 7651
      echo "== run $r"
      "$bench" --url http://127.0.0.1:7651 --seconds "${SECS:-10}" --warmup 2 \
        --depth "${DEPTH:-1000000}" --rate "${RATE:-600}" |
        grep -E "backlog seconds|^(shallow|deep) (requests/s|claim p50|claim p99 |errors)|deep/shallow"
      kill "$pid"; wait "$pid" 2>/dev/null; rm -rf "$dir"
    done
    ;;
  two-nodes)
    for r in $(seq "$RUNS"); do
      fresh_db
      dir=$(mktemp -d); pid=$(start_node 7651 "$dir" "$CONNS"); wait_up 7651
      one=$(lifecycle_rate 7651 64)
      kill "$pid"; wait "$pid" 2>/dev/null; rm -rf "$dir"
      fresh_db
      da=$(mktemp -d); db=$(mktemp -d)
      pa=$(start_node 7651 "$da" "${CONNS_TWO:-$CONNS}"); wait_up 7651
      pb=$(start_node 7652 "$db" "${CONNS_TWO:-$CONNS}"); wait_up 7652
      lifecycle_rate 7651 32 >"$da/rate" & ba=$!
      lifecycle_rate 7652 32 >"$db/rate" & bb=$!
      wait "$ba" "$bb"
      a=$(cat "$da/rate"); b=$(cat "$db/rate")
      kill "$pa" "$pb"; wait "$pa" "$pb" 2>/dev/null; rm -rf "$da" "$db"
      echo "run $r: one node $one tasks/s; two nodes $a + $b = $((a + b)) tasks/s"
    done
    ;;
  *)
    echo "usage: bash bench/postgres.sh depth|two-nodes (see its header)" >&2
    exit 2
    ;;
esac
