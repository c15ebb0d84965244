"""The audit's result model, shared by the offline view, the live merge and every renderer."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..render.health import Health


@dataclass
class PolicyEntry:
    hub: str
    name: str
    concern: str
    rule: str
    remediation: str
    target: str  # hub | job-clients:<job> | job-cluster-sets:<job> | cluster-set:<set> (for people)
    clusters: list[str]
    standards: list[str]
    controls: list[str]
    job: str = ""  # the job a job-bound target follows
    twin: bool = True  # the plugin says a Rego rule can judge what the policy checks
    rego_status: str = "pass"  # pass | fail | none (no twin)
    rego_findings: list[str] = field(default_factory=list)
    live_status: str | None = None  # Compliant | NonCompliant | Pending | missing on hub | None (offline)
    live_clusters: dict[str, str] = field(default_factory=dict)  # cluster -> compliance
    argo_health: Health | None = None  # what Argo CD shows for the live Policy (render/health)

    def as_dict(self) -> dict[str, Any]:
        return {"hub": self.hub, "name": self.name, "concern": self.concern, "rule": self.rule,
                "remediation": self.remediation, "target": self.target, "clusters": self.clusters,
                "standards": self.standards, "controls": self.controls,
                "rego": {"status": self.rego_status, "findings": self.rego_findings},
                "live": None if self.live_status is None else {
                    "status": self.live_status, "clusters": self.live_clusters,
                    "argoHealth": self.argo_health.as_dict() if self.argo_health else None}}


@dataclass
class ControlGroup:
    standard: str
    control: str
    policies: list[PolicyEntry] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        """Per policy: live compliance when known, else the Rego twin's verdict."""
        out = {"compliant": 0, "noncompliant": 0, "unknown": 0}
        for p in self.policies:
            # Offline, a policy without a Rego twin is unknown: nothing checked it.
            offline = {"pass": "Compliant", "fail": "NonCompliant"}.get(p.rego_status, "unknown")
            status = p.live_status if p.live_status is not None else offline
            key = {"Compliant": "compliant", "NonCompliant": "noncompliant", "missing on hub": "noncompliant"}.get(status, "unknown")
            out[key] += 1
        return out


@dataclass(frozen=True)
class Gap:
    hub: str
    concern: str
    message: str
    job: str = ""


@dataclass(frozen=True)
class LiveFinding:
    hub: str
    kind: str  # api | policy | application | job | health (what Argo CD shows, audit/health.py) | validation | registration (a Flower client without its credential)
    name: str
    message: str


@dataclass(frozen=True)
class MetricsExport:
    """Whether a job's training metrics leave the cluster, and why (not)."""

    hub: str
    job: str
    framework: str
    exports: bool
    why: str


@dataclass
class AuditReport:
    fleet: str
    controls: list[ControlGroup] = field(default_factory=list)
    gaps: list[Gap] = field(default_factory=list)
    live_hubs: list[str] = field(default_factory=list)  # hubs read live (empty: offline only)
    live_findings: list[LiveFinding] = field(default_factory=list)
    live_objects: dict[str, Any] = field(default_factory=dict)  # hub -> applications and jobs as read
    metrics: list[MetricsExport] = field(default_factory=list)
    validations: list[dict[str, Any]] = field(default_factory=list)  # each gated job's last validation (live)

    @property
    def compliant(self) -> bool:
        rego_failed = any(p.rego_status == "fail" for c in self.controls for p in c.policies)
        return not (self.gaps or self.live_findings or rego_failed)

    @property
    def exit_code(self) -> int:
        return 0 if self.compliant else 1

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.compliant, "exitCode": self.exit_code,
            "fleet": self.fleet, "compliant": self.compliant, "live": bool(self.live_hubs), "liveHubs": self.live_hubs,
            "controls": [{"standard": c.standard, "control": c.control, "counts": c.counts(),
                          "policies": [p.as_dict() for p in c.policies]} for c in self.controls],
            "gaps": [g.__dict__ for g in self.gaps],
            "liveFindings": [f.__dict__ for f in self.live_findings],
            "liveObjects": self.live_objects,
            "metrics": [m.__dict__ for m in self.metrics],
            "validations": self.validations,
        }
