#!/usr/bin/env bash
# Static checks of the deployment files: hadolint (Dockerfile), dclint
# (docker-compose.yml), `nginx -t` (the load balancer's config), and a
# schema validation of every rendered Kubernetes overlay against a current
# Kubernetes (kubernetes-validate --strict). .ci/run installs the tools at
# pinned versions.
set -euo pipefail
cd "$(dirname "$0")/.."

fail() { echo "deploy-lint: $*" >&2; exit 1; }
for tool in hadolint dclint kubernetes-validate nginx python3; do
  command -v "$tool" >/dev/null || fail "$tool is not installed (.ci/run installs it)"
done

hadolint Dockerfile
dclint docker-compose.yml

T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

# nginx: the shipped files, with loopback addresses in the two address files
# (compose's service names do not resolve here).
cp deploy/nginx/nginx.conf deploy/nginx/waitroom.conf "$T/"
echo "listen 127.0.0.1:8080;" > "$T/lb-listen.conf"
echo "server 127.0.0.1:8081;" > "$T/lb-upstreams.conf"
nginx -q -t -p "$T" -c "$T/nginx.conf" -g "pid $T/nginx.pid;"

# Kubernetes: every overlay rendered, and the Secret template.
for overlay in k8s/overlays/*/; do
  name=$(basename "$overlay")
  python3 scripts/k8s-render.py "$overlay" > "$T/$name.yaml"
done
out=$(kubernetes-validate --strict --quiet "$T"/*.yaml k8s/base/secret.template.yaml 2>&1 || true)
# CRDs (ServiceMonitor, PrometheusRule) have no schema in the tool: warned, not failed.
echo "$out" | grep -v "Couldn't find schema for kind \(ServiceMonitor\|PrometheusRule\)" || true
if echo "$out" | grep -q '^ERROR'; then fail "Kubernetes manifests do not validate"; fi
# Alert rules and the Grafana dashboard use metrics the binary registers.
python3 scripts/check-monitoring.py
echo "deploy-lint: Dockerfile, docker-compose.yml, nginx and $(ls "$T"/*.yaml | wc -l) Kubernetes overlays pass"
