#!/usr/bin/env bash
# Abuse floods against one embedded server: half-open sockets (slowloris)
# and concurrent wrong operator logins, while a monitor times /healthz on a
# fresh connection every 50 ms and the server's RSS is sampled.
#
#   scripts/bench-flood.sh
#
# Environment (defaults in brackets):
#   HALF_OPEN [2000]    sockets that send half a header (each reconnects
#                       when the server cuts it)
#   SECS [30]           how long the half-open flood lasts
#   LOGINS [250]        wrong logins fired at once
#   SOURCES [127.0.0.2,127.0.0.3,127.0.0.4,127.0.0.5]  flood source addresses
#   SERVER_NOFILE       open-file limit of the server (default: the hard limit)
#   FLOODS ["half-open logins"]
#   plus SKIP_BUILD, BIN_DIR, KEEP_LOGS (see bench-common.sh)
source "$(dirname "$0")/bench-common.sh"

HALF_OPEN=${HALF_OPEN:-2000}
SECS=${SECS:-30}
LOGINS=${LOGINS:-250}
SOURCES=${SOURCES:-127.0.0.2,127.0.0.3,127.0.0.4,127.0.0.5}
FLOODS=${FLOODS:-half-open logins}

build
machine_info
for flood in $FLOODS; do
  password="bench-owner-$(head -c8 /dev/urandom | od -An -tx1 | tr -d ' \n')"
  (
    [ -n "${SERVER_NOFILE:-}" ] && ulimit -n "$SERVER_NOFILE"
    # The shipped connection bounds (bench-common.sh turns them off).
    start_server "flood-$flood" WAITROOM_ADMIN_PASSWORD="$password" \
      WAITROOM_ADMIN_EMAIL=owner@bench.test WAITROOM_MAX_CONNECTIONS=10000 \
      WAITROOM_MAX_CONNECTIONS_PER_IP=512 WAITROOM_MAX_WEBSOCKETS_PER_IP=256
    echo "$SERVER_URL $SERVER_PID" >"$RUN_DIR/server-$flood"
    wait "$SERVER_PID"
  ) &
  PIDS+=($!)
  for _ in $(seq 1 300); do [ -s "$RUN_DIR/server-$flood" ] && break; sleep 0.1; done
  read -r url spid <"$RUN_DIR/server-$flood"
  PIDS+=("$spid")
  echo "=== $flood (server open-file limit: $(awk '/Max open files/{print $4}' /proc/"$spid"/limits))"
  case $flood in
    half-open) args=(--count "$HALF_OPEN" --secs "$SECS") ;;
    logins) args=(--count "$LOGINS" --email owner@bench.test) ;;
  esac
  "$LOADGEN" flood "$flood" --url "$url" --sources "$SOURCES" --server-pid "$spid" "${args[@]}" \
    | tee "$RUN_DIR/flood-$flood.out" | grep -v '^{'
  kill -TERM "$spid"
done
