"""Errors as data: every stage reports a list of findings, the CLI decides the exit code."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum


class Severity(str, Enum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


@dataclass(frozen=True)
class Location:
    """Where a finding comes from: a spec file and the node's 1-based line and column."""

    file: str
    line: int = 0
    column: int = 0

    def __str__(self) -> str:
        if self.line:
            return f"{self.file}:{self.line}:{self.column}"
        return self.file


@dataclass(frozen=True)
class Subject:
    """What a finding is about, as fields: later stages (the audit) read them, never the text.

    kind: "FederatedLearningJob" or "hub" for a spec entity, a Kubernetes kind for a rendered or
    built object, "path" for a file or kustomization directory of the bundle.
    """

    kind: str
    name: str
    namespace: str = ""
    hub: str = ""  # the hub the subject belongs to, when the producer knows it
    within: Subject | None = None  # the object that embeds this one (a Policy's template)

    @classmethod
    def job(cls, name: str, hub: str = "") -> Subject:
        return cls("FederatedLearningJob", name, hub=hub)

    @classmethod
    def of_hub(cls, name: str) -> Subject:
        return cls("hub", name, hub=name)

    @classmethod
    def path(cls, path: str) -> Subject:
        return cls("path", path)

    def __str__(self) -> str:
        text = self.name if self.kind == "path" else \
            f"{self.kind} {self.namespace + '/' if self.namespace else ''}{self.name}"
        return f"{self.within} > {text}" if self.within else text


@dataclass(frozen=True)
class Finding:
    check: str  # which stage or rule produced it, e.g. "schema", "semantic", "crd"
    message: str
    severity: Severity = Severity.ERROR
    location: Location | None = None
    field: str = ""  # dotted path of the offending field inside its document
    subject: Subject | None = None  # the object concerned, e.g. FederatedLearning fl-mnist/mnist-eu

    def render(self) -> str:
        where = f"{self.location}: " if self.location else ""
        fld = f" [{self.field}]" if self.field else ""
        subj = f" ({self.subject})" if self.subject else ""
        return f"{where}{self.severity.value}: {self.check}{fld}: {self.message}{subj}"

    def as_dict(self) -> dict[str, object]:
        out: dict[str, object] = {
            "check": self.check,
            "severity": self.severity.value,
            "message": self.message,
            "field": self.field,
            "subject": str(self.subject) if self.subject else "",
        }
        if self.location:
            out["file"] = self.location.file
            out["line"] = self.location.line
            out["column"] = self.location.column
        return out


@dataclass
class InputError(Exception):
    """Bad input: the CLI turns it into exit code 2 and prints every finding."""

    findings: list[Finding] = field(default_factory=list)

    def __str__(self) -> str:
        return "\n".join(f.render() for f in self.findings)
