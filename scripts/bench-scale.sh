#!/usr/bin/env bash
# Joins side by side with their peers, in one run on one machine:
#   part 1: joins through waitroom on Redis (loadgen, 64 connections), the
#           CPU each cost the server and (private) Redis, and
#           `redis-benchmark -t zadd -c 64` (no pipelining) on the same Redis;
#   part 2: embedded joins with `wrk -t1 -c64` into an empty store, then
#           into one grown past GROW visitors (p99 must stay within 2x),
#           then the same wrk on the bare peer (`loadgen peer`: one map
#           behind one lock, an unsigned ticket back), before and after;
#   part 3: STORE joins straight into the in-process store, one at a time,
#           each timed (`loadgen store-joins`): the stalls of a growing
#           store without HTTP around them.
#   part 4: LOOKUPS waiters joined on the Redis of part 1, then in the
#           in-process store, looked up one by one and all together
#           (`loadgen store-lookups`): what settling a pre-queue's opening
#           costs a node.
#
#   scripts/bench-scale.sh
#
# Environment (defaults in brackets): COUNT [200000] joins per Redis run,
# SECS [10] seconds per wrk run, GROW [400000] visitors before the last wrk
# run, STORE [2000000] joins in part 3, LOOKUPS [20000] waiters in part 4,
# plus REDIS_URL, SKIP_BUILD, BIN_DIR, KEEP_LOGS (see bench-common.sh).
# Needs `wrk` and `redis-benchmark` on PATH.
source "$(dirname "$0")/bench-common.sh"

COUNT=${COUNT:-200000}
SECS=${SECS:-10}
GROW=${GROW:-400000}
for tool in wrk redis-benchmark; do
  command -v "$tool" >/dev/null || { log "$tool is missing (apt-get install wrk redis-tools)"; exit 2; }
done

build
machine_info
OPEN='"state":"open","admit_per_minute":0,"max_active":1000,"session_ttl_seconds":900,"departure_grace_seconds":86400'
# measured CMD...: runs CMD between the load average before it and how
# the machine's cores were spent while it ran (cpu_since).
measured() {
  local mark
  echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
  mark=$(cpu_mark)
  "$@"
  cpu_since "$mark"
}

echo "=== part 1: Redis"
start_redis
start_server joins-redis REDIS_URL="$REDIS_URL" WAITROOM_SIGNING_KEYS="$(signing_keys)"
event=$(new_event scale-redis)
put_event "$SERVER_URL" "$event" "$OPEN"
"$LOADGEN" joins --url "$SERVER_URL" --event "$event" --count 5000 --concurrency 64 >/dev/null
# CPU per join (µs) of the server and, when it is private, Redis.
hz=$(getconf CLK_TCK)
for r in 1 2; do
  before=$(cpu_ticks "$SERVER_PID"); redis_before=$(cpu_ticks ${PRIVATE_REDIS:-})
  measured "$LOADGEN" joins --url "$SERVER_URL" --event "$event" --count "$COUNT" --concurrency 64 \
    | grep -v '^{'
  line="CPU per join: waitroom $(( ($(cpu_ticks "$SERVER_PID") - before) * 1000000 / hz / COUNT )) µs"
  [ -n "$PRIVATE_REDIS" ] && line+=", Redis $(( ($(cpu_ticks "$PRIVATE_REDIS") - redis_before) * 1000000 / hz / COUNT )) µs"
  echo "$line"
  measured redis-benchmark -u "$REDIS_URL" -t zadd -c 64 -n "$COUNT" -q
done
kill -TERM "$SERVER_PID"

echo "=== part 2: embedded, wrk -t1 -c64 -d${SECS}s"
start_server joins-embedded
event=$(new_event scale-embedded)
put_event "$SERVER_URL" "$event" "$OPEN"
cat >"$RUN_DIR/join.lua" <<'LUA'
wrk.method = "POST"
wrk.headers["X-Queue-Token-In-Body"] = "1"
LUA
url="$SERVER_URL/api/v1/queue/$event/join"
peer() {
  "$LOADGEN" peer >"$RUN_DIR/peer.out" &
  local pid=$!
  PIDS+=("$pid")
  for _ in $(seq 1 50); do grep -q listening "$RUN_DIR/peer.out" 2>/dev/null && break; sleep 0.1; done
  local addr
  addr=$(awk '/listening on/{print $3}' "$RUN_DIR/peer.out")
  printf 'wrk.method = "POST"\n' >"$RUN_DIR/peer.lua"
  wrk -t1 -c64 -d2s -s "$RUN_DIR/peer.lua" "http://$addr/join" >/dev/null
  echo "--- bare peer ($1)"
  measured wrk -t1 -c64 -d"${SECS}s" --latency -s "$RUN_DIR/peer.lua" "http://$addr/join"
  kill -TERM "$pid"
}
peer before
visitors() { curl -fsS "$SERVER_URL/api/v1/queue/$event" | grep -o '"waiting":[0-9]*' | cut -d: -f2; }
wrk -t1 -c64 -d2s -s "$RUN_DIR/join.lua" "$url" >/dev/null   # warm-up
echo "--- empty store ($(visitors) visitors)"
measured wrk -t1 -c64 -d"${SECS}s" --latency -s "$RUN_DIR/join.lua" "$url"
while [ "$(visitors)" -lt "$GROW" ]; do
  wrk -t1 -c64 -d5s -s "$RUN_DIR/join.lua" "$url" | grep -E 'Requests/sec' || true
done
echo "--- grown store ($(visitors) visitors)"
measured wrk -t1 -c64 -d"${SECS}s" --latency -s "$RUN_DIR/join.lua" "$url"
echo "server RSS after: $(awk '/VmRSS/{print $2, $3}' /proc/"$SERVER_PID"/status)"
peer after

echo "=== part 3: ${STORE:-2000000} joins straight into the in-process store"
"$LOADGEN" store-joins --count "${STORE:-2000000}"

echo "=== part 4: ${LOOKUPS:-20000} waiters looked up one by one and together"
"$LOADGEN" store-lookups --redis-url "$REDIS_URL" --count "${LOOKUPS:-20000}"
"$LOADGEN" store-lookups --count "${LOOKUPS:-20000}"
