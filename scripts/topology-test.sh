#!/usr/bin/env bash
# The production topology, from processes, tested from outside: nginx (from
# Debian) with deploy/nginx/nginx.conf and waitroom.conf exactly as
# docker-compose.yml mounts them, in front of three release `waitroom`
# processes in production mode (the env of k8s/base/config.env plus test
# values for every key of k8s/base/secret.template.yaml), run as an
# unprivileged user with the image's paths (/srv/web, /var/lib/waitroom),
# Redis with AOF (everysec) on its own port, a fresh PostgreSQL database, a
# Stripe stand-in and an SMTP sink. The driver (tests/src/topology_main.rs)
# talks to nginx only. Fails on a lost place, a double admission or a 5xx
# outside the restart windows.
#
#   ./scripts/topology-test.sh            # TOPOLOGY_FANS=1000 by default
#
# Needs: nginx, redis-server, psql and PostgreSQL at TEST_DATABASE_URL
# (.ci/run installs/starts them), root (to run the processes as the
# `waitroom` user and raise the open-file limit).
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
FANS="${TOPOLOGY_FANS:-1000}"
PG_ADMIN="${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}"

fail() { echo "topology: $*" >&2; exit 1; }
for tool in nginx redis-server redis-cli psql; do
  command -v "$tool" >/dev/null || fail "$tool is not installed (.ci/run installs it)"
done
[ "$(id -u)" = 0 ] || fail "run as root: the processes run as the unprivileged user 'waitroom'"
psql "$PG_ADMIN" -qAtc 'select 1' >/dev/null 2>&1 || fail "PostgreSQL is not reachable at $PG_ADMIN"

# Release binaries, as deployed, unless TOPOLOGY_PROFILE=debug (test.sh
# reuses the debug build it already made).
PROFILE="${TOPOLOGY_PROFILE:-release}"
if [ "$PROFILE" = release ]; then
  cargo build --release --quiet -p gateway --bin waitroom -p waitroom-tests --bin topology
else
  cargo build --quiet -p gateway --bin waitroom -p waitroom-tests --bin topology
fi
TARGET="${CARGO_TARGET_DIR:-target}/$PROFILE"

