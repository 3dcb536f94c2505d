#!/usr/bin/env bash
# Seat holds on PostgreSQL (docs/benchmarks.md, "Holds"): alternates the two
# ways a hold can commit (`booking.hold_commit`: async, the default, and
# flushed), each run on a fresh database, and prints holds per second and
# p99 on distinct seats at concurrency 16, the CPU each of those holds cost
# the booking service and the rest of the machine (PostgreSQL, mostly), and
# how many of 10,000 attempts on one seat won.
#
#   scripts/bench-holds.sh
#
# The distinct-seat phase lasts about a second, so single runs vary by
# ±15%: compare the medians, and only within one run of this script.
#
# Environment (defaults in brackets): PG_URL [postgres://postgres@127.0.0.1:5432/postgres]
# a database to create and drop the run's databases from; ROUNDS [5];
# HOLDS [5000]; SKIP_BUILD and BIN_DIR as in bench-common.sh (here the
# binary is BIN_DIR/examples/hold_bench).
source "$(dirname "$0")/bench-common.sh"

PG_URL=${PG_URL:-postgres://postgres@127.0.0.1:5432/postgres}
ROUNDS=${ROUNDS:-5}
HOLDS=${HOLDS:-5000}
PG_BASE=${PG_URL%/*}
build_hold_bench
machine_info

# run MODE ROUND: one run on a database of its own; prints "holds/s p99
# stolen service-us postgres-us won" (CPU per hold in hold_bench's process,
# where the booking service runs, and in the rest of the machine).
run() {
  local mode=$1 round=$2 db="wr_bench_holds_${1}_$2_$$" out
  psql "$PG_URL" -qc "create database $db"
  out=$("$HOLD_BENCH" --database-url "$PG_BASE/$db" --concurrency 16 \
    --holds "$HOLDS" --contention 10000 --hold-commit "$mode" 2>"$RUN_DIR/$db.err") || {
    psql "$PG_URL" -qc "drop database if exists $db" || true
    log "hold_bench failed ($mode, round $round): $(tail -3 "$RUN_DIR/$db.err")"
    exit 1
  }
  psql "$PG_URL" -qc "drop database if exists $db"
  echo "$out" | awk '
    /^distinct seats/ { for (i = 1; i <= NF; i++) {
        if ($(i) == "holds/s,") rate = $(i - 1)
        if ($(i) == "p99") { p99 = $(i + 1); sub(",", "", p99) } }
      # Debug-printed durations: to milliseconds.
      if (p99 ~ /µs$/) { sub("µs", "", p99); p99 = p99 / 1000 }
      else if (p99 ~ /ms$/) sub("ms", "", p99)
      else if (p99 ~ /s$/) { sub("s", "", p99); p99 = p99 * 1000 } }
    /^cores during it/ { for (i = 1; i <= NF; i++) if ($(i) == "stolen") { stolen = $(i + 1); sub("%,", "", stolen) } }
    /^CPU per hold/ { service = $4; elsewhere = $9 }
    /^one seat/ { for (i = 1; i <= NF; i++) if ($(i) == "succeeded,") won = $(i - 1) }
    END { print rate, p99, stolen, service, elsewhere, won }'
}

# spread FILE: "median (lowest–highest)" of the numbers in FILE, one a line.
spread() {
  sort -n "$1" | awk '{ v[NR] = $1 }
    END { m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
          printf "%s (%s–%s)", m, v[1], v[NR] }'
}

echo "holds: $HOLDS on distinct seats at concurrency 16, then 10,000 attempts on one seat"
printf '%-6s %-8s %10s %10s %8s %12s %12s %s\n' round commit holds/s "p99 (ms)" "stolen" \
  "service µs" "rest µs" "one seat: winners"
for round in $(seq 1 "$ROUNDS"); do
  # Alternating which mode goes first keeps a slow minute from favouring one.
  if [ $((round % 2)) = 1 ]; then modes="async flushed"; else modes="flushed async"; fi
  for mode in $modes; do
    read -r rate p99 stolen service rest won < <(run "$mode" "$round")
    printf '%-6s %-8s %10s %10s %7s%% %12s %12s %s\n' "$round" "$mode" "$rate" "$p99" "$stolen" \
      "$service" "$rest" "$won"
    echo "$rate" >>"$RUN_DIR/rate.$mode"
    echo "$p99" >>"$RUN_DIR/p99.$mode"
    echo "$stolen" >>"$RUN_DIR/stolen"
    echo "$service" >>"$RUN_DIR/service.$mode"
    echo "$rest" >>"$RUN_DIR/rest.$mode"
  done
done
for mode in async flushed; do
  echo "$mode: holds/s median $(spread "$RUN_DIR/rate.$mode"), p99 ms median $(spread "$RUN_DIR/p99.$mode")"
  echo "$mode: CPU µs per hold, median: service $(spread "$RUN_DIR/service.$mode"), rest of the machine (PostgreSQL) $(spread "$RUN_DIR/rest.$mode")"
done
echo "cores stolen by the host while holds were placed, % median: $(spread "$RUN_DIR/stolen")"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
