"""check's JSON report is written by orjson where that is certainly json.dumps's text, by json's
encoder otherwise: the two must give the same bytes for every report (report/check.py _json_text)."""

from __future__ import annotations

import json
import random

from fedfleet.findings import Finding, Location, Severity, Subject
from fedfleet.report.check import _json_text, render, to_json
from fedfleet.results import CheckReport, CheckRun


def _stdlib(doc: object) -> str:
    return json.dumps(doc, indent=2, sort_keys=True) + "\n"


def _report(messages: list[str], seconds: list[float]) -> CheckReport:
    runs = []
    for i, s in enumerate(seconds):
        found = [Finding("crd" if j % 2 else "placeholder", m, Severity.ERROR if j % 3 else Severity.WARNING,
                         Location(f"overlays/hub-{i}", j, j % 7) if j % 5 else None, f"spec.f{j}",
                         Subject("Policy", m[:20], "ns", "hub") if j % 4 else None)
                 for j, m in enumerate(messages)]
        runs.append(CheckRun(f"check{i}", f"title {i}", found if i % 2 else [], seconds=s, summary=f"s{i}"))
    return CheckReport(runs)


def test_the_same_text_as_json_dumps_for_plain_reports() -> None:
    report = _report([f"message {n}: \"quoted\" \\ back/slash\ttab\nline" for n in range(50)],
                     [0.0, 0.001, 0.0015, 1.234, 12.5, 1000.0, 3.0])
    doc = to_json(report)
    assert render(report, "json") == _stdlib(doc)
    assert _json_text({"ok": True, "exitCode": 0, "checks": []}) == _stdlib({"ok": True, "exitCode": 0, "checks": []})


def test_every_character_and_awkward_value_gives_json_dumps_text() -> None:
    """Control characters, DEL, non-ASCII (json escapes, orjson would write UTF-8), surrogate
    pairs, tiny and huge seconds (json's repr uses exponents), integers beyond 64 bits."""
    rng = random.Random(15)
    alphabet = [chr(c) for c in range(0x00, 0x100)] + ["\u2028", "\ud7ff", "\U0001f600", "é", "Ω"]
    for _ in range(300):
        messages = ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12))) for _ in range(rng.randint(0, 4))]
        seconds = [rng.choice([0.0, 0.001, 1e-05, 0.00012, 2.5, 1e16, 1e17, 123456.789, 7]) for _ in range(rng.randint(0, 3))]
        doc = to_json(_report(messages, seconds))
        assert _json_text(doc) == _stdlib(doc), (messages, seconds)
    huge = {"checks": [{"seconds": 0.5, "findings": [{"line": 2**70}]}]}
    assert _json_text(huge) == _stdlib(huge)
    ascii_only = to_json(_report(["plain"], [0.25]))
    assert _json_text(ascii_only) == _stdlib(ascii_only) and ascii_only["checks"]
