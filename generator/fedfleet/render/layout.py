"""How a hub overlay is laid out in kustomizations: one, or a composition of small units.

Why units: one `kustomize build` costs time quadratic in the objects it accumulates. kustomize's
resource map checks every object it adds against every object already there for an id clash
(kustomize api/resmap/reswrangler.go (*resWrangler).Append -> GetMatchingResourcesByCurrentId,
a scan of rList computing each CurId()), and a kustomization that includes another accumulates
the other's objects the same way. Measured on a 10,000-cluster / 1,000-job hub overlay
(4,342 objects, kubectl 1.37 / kustomize v5.8.1): 26-31 CPU-s, with or without its labels and
patches; the same objects as 15 kustomizations of 300 build in 5.6 CPU-s in total (README,
Benchmarks). So a large hub overlay is written as units of at most a few hundred objects:

    overlays/<hub>/kustomization.yaml   resources: the units, nothing else (Argo CD syncs this path)
    overlays/<hub>/core/                the bases, the hub-wide files, the hub's add-on patches
    overlays/<hub>/part-<k>/            the per-job and governance files, objects split by a
                                        stable hash (a job's objects stay together)

Each unit carries the hub's labels itself (and the core the hub's add-on patches; the sync
options are in the objects, render/argocd.py with_sync_options), so the overlay adds nothing
to what its units build: `check` builds every unit on its own (and caches each), and the overlay
is their objects together (checks/built.py composed_units). A hub with its own kustomize content
in the spec (resources, components, patches over the whole overlay) keeps one kustomization.
"""

from __future__ import annotations

import hashlib
from typing import Any

# A hub overlay above this many objects (without the bases) is split into units.
SPLIT_ABOVE = 512
# Objects per part, at most on average: the number of parts is the smallest power of two that
# keeps the average at or below this, so a growing fleet changes it rarely, and when it doubles
# each object either stays in its part k or moves to k + parts/2 (the hash is taken modulo it).
PART_OBJECTS = 256
CORE = "core"
JOB_LABEL = "fedfleet.io/job"


def part_count(objects: int) -> int:
    parts = 1
    while parts * PART_OBJECTS < objects:
        parts *= 2
    return parts


def part_of(doc: dict[str, Any], parts: int) -> int:
    """A job's objects by the job (one changed job touches few parts); any other object by its
    name (a Placement and the PlacementBinding of the same name go together)."""
    meta = doc.get("metadata", {})
    key = (meta.get("labels") or {}).get(JOB_LABEL) or meta.get("name", "")
    return int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big") % parts


def part_name(k: int) -> str:
    return f"part-{k}"


def split(files: dict[str, list[dict[str, Any]]]) -> dict[str, dict[str, list[dict[str, Any]]]] | None:
    """unit directory -> {relative path in the unit: objects}, or None to keep one kustomization.

    The overlay's top-level files (add-on, cluster sets, namespaces, telemetry) go to the core;
    the files under a directory (jobs/, flower/, governance/) to the parts, each object by
    part_of, keeping its file's relative path (a part holds a slice of governance/tls.yaml)."""
    total = sum(len(docs) for docs in files.values())
    if total <= SPLIT_ABOVE:
        return None
    core = {rel: docs for rel, docs in files.items() if "/" not in rel}
    spread = {rel: docs for rel, docs in files.items() if "/" in rel}
    parts = part_count(sum(len(docs) for docs in spread.values()))
    units: dict[str, dict[str, list[dict[str, Any]]]] = {CORE: core}
    for rel, docs in sorted(spread.items()):
        for doc in docs:
            units.setdefault(part_name(part_of(doc, parts)), {}).setdefault(rel, []).append(doc)
    return units
