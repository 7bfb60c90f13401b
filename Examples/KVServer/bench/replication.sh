#!/usr/bin/env bash
# usage: bench/replication.sh [LOAD_SECONDS] [DURATION] — the replicated
# service end to end, on one machine (README, section Replication):
#  1. starts a primary, loads it with wrk (bench/mixed.lua: binary PUTs and
#     DELETEs) for LOAD_SECONDS (default 5);
#  2. starts a replica that bootstraps from a backup (POST /backup) and
#     follows GET /changes;
#  3. under wrk load: kill -9 of the primary mid-stream, restart; kill -9 of
#     the replica mid-apply, restart (it resumes from its latestSequence);
#  4. waits for the replica to reach the primary's sequence, compares
#     GET /digest of both: prints "identical" or both digests;
#  5. replication lag: resets the replica's /lag, runs wrk for DURATION
#     (default 10s) at full load (-t2 -c64) and at light load (-t1 -c4),
#     prints wrk's rate and the replica's lag percentiles after each;
#     compares the digests again.
# Servers' logs and databases in a temporary directory, removed at the end
# (KEEP=1 keeps it). Exits 1 if the digests differ.
set -euo pipefail
cd "$(dirname "$0")/.."
LOAD_SECONDS=${1:-5}
DURATION=${2:-10s}
SERVER=.build/release/KVServer
PRIMARY_PORT=${PRIMARY_PORT:-8091}
REPLICA_PORT=${REPLICA_PORT:-8092}
P=http://127.0.0.1:$PRIMARY_PORT
R=http://127.0.0.1:$REPLICA_PORT
WORK=$(mktemp -d /tmp/kvserver-repl-XXXXXX)
PRIMARY_PID= REPLICA_PID= WRK_PID=
cleanup() {
  for pid in $WRK_PID $REPLICA_PID $PRIMARY_PID; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [ -z "${KEEP:-}" ]; then rm -rf "$WORK"; else echo "kept $WORK"; fi
}
trap cleanup EXIT

wait_up() { # url
  for _ in $(seq 300); do curl -sf -o /dev/null "$1/sequence" && return 0; sleep 0.05; done
  echo "server at $1 did not come up"; exit 1
}
start_primary() {
  "$SERVER" --db "$WORK/primary" --port "$PRIMARY_PORT" >>"$WORK/primary.log" 2>&1 &
  PRIMARY_PID=$!
  wait_up "$P"
}
start_replica() {
  "$SERVER" --db "$WORK/replica" --port "$REPLICA_PORT" --replica-of "$P" --bootstrap "$WORK/backup" \
    >>"$WORK/replica.log" 2>&1 &
  REPLICA_PID=$!
  wait_up "$R"
}
kill9() { # pid
  kill -9 "$1"; wait "$1" 2>/dev/null || true
}
load() { # wrk arguments
  wrk "$@" -s bench/mixed.lua "$P" | grep -E "Requests/sec|Latency|requests in|Non-2xx|Socket errors" | tr -s ' ' | paste -sd' '
}
caught_up() { # waits until the replica holds the primary's latest sequence
  local target; target=$(curl -sf "$P/sequence")
  for _ in $(seq 1200); do
    [ "$(curl -sf "$R/sequence" || echo 0)" -ge "$target" ] && return 0
    sleep 0.05
  done
  echo "replica did not reach sequence $target (at $(curl -sf "$R/sequence" || echo '?'))"; return 1
}
compare() { # label
  caught_up
  local a b; a=$(curl -sf "$P/digest"); b=$(curl -sf "$R/digest")
  if [ "$a" = "$b" ]; then echo "$1: identical (entries hash sequence: $a)"
  else echo "$1: DIFFERENT: primary $a, replica $b"; exit 1; fi
}

start_primary
echo "load ${LOAD_SECONDS}s: $(load -t2 -c16 -d"${LOAD_SECONDS}s")"
start_replica
echo "replica bootstrapped: $(grep -m1 'restored backup' "$WORK/replica.log")"
compare "after bootstrap"

# Kills under load: wrk keeps writing (its errors while the primary is
# down are expected).
wrk -t2 -c16 -d14s -s bench/mixed.lua "$P" >"$WORK/wrk-kills.txt" 2>&1 &
WRK_PID=$!
sleep 3
echo "kill -9 primary at sequence $(curl -sf "$P/sequence"), replica at $(curl -sf "$R/sequence")"
kill9 "$PRIMARY_PID"
sleep 0.5
start_primary
echo "primary restarted at sequence $(curl -sf "$P/sequence")"
sleep 4
echo "kill -9 replica at sequence $(curl -sf "$R/sequence"), primary at $(curl -sf "$P/sequence")"
kill9 "$REPLICA_PID"
sleep 0.5
start_replica
echo "replica restarted at sequence $(curl -sf "$R/sequence")"
wait "$WRK_PID" || true
WRK_PID=
echo "load during kills: $(grep -E 'Requests/sec|requests in|Socket errors' "$WORK/wrk-kills.txt" | tr -s ' ' | paste -sd' ')"
compare "after kill -9 of both"
echo "replica log: $(grep -c 'reconnecting' "$WORK/replica.log") reconnects"

for shape in "-t2 -c64" "-t1 -c4"; do
  curl -sf -X DELETE "$R/lag"
  # shellcheck disable=SC2086
  echo "load $shape $DURATION: $(load $shape -d"$DURATION")"
  echo "  replication lag (replica apply - primary send): $(curl -sf "$R/lag")"
  compare "  after load $shape"
done
