#!/usr/bin/env bash
# README's second command: every test. Needs Redis on 127.0.0.1:6379 and
# PostgreSQL on 127.0.0.1:5432 (`.ci/run` starts them when installed), and
# Debian's chromium with web/tests' npm packages for the browser tests,
# schemathesis for the contract test; the deployment checks at the end need
# root, nginx, hadolint, dclint and kubernetes-validate (.ci/run installs them).
set -euo pipefail
cd "$(dirname "$0")/.."
export REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379}"
export TEST_DATABASE_URL="${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}"

cargo fmt --all -- --check
cargo clippy --workspace --all-targets -- -D warnings
cargo test --workspace
# The browser tests drive the real binary.
cargo build -p gateway
# A browser test once hung for good when it closed a page mid-navigation
# (fixed: tests now wait for navigations to land, and context closes are
# bounded). As a guard against a wedged Chromium, a hung run is still cut
# off and the browser suite runs once more, saying so loudly.
browser_tests() { WAITROOM_BIN="$PWD/target/debug/waitroom" timeout 600 npm test --prefix web/tests; }
if ! browser_tests; then
  echo "!! browser tests failed or hung; running them once more" >&2
  browser_tests
fi
# The API contract: schemathesis against the debug binary built above.
WAITROOM_BIN="$PWD/target/debug/waitroom" ./scripts/contract-test.sh
# Static checks of Dockerfile, compose, nginx and Kubernetes files.
./scripts/deploy-lint.sh
# The production topology behind nginx (needs root, nginx, Redis, PostgreSQL).
# It drives the debug binary the browser tests just built: the topology is
# what is under test, and a second (release) build of the workspace would
# double CI's compile time on two cores. `./scripts/topology-test.sh` alone
# builds and runs release binaries.
TOPOLOGY_PROFILE=debug ./scripts/topology-test.sh
