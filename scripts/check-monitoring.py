#!/usr/bin/env python3
"""Checks the alert rules (k8s/base/prometheusrule.yaml), the Grafana
dashboard (deploy/monitoring/grafana-dashboard.json) and the other manifests
(the HPA's metric): well-formed, every alert complete, and every
waitroom_* metric they use is one the binary
registers (METRICS in gateway/src/telemetry.rs and booking/src/metrics.rs, or a histogram's series). No
promtool is available from a package registry here, so this is the check."""

import json
import re
import sys

import yaml

errors = []
known = set()
for path in ("gateway/src/telemetry.rs", "booking/src/metrics.rs"):
    source = open(path, encoding="utf-8").read()
    found = set(re.findall(r'\("(waitroom_[a-z_]+)",', source))
    if not found:
        sys.exit(f"check-monitoring: no metric list found in {path}")
    known |= found


def check_expr(where, expr):
    if expr.count("(") != expr.count(")") or expr.count("{") != expr.count("}"):
        errors.append(f"{where}: unbalanced brackets in {expr!r}")
    for name in re.findall(r"\bwaitroom_[a-z_]+", expr):
        base = re.sub(r"_(bucket|sum|count)$", "", name)
        if name not in known and base not in known:
            errors.append(f"{where}: {name} is not a metric the binary registers")


rules = yaml.safe_load(open("k8s/base/prometheusrule.yaml", encoding="utf-8"))
count = 0
for group in rules["spec"]["groups"]:
    for rule in group["rules"]:
        count += 1
        name = rule.get("alert", "?")
        for field in ("alert", "expr", "labels", "annotations"):
            if field not in rule:
                errors.append(f"alert {name}: no {field}")
        if rule.get("labels", {}).get("severity") not in ("warning", "critical"):
            errors.append(f"alert {name}: severity must be warning or critical")
        if "for" in rule and not re.fullmatch(r"\d+[smh]", rule["for"]):
            errors.append(f"alert {name}: bad duration {rule['for']!r}")
        check_expr(f"alert {name}", rule.get("expr", ""))

dash = json.load(open("deploy/monitoring/grafana-dashboard.json", encoding="utf-8"))
targets = 0
for panel in dash["panels"]:
    for t in panel.get("targets", []):
        targets += 1
        check_expr(f"panel {panel['title']!r}", t["expr"])

# Autoscaling and any other manifest naming a waitroom_* metric.
import glob
for path in sorted(glob.glob("k8s/**/*.yaml", recursive=True)):
    if path.endswith("prometheusrule.yaml"):
        continue
    check_expr(path, open(path, encoding="utf-8").read())

for e in errors:
    print(f"check-monitoring: {e}", file=sys.stderr)
if errors:
    sys.exit(1)
print(f"check-monitoring: {count} alert rules and {targets} dashboard queries use registered metrics")
