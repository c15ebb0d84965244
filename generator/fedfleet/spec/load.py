"""load -> validate: spec files in, one frozen `Fleet` out, or every finding at once."""

from __future__ import annotations

import difflib
import gc
import hashlib
import importlib.metadata
import json
import os
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Iterator

import fastjsonschema

if TYPE_CHECKING:  # imported when a document fails (_KindValidator.full): most runs never need it
    import jsonschema

from .. import API_VERSION
from ..cachedir import source_digests
from ..findings import Finding, InputError, Location
from ..upstream import FL_CONTROLLER_NAMESPACE
from ..versions import FL_CONTROLLER_IMAGE
from . import contract, semantic
from .model import ApplicationSet, Cluster, ClusterSet, Fleet, Hub, Job, Origin, Taint
from .schema import kind_schemas
from .readcache import ReadCache
from .yamlsource import Document, PathKey, dotted, read_documents

SPEC_SUFFIXES = (".yaml", ".yml")
# Per file, the first errors are shown and the rest counted: a million bad list items must not
# print a million lines (nor keep a million error objects).
MAX_FINDINGS_PER_FILE = 20
# Schema errors of one file are counted up to this many; past it the count says "at least".
MAX_COUNTED_PER_FILE = 10_000
DEFAULT_GOVERNANCE_NAMESPACE = "fl-governance"
DEFAULT_ARGOCD_NAMESPACE = "openshift-gitops"
DEFAULT_APPLICATION_SET = "fedfleet-hubs"
# ACM documents Argo CD as OpenShift GitOps, whose operator installs the ArgoCD CR
# `openshift-gitops` in the namespace of the same name.
DEFAULT_ARGOCD_FLAVOUR = "openshift-gitops"
DEFAULT_ARGOCD_INSTANCE = "openshift-gitops"
DEFAULT_REMEDIATION = {"dev": "inform", "staging": "inform", "prod": "enforce"}

