"""`fedfleet diff --base REF`: what Argo CD will apply differently on each hub, object by object.

The specs at REF are read from the real git repository (`git archive`, into a scratch directory;
the work tree is not touched), both fleets are rendered and built with kustomize, and the built
objects are compared per hub and kind: added, removed, and changed fields.
"""

from __future__ import annotations

import io
import json
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import pipeline
from .checks.built import build_and_check
from .findings import Finding, InputError

MAX_VALUE = 120  # characters of a value shown in a change


@dataclass(frozen=True)
class FieldChange:
    path: str
    old: Any
    new: Any


@dataclass
class ObjectChange:
    root: str  # the overlay or bootstrap directory, e.g. overlays/hub-prod
    kind: str
    name: str  # namespace/name or name
    change: str  # added | removed | changed
    fields: list[FieldChange] = field(default_factory=list)


def _git(repo: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(["git", "-C", str(repo), *args], capture_output=True)


def specs_at(repo: Path, ref: str, specs_rel: str, into: Path) -> Path:
    """Extract the spec directory as it is at `ref` into `into`; returns its path there."""
    if _git(repo, "rev-parse", "--git-dir").returncode != 0:
        raise InputError([Finding("diff", f"{repo} is not a git repository")])
    rev = _git(repo, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
    if rev.returncode != 0:
        raise InputError([Finding("diff", f"unknown git revision {ref!r}")])
    archive = _git(repo, "archive", "--format=tar", rev.stdout.decode().strip(), "--", specs_rel)
    if archive.returncode != 0:
        raise InputError([Finding("diff", f"{specs_rel}/ does not exist at {ref}: {archive.stderr.decode().strip()}")])
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(into, filter="data")
    return into / specs_rel


def _key(obj: dict[str, Any]) -> tuple[str, str]:
    md = obj.get("metadata", {})
    name = f"{md['namespace']}/{md.get('name', '?')}" if md.get("namespace") else md.get("name", "?")
    return f"{obj.get('apiVersion', '')} {obj.get('kind', '')}", name


def field_changes(old: Any, new: Any, path: str = "") -> list[FieldChange]:
    if isinstance(old, dict) and isinstance(new, dict):
        out: list[FieldChange] = []
        for k in sorted(set(old) | set(new)):
            sub = f"{path}.{k}" if path else str(k)
            if k not in old:
                out.append(FieldChange(sub, None, new[k]))
            elif k not in new:
                out.append(FieldChange(sub, old[k], None))
            else:
                out.extend(field_changes(old[k], new[k], sub))
        return out
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        return [c for i, (a, b) in enumerate(zip(old, new)) for c in field_changes(a, b, f"{path}[{i}]")]
    return [] if old == new else [FieldChange(path, old, new)]


def compare(base: dict[str, list[dict[str, Any]]], head: dict[str, list[dict[str, Any]]]) -> list[ObjectChange]:
    changes: list[ObjectChange] = []
    for root in sorted(set(base) | set(head)):
        old = {_key(o): o for o in base.get(root, [])}
        new = {_key(o): o for o in head.get(root, [])}
        for key in sorted(set(old) | set(new)):
            kind = key[0].rsplit(" ", 1)[-1]
            if key not in old:
                changes.append(ObjectChange(root, kind, key[1], "added"))
            elif key not in new:
                changes.append(ObjectChange(root, kind, key[1], "removed"))
            else:
                fields = field_changes(old[key], new[key])
                if fields:
                    changes.append(ObjectChange(root, kind, key[1], "changed", fields))
    return changes


def built_objects(paths: pipeline.Paths) -> dict[str, list[dict[str, Any]]]:
    built = build_and_check(pipeline.render(paths).files, None)
    if built.build_findings:
        raise InputError(built.build_findings)
    return built.objects


def diff(repo: Path, base_ref: str, paths: pipeline.Paths) -> list[ObjectChange]:
    specs_rel = paths.specs.resolve().relative_to(repo.resolve()).as_posix()
    with tempfile.TemporaryDirectory(prefix="fedfleet-diff-") as scratch:
        base_specs = specs_at(repo, base_ref, specs_rel, Path(scratch))
        base = built_objects(pipeline.Paths(base_specs, Path(scratch)))
    head = built_objects(paths)
    return compare(base, head)


def _short(value: Any) -> str:
    text = json.dumps(value, sort_keys=True) if value is not None else "(absent)"
    return text if len(text) <= MAX_VALUE else text[: MAX_VALUE - 3] + "..."


def to_json(changes: list[ObjectChange]) -> dict[str, Any]:
    return {"changes": [{"root": c.root, "kind": c.kind, "name": c.name, "change": c.change,
                         "fields": [{"path": f.path, "old": f.old, "new": f.new} for f in c.fields]} for c in changes]}


def to_text(changes: list[ObjectChange]) -> str:
    if not changes:
        return "no changes: every hub gets the same objects as at the base\n"
    lines: list[str] = []
    sign = {"added": "+", "removed": "-", "changed": "~"}
    for root in sorted({c.root for c in changes}):
        lines.append(f"{root}:")
        for kind in sorted({c.kind for c in changes if c.root == root}):
            lines.append(f"  {kind}")
            for c in (c for c in changes if c.root == root and c.kind == kind):
                lines.append(f"    {sign[c.change]} {c.name} ({c.change})")
                for f in c.fields:
                    lines.append(f"        {f.path}: {_short(f.old)} -> {_short(f.new)}")
    return "\n".join(lines) + "\n"


def to_markdown(changes: list[ObjectChange], base_ref: str) -> str:
    lines = [f"## fedfleet diff against `{base_ref}`", ""]
    if not changes:
        return "\n".join(lines + ["No change: every hub gets the same objects as at the base.", ""])
    for root in sorted({c.root for c in changes}):
        counts = {k: sum(1 for c in changes if c.root == root and c.change == k) for k in ("added", "removed", "changed")}
        lines += [f"### `{root}`: {counts['added']} added, {counts['removed']} removed, {counts['changed']} changed", "",
                  "| kind | object | change | fields |", "| --- | --- | --- | --- |"]
        for c in (c for c in changes if c.root == root):
            fields = "<br>".join(f"`{f.path}`: `{_short(f.old)}` → `{_short(f.new)}`".replace("|", "\\|") for f in c.fields)
            lines.append(f"| {c.kind} | `{c.name}` | {c.change} | {fields} |")
        lines.append("")
    return "\n".join(lines)
