"""`fedfleet diff --base REF`: what Argo CD will apply differently on each hub, object by object.

The specs at REF are read from the real git repository (`git archive`, into a scratch directory;
the work tree is not touched), both fleets are rendered and built with kustomize, and the built
objects are compared per hub and kind: added, removed, and changed fields.
"""

from __future__ import annotations

import difflib
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
from .findings import Finding, InputError, Location, Severity, Subject
from .spec.model import Job
from .upstream import SIDECAR_ANNOTATION

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
        try:
            # The "data" filter refuses absolute links, links out of `into`, devices and
            # setuid bits: a committed symlink can never make diff read outside the scratch copy.
            tar.extractall(into, filter="data")
        except tarfile.FilterError as exc:
            member = exc.tarinfo.name
            reason = {tarfile.AbsoluteLinkError: "is a symlink to an absolute path",
                      tarfile.LinkOutsideDestinationError: "is a symlink that leaves the repository",
                      tarfile.AbsolutePathError: "has an absolute path"}.get(type(exc), f"is refused ({exc})")
            raise InputError([Finding("diff", f"{member} {reason} at {ref}; fedfleet reads no file outside the "
                                      "repository", location=Location(member))]) from None
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
    rendered = pipeline.render(paths)
    built = build_and_check(rendered.build_inputs, rendered.roots, None)
    if built.build_findings:
        raise InputError(built.build_findings)
    return built.objects


def specs_in_repo(repo: Path, specs: Path) -> str:
    """The spec directory relative to the repository; outside it is bad input."""
    resolved, root = specs.resolve(), repo.resolve()
    if not resolved.is_relative_to(root):
        raise InputError([Finding("diff", f"the spec directory {specs} is outside the repository {repo}; "
                                  "its history is compared with the repository's own specs",
                                  location=Location(str(specs)))])
    return resolved.relative_to(root).as_posix()


def diff(repo: Path, base_ref: str, paths: pipeline.Paths) -> list[ObjectChange]:
    specs_rel = specs_in_repo(repo, paths.specs)
    with tempfile.TemporaryDirectory(prefix="fedfleet-diff-") as scratch:
        base_specs = specs_at(repo, base_ref, specs_rel, Path(scratch))
        base = built_objects(pipeline.Paths(base_specs, Path(scratch)))
    head = built_objects(paths)
    return compare(base, head)


def _text(value: Any) -> str:
    return json.dumps(value, sort_keys=True) if value is not None else "(absent)"


def _short(value: Any) -> str:
    text = _text(value)
    return text if len(text) <= MAX_VALUE else text[: MAX_VALUE - 3] + "..."


CONTEXT = 30  # characters kept before the first difference when a long value is cut


def _shown(old: Any, new: Any) -> tuple[str, str]:
    """Old and new as text, each cut to MAX_VALUE around their first difference.

    Cutting both at the start showed the same prefix twice when two long values differ late.
    """
    a, b = _text(old), _text(new)
    if len(a) <= MAX_VALUE and len(b) <= MAX_VALUE:
        return a, b
    first = next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))
    start = max(0, first - CONTEXT) if first > MAX_VALUE - 3 - CONTEXT else 0

    def cut(text: str) -> str:
        body = text[start:]
        if len(body) > MAX_VALUE - (3 if start else 0):
            body = body[: MAX_VALUE - 3 - (3 if start else 0)] + "..."
        return ("..." if start else "") + body
    return cut(a), cut(b)


def _identity(items: list[Any]) -> list[str] | None:
    """Each item's name (and namespace), if every item is a mapping with a unique name."""
    if not items or not all(isinstance(i, dict) and isinstance(i.get("name"), str) for i in items):
        return None
    ids = [f"namespace={i['namespace']},name={i['name']}" if "namespace" in i else f"name={i['name']}" for i in items]
    return ids if len(set(ids)) == len(ids) else None


