"""check: build every overlay and bootstrap directory with real kustomize, validate against CRDs.

The check stage reads the rendered files (what `generate` would write), never the tree on disk:
validation judges the specs whether or not the committed bundle is current (drift is
`generate --check`'s job).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from array import array
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable, Iterator, Mapping


import orjson

from .. import pipeline
from ..findings import Finding, InputError, Location, Severity, Subject
from . import cache, crds, kustomize, placeholders
from .rego import HubObject, hub_objects, object_json


@dataclass(frozen=True)
class _Packed:
    """A unit's objects as one compact JSON array (orjson) and where each object's text starts in
    it: at 40,000 clusters the 78,000 built objects take about 110 MB so, 400-650 MB as Python data.
    One bytes for the unit, not one per object: orjson gives every text it returns a buffer of at
    least 16 KB (1,000 one-KB texts held 16 MB), which a join copies to its exact size."""

    array: bytes
    starts: array  # starts[i]: where object i's text begins; starts[-1]: one past the closing bracket
    ids: list[tuple[str, str, str, str]]  # _object_id of each: the duplicate check reads no text
    # The SHA-256 of its build cache entry (_packed_entry: these exact bytes), when check keeps
    # one: what the per-unit check results are keyed by (checks/unitfacts.py); "" otherwise.
    digest: str = ""

    def __len__(self) -> int:
        return len(self.starts) - 1

    def texts(self) -> Iterator[bytes]:
        for i in range(len(self)):
            yield self.array[self.starts[i]:self.starts[i + 1] - 1]  # before its "," or the final "]"

    def objects(self) -> list[dict]:
        return orjson.loads(self.array)


def _packed_entry(packed: _Packed) -> bytes:
    """A unit's packed objects as the build cache keeps them: one JSON line of where each object
    starts and its id, then the array itself, so a hit is the bytes again (no parse, no dump:
    at 10,000 clusters 135 cached units, 29 MB, were parsed into objects and dumped back each run)."""
    return orjson.dumps({"starts": list(packed.starts), "ids": packed.ids}) + b"\n" + packed.array


def _packed_from_entry(content: bytes, digest: str = "") -> _Packed | None:
    """_packed_entry's bytes back, or None when they are not shaped as it writes them."""
    meta_raw, sep, data = content.partition(b"\n")
    try:
        meta = orjson.loads(meta_raw)
    except orjson.JSONDecodeError:
        return None
    if not sep or not isinstance(meta, dict):
        return None
    starts, ids = meta.get("starts"), meta.get("ids")
    if (not isinstance(starts, list) or not isinstance(ids, list) or len(starts) != len(ids) + 1
            or not data.startswith(b"[") or not data.endswith(b"]") or starts[-1] != len(data)
            or not all(type(at) is int for at in starts)
            or not all(isinstance(i, list) and len(i) == 4 and all(type(x) is str for x in i) for i in ids)):
        return None
    # each object's text starts after "[" or "," and ends before "," or the final "]"
    for at, end in zip(starts, starts[1:]):
        if not 0 < at < end <= len(data) or data[at - 1] not in b"[," or data[end - 1] not in b",]":
            return None
    return _Packed(data, array("Q", starts), [(a, b, c, d) for a, b, c, d in ids], digest)


def _pack(objects: list[dict], from_json: bool) -> "_Packed | list[dict]":
    """The objects packed when JSON gives them back unchanged, else as they are: a YAML timestamp,
    a float NaN, an integer beyond 64 bits or a non-string key would not come back the same (the
    build cache's test, cache.Cache.put). Objects read from JSON (a cache entry) always do."""
    try:
        texts = [orjson.dumps(o) for o in objects]
    except TypeError:  # orjson.JSONEncodeError is a TypeError
        return objects
    starts = array("Q")
    at = 1
    for text in texts:
        starts.append(at)
        at += len(text) + 1
    starts.append(max(at, 2))  # "[]" for no objects
    packed = _Packed(b"".join((b"[", b",".join(texts), b"]")), starts, [_object_id(o) for o in objects])
    del texts
    if not from_json and packed.objects() != objects:
        return objects
    return packed


