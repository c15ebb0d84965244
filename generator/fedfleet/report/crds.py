"""Renderers of `fedfleet crds pull` and `fedfleet crds list`: a JSON form and text lines."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from .summary import Line

if TYPE_CHECKING:
    from ..crdstore import Entry, PullReport

_STYLE = {"pulled": "green", "present": None, "missing": "yellow", "refused": "red", "failed": "red"}


def pull_json(report: PullReport) -> dict[str, Any]:
    return {"ok": report.ok, "store": str(report.store), "go": report.go,
            "counts": {s: report.count(s) for s in ("present", "pulled", "missing", "refused", "failed")},
            "crds": [o.as_dict() for o in report.outcomes]}


def pull_lines(report: PullReport, quiet: bool = False) -> list[Line]:
    """One line per locked CRD, then the verdict; `quiet` (-q) keeps only the CRDs that need a
    look (missing, refused, failed) and the verdict."""
    lines = []
    for o in report.outcomes:
        if quiet and o.status in ("present", "pulled"):
            continue
        text = f"{o.status:8} {o.entry.file}"
        if o.status == "pulled":
            text += f" ({o.source})"
        if o.detail:
            text += f": {o.detail}"
        lines.append(Line(text, _STYLE[o.status], "err" if o.status in ("refused", "failed") else "out"))
    have = report.count("present", "pulled")
    verdict = "ok" if report.ok else "FAILED"
    lines.append(Line(f"crds pull {verdict}: {have} of {len(report.outcomes)} locked CRDs in {report.store}"
                      + (f", {report.count('missing')} missing (need --from DIR)" if report.count("missing") else ""),
                      "green" if report.ok else "red"))
    return lines


def list_json(entries: list[Entry], store: Path, present: set[str]) -> dict[str, Any]:
    return {"store": str(store), "crds": [{**e.as_dict(), "inStore": e.file in present} for e in entries]}


def list_lines(entries: list[Entry], store: Path, present: set[str]) -> list[Line]:
    lines = [Line(f"{'ok' if e.file in present else '--'} {e.file}  {e.repository}@{e.commit[:12]}  "
                  + (f"{e.module}@{e.version}" if e.served else "not on the Go module proxy"))
             for e in entries]
    lines.append(Line(f"{len(present)} of {len(entries)} locked CRDs in {store}"))
    return lines