T=$(mktemp -d /tmp/waitroom-topology.XXXXXX)
chmod 755 "$T"
DB="waitroom_topology_$$"
cleanup() {
  local rc=$?
  [ -f "$T/nginx/nginx.pid" ] && kill "$(cat "$T/nginx/nginx.pid")" 2>/dev/null || true
  [ -f "$T/redis.pid" ] && kill "$(cat "$T/redis.pid")" 2>/dev/null || true
  psql "$PG_ADMIN" -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1 || true
  if [ "$rc" != 0 ]; then
    for log in "$T"/logs/*.log; do
      [ -f "$log" ] || continue
      echo "--- last lines of $log" >&2; tail -n 6 "$log" | cut -c1-400 >&2
    done
  fi
  rm -rf "$T"
}
trap cleanup EXIT

# A free loopback port (not listening now), below the kernel's ephemeral
# range: a port inside it can be taken meanwhile as the source port of an
# outgoing connection (the fans reconnecting through nginx), and a process
# restarted on it then fails with "Address already in use".
used=" "
ephemeral_low=$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
free_port() {
  local p
  while :; do
    p=$(( (RANDOM << 1 | RANDOM & 1) % (ephemeral_low - 10000) + 10000 ))
    case "$used" in *" $p "*) continue ;; esac
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then used="$used$p "; echo "$p"; return; fi
  done
}
P1=$(free_port); P2=$(free_port); P3=$(free_port)
M1=$(free_port); M2=$(free_port); M3=$(free_port)
LB=$(free_port); RP=$(free_port)

# The image's user and paths.
id waitroom >/dev/null 2>&1 ||
  useradd --system --no-create-home --home-dir /var/lib/waitroom --shell /usr/sbin/nologin waitroom
WUID=$(id -u waitroom); WGID=$(id -g waitroom)
install -d -o waitroom -g waitroom -m 0750 /var/lib/waitroom
install -d -m 0755 /srv/web
install -m 0644 web/*.html web/*.js web/*.css web/*.json /srv/web/
install -d -m 0755 "$T/bin" "$T/logs" "$T/redis" "$T/nginx"
chown waitroom:waitroom "$T/logs"
install -m 0755 "$TARGET/waitroom" "$T/bin/waitroom"
touch "$T/started"

# Redis with the settings README asks of a managed Redis.
cat > "$T/redis.conf" <<CONF
port $RP
bind 127.0.0.1
daemonize yes
pidfile $T/redis.pid
dir $T/redis
logfile $T/logs/redis.log
appendonly yes
appendfsync everysec
save ""
maxmemory-policy noeviction
CONF
redis-server "$T/redis.conf"
for _ in $(seq 1 100); do redis-cli -p "$RP" ping >/dev/null 2>&1 && break; sleep 0.1; done

psql "$PG_ADMIN" -qc "CREATE DATABASE $DB" >/dev/null
DATABASE_URL="$(echo "$PG_ADMIN" | sed -E 's#/[^/]*$##')/$DB"

# nginx: the compose files as they are; only the two address files differ.
cp deploy/nginx/nginx.conf deploy/nginx/waitroom.conf "$T/nginx/"
echo "listen 127.0.0.1:$LB;" > "$T/nginx/lb-listen.conf"
for p in "$P1" "$P2" "$P3"; do
  echo "server 127.0.0.1:$p max_fails=0;"
done > "$T/nginx/lb-upstreams.conf"
nginx -q -t -p "$T/nginx" -c "$T/nginx/nginx.conf" -g "pid $T/nginx/nginx.pid;"
nginx -p "$T/nginx" -c "$T/nginx/nginx.conf" -g "pid $T/nginx/nginx.pid;"

# The ConfigMap as shipped, then the Secret's keys with test values, then
# what differs on one machine (addresses; nginx is the trusted proxy).
rand() { head -c32 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n'; }
{
  grep -v '^#' k8s/base/config.env
  echo "REDIS_URL=redis://127.0.0.1:$RP"
  echo "DATABASE_URL=$DATABASE_URL"
  echo "WAITROOM_SIGNING_KEYS=k1:$(rand)"
  echo "WAITROOM_ADMIN_TOKEN=$(rand)"
  echo "WAITROOM_ADMIN_EMAIL=owner@example.com"
  echo "WAITROOM_ADMIN_PASSWORD=$(rand)"
  echo "WAITROOM_BOOKING__SESSION_SECRET=$(rand)"
  echo "STRIPE_SECRET_KEY=sk_test_topology"
  echo "STRIPE_PUBLISHABLE_KEY=pk_test_topology"
  echo "STRIPE_WEBHOOK_SECRET=whsec_topology_$(rand)"
  echo "SMTP_URL=smtp://127.0.0.1:1"  # the driver points it at its sink
  echo "WAITROOM_TRUSTED_PROXIES=127.0.0.1/32"
  echo "WAITROOM_FORWARDED_HEADER=x-forwarded-for"
  echo "WAITROOM_PUBLIC_BASE_URL=http://127.0.0.1:$LB"
} > "$T/waitroom.env"
# Every key the Secret template lists must have a value here.
for key in $(sed -nE 's/^  ([A-Z_]+): .*/\1/p' k8s/base/secret.template.yaml); do
  grep -q "^$key=." "$T/waitroom.env" || fail "no test value for the Secret's $key"
done

# Each waiting fan holds a socket in the driver, in nginx (two) and in a
# waitroom process.
ulimit -n 20000
"$TARGET/topology" \
  --bin "$T/bin/waitroom" --env-file "$T/waitroom.env" --log-dir "$T/logs" \
  --ports "$P1,$P2,$P3" --metrics-ports "$M1,$M2,$M3" --lb-port "$LB" \
  --redis-conf "$T/redis.conf" --redis-pid-file "$T/redis.pid" --redis-port "$RP" \
  --user "$WUID:$WGID" --fans "$FANS"

# With every backend external, nothing is written to the data directory.
written=$(find /var/lib/waitroom -newer "$T/started" | grep -v '^/var/lib/waitroom$' || true)
[ -z "$written" ] || fail "the processes wrote to /var/lib/waitroom: $written"
echo "topology: the data directory stayed empty"
