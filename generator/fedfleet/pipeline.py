"""The pipeline, one direction: load -> validate -> plan -> render -> write -> check -> report.

This module runs the stages up to write (load, validate, plan, render, write); the check stage is
`checks/` and the report stage `report/`, which read what this module returns. The CLI calls these
functions; each returns data (models, the rendered bundle, drift), never exits.
"""

from __future__ import annotations

import posixpath

from dataclasses import dataclass, field
from pathlib import Path

from . import write
from .cachedir import CACHE_DIR
from .governance import Governance, Registry, govern, load_registry, render_hub
from .findings import Finding, InputError, Subject
from .placement import Plan, Planner
from .render import Bundle, hub_roots, render_bundle
from .spec.load import load_fleet
from .spec.model import Fleet


@dataclass(frozen=True)
class Paths:
    specs: Path
    out: Path  # the root that holds bases/, overlays/, bootstrap/


@dataclass
class Rendered:
    """Everything one run derives from the specs, in pipeline order: the fleet, its plan, the
    plugins that took part and their governance (typed), the rendered bundle (path -> objects)
    and its serialised files.

    `check` lets go of what it has no more use for while it still runs (drop_bundle, drop_files):
    at 40,000 clusters the bundle's objects are about 270 MiB and its files 113 MiB, of a 1 GiB
    budget. A dropped bundle is rendered again on first use (the same objects: the render is a
    function of the fleet, its plan and the plugins); dropped files are an error to read."""

    fleet: Fleet
    planner: Planner
    _bundle: Bundle | None
    _files: dict[str, bytes] | None
    registry: Registry
    _governance: Governance | None
    # The hand-written files the spec's kustomize content names (path -> bytes, read from the
    # output root): not fedfleet's to write or prune, but kustomize needs them to build.
    user_files: dict[str, bytes] = field(default_factory=dict)

    @property
    def bundle(self) -> Bundle:
        if self._bundle is None:
            self._governance, self._bundle = render_all(self.fleet, self.planner, self.registry)
        return self._bundle

    @property
    def governance(self) -> Governance:
        if self._governance is None:
            self._governance, self._bundle = render_all(self.fleet, self.planner, self.registry)
        return self._governance

    @property
    def files(self) -> dict[str, bytes]:
        if self._files is None:
            raise RuntimeError("the rendered files were dropped (Rendered.drop_files) and are read again")
        return self._files

    def drop_bundle(self) -> None:
        """Let go of the bundle's objects and the governance (rendered again if read again)."""
        self._bundle = self._governance = None

    def drop_files(self) -> None:
        """Let go of the serialised files: every later read of `files` is a bug, and raises."""
        self._files = None

    @property
    def plan(self) -> Plan:
        """The whole plan, worked out on first use (generate renders with the Flower jobs' only)."""
        return self.planner.plan

    @property
    def build_inputs(self) -> dict[str, bytes]:
        """What a kustomize build of the bundle reads: the user's files and the rendered ones."""
        return {**self.user_files, **self.files}

    @property
    def roots(self) -> dict[str, str]:
        """kustomization root -> hub, for every root of the bundle."""
        return hub_roots(self.fleet)


def load(paths: Paths, registry: Registry | None = None, semantics: bool = True, cache: bool = False) -> Fleet:
    registry = registry or load_registry()
    return load_fleet(paths.specs, registry.parameter_schemas(), semantics, paths.out / CACHE_DIR if cache else None)




def render(paths: Paths, registry: Registry | None = None, cache: bool = False) -> Rendered:
    """load -> validate -> plan -> render, all in memory. With `cache`, spec files an earlier run
    read and files whose objects an earlier run serialised are taken from the output root's
    .fedfleet-cache/ (`check`; `generate` always reads and serialises afresh)."""
    registry = registry or load_registry()
    fleet = load(paths, registry, cache=cache)
    planner = Planner(fleet)
    _one_flower_job_per_cluster(fleet, planner)
    governance, bundle = render_all(fleet, planner, registry)
    files = write.serialise_bundle(bundle, paths.out / CACHE_DIR if cache else None)
    return Rendered(fleet, planner, bundle, files, registry, governance, user_files(fleet, paths.out))


def user_paths(fleet: Fleet) -> list[str]:
    """Every path the spec's kustomize content names, relative to the output root (validation
    keeps them inside it)."""
    named = [(f"overlays/{hub.name}", hub.kustomize) for hub in fleet.hubs]
    named += [(f"bases/{base}", content) for base, content in fleet.base_kustomize.items()]
    out = []
    for directory, content in named:
        refs = [*content.get("resources", []), *content.get("components", []),
                *(p["path"] for p in content.get("patches", []) if "path" in p)]
        out += [posixpath.normpath(posixpath.join(directory, ref)) for ref in refs]
    return sorted(set(out))


def user_files(fleet: Fleet, out_root: Path) -> dict[str, bytes]:
    """The user's files (a directory: every regular file under it), as they are on disk; a
    missing one is left out, and kustomize names it when the build needs it."""
    files: dict[str, bytes] = {}
    for rel in user_paths(fleet):
        path = out_root / rel
        if path.is_symlink():
            continue
        if path.is_file():
            files[rel] = path.read_bytes()
        elif path.is_dir():
            for sub in sorted(path.rglob("*")):
                if sub.is_file() and not sub.is_symlink():
                    files[sub.relative_to(out_root).as_posix()] = sub.read_bytes()
    return files


def render_all(fleet: Fleet, the_plan: Plan | Planner, registry: Registry) -> tuple[Governance, Bundle]:
    """Governance, then the bundle with each hub's governance files in its overlay."""
    governance = govern(fleet, the_plan, registry)
    bundle = render_bundle(fleet, the_plan, extras=lambda _fleet, hub: render_hub(governance[hub]),
                           job_annotations=lambda job: registry.job_annotations(job, fleet.plugin_params))
    return governance, bundle


def _one_flower_job_per_cluster(fleet: Fleet, the_plan: Plan | Planner) -> None:
    """A cluster runs one SuperNode (the add-on installs one `flower-supernode` per cluster, with
    the configuration of one install placement), so two Flower jobs of a hub that select the same
    cluster cannot both get it: bad input, named at the later job's placement."""
    owner: dict[str, str] = {}
    findings: list[Finding] = []
    for job in fleet.jobs:
        if job.framework != "flower":
            continue
        for cluster in the_plan.job(job.name).cluster_names:
            if cluster in owner:
                findings.append(Finding(
                    "semantic", f"cluster {cluster!r} is selected by Flower jobs {owner[cluster]!r} and {job.name!r} "
                    "of one hub; a cluster runs one Flower SuperNode, so it can serve one Flower job: narrow one "
                    "job's placement", location=job.origin.locate("spec", "placement"), field="spec.placement",
                    subject=Subject.job(job.name, job.hub)))
            else:
                owner[cluster] = job.name
    if findings:
        raise InputError(findings)


def generate(paths: Paths, check_only: bool = False) -> write.Drift:
    files = render(paths).files
    if check_only:
        return write.compare(files, paths.out)
    return write.write(files, paths.out)
