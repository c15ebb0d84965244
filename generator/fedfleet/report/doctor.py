"""The doctor's report as text (one line per step, the fix under a failed one) and JSON."""

from __future__ import annotations

from typing import Any

from ..doctor import DoctorReport

_MARK = {"pass": "ok  ", "fail": "FAIL", "skip": "skip"}


def doctor_text(report: DoctorReport) -> str:
    lines = [f"hub {report.hub} ({report.server})"]
    for step in report.steps:
        lines.append(f"{_MARK[step.status]} {step.name:<13} {step.verdict}")
        if step.status == "fail":
            lines.extend(f"       - {d}" for d in step.details)
            lines.append(f"       fix: {step.fix}")
    if report.ready:
        lines.append("ready: every step passed")
    else:
        lines.append(f"not ready: {len(report.failed)} step(s) failed, first {report.failed[0].name}; "
                     "fix it and run fedfleet doctor again")
    return "\n".join(lines) + "\n"


def doctor_json(report: DoctorReport) -> dict[str, Any]:
    return report.as_dict()
