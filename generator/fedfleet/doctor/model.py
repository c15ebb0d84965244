"""The doctor's result: one verdict per readiness step, in the order a hub becomes ready."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

PASS, FAIL, SKIP = "pass", "fail", "skip"


@dataclass
class Step:
    name: str  # stable id: api, crds, argocd-rbac, controller, feature-gate, cert-manager, superlink, addons, membership
    title: str
    status: str = PASS
    verdict: str = ""
    fix: str = ""  # what to do when the step fails (empty when it passes)
    details: list[str] = field(default_factory=list)

    def fail(self, verdict: str, fix: str, details: list[str] | None = None) -> "Step":
        self.status, self.verdict, self.fix = FAIL, verdict, fix
        self.details = details or []
        return self

    def ok(self, verdict: str, details: list[str] | None = None) -> "Step":
        self.status, self.verdict, self.fix = PASS, verdict, ""
        self.details = details or []
        return self

    def skip(self, verdict: str) -> "Step":
        self.status, self.verdict, self.fix = SKIP, verdict, ""
        return self

    def as_dict(self) -> dict[str, Any]:
        return {"step": self.name, "title": self.title, "status": self.status, "verdict": self.verdict,
                "fix": self.fix, "details": list(self.details)}


@dataclass
class DoctorReport:
    hub: str
    server: str
    steps: list[Step]

    @property
    def failed(self) -> list[Step]:
        return [s for s in self.steps if s.status == FAIL]

    @property
    def ready(self) -> bool:
        return not self.failed

    def as_dict(self) -> dict[str, Any]:
        first = self.failed[0].name if self.failed else None
        return {"hub": self.hub, "server": self.server, "ready": self.ready, "firstFailure": first,
                "steps": [s.as_dict() for s in self.steps]}
