"""A content-addressed cache of kustomize builds and their CRD validation, safe to keep in CI.

A build result is stored under the SHA-256 of everything that can change it:
- every byte of every file the kustomization can read (every file under its directory, plus
  everything it references, followed recursively), with the files' paths; every file of the
  bundle and the user's tree when a kustomization on the way has a field that can read files
  not followed (input_closure);
- the kustomize tool: its command line, the resolved binary path and size, and what the binary
  itself reports as its version (`kubectl version --client` / `kustomize version`), asked every run.
A validation result is stored under the build key plus the SHA-256 of the CRD directory (every
YAML file's path and bytes), the validator's source, the jsonschema and fastjsonschema versions and
the spec reader that reads the CRD files. The build key also holds what reads kustomize's output
and packs it as the entry keeps it (PyYAML's and yaml-rs's versions, checks/builtyaml.py and
checks/built.py).

So a result is only ever reused for byte-identical inputs and the same kustomize; anything else is
a miss and builds for real. A build that fails is never stored. Every entry starts with a line
naming the format, its kind, its key and the SHA-256 of the rest (cachedir.read_entry): a
truncated, edited or misfiled entry is a miss. Nothing is ever "skipped".
"""

from __future__ import annotations

import bisect
import hashlib
import importlib.metadata
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any, Iterable, Mapping

import orjson
import yaml

from ..cachedir import CACHE_DIR, read_entry, write_entry
from ..findings import Finding, Location, Severity, Subject
from .kustomize import Kustomize

_FORMAT = "fedfleet-cache-v1"  # bump when an entry's layout or meaning changes
KUSTOMIZATION_NAMES = ("kustomization.yaml", "kustomization.yml", "Kustomization")


def tool_identity(tool: Kustomize) -> str:
    """What identifies the kustomize that builds: asked from the binary on every run."""
    exe = tool.argv[0]
    argv = [exe, "version", "--client"] if tool.argv[1:2] == ("kustomize",) else [exe, "version"]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    real = os.path.realpath(exe) if os.path.sep in exe else exe
    try:
        size = os.stat(real).st_size
    except OSError:
        size = -1
    return "\0".join([*tool.argv, real, str(size), str(proc.returncode), proc.stdout, proc.stderr])


def crd_identity(source: "crds.SchemaSource") -> str:
    """Every CRD file's label and bytes in order, the kinds allowed unvalidated, the validator's
    own source, jsonschema's version and what reads the CRD files (the spec reader,
    spec/readcache.py's identity: what it makes of a schema is what validation judges)."""
    from ..spec import readcache
    from . import crds

    h = hashlib.sha256(_FORMAT.encode())
    h.update(readcache.reader_identity())
    for path, label in source.files:
        h.update(label.encode() + b"\0")
        h.update(hashlib.sha256(path.read_bytes()).digest())
    h.update("\0".join(sorted(source.allowed)).encode() + b"\0")
    h.update(Path(crds.__file__).read_bytes())
    h.update(importlib.metadata.version("jsonschema").encode())
    h.update(importlib.metadata.version("fastjsonschema").encode())  # says "valid" first (crds.SchemaSet)
    return h.hexdigest()


def reader_identity() -> str:
    """What reads kustomize's output into the objects a build entry holds (checks/builtyaml.py)
    and packs them as the entry keeps them (checks/built.py: the array, where each object starts,
    each object's id, which the duplicate check reads instead of the objects)."""
    from . import built, builtyaml

    versions = [importlib.metadata.version("PyYAML")]
    if builtyaml.yaml_rs is not None:
        versions.append(importlib.metadata.version("yaml-rs"))
    return "\0".join(["reader", *versions, *(hashlib.sha256(Path(module.__file__).read_bytes()).hexdigest()
                                             for module in (builtyaml, built))])


try:
    from yaml import CBaseLoader as _CBaseLoader
except ImportError:  # pragma: no cover - PyYAML built without libyaml
    _CBaseLoader = None


def read_kustomization(text: bytes) -> Any:
    """A kustomization read with every scalar a string (yaml.BaseLoader), as kustomize reads
    paths: a `2024-01-01` resource is a path; `=` or 2024-13-45 are no error.

    libyaml's parser (yaml.CBaseLoader: the same constructor and resolver over libyaml's events)
    reads it 20x faster: at 10,000 clusters the 284 reads of a check took ~1 s in Python. The two
    parsers differ on tabs as separators (libyaml takes `a:<TAB>b` or `b<TAB># c`, Python refuses
    them: tests/test_cache.py compares both), so a text with a tab, or one libyaml refuses, is
    read by the Python parser as before: its value or its error is the answer."""
    if _CBaseLoader is not None and b"\t" not in text:
        try:
            return yaml.load(text, Loader=_CBaseLoader)
        except Exception:  # noqa: BLE001 - the Python parser decides (and raises) below
            pass
    return yaml.load(text, Loader=yaml.BaseLoader)


