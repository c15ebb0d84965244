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
from ..spec.model import Cluster, Fleet
from .drift import cluster_changes
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
            node["taints"] = _taint_seq(entry["taints"])
        else:
            del node["taints"]
        changed = True
    return changed


def _taint_seq(taints: list[dict[str, str]]) -> CommentedSeq:
    """Taints one per line in flow style, as the spec files write them."""
    seq = CommentedSeq()
    for t in taints:
        item = CommentedMap(t)
        item.fa.set_flow_style()
        seq.append(item)
    return seq


def new_entry(entry: dict[str, Any]) -> CommentedMap:
    """A cluster the inventory does not have yet: block labels and claims, flow resources."""
    node = CommentedMap()
    for key in ("name", "clusterSet", "labels", "claims", "allocatable", "capacity"):
        value = entry.get(key)
        if value:
            node[key] = CommentedMap(value) if isinstance(value, dict) else value
    for key in ("allocatable", "capacity"):
        if key in node:
            node[key].fa.set_flow_style()
    if entry.get("taints"):
        node["taints"] = _taint_seq(entry["taints"])
    return node


def needs_update(c: Cluster, entry: dict[str, Any]) -> bool:
    """Whether pulling changes this cluster's entry: what diff reports, or a taint's timeAdded."""
    if cluster_changes(c, entry):
        return True
    ours = sorted((t.key, t.value, t.effect, t.time_added) for t in c.taints)
    theirs = sorted((t["key"], t.get("value", ""), t["effect"], t.get("timeAdded", "")) for t in entry.get("taints", []))
    return ours != theirs


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _item_span(lines: list[str], start: int) -> tuple[int, int] | None:
    """Lines [start, end) of the block sequence item beginning at line index `start`, without the
    blank and comment lines that lead into the next item; None when it is not a block item."""
    dash = _indent(lines[start])
    if not lines[start][dash:].startswith("- "):
        return None  # a flow sequence or another layout: the whole file is round-tripped instead
    end = len(lines)
    for i in range(start + 1, len(lines)):
        text = lines[i].strip()
        if text and not text.startswith("#") and _indent(lines[i]) <= dash:
            end = i
            break
    while end - 1 > start and (not lines[end - 1].strip()
                               or (lines[end - 1].strip().startswith("#") and _indent(lines[end - 1]) <= dash)):
        end -= 1
    return start, end


def _item_text(y: YAML, node: Any, indent: int) -> list[str]:
    seq = CommentedSeq([node])
    buf = io.StringIO()
    y.dump(seq, buf)
    return [(" " * indent + line) if line.strip() else line for line in buf.getvalue().splitlines(keepends=True)]


