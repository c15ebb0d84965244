"""Validate built objects against upstream CRD schemas: the CRD store, then user-given directories.

The API server prunes fields a structural schema does not declare; kubectl's strict field
validation reports them instead. fedfleet does the latter: an object property the schema does not
declare is an error unless the schema preserves unknown fields there.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator, Mapping

import fastjsonschema

if TYPE_CHECKING:  # imported where a schema is compiled: `check` does that beside its Rego child
    import jsonschema

from .. import crdstore
from ..findings import Finding, InputError, Location, Severity, Subject
from ..spec.readcache import ReadCache
from ..spec.yamlsource import read_documents

_META = {"type": "object", "required": ["name"], "properties": {"name": {"type": "string", "minLength": 1}}}

# Built-in kinds have no CRD; check the fields the API server requires at least.
_CONTAINERS = {
    "type": "array", "minItems": 1,
    "items": {"type": "object", "required": ["name", "image"],
              "properties": {"name": {"type": "string"}, "image": {"type": "string"},
                             "args": {"type": "array", "items": {"type": "string"}}}},
}
# Namespaced RBAC: the fields k8s.io/api rbac/v1 types.go declares without omitempty
# (PolicyRule.Verbs, RoleRef.APIGroup/Kind/Name, Subject.Kind/Name).
_RULES = {"type": "array", "items": {"type": "object", "required": ["verbs"], "properties": {
    "verbs": {"type": "array", "minItems": 1, "items": {"type": "string"}}}}}
_BINDING = {
    "type": "object", "required": ["metadata", "roleRef"],
    "properties": {"metadata": _META,
                   "roleRef": {"type": "object", "required": ["apiGroup", "kind", "name"],
                               "properties": {"kind": {"enum": ["Role", "ClusterRole"]}}},
                   "subjects": {"type": "array", "items": {"type": "object", "required": ["kind", "name"]}}},
}
BUILTIN_SCHEMAS: dict[tuple[str, str], dict[str, Any]] = {
    ("rbac.authorization.k8s.io/v1", "Role"): {"type": "object", "required": ["metadata"],
                                               "properties": {"metadata": _META, "rules": _RULES}},
    ("rbac.authorization.k8s.io/v1", "RoleBinding"): _BINDING,
    ("v1", "ResourceQuota"): {"type": "object", "required": ["metadata"], "properties": {"metadata": _META}},
    ("batch/v1", "Job"): {
        "type": "object", "required": ["metadata", "spec"],
        "properties": {"metadata": _META, "spec": {"type": "object", "required": ["template"], "properties": {
            "template": {"type": "object", "required": ["spec"], "properties": {
                "spec": {"type": "object", "required": ["containers"], "properties": {"containers": _CONTAINERS}}}}}}},
    },
    ("v1", "Namespace"): {"type": "object", "required": ["metadata"], "properties": {"metadata": _META}},
    ("v1", "ServiceAccount"): {"type": "object", "required": ["metadata"], "properties": {"metadata": _META}},
    ("v1", "ConfigMap"): {
        "type": "object", "required": ["metadata"],
        "properties": {"metadata": _META, "data": {"type": "object", "additionalProperties": {"type": "string"}}},
    },
    ("v1", "Service"): {
        "type": "object", "required": ["metadata", "spec"],
        "properties": {"metadata": _META, "spec": {"type": "object", "required": ["ports"], "properties": {
            "ports": {"type": "array", "items": {"type": "object", "required": ["port"],
                                                 "properties": {"port": {"type": "integer", "minimum": 1, "maximum": 65535}}}}}}},
    },
    # RBAC (k8s.io/api rbac/v1 types.go): a rule needs verbs; a binding a roleRef.
    ("rbac.authorization.k8s.io/v1", "ClusterRole"): {
        "type": "object", "required": ["metadata"],
        "properties": {"metadata": _META, "rules": {"type": "array", "items": {
            "type": "object", "required": ["verbs"],
            "properties": {"verbs": {"type": "array", "minItems": 1, "items": {"type": "string"}},
                           "apiGroups": {"type": "array", "items": {"type": "string"}},
                           "resources": {"type": "array", "items": {"type": "string"}}}}}},
    },
    ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding"): {
        "type": "object", "required": ["metadata", "roleRef"],
        "properties": {"metadata": _META,
                       "roleRef": {"type": "object", "required": ["apiGroup", "kind", "name"]},
                       "subjects": {"type": "array", "items": {"type": "object", "required": ["kind", "name"]}}},
    },
    # admissionregistration.k8s.io/v1 types.go: ValidatingAdmissionPolicySpec (validations[].expression
    # required; matchConstraints required by the API server's validation), ...BindingSpec (policyName).
    ("admissionregistration.k8s.io/v1", "ValidatingAdmissionPolicy"): {
        "type": "object", "required": ["metadata", "spec"],
        "properties": {"metadata": _META, "spec": {"type": "object", "required": ["matchConstraints"], "properties": {
            "failurePolicy": {"enum": ["Fail", "Ignore"]},
            "validations": {"type": "array", "items": {"type": "object", "required": ["expression"]}},
            "variables": {"type": "array", "items": {"type": "object", "required": ["name", "expression"]}},
            "matchConditions": {"type": "array", "items": {"type": "object", "required": ["name", "expression"]}}}}},
    },
    ("admissionregistration.k8s.io/v1", "ValidatingAdmissionPolicyBinding"): {
        "type": "object", "required": ["metadata", "spec"],
        "properties": {"metadata": _META, "spec": {"type": "object", "required": ["policyName", "validationActions"], "properties": {
            "validationActions": {"type": "array", "minItems": 1, "items": {"enum": ["Deny", "Warn", "Audit"]}}}}},
    },
    ("apps/v1", "Deployment"): {
        "type": "object", "required": ["metadata", "spec"],
        "properties": {"metadata": _META, "spec": {"type": "object", "required": ["selector", "template"], "properties": {
            "template": {"type": "object", "required": ["spec"], "properties": {
                "spec": {"type": "object", "required": ["containers"], "properties": {"containers": _CONTAINERS}}}}}}},
    },
}


_COMBINATORS = ("oneOf", "anyOf", "allOf", "not")


def _with_embedded(objects: Iterable[dict[str, Any]]) -> Iterable[dict[str, Any]]:
    """Every object, then the policy templates a Policy embeds (the Policy CRD leaves
    objectDefinition open, the ConfigurationPolicy CRD does not)."""
    for obj in objects:
        yield obj
        if obj.get("kind") == "Policy" and obj.get("apiVersion", "").startswith("policy.open-cluster-management.io/"):
            for template in obj.get("spec", {}).get("policy-templates", []):
                definition = template.get("objectDefinition")
                if isinstance(definition, dict):
                    policy = Subject("Policy", str(obj["metadata"].get("name")))  # named as before: without namespace
                    yield {**copy.deepcopy(definition), "__embedded_in__": policy}


def _strict(schema: Any, close: bool = True) -> Any:
    """Close every object schema that declares properties and does not preserve unknown fields.

    Branches of oneOf/anyOf/allOf/not are partial constraints on an object the enclosing schema
    describes (e.g. PlacementBinding.placementRef's oneOf on apiGroup/kind), so they stay open.
    """
    if isinstance(schema, list):
        return [_strict(v, close) for v in schema]
    if not isinstance(schema, dict):
        return schema
    out = {}
    for key, value in schema.items():
        if key in _COMBINATORS and value is None:
            # openshift/api's Route CRD says `anyOf: null` (targetPort); the API server reads a
            # null field as absent, so does this.
            continue
        if key in _COMBINATORS:
            out[key] = [_strict(v, False) for v in value] if isinstance(value, list) else _strict(value, False)
        elif key == "properties" and isinstance(value, dict):
            out[key] = {name: _strict(v) for name, v in value.items()}
        else:
            out[key] = _strict(value)
    if (close and "properties" in out and "additionalProperties" not in out
            and not out.get("x-kubernetes-preserve-unknown-fields")):
        out["additionalProperties"] = False
    return out


@dataclass(frozen=True)
class SchemaSource:
    """Which CRD files validate, in order (a later file's schema for the same group, version and
    kind replaces an earlier one: `--crds` overrides the store), and which kinds may lack one.
    Resolved before anything is compiled, so the build cache can key on it."""

    files: tuple[tuple[Path, str], ...]  # (file, label in messages)
    described: str
    allowed: frozenset[str] = frozenset()  # "<apiVersion>/<kind>" a fleet lets through unvalidated
    dirs: tuple[Path, ...] = ()  # the user-given directories, each of which must hold a CRD

    @classmethod
    def resolve(cls, crd_dirs: Iterable[Path] = (), allowed: frozenset[str] = frozenset(),
                store: bool = True) -> "SchemaSource":
        """The store's verified files, then every YAML file of each directory. No file at all is
        bad input (exit 2): validation never silently turns itself off."""
        crd_dirs = list(crd_dirs)
        files: list[tuple[Path, str]] = []
        described: list[str] = []
        if store:
            present = crdstore.installed()
            files += [(p, f"store:{p.name}") for p in present]
            if present:
                described.append(f"the CRD store ({len(present)} files)")
        for crd_dir in crd_dirs:
            if not crd_dir.is_dir():
                raise InputError([Finding("crd", "CRD directory does not exist", location=Location(str(crd_dir)))])
            found = sorted(p for p in crd_dir.rglob("*") if p.suffix.lower() in (".yaml", ".yml") and p.is_file())
            files += [(p, p.name) for p in found]
            described.append(str(crd_dir))
        if not files:
            where = crdstore.store_dir()
            raise InputError([Finding("crd", f"no CRD schemas: the CRD store is empty; {crdstore.PULL_HINT}",
                                      location=Location(str(where)))])
        return cls(tuple(files), " and ".join(described), frozenset(allowed), tuple(crd_dirs))

    def load(self, cache_dir: Path | None = None) -> "SchemaSet":
        """Every file's served schemas. With `cache_dir` (check's .fedfleet-cache), a file whose
        exact bytes an earlier run read is taken as that run's reader made it (spec/readcache.py:
        keyed by the file's bytes and the reader's own source and versions; any other byte is
        another key, read afresh). A kind's validator is made when a run first needs it: a run
        validating one changed unit compiles the few kinds it holds, not all of them."""
        reads = ReadCache(cache_dir) if cache_dir is not None else None
        schemas: dict[tuple[str, str], tuple[Any, bool]] = {}
        sources: dict[tuple[str, str], str] = {}
        loaded: dict[Path, list[tuple[str, str]]] = {}
        for path, label in self.files:
            loaded[path] = _load_file(path, label, schemas, sources, reads)
        for directory in self.dirs:
            if not any(keys for p, keys in loaded.items() if directory in p.parents):
                raise InputError([Finding("crd", "no CustomResourceDefinition with a schema found",
                                          location=Location(str(directory)))])
        for key, schema in BUILTIN_SCHEMAS.items():
            schemas[key] = (schema, False)
            sources[key] = "built-in required fields"
        return SchemaSet(_Validators(schemas), sources, self.described, self.allowed)


class _Validators(Mapping[tuple[str, str], "jsonschema.protocols.Validator"]):
    """apiVersion + kind -> jsonschema's validator of its schema (a CRD's closed by _strict),
    made on first access: making all of them (the store and --crds hold ~50 files, hundreds of
    kinds) cost more than validating one changed unit's objects."""

    def __init__(self, schemas: dict[tuple[str, str], tuple[Any, bool]]) -> None:
        self._schemas = schemas  # key -> (schema as read, close it with _strict)
        self._made: dict[tuple[str, str], jsonschema.protocols.Validator] = {}

    def __getitem__(self, key: tuple[str, str]) -> "jsonschema.protocols.Validator":
        made = self._made.get(key)
        if made is None:
            import jsonschema

            schema, strict = self._schemas[key]  # KeyError: no schema for the kind
            made = self._made[key] = jsonschema.Draft4Validator(_strict(schema) if strict else schema)
        return made

    def __contains__(self, key: object) -> bool:
        return key in self._schemas

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return iter(self._schemas)

    def __len__(self) -> int:
        return len(self._schemas)

    def schemas(self) -> dict[tuple[str, str], tuple[Any, bool]]:
        return dict(self._schemas)


