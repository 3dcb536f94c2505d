#!/usr/bin/env bash
# Joins per second on the embedded store and on Redis (one server each).
#
#   scripts/bench-joins.sh
#
# Environment (defaults in brackets):
#   COUNT [200000]      joins per run
#   CONCURRENCY [64]    connections per client process
#   CLIENTS [1]         loadgen processes running at once
#   CLIENT_THREADS      runtime threads per loadgen (default: one per core)
#   REPEAT [3]          timed runs per mode (the machine may be shared: the
#                       CPU lines show what else ran)
#   MODES ["embedded redis"]
#   plus REDIS_URL, SKIP_BUILD, KEEP_LOGS (see bench-common.sh)
source "$(dirname "$0")/bench-common.sh"

COUNT=${COUNT:-200000}
CONCURRENCY=${CONCURRENCY:-64}
CLIENTS=${CLIENTS:-1}
MODES=${MODES:-embedded redis}
REPEAT=${REPEAT:-3}
threads=()
[ -n "${CLIENT_THREADS:-}" ] && threads=(--threads "$CLIENT_THREADS")

build
machine_info
for mode in $MODES; do
  extra=()
  if [ "$mode" = redis ]; then
    start_redis
    extra=(REDIS_URL="$REDIS_URL" WAITROOM_SIGNING_KEYS="$(signing_keys)")
  fi
  start_server "joins-$mode" "${extra[@]}"
  url=$SERVER_URL; spid=$SERVER_PID
  event=$(new_event "joins-$mode")
  # Open, admitting nobody: every join stays a waiter.
  put_event "$url" "$event" \
    '"state":"open","admit_per_minute":0,"max_active":1000,"session_ttl_seconds":900,"departure_grace_seconds":86400'
  # Warm-up: connections, allocator, Redis scripts.
  "$LOADGEN" "${threads[@]}" joins --url "$url" --event "$event" --count 5000 \
    --concurrency "$CONCURRENCY" >/dev/null
  per_client=$(( COUNT / CLIENTS ))
  sampler_groups=("server:$spid")
  [ -n "$PRIVATE_REDIS" ] && sampler_groups+=("redis:$PRIVATE_REDIS")
  for r in $(seq 1 "$REPEAT"); do
    cpids=()
    for c in $(seq 0 $((CLIENTS - 1))); do
      "$LOADGEN" "${threads[@]}" joins --url "$url" --event "$event" --count "$per_client" \
        --concurrency "$CONCURRENCY" >"$RUN_DIR/joins-$mode-$r-$c.out" 2>&1 &
      cpids+=($!); PIDS+=($!)
    done
    cpu_sampler 5 "${sampler_groups[@]}" "clients:$(IFS=,; echo "${cpids[*]}")" \
      >"$RUN_DIR/cpu-$mode-$r.log" 2>&1 &
    sampler=$!; PIDS+=("$sampler")
    for p in "${cpids[@]}"; do wait "$p"; done
    kill "$sampler" 2>/dev/null || true
    echo "=== $mode, run $r: $CLIENTS client(s) x $per_client joins, $CONCURRENCY connections each"
    for c in $(seq 0 $((CLIENTS - 1))); do grep -v '^{' "$RUN_DIR/joins-$mode-$r-$c.out"; done
    [ "$CLIENTS" -gt 1 ] && "$LOADGEN" aggregate "$RUN_DIR"/joins-"$mode"-"$r"-*.out | grep -v '^{'
    echo "CPU every 5 s (100% = one core):"; cat "$RUN_DIR/cpu-$mode-$r.log"
  done
  echo "server RSS after: $(awk '/VmRSS/{print $2, $3}' /proc/"$spid"/status)"
  kill -TERM "$spid"
done