_SUFFIX = {"": 1, "m": 1e-3, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "P": 1e15, "E": 1e18,
           "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}


def parse_quantity(value: str | int | float | None) -> float | None:
    """A Kubernetes quantity ("500m", "128Gi", 32) as a float in base units (cores, bytes)."""
    if value is None:
        return None
    if isinstance(value, (int, float)):
        return float(value)
    text = value.strip()
    for suffix in ("Ki", "Mi", "Gi", "Ti", "Pi", "Ei", "m", "k", "M", "G", "T", "P", "E"):
        if text.endswith(suffix):
            return float(text[: -len(suffix)]) * _SUFFIX[suffix]
    return float(text)


def spec_files(spec_dir: Path) -> list[Path]:
    """The spec files under `spec_dir`, every one resolved inside the repository (spec_dir's parent).

    Nothing is dropped silently: a symlink that leaves the repository or dangles, a symlinked
    directory and a `.YAML`/`.Yml` spelling (which globbing tools and CI path filters miss) are errors.
    """
    if not spec_dir.is_dir():
        raise InputError([Finding("load", "spec directory does not exist", location=Location(str(spec_dir)))])
    repo = spec_dir.resolve().parent
    base = spec_dir.parent
    findings: list[Finding] = []
    found: list[Path] = []

    def refuse(path: Path, message: str) -> None:
        shown = str(path.relative_to(base)) if path.is_relative_to(base) else str(path)
        findings.append(Finding("load", message, location=Location(shown)))

    for dirpath, dirnames, filenames in os.walk(spec_dir):  # never follows symlinked directories
        here = Path(dirpath)
        for d in sorted(dirnames):
            if (here / d).is_symlink():
                refuse(here / d, "a symlinked directory in the spec directory is not read; move its files here")
        for name in sorted(filenames):
            path = here / name
            suffix = path.suffix
            if suffix.lower() not in SPEC_SUFFIXES:
                continue
            if suffix not in SPEC_SUFFIXES:
                refuse(path, f"spec files end in .yaml or .yml (lower case); rename this {suffix} file or move it out of "
                       "the spec directory")
                continue
            if path.is_symlink():
                target = path.resolve()
                if not target.exists():
                    refuse(path, f"dangling symlink (to {os.readlink(path)}); restore its target or remove it")
                    continue
                if not target.is_relative_to(repo):
                    refuse(path, "symlink to a file outside the repository; spec files must live in the repository")
                    continue
            if not path.is_file():
                refuse(path, "not a regular file")
                continue
            found.append(path)
    if findings:
        raise InputError(findings)
    return sorted(found)


def cap_findings(findings: list[Finding], per_file: int = MAX_FINDINGS_PER_FILE) -> list[Finding]:
    """The first `per_file` findings of each file, then one line with how many more there are."""
    shown: dict[str, int] = {}
    hidden: dict[str, int] = {}
    out: list[Finding] = []
    for f in findings:
        key = f.location.file if f.location else ""
        if shown.get(key, 0) < per_file:
            shown[key] = shown.get(key, 0) + 1
            out.append(f)
        else:
            hidden[key] = hidden.get(key, 0) + 1
    for key, more in hidden.items():
        out.append(Finding("load", f"{more} more error(s) in this file not shown (first {per_file} above)",
                           location=Location(key) if key else None))
    return out


class _KindValidator:
    """A compiled fast path that says valid or not, and jsonschema for the full report.

    A fleet of 10,000 clusters is valid nearly always; fastjsonschema's generated code checks it
    ~10x faster than jsonschema's tree walk. Only a document that fails is walked again by
    jsonschema, which reports every error with its path (fastjsonschema stops at the first).
    """

    def __init__(self, schema: dict[str, Any]) -> None:
        self.schema = schema
        self.fast = fastjsonschema.compile({**schema, "$schema": "http://json-schema.org/draft-07/schema#"})
        self._full: jsonschema.protocols.Validator | None = None

    @property
    def full(self) -> jsonschema.protocols.Validator:
        """jsonschema's validator, made (and jsonschema imported) when a document first fails."""
        if self._full is None:
            import jsonschema

            self._full = jsonschema.Draft202012Validator(self.schema, format_checker=None)
        return self._full

    def iter_errors(self, data: Any) -> list[jsonschema.ValidationError]:
        try:
            self.fast(data)
            return []
        except fastjsonschema.JsonSchemaException as fast_error:
            import jsonschema

            found = list(self.full.iter_errors(data))
            # Should the engines ever disagree, the document still fails, with the fast message.
            return found or [jsonschema.ValidationError(fast_error.message, path=_fast_path(fast_error))]


def _fast_path(error: fastjsonschema.JsonSchemaException) -> list[str | int]:
    parts = getattr(error, "path", None) or []
    return [p for p in parts[1:]]  # fastjsonschema's path starts with "data"


class _Validators:
    """Each kind's validator, compiled on first use: the Fleet kind's generated code alone takes
    ~0.15 s to compile, and a `check` whose Fleet document an earlier run found valid (an
    unchanged file) never needs it. `identity(kind)` is what a schema verdict depends on besides
    the document: the kind's schema, this module's source, fastjsonschema's and jsonschema's versions."""

    def __init__(self, schemas: dict[str, dict[str, Any]]) -> None:
        self.schemas = schemas
        self._compiled: dict[str, _KindValidator] = {}
        self._identities: dict[str, bytes] = {}

    def __contains__(self, kind: object) -> bool:
        return kind in self.schemas

    def __iter__(self) -> Iterator[str]:
        return iter(self.schemas)

    def __getitem__(self, kind: str) -> _KindValidator:
        if kind not in self._compiled:
            self._compiled[kind] = _KindValidator(self.schemas[kind])
        return self._compiled[kind]

    def identity(self, kind: str) -> bytes:
        if kind not in self._identities:
            h = hashlib.sha256(b"fedfleet-spec-schema-v1\0" + kind.encode() + b"\0")
            h.update(json.dumps(self.schemas[kind], sort_keys=True).encode())
            h.update(source_digests(__file__))
            h.update(f"\0{importlib.metadata.version('fastjsonschema')}\0{importlib.metadata.version('jsonschema')}".encode())
            self._identities[kind] = h.digest()
        return self._identities[kind]


@lru_cache(maxsize=8)
def _validators(fragments_key: tuple[tuple[str, str], ...]) -> _Validators:
    fragments = {name: json.loads(text) for name, text in fragments_key}
    return _Validators(kind_schemas(fragments))


def verdict_key(doc: Document, validators: _Validators, kind: str) -> str:
    """What names "this document passes its kind's schema" in the read cache: the document's file
    bytes and reader (its content_key), its index in the file and the schema's identity."""
    return hashlib.sha256(f"{doc.content_key}\0{doc.index}\0".encode() + validators.identity(kind)).hexdigest()


def _schema_findings(doc: Document, validator: _KindValidator, room: int) -> tuple[list[Finding], int]:
    """Up to `room` findings (errors are generated lazily) and how many more were counted."""
    out: list[Finding] = []
    more = 0
    for err in validator.iter_errors(doc.data):
        if len(out) >= room:
            more += 1
            if more + len(out) >= MAX_COUNTED_PER_FILE:
                break
            continue
        path: PathKey = tuple(err.absolute_path)
        if err.validator == "additionalProperties" and isinstance(err.instance, dict):
            allowed = set(err.schema.get("properties", {}))
            for key in sorted(k for k in err.instance if k not in allowed):
                # a typo's nearest declared field, as difflib ranks them (ratio >= 0.6)
                close = difflib.get_close_matches(str(key), sorted(allowed), n=1)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                out.append(
                    Finding("schema", f"unknown field {key!r}{hint}", location=doc.locate_key(path + (key,)),
                            field=dotted(path + (key,)))
                )
            continue
        message = err.message
        if len(message) > 300:
            message = message[:300] + "..."
        out.append(Finding("schema", message, location=doc.locate(path), field=dotted(path)))
    return out, more


def read_spec_documents(spec_dir: Path, cache: ReadCache | None = None) -> list[Document]:
    """Every YAML document under the spec directory, with any per-file errors collected; with
    `cache`, files read before are taken from it (spec/readcache.py)."""
    findings: list[Finding] = []
    docs: list[Document] = []
    base = spec_dir.parent
    for path in spec_files(spec_dir):
        display = str(path.relative_to(base)) if path.is_relative_to(base) else str(path)
        try:
            docs.extend(read_documents(path, display, cache))
        except InputError as exc:
            findings.extend(exc.findings)
    if findings:
        raise InputError(cap_findings(findings))
    return docs


def load_fleet(spec_dir: Path, plugin_fragments: dict[str, dict[str, Any]] | None = None,
               semantics: bool = True, cache_dir: Path | None = None) -> Fleet:
    """Load, schema-check and semantically check the fleet. Raises InputError with every finding.

    `semantics=False` skips the cross-document checks (references, uniqueness, the controller's
    contract): for `inventory pull`, which must be able to fill an inventory the jobs already
    name clusters of; it validates the result fully afterwards."""

    with _collector_paused():
        return _load_fleet(spec_dir, plugin_fragments, semantics, cache_dir)


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector off while the fleet is read and built. Loading makes
    millions of dicts and lists (40,000 clusters: ~2 million nodes), each allocation counting
    towards a collection that walks the ever larger heap: ~20% of the loading time, for no
    garbage, as the loaded data holds no reference cycles. Reference counting still frees
    everything as usual."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _load_fleet(spec_dir: Path, plugin_fragments: dict[str, dict[str, Any]] | None, semantics: bool,
                cache_dir: Path | None) -> Fleet:
    cache = ReadCache(cache_dir) if cache_dir is not None else None
    docs = read_spec_documents(spec_dir, cache)
    key = tuple(sorted((n, json.dumps(f, sort_keys=True)) for n, f in (plugin_fragments or {}).items()))
    validators = _validators(key)
    findings: list[Finding] = []
    shown: dict[str, int] = {}  # schema findings per file so far
    by_kind: dict[str, list[Document]] = {k: [] for k in validators}
    for doc in docs:
        if not isinstance(doc.data, dict):
            findings.append(Finding("schema", "a spec document must be a mapping", location=doc.locate(())))
            continue
        kind, api = doc.data.get("kind"), doc.data.get("apiVersion")
        if api != API_VERSION:
            findings.append(Finding("schema", f"apiVersion must be {API_VERSION!r}, got {api!r}",
                                    location=doc.locate(("apiVersion",)), field="apiVersion"))
            continue
        if kind not in validators:
            findings.append(Finding("schema", f"unknown kind {kind!r} (expected one of {', '.join(sorted(validators))})",
                                    location=doc.locate(("kind",)), field="kind"))
            continue
        # A document an earlier run found valid (the same bytes, reader and schema) is not checked
        # again; only a pass is kept, so every finding comes from the schema check as before.
        verdict = verdict_key(doc, validators, kind) if cache is not None and doc.content_key else ""
        if verdict and cache is not None and cache.valid(verdict):
            by_kind[kind].append(doc)
            continue
        room = MAX_FINDINGS_PER_FILE - shown.get(doc.file, 0)
        doc_findings, more = _schema_findings(doc, validators[kind], max(room, 0))
        shown[doc.file] = shown.get(doc.file, 0) + len(doc_findings)
        findings.extend(doc_findings)
        if more:
            counted = more + len(doc_findings)
            findings.append(Finding("schema", f"{'at least ' if counted >= MAX_COUNTED_PER_FILE else ''}{more} more "
                                    "schema error(s) in this document not shown", location=doc.locate(())))
        if not doc_findings and not more:
            by_kind[kind].append(doc)
            if verdict and cache is not None:
                cache.put_valid(verdict)
    if cache is not None:
        cache.write_pack()
    fleets = by_kind["Fleet"]
    if len(fleets) != 1 and not findings:
        where = ", ".join(d.file for d in fleets) or str(spec_dir)
        findings.append(Finding("load", f"exactly one Fleet document is required, found {len(fleets)} ({where})",
                                location=fleets[1].locate(("kind",)) if len(fleets) > 1 else Location(str(spec_dir))))
    if findings:
        raise InputError(cap_findings(findings, MAX_FINDINGS_PER_FILE + 1))
    fleet = _build(fleets[0], by_kind["ManagedClusterInventory"], by_kind["FederatedLearningJob"], str(spec_dir))
    problems = semantic.check(fleet) + contract.check(fleet) if semantics else []
    if problems:
        raise InputError(cap_findings(problems))
    # The model holds what it needs of the inventories (a Cluster copies its labels and claims and
    # parses its quantities, scores and taints): their documents' data, read by nothing after
    # this, is let go (about 60 MiB at 40,000 clusters); positions come from the file's text.
    for doc in by_kind["ManagedClusterInventory"]:
        doc.data = None
    return fleet