class BuiltObjects(Mapping[str, list[dict]]):
    """root -> its built objects, in build order. Each unit's objects are kept as JSON text where
    that gives them back unchanged, and made into Python data again on every access: a caller that
    goes root by root holds one root's objects at a time, not the fleet's."""

    def __init__(self) -> None:
        self._parts: dict[str, list[_Packed | list[dict]]] = {}

    def add(self, root: str, parts: list["_Packed | list[dict]"]) -> None:
        self._parts[root] = parts

    def __getitem__(self, root: str) -> list[dict]:
        return [o for part in self._parts[root] for o in (part.objects() if isinstance(part, _Packed) else part)]

    def __iter__(self) -> Iterator[str]:
        return iter(self._parts)

    def __len__(self) -> int:
        return len(self._parts)

    def parts(self, root: str) -> list["_Packed | list[dict]"]:
        """The root's units in build order, as kept (packed, or the objects JSON would change)."""
        return list(self._parts[root])

    def count(self, root: str) -> int:
        return sum(len(part) for part in self._parts[root])

    def texts(self, root: str) -> Iterator[bytes]:
        """Each object's JSON text as rego.object_json writes it (orjson, compact)."""
        for part in self._parts[root]:
            if isinstance(part, _Packed):
                yield from part.texts()
            else:
                yield from (object_json(o) for o in part)


@dataclass
class ValidationReport:
    findings: list[Finding] = field(default_factory=list)
    built: dict[str, int] = field(default_factory=dict)  # kustomize root -> objects built
    checked: int = 0  # objects validated against a schema
    tool: str = ""
    schemas: str = ""  # where the CRD schemas came from

    @property
    def ok(self) -> bool:
        return not any(f.severity is Severity.ERROR for f in self.findings)


@dataclass
class Built:
    """What real kustomize builds from the rendered bundle, per overlay and bootstrap directory."""

    objects: BuiltObjects = field(default_factory=BuiltObjects)  # root -> built objects
    hubs: dict[str, str] = field(default_factory=dict)  # root -> the hub it is for
    build_findings: list[Finding] = field(default_factory=list)
    crd_findings: list[Finding] = field(default_factory=list)
    checked: int = 0
    tool: str = ""
    units: set[str] = field(default_factory=set)  # every kustomization built (or reused): roots and units
    cached: set[str] = field(default_factory=set)  # roots and units whose build came from the cache
    validated_from_cache: set[str] = field(default_factory=set)  # roots whose CRD findings did
    # For check_crds: each unit's objects (the same parts as `objects`, packed) and build key, the
    # units whose build failed.
    unit_objects: dict[str, "_Packed | list[dict]"] = field(default_factory=dict, repr=False)
    build_keys: dict[str, str | None] = field(default_factory=dict, repr=False)
    failed: set[str] = field(default_factory=set, repr=False)

    def for_policies(self, rendered: pipeline.Rendered) -> list[HubObject]:
        """What Rego and the audit judge: the built objects per hub (what Argo CD applies, with
        each overlay's patches), or the rendered bundle when a build failed."""
        if self.build_findings:
            return hub_objects(rendered.bundle, rendered.roots)
        return [HubObject(f"{root}/(built)", self.hubs[root], o) for root in sorted(self.objects) for o in self.objects[root]]

    def policy_json(self, rendered: pipeline.Rendered) -> Iterator[tuple[str, str, bytes]]:
        """for_policies as (path, hub, the object's JSON text), one root at a time: what the Rego
        input is written from without every object held as Python data."""
        if self.build_findings:
            for o in hub_objects(rendered.bundle, rendered.roots):
                yield o.path, o.hub, object_json(o.object)
            return
        for root in sorted(self.objects):
            path, hub = f"{root}/(built)", self.hubs[root]
            for text in self.objects.texts(root):
                yield path, hub, text


def _workers() -> int:
    return max(1, min(8, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)))


_UNIT_FIELDS = {"apiVersion", "kind", "resources", "labels", "patches"}


