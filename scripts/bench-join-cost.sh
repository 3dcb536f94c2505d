#!/usr/bin/env bash
# What one embedded join costs the server, in CPU instructions, and the same
# for the bare peer (`loadgen peer`: one map insert per `POST /join`).
#
#   scripts/bench-join-cost.sh
#
# Joins per second on this shared machine move by up to 2x between minutes
# with the same binary; instructions counted by valgrind's callgrind do not
# (the same build gives the same count within a fraction of a percent), so
# this is the figure to compare builds by. What it leaves out:
#   - the kernel (socket reads and writes: one `recvfrom` and one `writev`
#     per join, as for the peer; `strace -c` shows it);
#   - SHA extensions: valgrind's CPU has none, so the credential's
#     HMAC-SHA-256 runs in software there; its share is printed apart, and
#     the figure without it is the one to compare.
# The server runs under valgrind, so the load is light (wrk -t1 -c16): the
# count per join does not depend on it.
#
# Environment (defaults in brackets): SECS [10] counted seconds, plus
# SKIP_BUILD, BIN_DIR, KEEP_LOGS (see bench-common.sh). Needs valgrind and wrk.
source "$(dirname "$0")/bench-common.sh"

SECS=${SECS:-10}
for tool in valgrind callgrind_control callgrind_annotate wrk; do
  command -v "$tool" >/dev/null || { log "$tool is missing (apt-get install valgrind wrk)"; exit 2; }
done

build
machine_info

# count NAME PID URL LUA: zeroes the process's counters after a warm-up,
# runs wrk, dumps, and prints instructions per answered request.
count() {
  local name=$1 pid=$2 url=$3 lua=$4 requests total sha
  wrk -t1 -c16 -d3s -s "$lua" "$url" >/dev/null
  callgrind_control -z "$pid" >/dev/null
  requests=$(wrk -t1 -c16 -d"${SECS}s" -s "$lua" "$url" | awk '/requests in/{print $1}')
  callgrind_control -d "$pid" >/dev/null
  local dump
  for _ in $(seq 1 50); do
    dump="$RUN_DIR/$name.cg.$pid.1"
    [ -n "$dump" ] && [ -s "$dump" ] && break
    sleep 0.2
  done
  total=$(callgrind_annotate "$dump" 2>/dev/null | awk '/PROGRAM TOTALS/{gsub(",","",$1); print $1}')
  sha=$(callgrind_annotate --inclusive=yes "$dump" 2>/dev/null \
    | awk '/sha256::compress256 / && !seen {gsub(",","",$1); print $1; seen=1}')
  sha=${sha:-0}
  echo "--- $name: $requests requests in ${SECS} s under callgrind"
  echo "instructions per request: $(( total / requests ))," \
    "of which SHA-256 in software $(( sha / requests ));" \
    "without it: $(( (total - sha) / requests ))"
}

echo "=== waitroom, embedded: POST /api/v1/queue/{event}/join (a new place each)"
SERVER_WRAP=(valgrind --tool=callgrind "--callgrind-out-file=$RUN_DIR/join.cg.%p")
start_server join
unset SERVER_WRAP
event=joincost   # short, like a real event id (it is in the credential, cookie and body)
put_event "$SERVER_URL" "$event" '"state":"open"'
printf 'wrk.method = "POST"\nwrk.headers["X-Queue-Token-In-Body"] = "1"\n' >"$RUN_DIR/join.lua"
count join "$SERVER_PID" "$SERVER_URL/api/v1/queue/$event/join" "$RUN_DIR/join.lua"
kill -TERM "$SERVER_PID"

echo "=== bare peer: POST /join"
valgrind --tool=callgrind "--callgrind-out-file=$RUN_DIR/peer.cg.%p" \
  "$LOADGEN" peer >"$RUN_DIR/peer.out" 2>"$RUN_DIR/peer.err" &
peer=$!
PIDS+=("$peer")
for _ in $(seq 1 300); do grep -q listening "$RUN_DIR/peer.out" 2>/dev/null && break; sleep 0.1; done
addr=$(awk '/listening on/{print $3}' "$RUN_DIR/peer.out")
[ -n "$addr" ] || { log "the peer did not start"; exit 1; }
printf 'wrk.method = "POST"\n' >"$RUN_DIR/peer.lua"
count peer "$peer" "http://$addr/join" "$RUN_DIR/peer.lua"
kill -TERM "$peer"