def _clusters(doc: Document, items: Iterable[dict[str, Any]], base: PathKey) -> list[Cluster]:
    out = []
    for i, c in enumerate(items):
        alloc, cap = c.get("allocatable", {}), c.get("capacity", {})
        out.append(
            Cluster(
                name=c["name"],
                cluster_set=c["clusterSet"],
                labels=dict(c.get("labels", {})),
                claims=dict(c.get("claims", {})),
                scores={n: tuple({"name": k, "value": v} for k, v in items.items())
                        for n, items in (c.get("addOnPlacementScores") or {}).items()},
                allocatable_cpu=parse_quantity(alloc.get("cpu")),
                allocatable_memory=parse_quantity(alloc.get("memory")),
                capacity_cpu=parse_quantity(cap.get("cpu", alloc.get("cpu"))),
                capacity_memory=parse_quantity(cap.get("memory", alloc.get("memory"))),
                taints=tuple(
                    Taint(t["key"], t.get("value", ""), t["effect"], t.get("timeAdded", ""))
                    for t in c.get("taints", [])
                ),
                origin=Origin(doc, base + (i,)),
            )
        )
    return out


def _build(fleet_doc: Document, inventories: list[Document], job_docs: list[Document], spec_dir: str) -> Fleet:
    spec = fleet_doc.data["spec"]
    defaults = spec.get("defaults", {})
    default_tls = defaults.get("tls", {}).get("enabled", True)
    default_argo = defaults.get("argocd", {})
    remediation = {**DEFAULT_REMEDIATION, **defaults.get("governance", {}).get("remediation", {})}
    hubs = []
    for i, h in enumerate(spec["hubs"]):
        argo = {**default_argo, **h.get("argocd", {})}
        hubs.append(
            Hub(
                name=h["name"],
                environment=h["environment"],
                server=h["server"],
                tls_enabled=h.get("tls", {}).get("enabled", default_tls),
                argocd_namespace=argo.get("namespace", DEFAULT_ARGOCD_NAMESPACE),
                # "" = fedfleet generates and uses its own AppProject; a name = an existing project
                argocd_project=argo.get("project", ""),
                argocd_target_revision=argo.get("targetRevision", ""),
                argocd_sync_policy=dict(argo.get("syncPolicy", {})),
                # Argo CD runs on each hub by default (the OpenShift GitOps layout ACM documents).
                destination_server=argo.get("destinationServer", "https://kubernetes.default.svc"),
                argocd_flavour=argo.get("flavour", DEFAULT_ARGOCD_FLAVOUR),
                argocd_instance=argo.get("instance", DEFAULT_ARGOCD_INSTANCE),
                origin=Origin(fleet_doc, ("spec", "hubs", i)),
                controller_namespace={**defaults.get("controller", {}), **h.get("controller", {})}.get(
                    "namespace", FL_CONTROLLER_NAMESPACE),
                controller_image=h.get("controller", {}).get("image") or defaults.get("controller", {}).get(
                    "image", FL_CONTROLLER_IMAGE),
                controller_image_from="hub" if "image" in h.get("controller", {}) else
                "defaults" if "image" in defaults.get("controller", {}) else "",
                superlink_exposure=h.get("superlink", {}).get("exposure", ""),
                superlink_domain=h.get("superlink", {}).get("domain", ""),
                superlink_node_address=h.get("superlink", {}).get("address", ""),
                superlink_node_ports=dict(h.get("superlink", {}).get("nodePorts", {})),
                kustomize=dict(h.get("kustomize", {})),
            )
        )
    sets = [
        ClusterSet(s["name"], s["hub"], Origin(fleet_doc, ("spec", "clusterSets", i)))
        for i, s in enumerate(spec.get("clusterSets", []))
    ]
    clusters = _clusters(fleet_doc, spec.get("clusters", []), ("spec", "clusters"))
    for inv in inventories:
        clusters.extend(_clusters(inv, inv.data["spec"]["clusters"], ("spec", "clusters")))
    jobs = []
    for doc in job_docs:
        js = doc.data["spec"]
        name = doc.data["metadata"]["name"]
        hub_tls = next((h.tls_enabled for h in hubs if h.name == js["hub"]), default_tls)
        jobs.append(
            Job(
                name=name,
                hub=js["hub"],
                namespace=js["namespace"],
                framework=js["framework"],
                server=js["server"],
                client_image=js["client"]["image"],
                # The FL controller's convention (config/samples): claim "<job>.client-data".
                data_claim=js["data"].get("claim", f"{name}.client-data"),
                holders=dict(js["data"]["holders"]),
                placement=js["placement"],
                tls_enabled=js.get("tls", {}).get("enabled", hub_tls),
                simulation=js.get("simulation", {}),
                origin=Origin(doc, ()),
                run=js.get("run", 1),
                run_config=dict(js.get("runConfig", {})),
                validation=dict(js.get("validation", {})),
            )
        )
    return Fleet(
        name=fleet_doc.data["metadata"]["name"],
        repo_url=spec["repo"]["url"],
        revision=spec["repo"].get("revision", "main"),
        governance_namespace=defaults.get("governance", {}).get("namespace", DEFAULT_GOVERNANCE_NAMESPACE),
        remediation=remediation,
        hubs=tuple(hubs),
        cluster_sets=tuple(sets),
        clusters=tuple(clusters),
        jobs=tuple(sorted(jobs, key=lambda j: (j.hub, j.name))),
        plugin_params=spec.get("governance", {}).get("plugins", {}),
        origin=Origin(fleet_doc, ()),
        spec_dir=spec_dir,
        base_kustomize={name: dict(b.get("kustomize", {})) for name, b in spec.get("bases", {}).items()},
        example=bool(spec.get("example", False)),
        allow_unvalidated_kinds=frozenset(spec.get("validation", {}).get("allowUnvalidatedKinds", ())),
        application_set=_application_set(fleet_doc, spec, hubs),
    )


def _application_set(fleet_doc: Document, spec: dict[str, Any], hubs: list[Hub]) -> ApplicationSet | None:
    """The ApplicationSet form: every hub unless `hubs` says; held by `hub`, else the first of them."""
    raw = spec.get("applicationSet")
    if raw is None:
        return None
    members = tuple(raw.get("hubs") or [h.name for h in hubs])
    return ApplicationSet(name=raw.get("name", DEFAULT_APPLICATION_SET), holder=raw.get("hub", members[0]),
                          hubs=members, origin=Origin(fleet_doc, ("spec", "applicationSet")))
