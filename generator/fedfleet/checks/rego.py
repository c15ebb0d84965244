"""Rego policies over {fleet, jobs, plan, rendered objects}: the pull-request twin of each rule.

Engines: the embedded Rego engine (Microsoft's regorus, Rego v1, in-process) by default, or an
OPA server through opa-python-client (see checks/opa.py). Modules come from the governance
plugins (built-ins and third parties alike) and from the fleet repo's `policies/` directory.
Every package under `fedfleet.` may define `deny` and `warn` sets of objects
{"msg", "rule", "job"?, "hub"?, "cluster"?, "field"?}; `job`/`hub` plus `field` locate the
finding at the spec file and line that caused it.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Mapping, Protocol

import orjson

from ..findings import Finding, InputError, Location, Severity, Subject
from ..placement import Plan
from ..render import Bundle, hub_roots
from ..spec.model import Fleet
# The engine and the module type live in checks/embedded.py (check's Rego process imports only it);
# named here as they always were.
from .embedded import EmbeddedEngine, RegoModule, _clean_error  # noqa: F401

_FIELD_PART = re.compile(r"([^.\[\]]+)|\[(\d+)\]")
_PACKAGE = re.compile(r"^\s*package\s+([A-Za-z0-9_.]+)", re.MULTILINE)


def package_of(source: str) -> str | None:
    """The package a Rego module declares (read from its text, before any engine loads it)."""
    found = _PACKAGE.search(source)
    return found.group(1) if found else None


@dataclass
class RegoResult:
    findings: list[Finding] = field(default_factory=list)
    packages: list[str] = field(default_factory=list)
    objects: int = 0  # rendered objects in the input
    reused: bool = False  # the engine's answer came from the result cache


class RegoEngine(Protocol):
    def evaluate(self, modules: list[RegoModule], data_input: dict[str, Any]) -> dict[str, dict[str, list[Any]]]:
        """package -> {"deny": [...], "warn": [...]} for every package under `fedfleet.`."""


def input_json(data_input: dict[str, Any]) -> str:
    """The input document as compact JSON: the same document the standard library's
    `json.dumps(..., separators=(",", ":"))` writes (UTF-8 instead of \\u escapes, the same values),
    in a fifth of the time (32 MB at 10,000 clusters). Anything orjson refuses (an integer beyond
    64 bits, a lone surrogate) goes through the standard library as before."""
    return input_bytes(data_input).decode()


def input_bytes(data_input: dict[str, Any]) -> bytes:
    """input_json as UTF-8, as orjson writes it: check keeps these bytes (one copy of the input,
    120 MB at 40,000 clusters) and the child decodes them."""
    try:
        return orjson.dumps(data_input, option=orjson.OPT_NON_STR_KEYS)
    except (orjson.JSONEncodeError, TypeError):
        return json.dumps(data_input, separators=(",", ":"), check_circular=False).encode()


@dataclass(frozen=True)
class HubObject:
    """One object a hub gets, where it comes from (a bundle file, or a built root)."""

    path: str
    hub: str
    object: Mapping[str, Any]


def hub_objects(bundle: Bundle, roots: Mapping[str, str]) -> list[HubObject]:
    """The rendered bundle per hub: each root's files go to its hub (roots: root -> hub), and every
    shared base to every hub (the overlays include all bases), so a rule about "what hub X runs"
    sees the bases under hub X."""
    every_hub = sorted(set(roots.values()))
    out = []
    for path, docs in sorted(bundle.items()):
        if path.endswith("kustomization.yaml"):
            continue
        owner = next((hub for root, hub in roots.items() if path.startswith(root + "/")), None)
        out += [HubObject(path, hub, doc) for hub in ([owner] if owner else every_hub) for doc in docs]
    return out


def build_input(fleet: Fleet, plan: Plan, objects: Bundle | list[HubObject]) -> dict[str, Any]:
    """The document every Rego policy sees: specs as the user wrote them, the plan, and the objects
    each hub gets (the rendered bundle, or what kustomize built from it)."""
    hubs = {h.name: h for h in fleet.hubs}
    if isinstance(objects, dict):
        objects = hub_objects(objects, hub_roots(fleet))
    return {
        "fleet": {
            "name": fleet.name,
            "governanceNamespace": fleet.governance_namespace,
            "hubs": [{"name": h.name, "environment": h.environment, "tls": h.tls_enabled} for h in fleet.hubs],
            "clusterSets": [{"name": s.name, "hub": s.hub} for s in fleet.cluster_sets],
        },
        "jobs": [
            {
                "name": j.name, "objectName": j.object_name, "run": j.run,
                "hub": j.hub, "namespace": j.namespace, "framework": j.framework,
                "environment": hubs[j.hub].environment, "tls": j.tls_enabled, "file": j.origin.file,
                "images": sorted({j.server["image"], j.client_image}),
                "listeners": [dict(li) for li in j.server.get("listeners", [])],
                "storage": dict(j.server.get("storage") or {}),
                "minAvailableClients": j.min_clients, "dataClaim": j.data_claim, "holders": dict(j.holders),
                "clusterSets": sorted(fleet.job_cluster_sets(j)), "placement": j.effective_placement,
                "validation": j.gate,
            }
            for j in fleet.jobs
        ],
        "plan": rego_plan(plan),
        "objects": [{"path": o.path, "hub": o.hub, "object": o.object} for o in objects],
        "parameters": dict(fleet.plugin_params),
    }


class NotOrjson(Exception):
    """A value orjson cannot write (an integer beyond 64 bits, a lone surrogate): the input is then
    written whole by input_json, from the objects themselves."""


def object_json(value: Any) -> bytes:
    """One value as input_json writes it inside the document (orjson, compact)."""
    try:
        return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS)
    except (orjson.JSONEncodeError, TypeError):
        raise NotOrjson() from None


def input_chunks(fleet: Fleet, plan: Plan, objects: Iterable[tuple[str, str, bytes]]) -> Iterator[bytes]:
    """input_json(build_input(...)) in pieces, from each object's JSON text (path, hub, object_json
    of the object): the same bytes, without the document or its text held whole (116 MB at 40,000
    clusters, and the parent's copy of every object as Python data). orjson writes a dict's keys in
    order, compact, so the document is its parts joined (tests/test_rego_input.py compares)."""
    document = build_input(fleet, plan, [])
    for i, (key, value) in enumerate(document.items()):
        opened = (b"," if i else b"{") + object_json(key) + b":"
        if key != "objects":
            yield opened + object_json(value)
            continue
        yield opened + b"["
        prefix: tuple[str, str] | None = None
        opening = b""
        for n, (path, hub, text) in enumerate(objects):
            if (path, hub) != prefix:  # the same for every object of a root
                prefix = (path, hub)
                opening = b'{"path":' + object_json(path) + b',"hub":' + object_json(hub) + b',"object":'
            yield (b"," + opening if n else opening) + text + b"}"
        yield b"]"
    yield b"}"


def write_input(path: Path, fleet: Fleet, plan: Plan, objects: Iterable[tuple[str, str, bytes]],
                hub_objects_of: Callable[[], list[HubObject]]) -> tuple[bytes, int]:
    """The input document into `path` as input_json writes it; returns the SHA-256 of its text
    (results_key_of) and the number of objects. Written piece by piece (input_chunks); when a value
    is one orjson cannot write, written whole by input_json from `hub_objects_of()`, as before."""
    count = 0

    def counted() -> Iterator[tuple[str, str, bytes]]:
        nonlocal count
        for item in objects:
            count += 1
            yield item

    h = hashlib.sha256()
    try:
        with open(path, "wb") as fh:
            for chunk in input_chunks(fleet, plan, counted()):
                h.update(chunk)
                fh.write(chunk)
        return h.digest(), count
    except NotOrjson:
        every = hub_objects_of()
        text = input_json(build_input(fleet, plan, every)).encode()
        path.write_bytes(text)
        return hashlib.sha256(text).digest(), len(every)


def rego_plan(plan: Plan) -> dict[str, Any]:
    """The plan as Rego sees it: every job's selection and counts. The per-cluster exclusion
    reasons (hundreds of thousands on a large fleet) are for people and stay out of the input."""
    return {"ok": plan.ok, "jobs": [{
        "job": j.job, "hub": j.hub, "namespace": j.namespace, "minAvailableClients": j.min_clients,
        "numberOfClusters": j.number_of_clusters, "feasible": j.feasible, "enough": j.enough,
        "selected": [{"cluster": s.name, "score": s.total} for s in j.selected],
        "excludedCount": len(j.excluded) + sum(e.clusters for e in j.excluded_sets),
    } for j in plan.jobs]}


def parse_field(dotted: str) -> tuple[str | int, ...]:
    return tuple(int(idx) if idx else name for name, idx in _FIELD_PART.findall(dotted))


def to_findings(fleet: Fleet, results: Mapping[str, Mapping[str, list[Any]]]) -> list[Finding]:
    jobs = {j.name: j for j in fleet.jobs}
    hubs = {h.name: h for h in fleet.hubs}
    out: list[Finding] = []
    for pkg, sets in sorted(results.items()):
        for kind, severity in (("deny", Severity.ERROR), ("warn", Severity.WARNING)):
            for item in sets.get(kind, []):
                item = item if isinstance(item, dict) else {"msg": str(item)}
                location: Location | None = None
                fld = str(item.get("field", ""))
                if item.get("job") in jobs:
                    location = jobs[item["job"]].origin.locate(*parse_field(fld))
                elif item.get("hub") in hubs:
                    location = hubs[item["hub"]].origin.location
                rule = item.get("rule") or pkg.removeprefix("fedfleet.")
                subject: Subject | None = None
                if item.get("job"):
                    job = jobs.get(item["job"])
                    subject = Subject.job(str(item["job"]), job.hub if job else "")
                elif item.get("hub"):
                    subject = Subject.of_hub(str(item["hub"]))
                out.append(Finding(f"rego:{rule}", str(item.get("msg", item)), severity, location, fld, subject))
    return sorted(out, key=lambda f: (str(f.location or ""), f.check, f.message))


def repo_modules(policy_dir: Path | None) -> list[RegoModule]:
    if policy_dir is None or not policy_dir.is_dir():
        return []
    return _outside_library([RegoModule(str(p.relative_to(policy_dir.parent)), p.read_text(encoding="utf-8"), str(p))
                             for p in sorted(policy_dir.rglob("*.rego"))])


# fedfleet's own Rego library (data.fedfleet_lib.objects: input.objects by kind), which the
# built-in twins import and any plugin or policy may: loaded with every set of plugin modules.
LIBRARY = ("objects.rego", "objects_test.rego")


def library_modules() -> list[RegoModule]:
    from importlib.resources import files

    folder = files("fedfleet.governance.builtin") / "rego"
    return [RegoModule(f"fedfleet_lib/{name}", (folder / name).read_text(encoding="utf-8"), "fedfleet")
            for name in LIBRARY]


def plugin_modules(modules_by_plugin: Mapping[str, Mapping[str, str]]) -> list[RegoModule]:
    """The plugins' modules, after fedfleet's library (which their twins import)."""
    return library_modules() + _outside_library([
        RegoModule(f"plugins/{plugin}/{fname}", src, f"plugin {plugin}")
        for plugin, mods in sorted(modules_by_plugin.items()) for fname, src in sorted(mods.items())])


LIBRARY_PACKAGE = "fedfleet_lib"


def _outside_library(modules: list[RegoModule]) -> list[RegoModule]:
    """`modules`, none of which may be in the library's package or below it: Rego merges the
    modules of one package, so a policy's `index` rule would change what every twin reads through
    data.fedfleet_lib.objects, and another `of_kind` fails every query. Bad input, at the package
    line."""
    findings = []
    for m in modules:
        found = _PACKAGE.search(m.source)
        if found and (found.group(1) == LIBRARY_PACKAGE or found.group(1).startswith(LIBRARY_PACKAGE + ".")):
            findings.append(Finding(
                "rego", f"package {found.group(1)} ({m.origin}): data.{LIBRARY_PACKAGE} is fedfleet's own Rego library "
                f"(generator/fedfleet/governance/builtin/rego/objects.rego); name the package otherwise",
                location=Location(m.name, m.source.count("\n", 0, found.start(1)) + 1), field="package"))
    if findings:
        raise InputError(findings)
    return modules


def evaluate(fleet: Fleet, plan: Plan, objects: Bundle | list[HubObject], modules: Iterable[RegoModule],
             engine: RegoEngine | None = None, cache_dir: Path | None = None) -> RegoResult:
    """With `cache_dir` and the embedded engine, the engine's answer for a byte-identical input,
    modules and engine is reused (results_key); the findings are made from it afresh. check with
    the embedded engine does not come here: it writes the input to a file and evaluates in a
    process of its own (checks/suite.py _RegoBeside, checks/regoproc.py)."""
    data_input = build_input(fleet, plan, objects)
    mods = [m for m in modules if not m.name.endswith("_test.rego")]
    count = len(data_input["objects"])
    if engine is not None and type(engine) is not EmbeddedEngine:  # another engine: never cached
        results = engine.evaluate(mods, data_input)
        return RegoResult(to_findings(fleet, results), sorted(results), count, False)
    text = input_bytes(data_input)
    del data_input
    store = key = None
    if cache_dir is not None:
        from .cache import Cache  # the build cache's store: JSON entries, verified key and format

        store, key = Cache(cache_dir), results_key(mods, text)
        hit = store.get("rego", key)
        if _is_results(hit):
            return RegoResult(to_findings(fleet, hit), sorted(hit), count, True)
    results = (engine or EmbeddedEngine()).evaluate_json(mods, text.decode())
    if store is not None and key is not None:
        store.put("rego", key, results)  # only a successful evaluation: a failure raised above
    return RegoResult(to_findings(fleet, results), sorted(results), count, False)


# --- the result cache -------------------------------------------------------------------------
# Rego cannot be evaluated piecewise here: a policy may relate any objects to any others (across
# jobs and hubs), so one changed job is a new input and every package is evaluated again. What is
# reused is the whole answer, when nothing it depends on changed (a re-run of an unchanged pull
# request): keyed by the input's JSON text, every module's name and source, the engine's files and
# this module's source (which rules are asked, how answers are read).

_RESULTS_FORMAT = "fedfleet-rego-results-v1"
_engine_identity: str | None = None


def engine_identity() -> str:
    """The embedded engine: every file of the installed regorus package (its native library), this
    module's source and checks/embedded.py's."""
    global _engine_identity
    if _engine_identity is None:
        # Found, not imported (unless it already is), and its files hashed a piece at a time:
        # check evaluates in a process of its own (regoproc), and importing the 11 MB native
        # library here, or reading it whole, added about 16 MiB to check's own peak.
        module = sys.modules.get("regorus")
        spec = None if module is not None else importlib.util.find_spec("regorus")
        origin = getattr(module, "__file__", None) if module is not None else spec.origin if spec else None
        if origin is None:
            raise ModuleNotFoundError("No module named 'regorus'", name="regorus")
        h = hashlib.sha256(_RESULTS_FORMAT.encode())
        package = Path(origin).parent
        for path in sorted(p for p in package.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
            h.update(path.relative_to(package).as_posix().encode() + b"\0")
            with path.open("rb") as fh:
                h.update(hashlib.file_digest(fh, "sha256").digest())
        # which rules are asked and how answers are read: this module and checks/embedded.py
        from . import embedded

        for source in (Path(__file__), Path(embedded.__file__)):
            h.update(hashlib.sha256(source.read_bytes()).digest())
        _engine_identity = h.hexdigest()
    return _engine_identity


def results_key(modules: list[RegoModule], input_text: str | bytes) -> str:
    """input_text as JSON text or its UTF-8 bytes (the same key)."""
    return results_key_of(modules, hashlib.sha256(input_text.encode() if isinstance(input_text, str) else input_text).digest())


def results_key_of(modules: list[RegoModule], input_digest: bytes) -> str:
    """results_key from the SHA-256 of the input's UTF-8 text (hashed as it is written)."""
    h = hashlib.sha256(f"{_RESULTS_FORMAT}\0{engine_identity()}\0".encode())
    for m in modules:
        h.update(hashlib.sha256(m.name.encode()).digest() + hashlib.sha256(m.source.encode()).digest())
    h.update(input_digest)
    return h.hexdigest()


def _is_results(value: Any) -> bool:
    return isinstance(value, dict) and all(
        isinstance(sets, dict) and all(isinstance(v, list) for v in sets.values()) for sets in value.values())
