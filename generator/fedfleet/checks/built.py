"""check: build every overlay and bootstrap directory with real kustomize, validate against CRDs.

The check stage reads the rendered files (what `generate` would write), never the tree on disk:
validation judges the specs whether or not the committed bundle is current (drift is
`generate --check`'s job).
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

from .. import pipeline
from ..findings import Finding, InputError, Location, Severity, Subject
from . import crds, kustomize
from .rego import HubObject, hub_objects


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
    hubs: dict[str, str] = field(default_factory=dict)  # root -> the hub it is for
    build_findings: list[Finding] = field(default_factory=list)
    crd_findings: list[Finding] = field(default_factory=list)
    checked: int = 0
    tool: str = ""

    def for_policies(self, rendered: pipeline.Rendered) -> list[HubObject]:
        """What Rego and the audit judge: the built objects per hub (what Argo CD applies, with
        each overlay's patches), or the rendered bundle when a build failed."""
        if self.build_findings:
            return hub_objects(rendered.bundle, rendered.roots)
        return [HubObject(f"{root}/(built)", self.hubs[root], o) for root in sorted(self.objects) for o in self.objects[root]]


def build_and_check(files: dict[str, bytes], roots: Mapping[str, str], crd_dir: Path | None) -> Built:
    """Write the rendered files to a scratch directory, build every root (root -> hub), check
    every object against the CRD schemas."""
    schemas = crds.SchemaSet.from_directory(crd_dir) if crd_dir else None
    tool = kustomize.find_kustomize()
    result = Built(tool=tool.name)
    with tempfile.TemporaryDirectory(prefix="fedfleet-build-") as scratch:
        root = Path(scratch)
        for rel, content in files.items():
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            (root / rel).write_bytes(content)
        for rel in sorted(roots):
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
            result.hubs[rel] = roots[rel]
            if schemas:
                found, checked = schemas.validate(objects, rel)
                result.crd_findings.extend(found)
                result.checked += checked
    return result


def validate(paths: pipeline.Paths, crd_dir: Path | None) -> ValidationReport:
    """Spec checks, then a real kustomize build of what generate renders, then the CRD schemas."""
    rendered = pipeline.render(paths)
    built = build_and_check(rendered.build_inputs, rendered.roots, crd_dir)
    return ValidationReport(findings=built.build_findings + built.crd_findings,
                            built={root: len(objs) for root, objs in built.objects.items()},
                            checked=built.checked, tool=built.tool)
