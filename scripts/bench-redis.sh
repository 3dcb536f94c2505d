#!/usr/bin/env bash
# Redis commands per admission tick at two queue sizes (two servers sharing
# one private Redis), then the heartbeat cost with every waiter connected.
#
#   scripts/bench-redis.sh
#
# Environment (defaults in brackets):
#   SIZES [1000,50000]   queue sizes of part 1 (waiters joined, no sockets)
#   SOCKET_SIZES [1000,15000]  queue sizes of part 2 (every waiter connected)
#   WINDOW [30]          seconds per quiet window
#   plus REDIS_URL, SKIP_BUILD, KEEP_LOGS (see bench-common.sh)
source "$(dirname "$0")/bench-common.sh"

SIZES=${SIZES:-1000,50000}
SOCKET_SIZES=${SOCKET_SIZES:-1000,15000}
WINDOW=${WINDOW:-30}

build
machine_info
start_redis
keys=$(signing_keys)
NET=$(( 1 + RANDOM % 250 ))   # fresh source addresses per run (see bench-waiters.sh)
start_server r0 REDIS_URL="$REDIS_URL" WAITROOM_SIGNING_KEYS="$keys"; u0=$SERVER_URL
start_server r1 REDIS_URL="$REDIS_URL" WAITROOM_SIGNING_KEYS="$keys"; u1=$SERVER_URL

echo "=== part 1: waiters queued without sockets (grace 1 h: nobody departs), rate 60/min"
ev1=$(new_event tick)
"$LOADGEN" redis-per-tick --url "$u0,$u1" --redis-url "$REDIS_URL" --event "$ev1" \
  --token "$ADMIN_TOKEN" --waiters "$SIZES" --window-secs "$WINDOW" --rate 60 \
  | tee "$RUN_DIR/part1.out" | grep -v '^{'

drop_event "$ev1"   # a closed event is still ticked; keep part 2 to one event

echo "=== part 2: every waiter holds a socket, grace 15 s (heartbeat every 5 s per node), rate 60/min"
"$LOADGEN" redis-per-tick --url "$u0,$u1" --redis-url "$REDIS_URL" --event "$(new_event beat)" \
  --token "$ADMIN_TOKEN" --waiters "$SOCKET_SIZES" --window-secs "$WINDOW" --rate 60 \
  --grace 15 --connect --sources "127.$NET.3.1,127.$NET.3.2,127.$NET.3.3" \
  | tee "$RUN_DIR/part2.out" | grep -v '^{'
