#!/usr/bin/env bash
# usage: bench/run.sh [KEYS] [ROUNDS] — loads KEYS keys of 1000 bytes with
# kvctl ($KVCTL, default the repository's debug build), then
# for each round runs the server in async mode and in sync-on-pool mode,
# alternately, and measures with wrk: cold GETs (all keys, directReads,
# 8 MiB cache), warm GETs (1000 keys), PUTs. Prints wrk's summary lines.
set -euo pipefail
cd "$(dirname "$0")/.."
KEYS=${1:-100000}
ROUNDS=${2:-2}
DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-64}
ROOT=../..
SERVER=.build/release/KVServer
KVCTL=${KVCTL:-$ROOT/.build/debug/kvctl}
DB=$(mktemp -d /tmp/kvserver-bench-XXXXXX)/db
# Random base64 values: LZ4 cannot shrink them much, so the database
# is far larger than the 8 MiB cache.
python3 -c "
import base64, os
with open('$DB.tsv', 'w') as f:
    for i in range($KEYS): f.write('key%08d\t%s\n' % (i, base64.b64encode(os.urandom(750)).decode()))
"
"$KVCTL" --db "$DB" --create load "$DB.tsv" >/dev/null
"$KVCTL" --db "$DB" compact >/dev/null
rm "$DB.tsv"
du -sh "$DB"

serve() { # mode, then the wrk arguments
  local mode=$1; shift
  "$SERVER" --db "$DB" --port 8089 --mode "$mode" --direct-reads --cache-mb 8 >/dev/null 2>&1 &
  local pid=$!
  for _ in $(seq 100); do curl -s -o /dev/null http://127.0.0.1:8089/kv/x && break; sleep 0.1; done
  wrk -t2 -c"$CONNECTIONS" -d"$DURATION" "$@" http://127.0.0.1:8089 | grep -E "Requests/sec|Latency" | tr -s ' ' | paste -sd' '
  kill "$pid"; wait "$pid" 2>/dev/null || true
}

for round in $(seq "$ROUNDS"); do
  for mode in async sync; do
    echo "round $round $mode GET cold: $(KEYS=$KEYS serve $mode -s bench/get.lua)"
    echo "round $round $mode GET warm: $(KEYS=1000 serve $mode -s bench/get.lua)"
    echo "round $round $mode PUT:      $(serve $mode -s bench/put.lua)"
  done
done
rm -rf "$(dirname "$DB")"
