"""`fedfleet policy test`: run every `test_` rule of the Rego modules, with line coverage.

As `opa test` does: a test passes when its rule evaluates to true; false or undefined fails; an
evaluation error is an error. Coverage is regorus's line coverage of the non-test modules.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .rego import EmbeddedEngine, RegoModule, _clean_error, package_of

_TEST_RULE = re.compile(r"^(test_[A-Za-z0-9_]+)\b", re.MULTILINE)


@dataclass(frozen=True)
class TestResult:
    module: str
    package: str
    name: str
    outcome: str  # passed | failed | error
    message: str = ""


@dataclass
class PolicyTestReport:
    results: list[TestResult] = field(default_factory=list)
    coverage: dict[str, float] = field(default_factory=dict)  # module -> covered fraction

    @property
    def ok(self) -> bool:
        return bool(self.results) and all(r.outcome == "passed" for r in self.results)

    @property
    def total_coverage(self) -> float:
        return sum(self.coverage.values()) / len(self.coverage) if self.coverage else 0.0


def run_tests(modules: list[RegoModule]) -> PolicyTestReport:
    engine = EmbeddedEngine(coverage=True)
    engine.load(modules)
    report = PolicyTestReport()
    for m in modules:
        package = package_of(m.source)
        if not package:
            continue
        for name in sorted(set(_TEST_RULE.findall(m.source))):
            try:
                value = engine.rule(f"data.{package}.{name}")
                outcome = "passed" if value is True else "failed"
                message = "" if value is True else ("undefined" if value == "<undefined>" else f"evaluated to {value!r}")
            except RuntimeError as exc:
                text = _clean_error(exc)
                # regorus reports an undefined rule as an error; OPA counts it as a failed test.
                outcome, message = ("failed", "undefined") if "undefined" in text.lower() else ("error", text)
            report.results.append(TestResult(m.name, package, name, outcome, message))
    for f in engine.coverage().get("files", []):
        if f["path"].endswith("_test.rego"):
            continue
        covered, missed = len(f.get("covered", [])), len(f.get("not_covered", []))
        report.coverage[f["path"]] = covered / (covered + missed) if covered + missed else 1.0
    return report
