"""The CRD store: the upstream CRDs fedfleet validates against, pinned in a lock.

`fedfleet/crds/sources.json` (committed, shipped in the package) names every upstream CRD file
fedfleet targets: its repository, path, commit, SHA-256 and, where the Go module proxy serves it,
the Go module version whose zip carries it. The YAML files themselves are upstream's and are never
committed here: `fedfleet crds pull` copies them into the store (the user's cache directory, one
folder per lock, or FEDFLEET_CRD_STORE) from `go mod download` (module zips are content-addressed
and checked against sum.golang.org by the go command) or from a directory (`--from`: a fetched
checkout, a folder of CRDs). A file whose SHA-256 differs from its lock entry is refused, so the
store is exactly the pinned upstream files or a subset of them.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .findings import Finding, InputError, Location

LOCK = Path(__file__).parent / "crds" / "sources.json"
PULL_HINT = "run `fedfleet crds pull` (Go and the Go module proxy; or --from DIR), or give --crds DIR"


@dataclass(frozen=True)
class Entry:
    file: str  # the name in the store
    repository: str  # owner/name on GitHub
    path: str  # inside the repository (and inside the module zip, module-relative)
    commit: str  # the upstream commit the SHA-256 was taken at
    sha256: str
    license: str
    why: str  # what fedfleet renders or reads of it
    module: str = ""  # the Go module whose zip carries the file; "" when the proxy does not serve it
    version: str = ""  # that module's exact version (the release tag at `commit`)
    module_path: str = ""  # the file's path inside the module when the module is a subdirectory
    note: str = ""  # why it is not on the proxy, why the pin differs from another copy...

    @property
    def served(self) -> bool:
        return bool(self.module and self.version)

    def as_dict(self) -> dict[str, str]:
        return {k: v for k, v in self.__dict__.items() if v or k in ("module", "version")}


def read_lock(lock: Path = LOCK) -> list[Entry]:
    data: dict[str, Any] = json.loads(lock.read_text(encoding="utf-8"))
    entries = [Entry(**e) for e in data["crds"]]
    files = [e.file for e in entries]
    if len(set(files)) != len(files):
        raise ValueError(f"{lock}: two entries share a file name")
    return entries


def write_lock(entries: list[Entry], lock: Path = LOCK) -> None:
    lock.write_text(json.dumps({"crds": [e.as_dict() for e in entries]}, indent=2) + "\n", encoding="utf-8")


def lock_id(lock: Path = LOCK) -> str:
    """The store folder's name: a new lock (a fedfleet upgrade) gets a fresh folder, so an old
    store never passes for the new pins."""
    return hashlib.sha256(lock.read_bytes()).hexdigest()[:16]


def store_dir(lock: Path = LOCK) -> Path:
    """FEDFLEET_CRD_STORE, else <XDG cache>/fedfleet/crds/<lock id>/."""
    if os.environ.get("FEDFLEET_CRD_STORE"):
        return Path(os.environ["FEDFLEET_CRD_STORE"])
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "fedfleet" / "crds" / lock_id(lock)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def installed(store: Path | None = None, lock: Path = LOCK) -> list[Path]:
    """The store's CRD files that are present, each checked against its lock entry (a file that
    differs is bad input: someone edited the store)."""
    store = store or store_dir(lock)
    present: list[Path] = []
    bad: list[Finding] = []
    for entry in read_lock(lock):
        path = store / entry.file
        if not path.is_file():
            continue
        if sha256(path.read_bytes()) != entry.sha256:
            bad.append(Finding("crd", f"differs from its lock entry ({entry.repository}@{entry.commit[:12]} "
                               f"{entry.path}); delete it and run `fedfleet crds pull`", location=Location(str(path))))
        present.append(path)
    if bad:
        raise InputError(bad)
    return present


# --- pull -----------------------------------------------------------------------------------------

@dataclass
class Outcome:
    entry: Entry
    status: str  # present | pulled | missing | refused | failed
    source: str = ""  # module@version, or the file it came from
    detail: str = ""

    def as_dict(self) -> dict[str, str]:
        return {"file": self.entry.file, "status": self.status, "source": self.source, "detail": self.detail,
                "repository": self.entry.repository, "commit": self.entry.commit,
                "module": self.entry.module, "version": self.entry.version}


@dataclass
class PullReport:
    store: Path
    outcomes: list[Outcome] = field(default_factory=list)
    go: str = ""  # the go command used, "" when none ran

    @property
    def ok(self) -> bool:
        return not any(o.status in ("refused", "failed") for o in self.outcomes)

    def count(self, *statuses: str) -> int:
        return sum(o.status in statuses for o in self.outcomes)


def find_go() -> str | None:
    """FEDFLEET_GO, else go on PATH, else /usr/local/go/bin/go (as tools/install.sh looks)."""
    for candidate in (os.environ.get("FEDFLEET_GO"), shutil.which("go"), "/usr/local/go/bin/go"):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


def _place(store: Path, entry: Entry, data: bytes) -> None:
    """Atomic: a reader never sees half a file."""
    with tempfile.NamedTemporaryFile(dir=store, prefix=f".{entry.file}.", delete=False) as tmp:
        tmp.write(data)
    os.replace(tmp.name, store / entry.file)


def _candidates(directory: Path, entry: Entry) -> list[Path]:
    """Where a directory may hold the file: a checkout of the repository (the repository path),
    the module's own tree (module-relative), or a flat folder of CRDs (the file name)."""
    return [directory / entry.path, directory / (entry.module_path or entry.path), directory / entry.file]