# The keywords whose meaning fastjsonschema's draft-04 code shares with jsonschema's Draft4Validator,
# or where it is only stricter (`pattern`: `$` as end of string; `minimum` on a bool): a schema
# with any other keyword (multipleOf divides floats differently; patternProperties,
# dependencies, additionalItems unchecked here) is validated by jsonschema alone.
# tests/test_crdfast.py mutates every field of every built object of the example bundle and
# compares the findings with and without the fast path.
_FAST_KEYWORDS = frozenset({
    "type", "properties", "additionalProperties", "required", "items", "enum", "minimum", "maximum",
    "exclusiveMinimum", "exclusiveMaximum", "minLength", "maxLength", "minItems", "maxItems", "minProperties",
    "maxProperties", "pattern", "anyOf", "oneOf", "allOf", "not", "uniqueItems", "description", "format",
    "default", "title", "nullable", "example"})
# A kind's fast check is compiled once it has this many objects to validate in a run: compiling
# costs 1 to 700 ms a schema (Argo CD's Application: 700 ms, its ArgoCD: 2 s), validating an object
# with jsonschema 0.1 to 0.3 ms, with the compiled code a tenth of that.
FAST_FROM = 64


def _fast_keywords_only(schema: Any) -> bool:
    if isinstance(schema, list):
        return all(_fast_keywords_only(s) for s in schema)
    if not isinstance(schema, dict):
        return True
    for key, value in schema.items():
        if key.startswith("x-kubernetes-") or key in ("description", "default", "example", "title", "enum"):
            continue
        if key not in _FAST_KEYWORDS:
            return False
        if key == "properties":
            if not isinstance(value, dict) or not all(_fast_keywords_only(v) for v in value.values()):
                return False
        elif key in ("additionalProperties", "items", "anyOf", "oneOf", "allOf", "not") and not _fast_keywords_only(value):
            return False
    return True


