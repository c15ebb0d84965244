"""`inventory pull`: rewrite specs/clusters/ (and inline fleet clusters) from the hub, in place.

Round-trip with ruamel.yaml so that what people wrote by hand survives: comments, key order, flow
or block style, quoting, fields fedfleet does not know. Only the fields the hub is the truth for
change (clusterSet, labels, claims, allocatable/capacity cpu and memory, taints); a quantity that
equals the hub's by value keeps its spelling ("128Gi" stays although the hub says "134217728Ki").
Clusters the hub no longer has in the fleet's sets are removed; new ones are appended, sorted by
name, to the file that already holds clusters of their set (else `specs/clusters/<set>.yaml`).
Every file is rendered in memory first and replaced only when all are ready.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from .. import API_VERSION
from ..spec.load import parse_quantity
from ..spec.model import Fleet
from .hub import HubClusters
from .observed import compared_sets, hub_entries


@dataclass
class PullResult:
    hub: str
    updated: list[str] = field(default_factory=list)  # cluster names
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)  # files rewritten
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"hub": self.hub, "updated": self.updated, "added": self.added, "removed": self.removed,
                "files": self.files, "notes": self.notes}


def _yaml() -> YAML:
    y = YAML(typ="rt")
    y.preserve_quotes = True
    y.width = 4096  # never re-wrap a long line someone wrote
    y.indent(mapping=2, sequence=2, offset=0)  # the spec files' style: "  clusters:\n  - name: ..."
    return y


def _sync_mapping(node: CommentedMap, key: str, wanted: dict[str, str]) -> bool:
    """Make node[key] hold exactly `wanted`, editing in place so comments on kept keys stay."""
    current = node.get(key)
    if not wanted:
        if current:
            del node[key]
            return True
        return False
    if not isinstance(current, CommentedMap):
        node[key] = CommentedMap(wanted)
        return True
    changed = False
    for k in [k for k in current if k not in wanted]:
        del current[k]
        changed = True
    for k, v in wanted.items():
        if current.get(k) != v:
            current[k] = v
            changed = True
    return changed


def _sync_resources(node: CommentedMap, key: str, wanted: dict[str, str]) -> bool:
    current = node.get(key)
    if not wanted:
        if current is not None:
            del node[key]
            return True
        return False
    if not isinstance(current, CommentedMap):
        node[key] = CommentedMap(wanted)
        return True
    changed = False
    for k in [k for k in current if k not in wanted]:
        del current[k]
        changed = True
    for k, v in wanted.items():
        if k in current and parse_quantity(current[k]) == parse_quantity(v):
            continue  # same quantity: keep the hand-written spelling
        current[k] = v
        changed = True
    return changed


def _taints_of(node: CommentedMap) -> list[dict[str, str]]:
    return [{k: str(t[k]) for k in ("key", "value", "effect", "timeAdded") if t.get(k) not in (None, "")}
            for t in node.get("taints") or []]


def update_entry(node: CommentedMap, entry: dict[str, Any]) -> bool:
    changed = False
    if node.get("clusterSet") != entry["clusterSet"]:
        node["clusterSet"] = entry["clusterSet"]
        changed = True
    changed |= _sync_mapping(node, "labels", entry["labels"])
    changed |= _sync_mapping(node, "claims", entry["claims"])
    for key in ("allocatable", "capacity"):
        changed |= _sync_resources(node, key, entry.get(key, {}))
    wanted = [{k: v for k, v in t.items() if v != ""} for t in entry.get("taints", [])]
    current = _taints_of(node)
    same = lambda a, b: all(a.get(k, "") == b.get(k, "") for k in ("key", "value", "effect"))  # noqa: E731
    if len(current) == len(wanted) and all(same(a, b) for a, b in zip(current, wanted)):
        # The same taints: only timeAdded may differ; set it in place, keeping the style.
        for item, taint in zip(node.get("taints") or [], wanted):
            if item.get("timeAdded") != taint.get("timeAdded"):
                if "timeAdded" in taint:
                    item["timeAdded"] = taint["timeAdded"]
                else:
                    del item["timeAdded"]
                changed = True
    elif current != wanted:
        if wanted:
            seq = CommentedSeq()
            for t in entry["taints"]:
                item = CommentedMap(t)
                item.fa.set_flow_style()
                seq.append(item)
            node["taints"] = seq
        else:
            del node["taints"]
        changed = True
    return changed


def new_entry(entry: dict[str, Any]) -> CommentedMap:
    node = CommentedMap()
    for key in ("name", "clusterSet", "labels", "claims", "allocatable", "capacity"):
        if key in entry and entry[key] != {}:
            value = entry[key]
            node[key] = CommentedMap(value) if isinstance(value, dict) else value
    for key in ("allocatable", "capacity"):
        if key in node:
            node[key].fa.set_flow_style()
    if entry.get("taints"):
        update_entry(node, {**entry, "clusterSet": entry["clusterSet"]})
    return node


def plan_pull(fleet: Fleet, state: HubClusters, spec_dir: Path) -> tuple[PullResult, dict[Path, str]]:
    """What pulling would write: the result and the new text of every file that changes."""
    entries, notes = hub_entries(fleet, state.hub, state.clusters, state.cluster_sets)
    sets = compared_sets(fleet, state.hub, state.cluster_sets)
    result = PullResult(state.hub, notes=notes)
    y = _yaml()
    base = spec_dir.parent
    loaded: dict[Path, list[Any]] = {}
    dirty: set[Path] = set()

    def docs_of(path: Path) -> list[Any]:
        if path not in loaded:
            loaded[path] = list(y.load_all(path.read_text(encoding="utf-8"))) if path.exists() else []
        return loaded[path]

    # Existing clusters: update in place or remove, in their own file and document.
    removals: dict[tuple[Path, int], list[int]] = {}
    home_of_set: dict[str, tuple[Path, int]] = {}
    for c in fleet.clusters:
        if c.cluster_set not in sets:
            continue
        path = base / c.origin.file
        doc_index = c.origin.doc.index
        item_index = c.origin.path[-1]
        assert isinstance(item_index, int)
        seq = docs_of(path)[doc_index]["spec"]["clusters"]
        home_of_set.setdefault(c.cluster_set, (path, doc_index))
        entry = entries.get(c.name)
        if entry is None:
            removals.setdefault((path, doc_index), []).append(item_index)
            result.removed.append(c.name)
        elif update_entry(seq[item_index], entry):
            result.updated.append(c.name)
            dirty.add(path)
    for (path, doc_index), indexes in removals.items():
        seq = docs_of(path)[doc_index]["spec"]["clusters"]
        for i in sorted(indexes, reverse=True):
            del seq[i]
        dirty.add(path)
    known = {c.name for c in fleet.clusters}
    for name in sorted(set(entries) - known):
        entry = entries[name]
        where = home_of_set.get(entry["clusterSet"])
        if where is None:
            path = spec_dir / "clusters" / f"{entry['clusterSet']}.yaml"
            docs = docs_of(path)
            if not docs:
                docs.append(CommentedMap([("apiVersion", API_VERSION), ("kind", "ManagedClusterInventory"),
                                          ("metadata", CommentedMap([("name", entry["clusterSet"])])),
                                          ("spec", CommentedMap([("clusters", CommentedSeq())]))]))
            where = home_of_set[entry["clusterSet"]] = (path, len(docs) - 1)
        path, doc_index = where
        docs_of(path)[doc_index]["spec"]["clusters"].append(new_entry(entry))
        result.added.append(name)
        dirty.add(path)
    texts: dict[Path, str] = {}
    for path in sorted(dirty):
        buf = io.StringIO()
        docs = loaded[path]
        if len(docs) == 1:
            y.dump(docs[0], buf)
        else:
            y.dump_all(docs, buf)
        texts[path] = buf.getvalue()
        result.files.append(str(path.relative_to(base)) if path.is_relative_to(base) else str(path))
    result.updated.sort()
    result.removed.sort()
    return result, texts


def write_files(texts: dict[Path, str]) -> None:
    """Write every file to a temporary sibling first, then rename them all into place."""
    temps: list[tuple[Path, Path]] = []
    try:
        for path, text in texts.items():
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f".{path.name}.fedfleet-tmp")
            tmp.write_text(text, encoding="utf-8")
            temps.append((tmp, path))
    except BaseException:
        for tmp, _ in temps:
            tmp.unlink(missing_ok=True)
        raise
    for tmp, path in temps:
        os.replace(tmp, path)
