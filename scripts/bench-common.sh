#!/usr/bin/env bash
# Shared helpers of the bench-*.sh scripts: build, start servers and a
# private Redis, and stop everything this script started on exit (also on
# failure or Ctrl-C). Source it; do not run it.
#
# Environment:
#   REDIS_URL   use this Redis instead of starting a private one (the
#               benchmark's keys are deleted afterwards; nothing else is)
#   SKIP_BUILD  set to 1 to use the existing release binaries
#   KEEP_LOGS   set to 1 to keep the run directory
#   BIN_DIR     where waitroom and loadgen are (default: target/release;
#               with SKIP_BUILD=1, e.g. a build of a pinned commit)
#
# Servers run with rate limits and per-address connection caps off
# (WAITROOM_RATE_LIMITS__ENABLED=false, WAITROOM_MAX_CONNECTIONS_PER_IP=0, …)
# and the connection cap at the open-file limit: the load comes from a
# handful of loopback addresses, which the per-IP limits would otherwise
# throttle to a few joins a minute and a few hundred sockets. The socket cap
# is 19,500 (MAX_SOCKETS), above the derived default (18,757 at 20,000
# files), so the 19,000-socket runs connect every socket; the loadgen's
# joins need only a few dozen plain connections.

set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN_DIR=${BIN_DIR:-$ROOT/target/release}
WAITROOM="$BIN_DIR/waitroom"
LOADGEN="$BIN_DIR/loadgen"
RUN_DIR=$(mktemp -d /tmp/waitroom-bench.XXXXXX)
ADMIN_TOKEN=bench
PIDS=()
BENCH_EVENTS=()
PRIVATE_REDIS=""

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for _ in $(seq 1 50); do
    local alive=0
    for pid in "${PIDS[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [ "$alive" = 0 ] && break
    sleep 0.2
  done
  for pid in "${PIDS[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
  if [ -z "$PRIVATE_REDIS" ] && [ -n "${REDIS_URL:-}" ] && [ ${#BENCH_EVENTS[@]} -gt 0 ]; then
    for ev in "${BENCH_EVENTS[@]}"; do drop_event "$ev"; done
  fi
  if [ "${KEEP_LOGS:-0}" = 1 ] || [ "$rc" != 0 ]; then
    log "logs kept in $RUN_DIR"
  else
    rm -rf "$RUN_DIR"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Every process may hold at most 20,000 open files: use all of them.
ulimit -n "$(ulimit -Hn)"

build() {
  if [ "${SKIP_BUILD:-0}" != 1 ]; then
    log "building release binaries"
    (cd "$ROOT" && cargo build --release -p gateway -p waitroom-tests >&2)
  fi
  [ -x "$WAITROOM" ] && [ -x "$LOADGEN" ] || { log "missing $WAITROOM or $LOADGEN"; exit 1; }
}

# build_hold_bench: builds `hold_bench` (unless SKIP_BUILD=1) and checks
# that it, psql and PostgreSQL at $PG_URL are there (bench-holds.sh,
# bench-hold-cost.sh).
HOLD_BENCH="$BIN_DIR/examples/hold_bench"
build_hold_bench() {
  if [ "${SKIP_BUILD:-0}" != 1 ]; then
    log "building hold_bench"
    (cd "$ROOT" && cargo build --release -p booking --example hold_bench >&2)
  fi
  [ -x "$HOLD_BENCH" ] || { log "missing $HOLD_BENCH"; exit 1; }
  command -v psql >/dev/null || { log "psql is missing (apt-get install postgresql-client)"; exit 2; }
  psql "$PG_URL" -qAtc 'select 1' >/dev/null || { log "PostgreSQL is unreachable at $PG_URL"; exit 2; }
}

# put_event URL EVENT JSON-FIELDS: creates an event's queue (CAPTCHA off: the
# benchmarks measure the queue, not the edge).
put_event() {
  curl -fsS -X PUT "$1/api/v1/admin/events/$2/queue" \
    -H "Authorization: Bearer $ADMIN_TOKEN" -H 'content-type: application/json' \
    -d "{\"captcha\":\"off\",$3}" >/dev/null
}

# A fresh event id per run, remembered for cleanup.
new_event() {
  local ev="bench-$1-$(date +%s)-$$"
  BENCH_EVENTS+=("$ev")
  echo "$ev"
}

# drop_event EVENT: deletes one benchmark event's keys from Redis (events
# stay in `wr:events` and keep being ticked by every node otherwise).
drop_event() {
  redis-cli -u "$REDIS_URL" --scan --pattern "wr:{evt:$1}:*" | xargs -r redis-cli -u "$REDIS_URL" del >/dev/null || true
  redis-cli -u "$REDIS_URL" srem wr:events "$1" >/dev/null || true
}

# Starts a private Redis (no persistence) unless REDIS_URL is set; exports
# REDIS_URL either way. A private instance keeps other work on the machine
# (and other events in a shared instance) out of the figures.
start_redis() {
  if [ -n "${REDIS_URL:-}" ]; then
    log "using Redis at $REDIS_URL"
    return
  fi
  local port
  port=$(( 20000 + RANDOM % 10000 ))
  redis-server --bind 127.0.0.1 --port "$port" --save '' --appendonly no \
    --maxclients 4000 --daemonize no --logfile "$RUN_DIR/redis.log" &
  PIDS+=($!)
  PRIVATE_REDIS=$!
  export REDIS_URL="redis://127.0.0.1:$port"
  for _ in $(seq 1 50); do
    redis-cli -u "$REDIS_URL" ping >/dev/null 2>&1 && { log "private Redis at $REDIS_URL"; return; }
    sleep 0.1
  done
  log "Redis did not start"; exit 1
}

# Shared signing keys for servers behind one Redis.
signing_keys() {
  echo "k1:$(head -c32 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=')"
}

# start_server NAME [VAR=value ...]: starts one server on a free port with
# the given extra environment (and under the command in the array
# SERVER_WRAP, when set); sets SERVER_URL and SERVER_PID. A server is
# on Redis only when given REDIS_URL=… here: the exported REDIS_URL of
# start_redis is not passed on (the server reads REDIS_URL, and an
# "embedded" run after a Redis part would otherwise be on Redis).
start_server() {
  local name=$1; shift
  local data="$RUN_DIR/data-$name"
  mkdir -p "$data"
  env -u REDIS_URL WAITROOM_DATA_DIR="$data" WAITROOM_ADMIN_TOKEN="$ADMIN_TOKEN" \
      WAITROOM_DEMO_EVENT=false WAITROOM_RATE_LIMITS__ENABLED=false \
      WAITROOM_MAX_CONNECTIONS=100000 WAITROOM_MAX_CONNECTIONS_PER_IP=0 \
      WAITROOM_MAX_WEBSOCKETS_PER_IP=0 WAITROOM_MAX_SOCKETS="${MAX_SOCKETS:-19500}" \
      RUST_LOG="${SERVER_LOG:-warn}" "$@" \
      ${SERVER_WRAP[@]+"${SERVER_WRAP[@]}"} "$WAITROOM" serve --listen 127.0.0.1:0 >"$RUN_DIR/$name.out" 2>"$RUN_DIR/$name.err" &
  SERVER_PID=$!
  PIDS+=("$SERVER_PID")
  SERVER_URL=""
  for _ in $(seq 1 300); do
    SERVER_URL=$(grep -o 'http://127\.0\.0\.1:[0-9]*' "$RUN_DIR/$name.out" 2>/dev/null | head -n1 || true)
    [ -n "$SERVER_URL" ] && break
    kill -0 "$SERVER_PID" 2>/dev/null || { cat "$RUN_DIR/$name.err" >&2; log "server $name died"; exit 1; }
    sleep 0.1
  done
  [ -n "$SERVER_URL" ] || { log "server $name did not print its address"; exit 1; }
  log "server $name: $SERVER_URL (pid $SERVER_PID)"
}

# wait_quiet [MAX_BUSY% [SECONDS]]: the machine is shared; wait (bounded)
# until other processes use less than MAX_BUSY% (100 = one core) over 3 s.
wait_quiet() {
  local max=${1:-${QUIET_BELOW:-40}} limit=${2:-${QUIET_WAIT:-600}} hz a b busy
  hz=$(getconf CLK_TCK)
  local until=$(( $(date +%s) + limit ))
  while :; do
    a=$(busy_ticks); sleep 3; b=$(busy_ticks)
    busy=$(( (b - a) * 100 / hz / 3 ))
    [ "$busy" -lt "$max" ] && { log "machine busy ${busy}% before starting"; return; }
    if [ "$(date +%s)" -ge "$until" ]; then
      log "machine still ${busy}% busy after ${limit}s; running anyway"; return
    fi
  done
}

machine_info() {
  echo "nproc: $(nproc); CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
  free -h | sed -n 1,2p
  echo "open files per process: $(ulimit -Hn); load average: $(cut -d' ' -f1-3 /proc/loadavg)"
  wait_quiet
}

# cpu_ticks PID...: summed utime+stime (clock ticks) of the live PIDs.
cpu_ticks() {
  local total=0 pid t
  for pid in "$@"; do
    t=$(awk '{print $14 + $15}' "/proc/$pid/stat" 2>/dev/null || echo 0)
    total=$((total + t))
  done
  echo "$total"
}

# busy_ticks: clock ticks the whole machine spent not idle (steal included:
# to the guest, time the host gave to others is time it could not run).
busy_ticks() {
  awk '/^cpu /{print $2 + $3 + $4 + $7 + $8 + $9}' /proc/stat
}

# cpu_mark: the machine's CPU counters now, for cpu_since: "busy stolen
# idle" in clock ticks, busy being user, system and interrupts.
cpu_mark() {
  awk '/^cpu /{print $2 + $3 + $4 + $7 + $8, $9, $5 + $6}' /proc/stat
}

# cpu_since "MARK": how the machine's cores were spent since cpu_mark gave
# MARK, in % of all cores. This is a virtual machine: "stolen" is time
# its cores were ready to run but the host ran someone else. In minutes
# when that was about 40%, the bare peer did a third of its usual rate:
# figures from such minutes are not the build's.
cpu_since() {
  local b0 s0 i0 b1 s1 i1 total
  read -r b0 s0 i0 <<<"$1"
  read -r b1 s1 i1 < <(cpu_mark)
  total=$(( b1 - b0 + s1 - s0 + i1 - i0 ))
  [ "$total" -gt 0 ] || total=1
  echo "cores: busy $(( (b1 - b0) * 100 / total ))%, stolen $(( (s1 - s0) * 100 / total ))%, idle $(( (i1 - i0) * 100 / total ))%"
}

# cpu_sampler SECONDS "label:PID,PID" ...: every SECONDS, one line with each
# group's CPU use over the interval, and the whole machine's (100% = one
# core; the machine has $(nproc) cores, so "machine" minus the groups is
# what other processes used). Runs until killed.
cpu_sampler() {
  local every=$1; shift
  local hz; hz=$(getconf CLK_TCK)
  declare -A last
  local g pids machine now
  for g in "$@"; do pids=${g#*:}; last[$g]=$(cpu_ticks ${pids//,/ }); done
  machine=$(busy_ticks)
  # Clock ticks the host ran someone else while ours were ready to run.
  local stolen now_stolen
  stolen=$(cpu_mark | cut -d' ' -f2)
  for _ in $(seq 1 2000); do
    sleep "$every"
    local line
    line="$(date +%H:%M:%S)"
    for g in "$@"; do
      pids=${g#*:}; now=$(cpu_ticks ${pids//,/ })
      if [ "$now" -ge "${last[$g]}" ]; then
        line+=" ${g%%:*} $(( (now - last[$g]) * 100 / hz / every ))%"
      else
        line+=" ${g%%:*} (exited)"
      fi
      last[$g]=$now
    done
    now=$(busy_ticks)
    now_stolen=$(cpu_mark | cut -d' ' -f2)
    line+=" machine $(( (now - machine) * 100 / hz / every ))%"
    line+=" (stolen by the host $(( (now_stolen - stolen) * 100 / hz / every ))%)"
    machine=$now
    stolen=$now_stolen
    echo "$line"
  done
}

# TCP listen-queue overflows and SYN retransmissions so far (system-wide).
tcp_trouble() {
  nstat -az 2>/dev/null | awk '/TcpExtListenOverflows|TcpExtTCPSynRetrans/{printf "%s=%s ", $1, $2}'
}
