"""One result model for `fedfleet check`: filled by checks/suite.py, rendered by report/check.py in
every format. It lives below both stages, so neither imports the other."""

from __future__ import annotations

from dataclasses import dataclass, field

from .findings import Finding, Severity


@dataclass
class CheckRun:
    name: str  # spec | drift | kustomize | crd | placeholders | waves | plan | lifecycle | rego
    title: str
    findings: list[Finding] = field(default_factory=list)
    seconds: float = 0.0
    summary: str = ""
    skipped: bool = False

    @property
    def status(self) -> str:
        if self.skipped:
            return "skipped"
        return "failed" if any(f.severity is Severity.ERROR for f in self.findings) else "passed"


@dataclass
class CheckReport:
    runs: list[CheckRun] = field(default_factory=list)
    bad_input: bool = False  # the specs did not load: exit 2, later checks skipped

    @property
    def findings(self) -> list[Finding]:
        return [f for r in self.runs for f in r.findings]

    @property
    def exit_code(self) -> int:
        if self.bad_input:
            return 2
        return 1 if any(r.status == "failed" for r in self.runs) else 0
