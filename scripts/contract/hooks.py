"""Schemathesis hooks for the API contract run (scripts/contract-test.sh).

JSON Schema cannot say everything the server checks: a pagination cursor is
valid only if the server issued it, a confirmation must repeat a path
parameter, a seat map's rows must name its own tiers. The API document
declares each such rule where it applies, with an extension:

- `x-opaque: <kind>` on a parameter: a value only the server issues;
- `x-same-as-path-parameter: <name>` on a body property;
- `x-constraints: {<id>: <rule in words>}` on a schema.

Generated requests that are meant to be valid (positive) get values that
also keep these rules, by the implementations below; invalid (negative)
requests are sent as generated. A rule the document declares but this file
does not implement stops the run, so neither can drift from the other.
"""

from __future__ import annotations

import base64
import random
import threading

import schemathesis
from schemathesis.core.parameters import ParameterLocation

_lock = threading.Lock()
_index: dict[str, list[tuple[tuple[str, ...], str, str]]] = {}
_rng = random.Random(0)


def _resolve(doc: dict, schema):
    seen = 0
    while isinstance(schema, dict) and "$ref" in schema and seen < 32:
        node = doc
        for part in schema["$ref"].lstrip("#/").split("/"):
            node = node[part]
        schema, seen = node, seen + 1
    return schema


def _walk(doc: dict, schema, at: tuple[str, ...], out: list, depth: int = 0) -> None:
    """Collects (path in the body, kind, argument) for every declared rule."""
    schema = _resolve(doc, schema)
    if not isinstance(schema, dict) or depth > 12:
        return
    for rule in schema.get("x-constraints", {}):
        out.append((at, "constraint", rule))
    if "x-same-as-path-parameter" in schema:
        out.append((at, "same-as-path", schema["x-same-as-path-parameter"]))
    if "x-opaque" in schema:
        out.append((at, "opaque", schema["x-opaque"]))
    for name, sub in schema.get("properties", {}).items():
        _walk(doc, sub, at + (name,), out, depth + 1)
    for key in ("oneOf", "anyOf", "allOf"):
        for sub in schema.get(key, []):
            _walk(doc, sub, at, out, depth + 1)


def _rules(case) -> list[tuple[tuple[str, ...], str, str]]:
    label = case.operation.label
    with _lock:
        if label not in _index:
            doc = case.operation.schema.raw_schema
            op = case.operation.definition.raw
            found: list = []
            for param in op.get("parameters", []):
                param = _resolve(doc, param)
                schema = _resolve(doc, param.get("schema", {}))
                if "x-opaque" in schema:
                    found.append(((param["in"], param["name"]), "opaque", schema["x-opaque"]))
            body = op.get("requestBody", {}).get("content", {}).get("application/json", {})
            if "schema" in body:
                _walk(doc, body["schema"], ("body",), found)
            _index[label] = found
        return _index[label]


def _cursor(case) -> str:
    """A cursor as the server issues them: the keyset position in the
    request's `sort` order (`d|<secs>.<nanos>` for date, `p|<price>`,
    `s|<sold>`), then the event id. A cursor of another order is refused."""
    sort = (case.query or {}).get("sort", "date")
    if sort == "price":
        key = f"p|{_rng.randrange(0, 1_000_000_000_000)}"
    elif sort == "popularity":
        key = f"s|{_rng.randrange(0, 1_000_000)}"
    else:
        key = f"d|{_rng.randrange(0, 4_000_000_000)}.{_rng.randrange(0, 1_000_000_000):09d}"
    alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-"
    event = "".join(_rng.choice(alphabet) for _ in range(_rng.randrange(1, 65)))
    raw = f"{key}|{event}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


OPAQUE = {"next_cursor": _cursor}


