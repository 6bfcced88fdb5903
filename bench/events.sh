#!/usr/bin/env bash
# make bench: POST /events and GET /events/{event_id} at 64 connections against real Postgres, side by
# side in one run with the FastAPI reference and the bare Node+pg baseline of the anchor kit
# (../shared/anchors/fastapi-events), once per WEB_CONCURRENCY value. Then a CPU profile of one
# service process under the same load. Prints the kit's tables; raw output goes to bench/results/.
#
# Knobs: BENCH_WEB_CONCURRENCY ("1 2"), BENCH_DATABASE_URL, ANCHOR_KIT, PROFILE (1), and the kit's own
# (ROUNDS, DURATION, WARMUP, QUIET_WAIT, ...).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
KIT=${ANCHOR_KIT:-$ROOT/../shared/anchors/fastapi-events}
[ -f "$KIT/bench.sh" ] || { echo "The anchor kit is not at $KIT; set ANCHOR_KIT." >&2; exit 1; }
DB_URL=${BENCH_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/portico_bench}
SCHEMA=bench
PORT=${BENCH_PORT:-8000}
STAMP=$(date +%Y%m%d-%H%M%S)
OUT=$ROOT/bench/results/events-$STAMP
mkdir -p "$OUT"
export WORK_DIR=${WORK_DIR:-$ROOT/.bench-work}

make --no-print-directory build >/dev/null
psql "${DB_URL%/*}/postgres" -Atqc "select 1 from pg_database where datname = '${DB_URL##*/}'" | grep -q 1 \
  || psql "${DB_URL%/*}/postgres" -qc "create database ${DB_URL##*/}"

SERVER_PID=
stop_server() {
  if [ -n "$SERVER_PID" ]; then kill -TERM "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; SERVER_PID=; fi
}
trap stop_server EXIT

start_server() { # $1 = WEB_CONCURRENCY, $2.. = extra node flags
  local concurrency=$1; shift
  psql "$DB_URL" -qc "drop schema if exists $SCHEMA cascade" 2>/dev/null
  TOKEN=$(DATABASE_URL=$DB_URL DATABASE_SCHEMA=$SCHEMA node dist/src/cli/keys.js create --name bench --scopes events:read,events:write --owner bench --rate-limit 0 | tail -n 1)
  DATABASE_URL=$DB_URL DATABASE_SCHEMA=$SCHEMA WEB_CONCURRENCY=$concurrency PORT=$PORT LOG_LEVEL=warn \
    node "$@" dist/src/server.js >"$OUT/server-wc$concurrency.log" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$PORT/ready" >/dev/null 2>&1 && return 0; sleep 0.2; done
  echo "The service did not become ready; see $OUT/server-wc$concurrency.log" >&2; exit 1
}

for concurrency in ${BENCH_WEB_CONCURRENCY:-1 2}; do
  echo "=== Portico with WEB_CONCURRENCY=$concurrency ==="
  start_server "$concurrency"
  TARGET_URL=http://127.0.0.1:$PORT TARGET_TOKEN=$TOKEN bash "$KIT/bench.sh" 2>&1 | tee "$OUT/anchor-wc$concurrency.txt" \
    | sed -n '/=== Summary/,$p'
  stop_server
  if [ "$concurrency" = 1 ]; then node bench/events-targets.mjs "$OUT/anchor-wc1.txt"; fi
done

if [ "${PROFILE:-1}" = 1 ]; then
  echo "=== CPU profile of one service process (10 s POST, then 10 s GET, 64 connections) ==="
  rm -rf "$OUT/profile" && mkdir -p "$OUT/profile"
  start_server 1 --cpu-prof --cpu-prof-dir="$OUT/profile"
  curl -fs -X POST "http://127.0.0.1:$PORT/events" -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
    -d '{"event_id":"profile-seed","event_type":"t","event_data":{"k":1}}' >/dev/null
  API_TOKEN=$TOKEN wrk -t2 -c64 -d10s -s "$KIT/wrk/post.lua" "http://127.0.0.1:$PORT/events" | grep RESULT
  API_TOKEN=$TOKEN wrk -t2 -c64 -d10s -s "$KIT/wrk/get.lua" "http://127.0.0.1:$PORT/events/profile-seed" | grep RESULT
  stop_server
  node bench/profile-summary.mjs "$OUT"/profile/*.cpuprofile 25 | tee "$OUT/profile-summary.txt" | sed -n '1,/self time by function/p'
fi
echo "Raw output: $OUT"