def _dir_of(rel: str) -> PurePosixPath:
    return PurePosixPath(rel).parent


def _kustomization_in(directory: PurePosixPath, files: Mapping[str, bytes]) -> str | None:
    for name in KUSTOMIZATION_NAMES:
        candidate = str(directory / name)
        if candidate in files:
            return candidate
    return None


def _strings(value: Any) -> Iterable[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)


def _normalise(directory: PurePosixPath, ref: str) -> str | None:
    parts: list[str] = []
    for part in (directory / ref).parts:
        if part == "..":
            if not parts:
                return None
            parts.pop()
        elif part not in (".", ""):
            parts.append(part)
    return "/".join(parts)


@dataclass(frozen=True)
class FileIndex:
    """What input_closure asks of a set of files, computed once for all roots of a run (a hub
    overlay of many units would otherwise rescan every file per unit)."""

    paths: tuple[str, ...]  # sorted
    directories: frozenset[str]  # every directory holding a file, and their ancestors

    @classmethod
    def of(cls, files: Mapping[str, bytes]) -> "FileIndex":
        directories: set[str] = set()
        for path in files:
            parent = str(PurePosixPath(path).parent)
            while parent not in directories and parent not in (".", ""):
                directories.add(parent)
                parent = str(PurePosixPath(parent).parent)
        return cls(tuple(sorted(files)), frozenset(directories))

    def under(self, directory: str) -> list[str]:
        prefix = directory + "/"
        i = bisect.bisect_left(self.paths, prefix)
        out = []
        while i < len(self.paths) and self.paths[i].startswith(prefix):
            out.append(self.paths[i])
            i += 1
        return out


# Kustomization fields (kustomize api/types/kustomization.go Kustomization) that read no file other
# than the strings they hold: those are followed (a file taken, a directory visited). A generator's
# `files: [key=path]` names `path` (api/internal/generators/utils.go ParseFileSource).
_FOLLOWED_FIELDS = frozenset({
    "apiVersion", "kind", "metadata", "namePrefix", "nameSuffix", "namespace", "commonLabels", "labels",
    "commonAnnotations", "images", "replicas", "vars", "sortOptions", "buildMetadata", "generatorOptions",
    "resources", "components", "bases", "patches", "patchesStrategicMerge", "patchesJson6902",
    "configMapGenerator", "secretGenerator", "replacements"})


def _reads_unfollowed_files(doc: dict[str, Any]) -> bool:
    """A field through which kustomize can read files the closure does not follow: plugin configs
    (generators, transformers, validators), helmCharts/helmGlobals, openapi, crds,
    configurations, a replacement kept in a file, or any field not known here."""
    if set(doc) - _FOLLOWED_FIELDS:
        return True
    replacements = doc.get("replacements")
    return replacements is not None and (
        not isinstance(replacements, list) or any(not isinstance(r, dict) or "path" in r for r in replacements))


def input_closure(root: str, files: Mapping[str, bytes], index: FileIndex | None = None) -> set[str] | None:
    """Every file of `files` a build of `root` can read, over-approximated; None when the build
    can read something outside `files` (a remote resource) or a kustomization on the way cannot be
    read here: never cached, built in the full tree.

    For each kustomization visited: every file under its directory, nested kustomizations
    included, plus every string of the kustomization that names a file (taken) or a directory (its
    kustomization is visited, its files taken), a `key=path` string also by its path. When a
    kustomization has a field that can make kustomize read other files (_reads_unfollowed_files),
    the closure is every file of `files`: the key covers them all and the scratch tree is whole.
    Kustomizations are read with every scalar a string, as kustomize reads paths (a `2024-01-01`
    resource is a path, not a date): read_kustomization.
    """
    out: set[str] = set()
    seen: set[str] = set()
    index = index or FileIndex.of(files)
    unfollowed = False
    pending = [root]
    while pending:
        directory = pending.pop()
        if directory in seen:
            continue
        seen.add(directory)
        d = PurePosixPath(directory)
        out.update(index.under(directory))
        kust = _kustomization_in(d, files)
        if kust is None:
            continue
        try:
            doc = read_kustomization(files[kust])
        except Exception:  # noqa: BLE001 - unreadable here: the closure is unknown
            return None
        if not isinstance(doc, dict):
            return None
        unfollowed = unfollowed or _reads_unfollowed_files(doc)
        for ref in _strings(doc):
            if "://" in ref or ref.startswith(("github.com/", "git@")):
                return None
            for candidate in (ref, ref.partition("=")[2]) if "=" in ref else (ref,):
                target = _normalise(d, candidate)
                if target is None:
                    continue
                if target in files:
                    out.add(target)
                elif target in index.directories:
                    pending.append(target)
    return set(files) if unfollowed else out


