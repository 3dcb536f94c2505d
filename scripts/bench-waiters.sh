#!/usr/bin/env bash
# Many idle WebSocket waiters over several server processes sharing one
# Redis (or one embedded server), measured by several loadgen processes.
#
#   scripts/bench-waiters.sh                      # 6 servers x 16,667 waiters = 100,000
#   SERVERS=1 CLIENTS=1 PER_CLIENT=19000 EMBEDDED=1 RATE=0 scripts/bench-waiters.sh
#
# Environment (defaults in brackets):
#   SERVERS [6]        server processes (all on one Redis unless EMBEDDED=1)
#   CLIENTS [=SERVERS] loadgen processes; client i talks to server i % SERVERS
#   PER_CLIENT [16667] waiters per client (each process may open <= 20,000 files)
#   DURATION [60]      seconds of measuring once everyone is connected
#   RATE [600]         admissions per minute (0 = no position updates at all)
#   TICK_MS [1000]     admission tick interval
#   EMBEDDED [0]       1 = in-process store (only with SERVERS=1)
#   SERVER_THREADS     tokio worker threads per server (TOKIO_WORKER_THREADS;
#                      default: one per core)
#   CLIENT_THREADS     runtime threads per loadgen (default: 1 when CLIENTS > 1)
#   CLIENT_NICE [0]    niceness of the loadgen processes (e.g. 10: the
#                      servers get the CPU first, as on a machine of their
#                      own; the clients' figures then include their wait)
#   OPENING [0]        1 = the waiters join and connect while the event is in
#                      its pre-queue; the first client opens it as the window
#                      starts (every socket's first `position` then comes
#                      from the opening; a short DURATION isolates it)
#   SERVER_ROLE        role of every server but the first (e.g. `queue`: fan
#                      API, sockets and ticks only; the first runs every role
#                      and takes the admin call); default: all
#   plus REDIS_URL, SKIP_BUILD, KEEP_LOGS (see bench-common.sh)
source "$(dirname "$0")/bench-common.sh"

SERVERS=${SERVERS:-6}
CLIENTS=${CLIENTS:-$SERVERS}
PER_CLIENT=${PER_CLIENT:-16667}
DURATION=${DURATION:-60}
RATE=${RATE:-600}
TICK_MS=${TICK_MS:-1000}
EMBEDDED=${EMBEDDED:-0}
CLIENT_THREADS=${CLIENT_THREADS:-$([ "$CLIENTS" -gt 1 ] && echo 1 || nproc)}
if [ "$PER_CLIENT" -gt 19000 ]; then log "PER_CLIENT must be <= 19000 (open-file cap)"; exit 2; fi
if [ "$EMBEDDED" = 1 ] && [ "$SERVERS" != 1 ]; then log "EMBEDDED=1 needs SERVERS=1"; exit 2; fi

build
machine_info
EVENT=$(new_event waiters)
env_common=(WAITROOM_TICK_MS="$TICK_MS")
[ -n "${SERVER_THREADS:-}" ] && env_common+=(TOKIO_WORKER_THREADS="$SERVER_THREADS")
if [ "$EMBEDDED" != 1 ]; then
  start_redis
  env_common+=(REDIS_URL="$REDIS_URL" WAITROOM_SIGNING_KEYS="$(signing_keys)")
fi

URLS=(); SPIDS=()
for s in $(seq 0 $((SERVERS - 1))); do
  role=()
  [ "$s" -gt 0 ] && [ -n "${SERVER_ROLE:-}" ] && role=(WAITROOM_ROLE="$SERVER_ROLE")
  start_server "server$s" "${env_common[@]}" "${role[@]}"
  URLS+=("$SERVER_URL"); SPIDS+=("$SERVER_PID")
done

# Waiters stay admitted for an hour and depart after two minutes without a
# socket; the rate only makes positions move so every tick sends updates.
STATE=open; [ "${OPENING:-0}" = 1 ] && STATE=prequeue
put_event "${URLS[0]}" "$EVENT" \
  "\"state\":\"$STATE\",\"admit_per_minute\":$RATE,\"max_active\":1000000,\"session_ttl_seconds\":3600,\"departure_grace_seconds\":120"
log "event $EVENT: $SERVERS servers (threads: ${SERVER_THREADS:-default}), $CLIENTS clients x $PER_CLIENT waiters (threads: $CLIENT_THREADS), rate $RATE/min, tick ${TICK_MS} ms"

