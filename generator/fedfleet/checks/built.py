"""check: build every overlay and bootstrap directory with real kustomize, validate against CRDs.

The check stage reads the rendered files (what `generate` would write), never the tree on disk:
validation judges the specs whether or not the committed bundle is current (drift is
`generate --check`'s job).
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from .. import pipeline
from ..findings import Finding, InputError, Location, Severity, Subject
from ..render import Bundle
from . import crds, kustomize


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
class Built:
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


def build_and_check(files: dict[str, bytes], crd_dir: Path | None) -> Built:
    """Write the rendered files to a scratch directory, build every root, check every object."""
    schemas = crds.SchemaSet.from_directory(crd_dir) if crd_dir else None
    tool = kustomize.find_kustomize()
    result = Built(tool=tool.name)
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
                            subject=Subject.path(rel))
                    for f in exc.findings
                )
                continue
            result.objects[rel] = objects
            if schemas:
                found, checked = schemas.validate(objects, rel)
                result.crd_findings.extend(found)
                result.checked += checked
    return result


def validate(paths: pipeline.Paths, crd_dir: Path | None) -> ValidationReport:
    """Spec checks, then a real kustomize build of what generate renders, then the CRD schemas."""
    built = build_and_check(pipeline.render(paths).files, crd_dir)
    return ValidationReport(findings=built.build_findings + built.crd_findings,
                            built={root: len(objs) for root, objs in built.objects.items()},
                            checked=built.checked, tool=built.tool)