def composed_units(root: str, files: Mapping[str, bytes]) -> list[str] | None:
    """The units a root only composes (render/layout.py), or None when it must be built whole.

    A kustomization whose only field is `resources`, each a directory below it that holds a
    kustomization, adds nothing of its own: kustomize accumulates each directory's build and
    refuses an id twice (api/resmap/reswrangler.go Append), then runs the root's transformers,
    of which it has none (api/internal/target/kusttarget.go AccumulateTarget). So its build is its
    units' builds together, checked for duplicate ids here; tests/test_units.py builds both ways.
    Any other field on the root (the spec's own kustomize content), or a unit that could rename
    objects or generate them (whose references kustomize fixes over the whole root: a field of a
    unit other than resources, labels and patches), and the root is built whole."""
    text = next((files.get(f"{root}/{n}") for n in cache.KUSTOMIZATION_NAMES if f"{root}/{n}" in files), None)
    if text is None:
        return None
    try:  # every scalar a string, as kustomize reads paths (no YAML 1.1 date or `=` to fail on)
        doc = cache.read_kustomization(text)
    except Exception:  # noqa: BLE001 - unreadable here: built whole
        return None
    if not isinstance(doc, dict) or set(doc) - {"apiVersion", "kind", "resources"}:
        return None
    resources = doc.get("resources") or []
    units = []
    for ref in resources:
        if not isinstance(ref, str) or "/" in ref.strip("/") or ref in (".", "..") or ref.startswith("."):
            return None
        unit = f"{root}/{ref.strip('/')}"
        found = next((files[f"{unit}/{n}"] for n in cache.KUSTOMIZATION_NAMES if f"{unit}/{n}" in files), None)
        try:
            unit_doc = cache.read_kustomization(found) if found is not None else None
        except Exception:  # noqa: BLE001
            return None
        if not isinstance(unit_doc, dict) or set(unit_doc) - _UNIT_FIELDS:
            return None
        units.append(unit)
    return units or None


def _object_id(o: dict) -> tuple[str, str, str, str]:
    meta = o.get("metadata") or {}
    group = str(o.get("apiVersion", "")).rpartition("/")[0]
    return group, str(o.get("kind", "")), str(meta.get("namespace", "") or ""), str(meta.get("name", ""))


def _duplicates(root: str, units: list[str], parts: Mapping[str, "_Packed | list[dict]"]) -> list[Finding]:
    """What kustomize refuses when the root accumulates its units: one id from two units."""
    first: dict[tuple[str, str, str, str], str] = {}
    out = []
    for unit in units:
        part = parts[unit]
        for key in part.ids if isinstance(part, _Packed) else [_object_id(o) for o in part]:
            if key in first and first[key] != unit:
                group, kind, ns, name = key
                out.append(Finding("kustomize", f"may not add resource with an already registered id: "
                                   f"{kind}.{group or '[noGrp]'}/{name}.{ns or '[noNs]'} (in {first[key]} and {unit})",
                                   location=Location(f"{root}/kustomization.yaml"), subject=Subject.path(root)))
            first.setdefault(key, unit)
    return out


def build_and_check(files: dict[str, bytes], roots: Mapping[str, str], source: crds.SchemaSource | None,
                    cache_dir: Path | None = None) -> Built:
    """Build every root (root -> hub) from the rendered files, check every object against the CRD
    schemas: build_all, then check_crds."""
    result = build_all(files, roots, cache_dir)
    check_crds(result, source, cache_dir)
    return result


def find_tool() -> tuple[kustomize.Kustomize, str]:
    """The kustomize that builds and what identifies it (cache.tool_identity: asked of the binary,
    a process, ~0.1 s): `check` asks in a thread before it renders, so its builds need not wait."""
    tool = kustomize.find_kustomize()
    return tool, cache.tool_identity(tool)