def _seat_map(value: dict) -> None:
    """Keeps `tier-exists`, `tier-price` and `section-once`."""
    tiers = [t for t in value.get("tiers", []) if isinstance(t, dict) and isinstance(t.get("name"), str)]
    seen: dict[str, int] = {}
    unique = []
    for t in tiers:
        if t["name"] not in seen:
            seen[t["name"]] = len(unique)
            unique.append(t)
    if not unique:
        unique = [{"name": "T", "price": 0}]
    value["tiers"] = unique
    names = [t["name"] for t in unique]
    used: set[str] = set()
    for i, section in enumerate(value.get("sections", [])):
        if not isinstance(section, dict):
            continue
        name = section.get("name")
        if isinstance(name, str) and name in used:
            section["name"] = f"{name[:90]}~{i}"
        used.add(section.get("name"))
        labels: set[str] = set()
        for j, row in enumerate(section.get("rows") or []):
            if isinstance(row, dict):
                if row.get("tier") not in names:
                    row["tier"] = names[j % len(names)]
                if row.get("label") in labels:
                    row["label"] = f"{row['label']}~{j}"
                labels.add(row.get("label"))
        general = section.get("general")
        if isinstance(general, dict) and general.get("tier") not in names:
            general["tier"] = names[0]


def _schedule(value: dict) -> None:
    """Keeps `schedule-order` within the body."""
    keys = [k for k in ("prequeue_at", "opens_at", "closes_at") if isinstance(value.get(k), int)]
    times = sorted(value[k] for k in keys)
    for k, t in zip(keys, times):
        value[k] = t
    if isinstance(value.get("opens_at"), int) and isinstance(value.get("closes_at"), int):
        if value["closes_at"] <= value["opens_at"]:
            value["closes_at"] = value["opens_at"] + 1


def _csv(value, parent: dict, key: str) -> None:
    """Keeps `seat-map-csv`: a valid map, as CSV."""
    if isinstance(value, str):
        parent[key] = "section,row,seats,tier,price\nFloor,,100,GA,0\nBalcony,A,10,Front,2500\n"


def _logo(value: dict) -> None:
    """Keeps `logo-image`: a PNG signature and a few bytes, base64."""
    if "image" in value:
        value["image"] = base64.b64encode(b"\x89PNG\r\n\x1a\n" + bytes(_rng.randrange(0, 64))).decode()


CONSTRAINTS = {
    "logo-image": _logo,
    "tier-exists": _seat_map,
    "tier-price": _seat_map,
    "section-once": _seat_map,
    "schedule-order": _schedule,
}


def _at(root, path: tuple[str, ...]):
    """(parent, key, value) at `path` under `root`, or None."""
    parent, key, node = None, None, root
    for part in path:
        if not isinstance(node, dict) or part not in node:
            return None
        parent, key, node = node, part, node[part]
    return parent, key, node


@schemathesis.hook
def before_call(context, case, **kwargs):
    meta = case.meta

    def negative(location: ParameterLocation) -> bool:
        return meta is not None and meta.is_negative_at(location)

    for path, kind, arg in _rules(case):
        if kind == "opaque":
            if arg not in OPAQUE:
                raise RuntimeError(f"the document declares x-opaque {arg!r}, which hooks.py does not implement")
            location, name = path
            container = case.query if location == "query" else case.headers
            if container and name in container and not negative(ParameterLocation(location)):
                container[name] = OPAQUE[arg](case)
            continue
        if negative(ParameterLocation.BODY):
            continue
        found = _at({"body": case.body}, path)
        if kind == "same-as-path":
            if found and found[0] is not None and case.path_parameters and arg in case.path_parameters:
                found[0][found[1]] = case.path_parameters[arg]
        elif kind == "constraint" and arg == "seat-map-csv":
            if found and found[0] is not None:
                _csv(found[2], found[0], found[1])
        elif kind == "constraint":
            if arg not in CONSTRAINTS:
                raise RuntimeError(f"the document declares constraint {arg!r}, which hooks.py does not implement")
            if found and isinstance(found[2], dict):
                CONSTRAINTS[arg](found[2])


def _close_upgraded_connections() -> None:
    """After `101 Switching Protocols` the connection speaks WebSocket, but
    requests would put it back in its pool and send the next HTTP request
    down it (reading the server's first frame as a response). Close it."""
    from requests.adapters import HTTPAdapter

    send = HTTPAdapter.send

    def send_and_close_upgrades(self, request, *args, **kwargs):
        response = send(self, request, *args, **kwargs)
        if response.status_code == 101:
            connection = getattr(response.raw, "_connection", None) or getattr(response.raw, "connection", None)
            if connection is not None:
                connection.close()
        return response

    HTTPAdapter.send = send_and_close_upgrades


_close_upgraded_connections()
