#!/usr/bin/env bash
# What one seat hold costs the booking service, in CPU instructions, and
# how much of that is the admission token's Ed25519 signature check.
#
#   scripts/bench-hold-cost.sh
#
# Holds per second move with the machine (docs/benchmarks.md: the host
# takes up to 40% of the cores in some minutes); instructions counted by
# valgrind's callgrind do not. `hold_bench` runs under callgrind, counting
# only work done in tokio tasks: every hold (one task each) and the batch
# workers that place them, not the minting of tokens before the clock
# starts, which runs in the main future. PostgreSQL's own work is not in
# the count: it is another process.
#
# Environment (defaults in brackets): PG_URL
# [postgres://postgres@127.0.0.1:5432/postgres] a database to create and
# drop the run's database from; HOLDS [2000]; SKIP_BUILD and BIN_DIR as in
# bench-holds.sh. Needs valgrind and psql.
source "$(dirname "$0")/bench-common.sh"

PG_URL=${PG_URL:-postgres://postgres@127.0.0.1:5432/postgres}
HOLDS=${HOLDS:-2000}
for tool in valgrind callgrind_annotate; do
  command -v "$tool" >/dev/null || { log "$tool is missing (apt-get install valgrind)"; exit 2; }
done
build_hold_bench
machine_info

db="wr_bench_hold_cost_$$"
psql "$PG_URL" -qc "create database $db"
# cleanup exits with the status it finds: keep the script's, not psql's.
trap 'rc=$?; psql "$PG_URL" -qc "drop database if exists $db" || true; (exit "$rc"); cleanup' EXIT
valgrind --tool=callgrind --callgrind-out-file="$RUN_DIR/holds.cg" \
  --toggle-collect='tokio::runtime::task::raw::poll' \
  "$HOLD_BENCH" --database-url "${PG_URL%/*}/$db" --concurrency 16 --holds "$HOLDS" \
  --contention 0 2>"$RUN_DIR/holds.err" | grep '^distinct' \
  || { log "hold_bench failed: $(tail -3 "$RUN_DIR/holds.err")"; exit 1; }

# inclusive NAME: instructions counted in the first function whose name
# matches NAME, callees included.
inclusive() {
  callgrind_annotate --inclusive=yes "$RUN_DIR/holds.cg" 2>/dev/null \
    | awk -v f="$1" 'index($0, f) && !seen { gsub(",", "", $1); print $1; seen = 1 }'
}
total=$(callgrind_annotate "$RUN_DIR/holds.cg" 2>/dev/null | awk '/PROGRAM TOTALS/{gsub(",","",$1); print $1}')
check=$(inclusive 'AdmissionVerifier::verify_with_credential ')
ed=$(inclusive 'VerifyingKey::verify_strict ')
echo "instructions per hold (booking service, PostgreSQL not counted): $(( total / HOLDS ))"
echo "  the admission check: $(( ${check:-0} / HOLDS )), of which Ed25519: $(( ${ed:-0} / HOLDS ))"
echo "  everything else: $(( (total - ${check:-0}) / HOLDS ))"