def _download(go: str, module: str, version: str) -> tuple[Path | None, str]:
    """`go mod download -json MODULE@VERSION`: (the unpacked module directory, "") or (None, why)."""
    env = dict(os.environ, GO111MODULE="on", GOFLAGS="-mod=mod")
    with tempfile.TemporaryDirectory(prefix="fedfleet-go-") as cwd:  # outside any go.mod
        try:
            proc = subprocess.run([go, "mod", "download", "-json", f"{module}@{version}"], cwd=cwd, env=env,
                                  capture_output=True, text=True, timeout=900)
        except (OSError, subprocess.TimeoutExpired) as exc:
            return None, str(exc)
    try:
        info = json.loads(proc.stdout or "{}")
    except json.JSONDecodeError:
        info = {}
    if info.get("Error") or proc.returncode != 0 or not info.get("Dir"):
        why = str(info.get("Error") or proc.stderr.strip() or f"go exited {proc.returncode}")
        return None, why.splitlines()[0] if why else why
    return Path(info["Dir"]), ""


def pull(store: Path | None = None, sources: list[Path] | None = None, use_go: bool = True,
         lock: Path = LOCK) -> PullReport:
    """Fill the store: from the Go module proxy for the entries it serves, then from each `sources`
    directory for those still missing. Every file is checked against its lock SHA-256 before it is
    placed; one that differs is refused (nothing is written for it)."""
    store = store or store_dir(lock)
    for directory in sources or []:
        if not directory.is_dir():
            raise InputError([Finding("crd", "--from directory does not exist", location=Location(str(directory)))])
    store.mkdir(parents=True, exist_ok=True)
    report = PullReport(store)
    entries = read_lock(lock)
    done: dict[str, Outcome] = {}
    for entry in entries:
        path = store / entry.file
        if path.is_file() and sha256(path.read_bytes()) == entry.sha256:
            done[entry.file] = Outcome(entry, "present", str(path))
    wanted = [e for e in entries if e.served and e.file not in done]
    go = find_go() if use_go and wanted else None
    report.go = go or ""
    modules: dict[tuple[str, str], tuple[Path | None, str]] = {}
    for entry in wanted:
        if go is None:
            continue  # --from may still have it; otherwise reported missing below
        key = (entry.module, entry.version)
        if key not in modules:
            modules[key] = _download(go, *key)
        directory, why = modules[key]
        source = f"{entry.module}@{entry.version}"
        if directory is None:
            done[entry.file] = Outcome(entry, "failed", source, why)
            continue
        file = directory / (entry.module_path or entry.path)
        if not file.is_file():
            done[entry.file] = Outcome(entry, "failed", source, f"the module has no {entry.module_path or entry.path}")
            continue
        data = file.read_bytes()
        if sha256(data) != entry.sha256:
            done[entry.file] = Outcome(entry, "refused", source, f"SHA-256 {sha256(data)[:16]}... is not the lock's "
                                       f"{entry.sha256[:16]}...")
            continue
        _place(store, entry, data)
        done[entry.file] = Outcome(entry, "pulled", source)
    for directory in sources or []:
        for entry in entries:
            if entry.file in done and done[entry.file].status in ("present", "pulled"):
                continue
            found = next((p for p in _candidates(directory, entry) if p.is_file()), None)
            if found is None:
                continue
            data = found.read_bytes()
            if sha256(data) != entry.sha256:
                if entry.file not in done:  # a proxy failure stays the reason shown
                    done[entry.file] = Outcome(entry, "refused", str(found), (
                        f"SHA-256 {sha256(data)[:16]}... is not the lock's {entry.sha256[:16]}... "
                        f"({entry.repository}@{entry.commit[:12]} {entry.path})"))
                continue
            _place(store, entry, data)
            done[entry.file] = Outcome(entry, "pulled", str(found))
    for entry in entries:
        if entry.file not in done:
            if not entry.served:
                why = f"not on the Go module proxy; --from DIR: a checkout of {entry.repository} at {entry.commit[:12]}"
            elif go is None:
                why = ("no Go toolchain (go on PATH, /usr/local/go/bin or FEDFLEET_GO)" if use_go
                       else "--no-go and no --from directory has it")
            else:
                why = "no --from directory has it"
            done[entry.file] = Outcome(entry, "missing", detail=why)
        report.outcomes.append(done[entry.file])
    return report