def plan_pull(fleet: Fleet, state: HubClusters, spec_dir: Path) -> tuple[PullResult, dict[Path, str]]:
    """What pulling would write: the result and the new text of every file that changes.

    Only what changes is parsed round-trip: each changed cluster's own lines are loaded with
    ruamel.yaml, updated and spliced back (ruamel's pure-Python round trip costs ~1 ms per
    cluster, so a whole 10,000-cluster inventory would take minutes). Files whose clusters are not
    block-sequence items fall back to a round trip of the whole file.
    """
    entries, notes = hub_entries(fleet, state.hub, state.clusters, state.cluster_sets)
    sets = compared_sets(fleet, state.hub, state.cluster_sets)
    result = PullResult(state.hub, notes=notes)
    y = _yaml()
    base = spec_dir.parent
    texts: dict[Path, list[str]] = {}
    edits: dict[Path, list[tuple[int, int, list[str]]]] = {}  # (start, end, new lines) per file
    whole: dict[Path, list[tuple[Cluster, dict[str, Any] | None]]] = {}  # files to round-trip entirely
    home: dict[str, tuple[Path, int, int]] = {}  # set -> (file, end of its last item, indent)

    def lines_of(path: Path) -> list[str]:
        if path not in texts:
            texts[path] = path.read_text(encoding="utf-8").splitlines(keepends=True)
        return texts[path]

    for c in fleet.clusters:
        if c.cluster_set not in sets:
            continue
        path = base / c.origin.file
        entry = entries.get(c.name)
        update = entry is not None and needs_update(c, entry)
        is_home = home.get(c.cluster_set, (path,))[0] == path  # new clusters go to the set's first file
        if entry is not None and not update and not is_home:
            continue  # unchanged, and not where new clusters of its set go: its text is never read
        lines = lines_of(path)
        span = _item_span(lines, c.origin.location.line - 1)
        if span is None:
            if entry is None or update:
                (result.removed if entry is None else result.updated).append(c.name)
                whole.setdefault(path, []).append((c, entry))
            continue
        start, end = span
        indent = _indent(lines[start])
        if is_home:
            home[c.cluster_set] = (path, max(end, home.get(c.cluster_set, (path, 0, 0))[1]), indent)
        if entry is None:
            result.removed.append(c.name)
            edits.setdefault(path, []).append((start, end, []))
        elif update:
            result.updated.append(c.name)
            snippet = "".join(line[indent:] if line.strip() else line for line in lines[start:end])
            item = y.load(snippet)[0]
            update_entry(item, entry)
            edits.setdefault(path, []).append((start, end, _item_text(y, item, indent)))

    known = {c.name for c in fleet.clusters}
    new_files: dict[Path, Any] = {}
    for name in sorted(set(entries) - known):
        entry = entries[name]
        result.added.append(name)
        where = home.get(entry["clusterSet"])
        if where is not None:
            path, end, indent = where
            edits.setdefault(path, []).append((end, end, _item_text(y, new_entry(entry), indent)))
            continue
        path = spec_dir / "clusters" / f"{entry['clusterSet']}.yaml"
        if path.exists():  # a file of that name holds other sets' clusters: append to its first inventory
            whole.setdefault(path, []).append((None, entry))  # type: ignore[arg-type]
            continue
        doc = new_files.setdefault(path, CommentedMap([
            ("apiVersion", API_VERSION), ("kind", "ManagedClusterInventory"),
            ("metadata", CommentedMap([("name", entry["clusterSet"])])),
            ("spec", CommentedMap([("clusters", CommentedSeq())]))]))
        doc["spec"]["clusters"].append(new_entry(entry))

    out: dict[Path, str] = {}
    for path, changes in edits.items():
        if path in whole:
            continue
        lines = list(lines_of(path))
        for start, end, replacement in sorted(changes, key=lambda e: (e[0], e[1]), reverse=True):
            lines[start:end] = replacement
        out[path] = "".join(lines)
    for path, items in whole.items():
        out[path] = _round_trip_file(y, path, items)
    for path, doc in new_files.items():
        buf = io.StringIO()
        y.dump(doc, buf)
        out[path] = buf.getvalue()
    result.files = sorted(str(p.relative_to(base)) if p.is_relative_to(base) else str(p) for p in out)
    result.updated.sort()
    result.removed.sort()
    return result, out


def _round_trip_file(y: YAML, path: Path, items: list[tuple[Cluster | None, dict[str, Any] | None]]) -> str:
    """The slow path: load the whole file round-trip, update, remove and append, dump it again."""
    docs = list(y.load_all(path.read_text(encoding="utf-8")))
    removals: list[tuple[int, int]] = []
    for c, entry in items:
        if c is None:
            assert entry is not None
            target = next(d for d in docs if isinstance(d, dict) and d.get("kind") == "ManagedClusterInventory")
            target["spec"]["clusters"].append(new_entry(entry))
            continue
        index = c.origin.path[-1]
        assert isinstance(index, int)
        if entry is None:
            removals.append((c.origin.doc.index, index))
        else:
            update_entry(docs[c.origin.doc.index]["spec"]["clusters"][index], entry)
    for doc_index, index in sorted(removals, reverse=True):
        del docs[doc_index]["spec"]["clusters"][index]
    buf = io.StringIO()
    if len(docs) == 1:
        y.dump(docs[0], buf)
    else:
        y.dump_all(docs, buf)
    return buf.getvalue()


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
