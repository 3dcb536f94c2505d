#!/usr/bin/env python3
"""Renders a Kustomize overlay to YAML on stdout, for validation in CI where
`kubectl kustomize` is not installed. Supports what k8s/ uses and nothing
more: resources (files and directories), configMapGenerator (envs,
literals, behavior: merge) with a content-hash name suffix and rewritten
references, patches (strategic-merge style: maps merge, lists of named
items merge by name, other lists are replaced), images, replicas,
namespace and labels. Anything else in a kustomization is an error, so the
renderer cannot silently drift from what kubectl would apply."""

import copy
import hashlib
import json
import os
import sys

import yaml

KNOWN = {"apiVersion", "kind", "resources", "configMapGenerator", "patches",
         "images", "replicas", "namespace", "labels"}


def fail(message):
    sys.exit(f"k8s-render: {message}")


def read_env(path):
    data = {}
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            if "=" not in line:
                fail(f"{path}:{n}: not KEY=value")
            k, v = line.split("=", 1)
            data[k.strip()] = v.strip()
    return data


def merge(base, patch):
    if isinstance(base, dict) and isinstance(patch, dict):
        out = dict(base)
        for k, v in patch.items():
            out[k] = merge(base[k], v) if k in base else copy.deepcopy(v)
        return out
    if (isinstance(base, list) and isinstance(patch, list) and patch
            and all(isinstance(i, dict) and "name" in i for i in base + patch)):
        out = [copy.deepcopy(i) for i in base]
        for item in patch:
            match = [i for i, b in enumerate(out) if b["name"] == item["name"]]
            if match:
                out[match[0]] = merge(out[match[0]], item)
            else:
                out.append(copy.deepcopy(item))
        return out
    return copy.deepcopy(patch)


def find(docs, kind, name):
    for d in docs:
        if d.get("kind") == kind and d["metadata"]["name"] == name:
            return d
    return None


def build(directory):
    path = os.path.join(directory, "kustomization.yaml")
    with open(path, encoding="utf-8") as f:
        kust = yaml.safe_load(f)
    unknown = set(kust) - KNOWN
    if unknown:
        fail(f"{path}: unsupported fields {sorted(unknown)}")
    docs = []
    for res in kust.get("resources", []):
        p = os.path.normpath(os.path.join(directory, res))
        if os.path.isdir(p):
            docs += build(p)
        else:
            with open(p, encoding="utf-8") as f:
                docs += [d for d in yaml.safe_load_all(f) if d]
    for gen in kust.get("configMapGenerator", []):
        data = {}
        for env in gen.get("envs", []):
            data.update(read_env(os.path.join(directory, env)))
        for lit in gen.get("literals", []):
            k, v = lit.split("=", 1)
            data[k] = v
        behavior = gen.get("behavior", "create")
        existing = find(docs, "ConfigMap", gen["name"])
        if behavior == "merge":
            if existing is None:
                fail(f"{path}: nothing to merge into for {gen['name']}")
            existing["data"].update(data)
        elif existing is not None:
            fail(f"{path}: {gen['name']} generated twice")
        else:
            docs.append({"apiVersion": "v1", "kind": "ConfigMap",
                         "metadata": {"name": gen["name"],
                                      "annotations": {"k8s-render/generated": "true"}},
                         "data": data})
    for patch in kust.get("patches", []):
        with open(os.path.join(directory, patch["path"]), encoding="utf-8") as f:
            p = yaml.safe_load(f)
        target = find(docs, p["kind"], p["metadata"]["name"])
        if target is None:
            fail(f"{path}: patch {patch['path']} matches nothing")
        docs[docs.index(target)] = merge(target, p)
    for image in kust.get("images", []):
        for d in docs:
            for c in d.get("spec", {}).get("template", {}).get("spec", {}).get("containers", []):
                name, _, tag = c["image"].rpartition(":")
                if name == image["name"]:
                    c["image"] = f"{image.get('newName', name)}:{image.get('newTag', tag)}"
    for rep in kust.get("replicas", []):
        target = find(docs, "Deployment", rep["name"])
        if target is None:
            fail(f"{path}: replicas for unknown {rep['name']}")
        target["spec"]["replicas"] = rep["count"]
    for label in kust.get("labels", []):
        if label.get("includeSelectors"):
            fail(f"{path}: includeSelectors is not supported")
        for d in docs:
            d["metadata"].setdefault("labels", {}).update(label["pairs"])
    if "namespace" in kust:
        for d in docs:
            d["metadata"]["namespace"] = kust["namespace"]
    return docs


def rewrite(node, renames):
    """Renames references to generated ConfigMaps where pods name them."""
    if isinstance(node, dict):
        for key in ("configMapRef", "configMapKeyRef", "configMap"):
            ref = node.get(key)
            if isinstance(ref, dict) and ref.get("name") in renames:
                ref["name"] = renames[ref["name"]]
        for v in node.values():
            rewrite(v, renames)
    elif isinstance(node, list):
        for v in node:
            rewrite(v, renames)


def main():
    if len(sys.argv) != 2:
        fail("usage: k8s-render.py <kustomization directory>")
    docs = build(sys.argv[1])
    renames = {}
    for d in docs:
        if d["metadata"].get("annotations", {}).pop("k8s-render/generated", None):
            if not d["metadata"]["annotations"]:
                del d["metadata"]["annotations"]
            digest = hashlib.sha256(json.dumps(d["data"], sort_keys=True).encode()).hexdigest()
            renames[d["metadata"]["name"]] = f"{d['metadata']['name']}-{digest[:10]}"
            d["metadata"]["name"] = renames[d["metadata"]["name"]]
    for d in docs:
        rewrite(d, renames)
    yaml.safe_dump_all(docs, sys.stdout, sort_keys=False)


if __name__ == "__main__":
    main()
