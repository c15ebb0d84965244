"""Renderers of the check report: terminal text, JSON, JUnit XML, SARIF 2.1.0 and Markdown."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from typing import Any

from .. import __version__
from ..findings import Finding, Severity
from ..results import CheckReport

_ICON = {"passed": "✅", "failed": "❌", "skipped": "⏭️"}
_SARIF_LEVEL = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}
# SARIF needs a file for every result; findings about the fleet as a whole point at its spec.
FALLBACK_FILE = "specs/fleet.yaml"


def to_json(report: CheckReport) -> dict[str, Any]:
    return {
        "ok": report.exit_code == 0,
        "exitCode": report.exit_code,
        "checks": [{"name": r.name, "title": r.title, "status": r.status, "summary": r.summary, "seconds": r.seconds,
                    "findings": [f.as_dict() for f in r.findings]} for r in report.runs],
        # every check's findings in one list too, so bad input reads as for every verb: {ok, exitCode, findings}
        "findings": [f.as_dict() for r in report.runs for f in r.findings],
    }


def to_text(report: CheckReport) -> str:
    lines = []
    for r in report.runs:
        lines.append(f"{r.status.upper():<8} {r.name:<10} {r.summary}")
        for f in r.findings:
            lines.append(f"         {f.render()}")
    errors = sum(1 for f in report.findings if f.severity is Severity.ERROR)
    warnings = sum(1 for f in report.findings if f.severity is Severity.WARNING)
    verdict = {0: "all checks passed", 1: "checks failed", 2: "bad input"}[report.exit_code]
    lines.append(f"{verdict}: {errors} error(s), {warnings} warning(s)")
    return "\n".join(lines) + "\n"


def to_junit(report: CheckReport) -> str:
    """One testsuite per check; one testcase per error (a failure), or one passing testcase."""
    suites = ET.Element("testsuites", name="fedfleet check")
    for r in report.runs:
        errors = [f for f in r.findings if f.severity is Severity.ERROR]
        suite = ET.SubElement(suites, "testsuite", name=f"fedfleet.{r.name}", tests=str(max(1, len(errors))),
                              failures=str(len(errors)), skipped="1" if r.skipped else "0", time=str(r.seconds))
        if r.skipped:
            case = ET.SubElement(suite, "testcase", classname=f"fedfleet.{r.name}", name=r.title)
            ET.SubElement(case, "skipped", message=r.summary)
        elif not errors:
            ET.SubElement(suite, "testcase", classname=f"fedfleet.{r.name}", name=r.title, time=str(r.seconds))
        for f in errors:
            name = f"{f.check}: {f.subject or f.location or r.title}"
            case = ET.SubElement(suite, "testcase", classname=f"fedfleet.{r.name}", name=name)
            failure = ET.SubElement(case, "failure", message=f.message, type=f.check)
            failure.text = f.render()
    ET.indent(suites)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, encoding="unicode") + "\n"


def _sarif_location(f: Finding) -> dict[str, Any]:
    loc = f.location
    uri = loc.file if loc and "." in loc.file.rsplit("/", 1)[-1] else (f"{loc.file}/kustomization.yaml" if loc else FALLBACK_FILE)
    region: dict[str, int] = {"startLine": max(1, loc.line if loc else 1)}
    if loc and loc.column:
        region["startColumn"] = loc.column
    return {"physicalLocation": {"artifactLocation": {"uri": uri}, "region": region}}


def to_sarif(report: CheckReport) -> dict[str, Any]:
    """SARIF 2.1.0: each finding located at the spec file and line that caused it."""
    rules: dict[str, dict[str, Any]] = {}
    results = []
    for r in report.runs:
        for f in r.findings:
            rules.setdefault(f.check, {"id": f.check, "name": f.check.replace(":", "-").replace(".", "-"),
                                       "shortDescription": {"text": f"fedfleet {r.name} check: {f.check}"},
                                       "properties": {"fedfleetCheck": r.name}})
            text = f.message + (f" ({f.subject})" if f.subject else "") + (f" [field {f.field}]" if f.field else "")
            results.append({"ruleId": f.check, "level": _SARIF_LEVEL[f.severity], "message": {"text": text},
                            "locations": [_sarif_location(f)]})
    return {
        "$schema": "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "fedfleet", "version": __version__,
                                "informationUri": "https://github.com/fedfleet/fedfleet",
                                "rules": [rules[k] for k in sorted(rules)]}},
            "results": results,
            "invocations": [{"executionSuccessful": not report.bad_input, "exitCode": report.exit_code}],
        }],
    }


def to_markdown(report: CheckReport) -> str:
    verdict = {0: "✅ all checks passed", 1: "❌ checks failed", 2: "❌ the specs do not load"}[report.exit_code]
    lines = [f"## fedfleet check: {verdict}", "", "| check | status | summary |", "| --- | --- | --- |"]
    for r in report.runs:
        lines.append(f"| {r.title} | {_ICON[r.status]} {r.status} | {r.summary} |")
    findings = report.findings
    if findings:
        lines += ["", "| severity | where | finding |", "| --- | --- | --- |"]
        for f in findings:
            where = f"`{f.location}`" if f.location else ""
            msg = (f.message + (f" ({f.subject})" if f.subject else "")).replace("|", "\\|")
            lines.append(f"| {f.severity.value} | {where} | {msg} |")
    return "\n".join(lines) + "\n"


def _json_text(doc: dict[str, Any]) -> str:
    """`json.dumps(doc, indent=2, sort_keys=True)` and a newline, byte for byte, written by orjson
    (at 10,000 clusters a 4.7 MB report: 0.1 s with json's encoder, 5 ms with orjson, after Rego,
    on the run's critical path) when orjson's text is certainly the same: both indent, separate
    and sort keys alike, escape `"`, `\\` and control characters alike; they differ in what json
    escapes and orjson writes as UTF-8 (non-ASCII, DEL: so any such byte falls back), in floats
    (json's repr writes 1e-05 where orjson writes 0.00001: the report's only floats are the
    checks' seconds, rounded to milliseconds, so 0.0 or >= 0.001, checked here) and in what
    orjson refuses (an integer beyond 64 bits). tests/test_report_json.py compares both."""
    import orjson

    seconds = [c.get("seconds") for c in doc.get("checks", [])]
    if all(type(s) is int or (type(s) is float and (s == 0 or 1e-4 <= abs(s) < 1e16)) for s in seconds):
        try:
            raw = orjson.dumps(doc, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS | orjson.OPT_APPEND_NEWLINE)
        except TypeError:
            raw = b"\x80"  # not JSON orjson writes: json decides below
        if raw.isascii() and b"\x7f" not in raw:
            return raw.decode("ascii")
    return json.dumps(doc, indent=2, sort_keys=True) + "\n"


def render(report: CheckReport, fmt: str) -> str:
    if fmt == "json":
        return _json_text(to_json(report))
    if fmt == "sarif":
        return json.dumps(to_sarif(report), indent=2) + "\n"
    if fmt == "junit":
        return to_junit(report)
    if fmt == "markdown":
        return to_markdown(report)
    return to_text(report)