def build_all(files: dict[str, bytes], roots: Mapping[str, str], cache_dir: Path | None = None,
              tool_found: Callable[[], tuple[kustomize.Kustomize, str]] | None = None,
              meanwhile: Callable[[], object] | None = None) -> Built:
    """Write the rendered files to a scratch directory and build every root (root -> hub).

    Roots build in parallel (one kustomize process each, as many as there are cores). With a
    `cache_dir`, a root whose every input byte and kustomize are unchanged since a previous run
    reuses that run's build (checks/cache.py); anything else builds for real. The builds of the
    units without an entry start first and the entries are read while kustomize runs (at 10,000
    clusters with one job changed: one 0.2 s build beside 0.3 s of reading 135 entries).
    `tool_found`: find_tool, asked earlier (its answer waited for here). `meanwhile`: work of the
    caller's done here once the entries are read, while kustomize builds (check works out the plan
    Rego's input needs).
    """
    tool, known_identity = tool_found() if tool_found is not None else (kustomize.find_kustomize(), None)
    result = Built(tool=tool.name)
    # A root that only composes units is built unit by unit (each its own cache entry).
    composed = {rel: units for rel in roots if (units := composed_units(rel, files))}
    asked = roots
    roots = {unit: hub for rel, hub in asked.items() for unit in composed.get(rel, [rel])}
    result.units = set(roots)
    store = cache.Cache(cache_dir) if cache_dir else None
    closures: dict[str, set[str] | None] = {}
    with ThreadPoolExecutor(max_workers=2) as beside:
        if store is not None:
            # kustomize's version is asked of the binary (a process, ~0.1 s) while the closures are worked out
            tool_identity = beside.submit(cache.tool_identity, tool) if known_identity is None else None
            index = cache.FileIndex.of(files)
            closures = {rel: cache.input_closure(rel, files, index) for rel in roots}
            identity = (tool_identity.result() if tool_identity is not None else known_identity or "") \
                + "\0" + cache.reader_identity()
            result.build_keys = {rel: None if c is None else cache.closure_key(rel, c, files, identity)
                                 for rel, c in closures.items()}
        keys = result.build_keys
        first = sorted(rel for rel in roots if store is None or not keys.get(rel)
                       or not store.has_blob("build", keys[rel] or ""))
        def arrived(rel: str, out: list[dict]) -> _Packed | list[dict]:
            packed = _pack(out, from_json=False)
            key = keys.get(rel)
            # only what JSON gives back unchanged is stored (_pack packs nothing else)
            if store is not None and isinstance(packed, _Packed):
                entry = _packed_entry(packed)
                packed = replace(packed, digest=hashlib.sha256(entry).hexdigest())
                if key:
                    store.put_blob("build", key, entry)
            return packed

        building = beside.submit(_build_units, first, files, closures, tool, arrived)
        # Every unit's objects are packed as they arrive (_pack): only a few units' objects are
        # Python data at once.
        objects_of: dict[str, _Packed | list[dict]] = {}
        for rel in sorted(set(roots) - set(first)):
            hit = store.get_blob("build", keys[rel] or "") if store is not None else None
            packed = _packed_from_entry(*hit) if hit is not None else None
            if packed is not None:
                objects_of[rel] = packed
                result.cached.add(rel)
        if meanwhile is not None:
            meanwhile()
        built = building.result()
    damaged = sorted(set(roots) - set(first) - set(objects_of))  # an entry that did not read: built now
    if damaged:
        built.update(_build_units(damaged, files, closures, tool, arrived))
    for rel, out in sorted(built.items()):
        if isinstance(out, InputError):
            result.failed.add(rel)
            result.build_findings.extend(out.findings)
            continue
        objects_of[rel] = out  # stored in the cache and packed as it arrived
    result.unit_objects = objects_of
    for rel in sorted(asked):
        units = composed.get(rel, [rel])
        if any(u in result.failed for u in units):
            continue
        if rel in composed:
            clashes = _duplicates(rel, units, objects_of)
            if clashes:
                result.build_findings.extend(clashes)
                continue
        result.objects.add(rel, [objects_of[u] for u in units])
        result.hubs[rel] = asked[rel]
    return result