def _fast_check(schema: dict[str, Any]) -> Callable[[Any], Any] | None:
    """fastjsonschema's compiled code for the schema (valid or raises), or None when it may not
    say what jsonschema says. Never fills defaults (use_default=False: it would change the object)
    and checks no format (as Draft4Validator without a format checker)."""
    if not _fast_keywords_only(schema):
        return None
    try:
        return fastjsonschema.compile({**schema, "$schema": "http://json-schema.org/draft-04/schema#"},
                                      use_default=False, use_formats=False)
    except Exception:  # noqa: BLE001 - a pattern Python's re reads otherwise after its rewriting, ...
        return None


@dataclass
class SchemaSet:
    """apiVersion + kind -> a compiled validator, from the CRD store and user-given directories.

    Every object is validated by jsonschema, whose errors are the findings; for a kind with many
    objects, fastjsonschema's compiled code says first whether the object is valid at all (ten
    times faster), and only an object it does not pass is walked by jsonschema."""

    validators: Mapping[tuple[str, str], jsonschema.protocols.Validator]
    sources: dict[tuple[str, str], str]
    described: str = ""  # where the schemas came from, for the report
    allowed: frozenset[str] = frozenset()
    fast_from: int = FAST_FROM
    _seen: dict[tuple[str, str], int] = field(default_factory=dict)
    _fast: dict[tuple[str, str], Callable[[Any], Any] | None] = field(default_factory=dict)

    def _fast_for(self, key: tuple[str, str], validator: jsonschema.protocols.Validator) -> Callable[[Any], Any] | None:
        if key in self._fast:
            return self._fast[key]
        seen = self._seen[key] = self._seen.get(key, 0) + 1
        if seen < self.fast_from:
            return None
        check = self._fast[key] = _fast_check(validator.schema)  # type: ignore[attr-defined]
        return check

    def schemas_as_read(self) -> dict[tuple[str, str], tuple[Any, bool]]:
        """apiVersion + kind -> (its schema as the CRD file holds it, closed by _strict), before any validator is made."""
        assert isinstance(self.validators, _Validators)
        return self.validators.schemas()

    @classmethod
    def from_directory(cls, crd_dir: Path) -> "SchemaSet":
        """One directory's CRDs only (no store): the tests' and tools' way to read a folder."""
        return SchemaSource.resolve([crd_dir], store=False).load()

    def validate(self, objects: Iterable[dict[str, Any]], where: str) -> tuple[list[Finding], int]:
        """Findings for every invalid object; also returns how many objects were checked.

        A kind with no schema is an error (it would reach the cluster unchecked) unless the fleet
        lists it in `spec.validation.allowUnvalidatedKinds`, then a warning."""
        findings: list[Finding] = []
        checked = 0
        unknown: set[tuple[str, str]] = set()
        for obj in _with_embedded(objects):
            key = (str(obj.get("apiVersion", "")), str(obj.get("kind", "")))
            name = obj.get("metadata", {}).get("name", "?")
            ns = obj.get("metadata", {}).get("namespace")
            subject = Subject(key[1], str(name), ns or "", within=obj.pop("__embedded_in__", None))
            validator = self.validators.get(key)
            if validator is None:
                unknown.add(key)
                continue
            checked += 1
            fast = self._fast_for(key, validator)
            if fast is not None:
                try:
                    fast(obj)
                    continue  # valid: jsonschema would find nothing
                except Exception:  # noqa: BLE001 - invalid (or anything else): jsonschema says what
                    pass
            for err in sorted(validator.iter_errors(obj), key=lambda e: list(map(str, e.absolute_path))):
                field = ".".join(str(p) for p in err.absolute_path)
                findings.append(Finding("crd", f"{err.message[:300]} (schema: {self.sources[key]})",
                                        location=Location(where), field=field, subject=subject))
        for api, kind in sorted(unknown):
            if f"{api}/{kind}" in self.allowed:
                findings.append(Finding("crd", f"no schema for {api} {kind}; not validated (allowed by "
                                        "spec.validation.allowUnvalidatedKinds)",
                                        severity=Severity.WARNING, location=Location(where)))
            else:
                findings.append(Finding("crd", f"no schema for {api} {kind}: `fedfleet crds pull` (--from DIR), "
                                        f"--crds DIR, or list \"{api}/{kind}\" in the fleet's "
                                        "spec.validation.allowUnvalidatedKinds", location=Location(where)))
        return findings, checked


def _load_file(path: Path, label: str, schemas: dict[tuple[str, str], tuple[Any, bool]],
               sources: dict[tuple[str, str], str], reads: ReadCache | None = None) -> list[tuple[str, str]]:
    """Add every served version's schema of every CRD in one file; returns their keys."""
    # The spec reader: no alias expansion (a billion-laughs file is one error, not a
    # MemoryError), the same size, node and depth limits, errors with line and column.
    added: list[tuple[str, str]] = []
    for doc in (d.data for d in read_documents(path, cache=reads)):
        if not isinstance(doc, dict) or doc.get("kind") != "CustomResourceDefinition":
            continue
        spec = doc.get("spec", {})
        group, kind = spec.get("group", ""), spec.get("names", {}).get("kind", "")
        for version in spec.get("versions", []):
            schema = version.get("schema", {}).get("openAPIV3Schema")
            if not schema or not version.get("served", True):
                continue
            key = (f"{group}/{version['name']}", kind)
            # _strict builds a new structure: the validator never shares the document's dicts
            schemas[key] = (schema, True)
            sources[key] = label
            added.append(key)
    return added