def build_key(root: str, files: Mapping[str, bytes], tool: str, index: FileIndex | None = None) -> str | None:
    closure = input_closure(root, files, index)
    return None if closure is None else closure_key(root, closure, files, tool)


def closure_key(root: str, closure: Iterable[str], files: Mapping[str, bytes], tool: str) -> str:
    """The build key of `root` given its input closure (input_closure)."""
    h = hashlib.sha256(_FORMAT.encode() + b"\0build\0" + root.encode() + b"\0")
    h.update(hashlib.sha256(tool.encode()).digest())
    for path in sorted(closure):
        h.update(path.encode() + b"\0")
        h.update(hashlib.sha256(files[path]).digest())
    return h.hexdigest()


def validation_key(build: str, crds: str) -> str:
    return hashlib.sha256(f"{_FORMAT}\0crd\0{build}\0{crds}".encode()).hexdigest()


# --- findings as JSON (a cache entry must not be pickle: a CI cache is untrusted input) ----------

def _subject_to(s: Subject | None) -> Any:
    if s is None:
        return None
    return {"kind": s.kind, "name": s.name, "namespace": s.namespace, "hub": s.hub, "within": _subject_to(s.within)}


def _subject_from(d: Any) -> Subject | None:
    if d is None:
        return None
    return Subject(d["kind"], d["name"], d["namespace"], d["hub"], _subject_from(d["within"]))


def finding_to(f: Finding) -> dict[str, Any]:
    loc = f.location
    return {"check": f.check, "message": f.message, "severity": f.severity.value, "field": f.field,
            "location": [loc.file, loc.line, loc.column] if loc else None, "subject": _subject_to(f.subject)}


def finding_from(d: dict[str, Any]) -> Finding:
    loc = d["location"]
    return Finding(d["check"], d["message"], Severity(d["severity"]), Location(*loc) if loc else None,
                   d["field"], _subject_from(d["subject"]))


@dataclass
class Cache:
    """Entries are files `<dir>/<kind>/<key[:2]>/<key>.json` (a JSON value) or `.bin` (bytes as
    they are), written atomically, each under a first line naming the format, its kind and key and
    the SHA-256 of the rest (cachedir.read_entry: a truncated, edited or misfiled entry is a miss)."""

    directory: Path

    def _path(self, kind: str, key: str) -> Path:
        return self.directory / kind / key[:2] / f"{key}.json"

    def _label(self, kind: str, key: str) -> bytes:
        return f"{_FORMAT} {kind} {key}".encode()

    def get(self, kind: str, key: str) -> Any | None:
        hit = read_entry(self._path(kind, key), self._label(kind, key))
        if hit is None:
            return None
        try:
            return orjson.loads(hit[0])
        except orjson.JSONDecodeError:
            return None

    def has(self, kind: str, key: str) -> bool:
        """An entry file exists (get still decides whether it is usable)."""
        return self._path(kind, key).is_file()

    def _blob_path(self, kind: str, key: str) -> Path:
        return self.directory / kind / key[:2] / f"{key}.bin"

    def get_blob(self, kind: str, key: str) -> tuple[bytes, str] | None:
        """The bytes put_blob stored and their SHA-256 (hex), or None (absent or damaged)."""
        return read_entry(self._blob_path(kind, key), self._label(kind, key))

    def has_blob(self, kind: str, key: str) -> bool:
        """A put_blob entry file exists (get_blob still decides whether it is usable)."""
        return self._blob_path(kind, key).is_file()

    def put_blob(self, kind: str, key: str, content: bytes) -> None:
        """Bytes as they are (no JSON round trip: the caller stores only what it reads back the
        same)."""
        write_entry(self.directory, self._blob_path(kind, key), self._label(kind, key), content)

    def put(self, kind: str, key: str, value: Any) -> None:
        """Store only what JSON gives back unchanged: a YAML timestamp or binary value would come
        back as a string, so a result holding one is not stored (it is built every time)."""
        try:
            data = orjson.dumps(value)
        except TypeError:
            return
        if orjson.loads(data) != value:
            return
        write_entry(self.directory, self._path(kind, key), self._label(kind, key), data)


if TYPE_CHECKING:  # for the annotation only: crds imports nothing of the cache
    from . import crds