def _build_units(to_build: list[str], files: Mapping[str, bytes], closures: Mapping[str, set[str] | None],
                 tool: kustomize.Kustomize, arrived: Callable[[str, list[dict]], "_Packed | list[dict]"]
                 ) -> dict[str, "_Packed | list[dict] | InputError"]:
    """Each unit built for real in a scratch tree: what `arrived` keeps of its objects (called as
    each build ends, so the units' objects are not all Python data at once), or what kustomize said."""
    if not to_build:
        return {}
    with tempfile.TemporaryDirectory(prefix="fedfleet-build-") as scratch:
        root = Path(scratch)
        # Only what the builds can read (their keys' closures), when every one is known: one
        # changed job writes its unit's few files, not the whole bundle. A file the closure
        # missed would fail the build here (never cached), not be read stale.
        needed = [closures.get(rel) for rel in to_build]
        written = set().union(*needed) if all(c is not None for c in needed) else files  # type: ignore[arg-type]
        for rel in sorted(written):
            content = files[rel]
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            (root / rel).write_bytes(content)

        def one(rel: str) -> tuple[str, _Packed | list[dict] | InputError]:
            try:
                objects = kustomize.build(root / rel, tool)
            except InputError as exc:
                return rel, InputError([Finding(f.check, f.message.replace(scratch + "/", ""),
                                                location=Location(f"{rel}/kustomization.yaml"), subject=Subject.path(rel))
                                        for f in exc.findings])
            # Kept (packed) by the thread that built it: a build that ends before the ones ahead of
            # it would otherwise wait in its future as Python data (dozens at 40,000 clusters).
            return rel, arrived(rel, objects)

        with ThreadPoolExecutor(max_workers=min(_workers(), len(to_build))) as pool:
            return dict(pool.map(one, to_build))


def check_crds(result: Built, source: crds.SchemaSource | None, cache_dir: Path | None = None) -> None:
    """Every built unit's objects against the CRD schemas; with `cache_dir`, a unit whose build key
    and CRDs are unchanged reuses an earlier run's findings (checks/cache.py validation_key)."""
    if source is None:
        return
    store = cache.Cache(cache_dir) if cache_dir else None
    crd_key = cache.crd_identity(source) if store is not None else ""
    schemas: crds.SchemaSet | None = None
    for rel in sorted(result.unit_objects):
        key = result.build_keys.get(rel)
        vkey = cache.validation_key(key, crd_key) if store is not None and key and crd_key else None
        hit = store.get("crd", vkey) if store is not None and vkey else None
        if isinstance(hit, dict):
            result.crd_findings.extend(cache.finding_from(f) for f in hit["findings"])
            result.checked += hit["checked"]
            result.validated_from_cache.add(rel)
            continue
        if schemas is None:  # compiled only when something is validated for real
            schemas = source.load(cache_dir)
        part = result.unit_objects[rel]  # one unit as Python data at a time
        found, checked = schemas.validate(part.objects() if isinstance(part, _Packed) else part, rel)
        result.crd_findings.extend(found)
        result.checked += checked
        if store is not None and vkey:
            store.put("crd", vkey, {"findings": [cache.finding_to(f) for f in found], "checked": checked})


def default_cache(paths: pipeline.Paths) -> Path:
    return paths.out / cache.CACHE_DIR


def validate(paths: pipeline.Paths, crd_dirs: list[Path], use_cache: bool = True) -> ValidationReport:
    """Spec checks, then a real kustomize build of what generate renders, then the CRD schemas (the
    CRD store, overridden by `crd_dirs`) and the placeholders (example hosts, unreachable SuperLink
    addresses, unpinned images)."""
    rendered = pipeline.render(paths)
    source = crds.SchemaSource.resolve(crd_dirs, rendered.fleet.allow_unvalidated_kinds)
    built = build_and_check(rendered.build_inputs, rendered.roots, source, default_cache(paths) if use_cache else None)
    found = placeholders.spec_findings(rendered.fleet) + placeholders.object_findings(
        rendered.fleet, built.objects, built.hubs)
    return ValidationReport(findings=found + built.build_findings + built.crd_findings,
                            built={root: len(objs) for root, objs in built.objects.items()},
                            checked=built.checked, tool=built.tool, schemas=source.described)
