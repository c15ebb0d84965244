"""Renderers of the short verbs: generate (drift), validate, policy test and simulate.

Each verb has a JSON form (a dict the CLI dumps) and a text form: lines with the stream they go
to and a rich style, so the CLI only prints and the wording lives here with the other renderers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal, NamedTuple

if TYPE_CHECKING:  # types only: `generate` need not import kustomize, Rego or Flower code to print
    from ..checks.built import ValidationReport
    from ..checks.policytest import PolicyTestReport
    from ..simulate import SimulationError, SimulationResult
    from ..write import Drift

Stream = Literal["out", "err"]


class Line(NamedTuple):
    text: str
    style: str | None = None
    stream: Stream = "out"


def drift_json(drift: Drift, check: bool) -> dict[str, Any]:
    return {"check": check, "clean": drift.clean, "changed": drift.changed, "missing": drift.added,
            "stale": drift.removed}


def drift_lines(drift: Drift, check: bool) -> list[Line]:
    if not check:
        written = len(drift.added) + len(drift.changed)
        return [Line(f"wrote {written} file(s), pruned {len(drift.removed)}, "
                     f"{'nothing changed' if drift.clean else 'bundle updated'}")]
    if drift.clean:
        return [Line("no drift: the committed bundle matches specs/")]
    return [Line("drift: the bundle on disk differs from what specs/ generate (run `fedfleet generate` and commit):",
                 "red", "err"), *(Line(f"  {line}", None, "err") for line in drift.lines())]


def validate_json(report: ValidationReport) -> dict[str, Any]:
    return {"ok": report.ok, "kustomize": report.tool, "built": report.built, "schemaChecked": report.checked,
            "schemas": report.schemas,
            "findings": [f.as_dict() for f in report.findings]}


def validate_lines(report: ValidationReport, quiet: bool = False) -> list[Line]:
    """After the findings: what was built (not under -q), and the verdict."""
    lines = [] if quiet else [Line(f"built {root}: {count} objects") for root, count in report.built.items()]
    crd_note = f", {report.checked} objects checked against {report.schemas}"
    verdict = "ok" if report.ok else "FAILED"
    lines.append(Line(f"validate {verdict}: specs valid, {len(report.built)} kustomizations built with {report.tool}{crd_note}",
                      "green" if report.ok else "red"))
    return lines


def policy_test_json(report: PolicyTestReport) -> dict[str, Any]:
    return {"ok": report.ok, "coverage": report.coverage, "totalCoverage": report.total_coverage,
            "tests": [r.__dict__ for r in report.results]}


def policy_test_lines(report: PolicyTestReport) -> list[Line]:
    lines = []
    for r in report.results:
        detail = f": {r.message}" if r.message else ""
        lines.append(Line(f"{r.outcome.upper():<6} data.{r.package}.{r.name} ({r.module}){detail}",
                          {"passed": "green", "failed": "red", "error": "red"}[r.outcome]))
    lines += [Line(f"coverage {fraction:6.1%}  {module}") for module, fraction in sorted(report.coverage.items())]
    passed = sum(1 for r in report.results if r.outcome == "passed")
    lines.append(Line(f"{passed} passed, {len(report.results) - passed} failed; coverage {report.total_coverage:.1%}"))
    return lines


def simulation_failed_json(job: str, exc: SimulationError) -> dict[str, Any]:
    # a run that failed (exit 1); bad input is the usual {ok, exitCode, findings} (cli.cmd_simulate)
    return {"ok": False, "exitCode": exc.code, "job": job, "error": str(exc), "details": exc.details}


def simulation_failed_lines(exc: SimulationError) -> list[Line]:
    lines = [Line(f"simulate failed: {exc}", "red", "err")]
    if exc.details:
        lines.append(Line(exc.details, None, "err"))
    return lines


def simulation_json(result: SimulationResult) -> dict[str, Any]:
    return {"ok": not result.gate_failed and not result.intruder_admitted, **result.as_dict()}


def simulation_lines(result: SimulationResult) -> list[Line]:
    lines = [Line(f"job {result.job}: {len(result.clients)} clients ({', '.join(result.clients)}), "
                  f"{len(result.rounds) - 1} rounds, TLS {'on' if result.tls else 'OFF'}, the bundle's own commands")]
    lines += [Line(f"  round {r['round']}: loss {r['loss']:.4f}  accuracy {r['accuracy']:.4f}") for r in result.rounds]
    lines.append(Line(f"federated accuracy {result.federated_accuracy:.4f}, centralized {result.centralized_accuracy:.4f}, "
                      f"ratio {result.ratio:.3f}; {result.wall_seconds:.1f} s"))
    if result.registration:
        refused = ", ".join(f"{n} {reason}" for reason, n in result.tunnel_refusals.items() if n) or "none"
        lines.append(Line(f"registration: every SuperNode through the mTLS tunnels with its own credential; "
                          f"hub tunnel refused: {refused}"))
    for kind, fate in result.intruders.items():
        admitted = fate["joined"] or fate["receivedMessages"]
        what = {"none": "no credential", "foreign": "credential from another CA"}.get(kind, "another job's cluster")
        lines.append(Line(f"  intruder ({what}): "
                          f"{'JOINED' if fate['joined'] else 'refused'}, "
                          f"{'RECEIVED messages' if fate['receivedMessages'] else 'received no model'}",
                          "red" if admitted else "green"))
    if result.validation is not None:
        lines += validation_lines(result.validation)
    return lines


def validation_lines(v: dict[str, Any]) -> list[Line]:
    """The quality gate's verdict, its thresholds and every class's recall."""
    passed = v.get("verdict") == "passed"
    limits = ", ".join(f"{k} {val}" for k, val in sorted(v.get("thresholds", {}).items()))
    acc = v.get("accuracy")
    lines = [Line(f"validation {'PASSED' if passed else 'FAILED'}: accuracy "
                  f"{'-' if acc is None else f'{acc:.4f}'} on {v.get('samples', 0)} samples ({limits}); "
                  f"model {str(v.get('modelDigest') or '-')[:19]}", "green" if passed else "red")]
    floor = v.get("thresholds", {}).get("minPerClassRecall")
    recall = v.get("perClassRecall") or {}
    for cls in sorted(recall, key=lambda c: (0, int(c)) if c.isdigit() else (1, c)):
        low = floor is not None and recall[cls] < floor
        lines.append(Line(f"  class {cls}: recall {recall[cls]:.4f}{'  < ' + str(floor) if low else ''}",
                          "red" if low else None))
    lines += [Line(f"  ! {reason}", "red") for reason in v.get("reasons", [])]
    return lines
