#!/usr/bin/env bash
# Admission accuracy on Redis (one server): a run where the rate binds and a
# run where the active cap binds.
#
#   scripts/bench-admission.sh
#
# Environment (defaults in brackets):
#   RATE [1000]        admissions per minute of the rate-bound run
#   MINUTES [3]        length of the rate-bound run
#   CAP [50]           active cap of the cap-bound run (rate 600/min, TTL 30 s)
#   CAP_MINUTES [2]    length of the cap-bound run
#   EMBEDDED [0]       1 = in-process store instead of Redis
#   plus REDIS_URL, SKIP_BUILD, KEEP_LOGS (see bench-common.sh)
source "$(dirname "$0")/bench-common.sh"

RATE=${RATE:-1000}
MINUTES=${MINUTES:-3}
CAP=${CAP:-50}
CAP_MINUTES=${CAP_MINUTES:-2}

build
machine_info
extra=()
if [ "${EMBEDDED:-0}" != 1 ]; then
  start_redis
  extra=(REDIS_URL="$REDIS_URL" WAITROOM_SIGNING_KEYS="$(signing_keys)")
fi
start_server admission "${extra[@]}"

echo "=== rate-bound: $RATE/min, cap 1,000,000, $MINUTES min"
"$LOADGEN" admission --url "$SERVER_URL" --event "$(new_event rate)" --token "$ADMIN_TOKEN" \
  --rate "$RATE" --max-active 1000000 --minutes "$MINUTES" --sources 127.0.2.1 \
  | tee "$RUN_DIR/rate.out" | grep -v '^{'

echo "=== cap-bound: 600/min, cap $CAP, session TTL 30 s, $CAP_MINUTES min"
"$LOADGEN" admission --url "$SERVER_URL" --event "$(new_event cap)" --token "$ADMIN_TOKEN" \
  --rate 600 --max-active "$CAP" --session-ttl 30 --minutes "$CAP_MINUTES" --sources 127.0.2.2 \
  | tee "$RUN_DIR/cap.out" | grep -v '^{'