NET=$(( 1 + RANDOM % 250 ))
BARRIER="$RUN_DIR/barrier"
TCP_BEFORE=$(tcp_trouble)
CPIDS=()
for c in $(seq 0 $((CLIENTS - 1))); do
  s=$((c % SERVERS))
  # Four source addresses of its own per client, under a second octet
  # picked per run: binding to (ip, 0) has to search for a free port, which
  # gets slow (and CPU-bound) when an address's ~28,000 ports are mostly
  # taken, including by the TIME_WAIT sockets of the previous run.
  sources="127.$NET.$c.1,127.$NET.$c.2,127.$NET.$c.3,127.$NET.$c.4"
  pids_arg=()
  [ "$c" -lt "$SERVERS" ] && pids_arg=(--server-pids "${SPIDS[$s]}")
  open_arg=()
  [ "$c" = 0 ] && [ "${OPENING:-0}" = 1 ] && open_arg=(--open-with-token "$ADMIN_TOKEN")
  nice -n "${CLIENT_NICE:-0}" "$LOADGEN" --threads "$CLIENT_THREADS" waiters --url "${URLS[$s]}" --event "$EVENT" --count "$PER_CLIENT" --tick-ms "$TICK_MS" \
    --sources "$sources" --duration-secs "$DURATION" "${pids_arg[@]}" "${open_arg[@]}" \
    --barrier-count "$CLIENTS" --barrier-dir "$BARRIER" \
    >"$RUN_DIR/client$c.out" 2>"$RUN_DIR/client$c.err" &
  CPIDS+=($!); PIDS+=($!)
done

# CPU of servers and clients every 10 s (100% = one core).
REDIS_PID=${PRIVATE_REDIS:-$$}
cpu_sampler 10 "servers:$(IFS=,; echo "${SPIDS[*]}")" "clients:$(IFS=,; echo "${CPIDS[*]}")" "redis:$REDIS_PID" \
  >"$RUN_DIR/cpu.log" 2>&1 &
PIDS+=($!)

# Server CPU over the measuring window only: from the moment every client
# has passed the barrier to DURATION seconds later.
window_cpu() {
  local hz a b t0 t1
  hz=$(getconf CLK_TCK)
  for _ in $(seq 1 9000); do
    [ "$(cat "$RUN_DIR"/client*.out 2>/dev/null | grep -c '^barrier: ')" -ge "$CLIENTS" ] && break
    sleep 0.2
  done
  a=$(cpu_ticks "${SPIDS[@]}"); t0=$(date +%s.%N)
  sleep "$DURATION"
  b=$(cpu_ticks "${SPIDS[@]}"); t1=$(date +%s.%N)
  awk -v d=$((b - a)) -v hz="$hz" -v t0="$t0" -v t1="$t1" -v tick="$TICK_MS" -v loadavg="$(cut -d' ' -f1-3 /proc/loadavg)" \
    'BEGIN { s = d / hz; w = t1 - t0; printf "servers together: %.1f CPU-s over %.1f s = %.1f%% of a core = %.0f ms of CPU per %d ms tick (load average now %s)\n", s, w, 100 * s / w, 1000 * s / w * tick / 1000, tick, loadavg }'
}
[ "$CLIENTS" -gt 1 ] && { window_cpu >"$RUN_DIR/window_cpu.log" 2>&1 & PIDS+=($!); }

failed=0
for i in "${!CPIDS[@]}"; do
  if ! wait "${CPIDS[$i]}"; then
    log "client $i failed:"; tail -n 5 "$RUN_DIR/client$i.err" >&2; failed=1
  fi
done
for i in "${!CPIDS[@]}"; do
  echo "--- client $i"; grep -v '^{' "$RUN_DIR/client$i.out" || true
done
echo "--- CPU over the run, every 10 s (100% = one core)"; cat "$RUN_DIR/cpu.log" || true
if [ -f "$RUN_DIR/window_cpu.log" ]; then
  for _ in $(seq 1 50); do [ -s "$RUN_DIR/window_cpu.log" ] && break; sleep 0.2; done
  echo "--- server CPU over the measuring window"; cat "$RUN_DIR/window_cpu.log"
fi
echo "--- TCP (system-wide) before: $TCP_BEFORE"
echo "--- TCP (system-wide) after:  $(tcp_trouble)"
echo "--- total"
"$LOADGEN" aggregate "$RUN_DIR"/client*.out
# The server logs to stdout; show its warnings and errors.
for s in "${!SPIDS[@]}"; do
  warnings=$(grep -hE 'WARN|ERROR' "$RUN_DIR/server$s.out" "$RUN_DIR/server$s.err" 2>/dev/null | tail -n 5 || true)
  [ -n "$warnings" ] && { echo "--- server$s warnings (last 5)"; echo "$warnings"; }
done
exit "$failed"