def readable(change: FieldChange) -> list[FieldChange]:
    """A changed list as the changes of its items, for the text and markdown reports.

    Items with a unique name are matched by name ([name=x]); other items are aligned by content
    (difflib), so an inserted item shows as one added [i] rather than every later index changed.
    The JSON report keeps the whole old and new values.
    """
    old, new, path = change.old, change.new, change.path
    if not (isinstance(old, list) and isinstance(new, list)):
        return [change]
    out: list[FieldChange] = []
    ids_old, ids_new = _identity(old), _identity(new)
    if ids_old is not None and ids_new is not None:
        by_old, by_new = dict(zip(ids_old, old)), dict(zip(ids_new, new))
        for ident in ids_old + [i for i in ids_new if i not in by_old]:
            sub = f"{path}[{ident}]"
            if ident not in by_new:
                out.append(FieldChange(sub, by_old[ident], None))
            elif ident not in by_old:
                out.append(FieldChange(sub, None, by_new[ident]))
            else:
                out.extend(c for f in field_changes(by_old[ident], by_new[ident], sub) for c in readable(f))
        return out
    texts_old = [json.dumps(i, sort_keys=True) for i in old]
    texts_new = [json.dumps(i, sort_keys=True) for i in new]
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, texts_old, texts_new, autojunk=False).get_opcodes():
        if op == "equal":
            continue
        paired = min(i2 - i1, j2 - j1) if op == "replace" else 0
        for k in range(paired):  # an item edited in place: its own fields
            out.extend(c for f in field_changes(old[i1 + k], new[j1 + k], f"{path}[{j1 + k}]") for c in readable(f))
        out.extend(FieldChange(f"{path}[{i}]", old[i], None) for i in range(i1 + paired, i2))
        out.extend(FieldChange(f"{path}[{j}]", None, new[j]) for j in range(j1 + paired, j2))
    return out


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
                for f in (r for f in c.fields for r in readable(f)):
                    old, new = _shown(f.old, f.new)
                    lines.append(f"        {f.path}: {old} -> {new}")
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
            shown = [(f.path, *_shown(f.old, f.new)) for f in c.fields for f in readable(f)]
            fields = "<br>".join(f"`{p}`: `{a}` → `{b}`".replace("|", "\\|") for p, a, b in shown)
            lines.append(f"| {c.kind} | `{c.name}` | {c.change} | {fields} |")
        lines.append("")
    return "\n".join(lines)


# --- Lifecycle: edits that would drive a running job to terminal Failed -----------------------
# Edits that would drive a running job to terminal Failed, found against a git base.
#
# What the FL controller does with an edit to an existing FederatedLearning (addon-contrib
# federated-learning-controller at f5844b98, internal/controller/):
# - openfl: every reconcile re-renders the server Job "<job>-server" from image, rounds, the first
#   listener, the storage's PVC and model path, the decided clusters (--cols, from the placement)
#   and the metrics-sidecar annotation (federatedlearning_server.go:112-173). A Job that differs is
#   deleted "to satisfy immutability constraints" (manifests/applier/deployer.go:143-154); the same
#   reconcile then reads that Job for the Running -> Completed check, gets NotFound into the deferred
#   `err`, and the phase becomes Failed (federatedlearning_controller.go:151-158 with the defer at
#   :74-82). Failed is terminal (:107-110). A Completed job is not reconciled again: edits do
#   nothing, and a re-run needs a new object.
# - flower: the placement and the ServerApp Deployment are updated in place
#   (federatedlearning_client.go deployPlacement, deployer.go deployDeployment); nothing is deleted.
# - a changed framework switches the reconcile path under an existing object (:123-147).
#
# So: the base's and the head's rendered FederatedLearnings are compared by namespace and name, and
# a change to those fields of one that keeps its name is a warning at the job's spec line, with
# the remedy: bump `spec.run`, which renders a new name.

# Rendered FederatedLearning field -> the job spec field a reviewer edits.
OPENFL_SERVER_INPUTS: dict[str, tuple[str, ...]] = {
    "spec.server.image": ("spec", "server", "image"),
    "spec.server.rounds": ("spec", "server", "rounds"),
    "spec.server.listeners": ("spec", "server", "listeners"),
    "spec.server.storage": ("spec", "server", "storage"),
    "spec.client.placement": ("spec", "placement"),
    f"metadata.annotations.{SIDECAR_ANNOTATION}": ("metadata", "name"),
}


