#!/usr/bin/env bash
# The API contract: schemathesis (every phase, every check) against a running
# waitroom on the embedded defaults (in-process queue store, SQLite in a temp
# data dir), authenticated as an operator, with the OpenAPI document the
# server serves. Any failure fails the script.
#
# Needs `schemathesis` on PATH (.ci/run installs the pinned version).
# CONTRACT_MAX_EXAMPLES bounds the cases per operation and phase (default 100:
# about 6,300 requests, two minutes on two cores); CONTRACT_SEED picks the
# run (default 1, so a failure reproduces); WAITROOM_BIN runs a prebuilt binary.
set -euo pipefail
cd "$(dirname "$0")/.."

command -v schemathesis >/dev/null || {
  echo "contract-test: schemathesis is not installed (pip install schemathesis==4.32.5)" >&2
  exit 1
}
if [ -z "${WAITROOM_BIN:-}" ]; then
  cargo build -p gateway
  WAITROOM_BIN="$PWD/target/debug/waitroom"
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/waitroom-contract-XXXXXX")
server_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

# The operator key authenticates every admin route as the owner. The edge's
# rate limits are off and the failed-key budget is large, so the run tests
# the contract rather than the limiters (which have their own tests);
# everything else is the shipped default.
operator_key="contract-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
env -u REDIS_URL -u DATABASE_URL -u WAITROOM_REDIS_URL -u WAITROOM_DATABASE_URL \
  -u SMTP_URL -u STRIPE_SECRET_KEY -u STRIPE_WEBHOOK_SECRET -u WAITROOM_PUBLIC_BASE_URL \
  WAITROOM_DATA_DIR="$work/data" \
  WAITROOM_ADMIN_TOKEN="$operator_key" \
  WAITROOM_ADMIN_PASSWORD="contract-owner-password" \
  WAITROOM_RATE_LIMITS__ENABLED=false \
  WAITROOM_ADMIN_BEARER_FREE_ATTEMPTS=1000000 \
  "$WAITROOM_BIN" serve --listen 127.0.0.1:0 >"$work/server.log" 2>&1 &
server_pid=$!

base=""
for _ in $(seq 1 120); do
  base=$(sed -n 's|^listening on \(http://[^ ]*\).*|\1|p' "$work/server.log" | head -n1)
  [ -n "$base" ] && break
  kill -0 "$server_pid" 2>/dev/null || { cat "$work/server.log" >&2; echo "contract-test: the server exited" >&2; exit 1; }
  sleep 0.25
done
[ -n "$base" ] || { cat "$work/server.log" >&2; echo "contract-test: the server did not start" >&2; exit 1; }
echo "contract-test: waitroom at $base"

status=0
# Run from the temp dir: schemathesis keeps a cache in the working directory.
hooks_dir="$PWD/scripts/contract"
(cd "$work" && PYTHONPATH="$hooks_dir" SCHEMATHESIS_HOOKS=hooks \
  schemathesis --config-file "$hooks_dir/schemathesis.toml" run "$base/api/v1/openapi.json" \
  --url "$base" \
  --header "Authorization: Bearer $operator_key" \
  --phases examples,coverage,fuzzing,stateful \
  --checks all \
  --max-examples "${CONTRACT_MAX_EXAMPLES:-100}" \
  --seed "${CONTRACT_SEED:-1}" \
  --workers 2 \
  --report junit --report-dir "$work/report") \
  || status=$?
if [ "$status" -ne 0 ]; then
  echo "contract-test: schemathesis failed (exit $status); server log tail:" >&2
  tail -n 40 "$work/server.log" >&2
fi
exit "$status"
