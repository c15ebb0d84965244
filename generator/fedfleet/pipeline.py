"""The pipeline, one direction: load -> validate -> plan -> render -> write -> check -> report.

The CLI calls these functions; each returns data (models, bundles, findings), never exits.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from . import bundle as writer
from .checks import crds, kustomize
from .findings import Finding, InputError, Location, Severity
from .governance import Registry, load_registry, overlay_files
from .placement import Plan, plan
from .render import Bundle, render_bundle
from .spec.load import load_fleet
from .spec.model import Fleet


@dataclass(frozen=True)
class Paths:
    specs: Path
    out: Path  # the root that holds bases/, overlays/, bootstrap/


@dataclass(frozen=True)
class Build:
    """Everything one run derives from the specs, in pipeline order."""

    fleet: Fleet
    plan: Plan
    bundle: Bundle
    files: dict[str, bytes]
    registry: Registry


def load(paths: Paths, registry: Registry | None = None) -> Fleet:
    registry = registry or load_registry()
    return load_fleet(paths.specs, registry.parameter_schemas())


def build(paths: Paths, registry: Registry | None = None) -> Build:
    """load -> validate -> plan -> render, all in memory."""
    registry = registry or load_registry()
    fleet = load(paths, registry)
    the_plan = plan(fleet)
    bundle = render_bundle(fleet, extras=overlay_files(fleet, the_plan, registry),
                           job_annotations=lambda job: registry.job_annotations(job, fleet.plugin_params))
    return Build(fleet, the_plan, bundle, writer.serialise_bundle(bundle), registry)


def generate(paths: Paths, check_only: bool = False) -> writer.Drift:
    files = build(paths).files
    if check_only:
        return writer.compare(files, paths.out)
    return writer.write(files, paths.out)


def kustomize_roots(files: dict[str, bytes]) -> list[str]:
    """Every overlay and bootstrap directory: what Argo CD and the bootstrap step build."""
    return sorted(
        rel.rsplit("/", 1)[0] for rel in files
        if rel.endswith("/kustomization.yaml") and rel.split("/", 1)[0] in ("overlays", "bootstrap")
    )


@dataclass
class ValidationReport:
    findings: list[Finding] = field(default_factory=list)
    built: dict[str, int] = field(default_factory=dict)  # kustomize root -> objects built
    checked: int = 0  # objects validated against a schema
    tool: str = ""

    @property
    def ok(self) -> bool:
        return not any(f.severity is Severity.ERROR for f in self.findings)


@dataclass
class BuiltBundle:
    """What real kustomize builds from the rendered bundle, per overlay and bootstrap directory."""

    objects: dict[str, list[dict]] = field(default_factory=dict)  # root -> built objects
    build_findings: list[Finding] = field(default_factory=list)
    crd_findings: list[Finding] = field(default_factory=list)
    checked: int = 0
    tool: str = ""

    def as_bundle(self, fallback: Bundle) -> Bundle:
        """The built objects per root, as Rego and the audit read them (paths name the hub), or
        the unbuilt bundle when a build failed."""
        if self.build_findings:
            return fallback
        return {f"{root}/(built)": objs for root, objs in self.objects.items()}


def kustomize_and_crds(files: dict[str, bytes], crd_dir: Path | None) -> BuiltBundle:
    """Write the rendered bundle to a scratch directory, build every root, check every object.

    Validation judges what `generate` would write, whether or not the tree on disk is current
    (drift is `generate --check`'s job).
    """
    schemas = crds.SchemaSet.from_directory(crd_dir) if crd_dir else None
    tool = kustomize.find_kustomize()
    result = BuiltBundle(tool=tool.name)
    with tempfile.TemporaryDirectory(prefix="fedfleet-build-") as scratch:
        root = Path(scratch)
        for rel, content in files.items():
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            (root / rel).write_bytes(content)
        for rel in kustomize_roots(files):
            try:
                objects = kustomize.build(root / rel, tool)
            except InputError as exc:
                result.build_findings.extend(
                    Finding(f.check, f.message.replace(scratch + "/", ""), location=Location(f"{rel}/kustomization.yaml"),
                            subject=rel)
                    for f in exc.findings
                )
                continue
            result.objects[rel] = objects
            if schemas:
                found, checked = schemas.validate(objects, rel)
                result.crd_findings.extend(found)
                result.checked += checked
    return result


def validate(paths: Paths, crd_dir: Path | None) -> ValidationReport:
    """Spec checks, then a real kustomize build of what generate renders, then the CRD schemas."""
    built = kustomize_and_crds(build(paths).files, crd_dir)
    return ValidationReport(findings=built.build_findings + built.crd_findings,
                            built={root: len(objs) for root, objs in built.objects.items()},
                            checked=built.checked, tool=built.tool)