def _fls(rendered: pipeline.Rendered) -> dict[tuple[str, str], dict[str, Any]]:
    return {(d["metadata"]["namespace"], d["metadata"]["name"]): d
            for path, docs in rendered.bundle.items() if path.startswith("overlays/")
            for d in docs if d.get("kind") == "FederatedLearning"}


def _watched(fl: dict[str, Any]) -> dict[str, Any]:
    spec = fl.get("spec", {})
    return {
        "spec.server.image": spec.get("server", {}).get("image"),
        "spec.server.rounds": spec.get("server", {}).get("rounds"),
        "spec.server.listeners": spec.get("server", {}).get("listeners"),
        "spec.server.storage": spec.get("server", {}).get("storage"),
        "spec.client.placement": spec.get("client", {}).get("placement"),
        f"metadata.annotations.{SIDECAR_ANNOTATION}": fl["metadata"].get("annotations", {}).get(SIDECAR_ANNOTATION),
    }


def risky_edits(base: pipeline.Rendered, head: pipeline.Rendered) -> list[Finding]:
    jobs: dict[tuple[str, str], Job] = {(j.namespace, j.object_name): j for j in head.fleet.jobs}
    before, after = _fls(base), _fls(head)
    out: list[Finding] = []
    for key in sorted(set(before) & set(after)):
        old, new, job = before[key], after[key], jobs[key]
        subject = Subject.job(job.name, job.hub)
        remedy = (f"to change it, bump spec.run (to {job.run + 1}): the job re-runs as "
                  f"'{job.name}-run{job.run + 1}' and Argo CD prunes '{job.object_name}'")
        if old["spec"].get("framework") != new["spec"].get("framework"):
            out.append(Finding(
                "lifecycle", f"framework changes from {old['spec'].get('framework')} to {new['spec'].get('framework')} "
                "under the same FederatedLearning: the controller switches reconcile paths over what the old one "
                f"made; {remedy}", Severity.WARNING, job.origin.locate("spec", "framework"), "spec.framework", subject))
            continue
        if new["spec"].get("framework") != "openfl":
            continue
        was, now = _watched(old), _watched(new)
        changed = [f for f in OPENFL_SERVER_INPUTS if was[f] != now[f]]
        for f in changed:
            detail = "; ".join(f"{c.path or f}: {c.old!r} -> {c.new!r}" for c in field_changes(was[f], now[f], f))[:300]
            where = OPENFL_SERVER_INPUTS[f]
            out.append(Finding(
                "lifecycle", f"{f} changes ({detail}): if {job.object_name} is Running, the FL controller deletes "
                "and recreates its server Job and the job goes to terminal Failed; if it is Completed, the edit does "
                f"nothing; {remedy}", Severity.WARNING, job.origin.locate(*where), ".".join(where), subject))
    return out


def lifecycle_findings(repo: Path, base_ref: str, paths: pipeline.Paths,
                       head: pipeline.Rendered | None = None) -> list[Finding]:
    """Warnings for the head's edits to FederatedLearnings that exist at `base_ref`."""
    head = head or pipeline.render(paths)
    specs_rel = specs_in_repo(repo, paths.specs)
    with tempfile.TemporaryDirectory(prefix="fedfleet-lifecycle-") as tmp:
        base_specs = specs_at(repo, base_ref, specs_rel, Path(tmp))  # a bad revision is bad input
        try:
            base = pipeline.render(pipeline.Paths(specs=base_specs, out=Path(tmp) / "out"))
        except InputError as exc:
            # A base that no longer loads (say, from before a new spec rule) cannot be compared.
            first = exc.findings[0].message if exc.findings else str(exc)
            return [Finding("lifecycle", f"the specs at {base_ref} do not load with this fedfleet, so edits were not "
                                         f"compared ({len(exc.findings)} finding(s), first: {first})", Severity.WARNING)]
    return risky_edits(base, head)
