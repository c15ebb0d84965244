"""Renderers of the audit: text, Markdown, JSON and one self-contained HTML file.

The HTML has no remote scripts, styles or fonts: inline CSS and an inline SVG chart of compliance
counts per control, so it opens from a CI artifact or an e-mail as it is.
"""

from __future__ import annotations

import html
import json
from typing import Any

from ..audit.model import AuditReport, ControlGroup, PolicyEntry

_STATUS_WORD = {"pass": "pass", "fail": "FAIL", "none": "no twin"}


def _live(p: PolicyEntry) -> str:
    if p.live_status is None:
        return ""
    bad = [c for c, v in p.live_clusters.items() if v == "NonCompliant"]
    argo = f", Argo CD {p.argo_health.status}" if p.argo_health else ""
    return p.live_status + (f" ({', '.join(bad)})" if bad else "") + argo


def to_json(report: AuditReport) -> str:
    return json.dumps(report.as_dict(), indent=2, sort_keys=True) + "\n"


def to_text(report: AuditReport) -> str:
    lines = [f"fleet {report.fleet}: {'compliant' if report.compliant else 'NOT compliant'}"
             + (f" (live: {', '.join(report.live_hubs)})" if report.live_hubs else " (offline)")]
    for c in report.controls:
        counts = c.counts()
        lines.append(f"\n{c.standard} {c.control}  [{counts['compliant']} ok, {counts['noncompliant']} not, {counts['unknown']} unknown]")
        for p in c.policies:
            live = f"  live: {_live(p)}" if p.live_status is not None else ""
            lines.append(f"  {p.hub:<10} {p.name:<42} {p.remediation:<8} rego {_STATUS_WORD[p.rego_status]:<7} "
                         f"-> {len(p.clusters)} cluster(s){live}")
    if report.metrics:
        lines.append("\nmetrics:")
        lines += [f"  {m.hub:<10} {m.job:<24} {m.framework:<7} {'exports' if m.exports else 'NO':<8} {m.why}"
                  for m in report.metrics]
    if report.validations:
        lines.append("\nvalidation (last run of each gated job):")
        for v in report.validations:
            lines.append(f"  {v['hub']:<10} {v['job']:<24} {_validation_summary(v)}")
            if v.get("perClassRecall"):
                lines.append("    per class: " + "  ".join(f"{c} {r:.2f}" for c, r in _classes(v)))
    if report.gaps:
        lines.append("\ngaps:")
        lines += [f"  {g.hub}: {g.message}" for g in report.gaps]
    if report.live_findings:
        lines.append("\nlive:")
        lines += [f"  {f.hub}: {f.kind} {f.name}: {f.message}" for f in report.live_findings]
    return "\n".join(lines) + "\n"


def _md(text: str) -> str:
    return text.replace("|", "\\|")


def to_markdown(report: AuditReport) -> str:
    mode = f"live from {', '.join(report.live_hubs)}" if report.live_hubs else "offline, from the repository"
    lines = [f"# Policy audit of fleet `{report.fleet}`", "",
             f"**{'Compliant' if report.compliant else 'Not compliant'}** ({mode}).", ""]
    lines += ["| standard | control | policies | compliant | non-compliant | unknown |", "| --- | --- | --- | --- | --- | --- |"]
    for c in report.controls:
        n = c.counts()
        lines.append(f"| {c.standard} | {c.control} | {len(c.policies)} | {n['compliant']} | {n['noncompliant']} | {n['unknown']} |")
    for c in report.controls:
        lines += ["", f"## {c.standard} {c.control}", "",
                  "| hub | policy | concern | remediation | targets | Rego twin | live |", "| --- | --- | --- | --- | --- | --- | --- |"]
        for p in c.policies:
            targets = f"{p.target}: {', '.join(p.clusters) or '(none)'}"
            lines.append(f"| {p.hub} | `{p.name}` | {p.concern} | {p.remediation} | {_md(targets)} | "
                         f"{_STATUS_WORD[p.rego_status]} | {_md(_live(p))} |")
    if report.metrics:
        lines += ["", "## Training metrics", "", "| hub | job | framework | exported | why |", "| --- | --- | --- | --- | --- |"]
        lines += [f"| {m.hub} | `{m.job}` | {m.framework} | {'yes' if m.exports else 'no'} | {_md(m.why)} |"
                  for m in report.metrics]
    if report.validations:
        lines += ["", "## Model validation (last run)", "", "| hub | job | verdict | accuracy | lowest class recall | thresholds | model |",
                  "| --- | --- | --- | --- | --- | --- | --- |"]
        for v in report.validations:
            low = min(_classes(v), key=lambda cr: cr[1], default=None)
            lines.append(f"| {v['hub']} | `{v['job']}` | {_md(_verdict(v))} | {_pct(v.get('accuracy'))} | "
                         f"{f'{low[0]}: {low[1]:.3f}' if low else '-'} | {_md(_limits(v))} | `{(v.get('modelDigest') or '-')[:19]}` |")
    if report.gaps:
        lines += ["", "## Gaps", ""] + [f"- **{g.hub}** ({g.concern}): {_md(g.message)}" for g in report.gaps]
    if report.live_findings:
        lines += ["", "## Expected vs actual on the hub", ""]
        lines += [f"- **{f.hub}** {f.kind} `{f.name}`: {_md(f.message)}" for f in report.live_findings]
    return "\n".join(lines) + "\n"


def _chart(controls: list[ControlGroup]) -> str:
    """A horizontal stacked bar per control: compliant, non-compliant, unknown."""
    row, label_w, bar_w = 22, 420, 360
    height = row * len(controls) + 30
    most = max((len(c.policies) for c in controls), default=1) or 1
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="Compliance by control" '
             f'width="{label_w + bar_w + 60}" height="{height}" viewBox="0 0 {label_w + bar_w + 60} {height}">']
    colours = (("compliant", "#2e7d32"), ("noncompliant", "#c62828"), ("unknown", "#9e9e9e"))
    for i, c in enumerate(controls):
        y = 10 + i * row
        label = c.control if len(c.control) <= 58 else c.control[:56] + "…"
        parts.append(f'<text x="{label_w - 6}" y="{y + 14}" text-anchor="end" font-size="12">'
                     f'<title>{html.escape(c.control)}</title>{html.escape(label)}</text>')
        x = label_w
        counts = c.counts()
        for key, colour in colours:
            w = bar_w * counts[key] / most
            if w:
                parts.append(f'<rect x="{x:.1f}" y="{y}" width="{w:.1f}" height="16" fill="{colour}">'
                             f'<title>{counts[key]} {key}</title></rect>')
            x += w
        parts.append(f'<text x="{x + 6:.1f}" y="{y + 13}" font-size="11">{counts["compliant"]}/{len(c.policies)}</text>')
    legend_y = height - 8
    for j, (key, colour) in enumerate(colours):
        parts.append(f'<rect x="{label_w + j * 120}" y="{legend_y - 10}" width="10" height="10" fill="{colour}"/>'
                     f'<text x="{label_w + j * 120 + 14}" y="{legend_y}" font-size="11">{key}</text>')
    parts.append("</svg>")
    return "".join(parts)


_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:2rem;color:#212121;max-width:1200px}
h1{font-size:1.5rem}h2{font-size:1.1rem;margin-top:2rem}h3{font-size:.95rem}
table{border-collapse:collapse;width:100%;margin:.5rem 0;font-size:.85rem}
th,td{border:1px solid #ddd;padding:.3rem .5rem;text-align:left;vertical-align:top}
th{background:#f5f5f5}.ok{color:#2e7d32;font-weight:600}.bad{color:#c62828;font-weight:600}
.muted{color:#757575}code{font-family:ui-monospace,monospace;font-size:.8rem}
"""


def to_html(report: AuditReport) -> str:
    e = html.escape
    mode = f"live from {', '.join(report.live_hubs)}" if report.live_hubs else "offline, from the repository"
    verdict = '<span class="ok">Compliant</span>' if report.compliant else '<span class="bad">Not compliant</span>'
    body = [f"<h1>Policy audit of fleet <code>{e(report.fleet)}</code></h1>",
            f"<p>{verdict} ({e(mode)}). {sum(len(c.policies) for c in report.controls)} policy entries under "
            f"{len(report.controls)} controls.</p>", _chart(report.controls)]
    if report.validations:
        body.append("<h2>Model validation (last run)</h2>")
        for v in report.validations:
            cls = "ok" if v.get("verdict") == "passed" else ("bad" if v.get("recorded") else "muted")
            body.append(f"<h3><code>{e(v['job'])}</code> on {e(v['hub'])}: <span class='{cls}'>{e(_verdict(v))}</span></h3>"
                        f"<p>accuracy {e(_pct(v.get('accuracy')))} on {v.get('samples', 0)} samples; {e(_limits(v))}; "
                        f"run {e(str(v.get('run') or '-'))} (Flower run {e(str(v.get('runId') or '-'))}), "
                        f"completed {e(str(v.get('completedAt') or '-'))}; model <code>{e(str(v.get('modelDigest') or '-'))}</code></p>")
            if v.get("perClassRecall"):
                body.append(_recall_chart(v))
            if v.get("reasons"):
                body.append("<ul>" + "".join(f"<li class='bad'>{e(r)}</li>" for r in v["reasons"]) + "</ul>")
    for c in report.controls:
        body.append(f'<h2 id="{e(c.control.split()[0])}">{e(c.standard)} {e(c.control)}</h2>')
        body.append("<table><thead><tr><th>hub</th><th>policy</th><th>concern</th><th>remediation</th>"
                    "<th>targets</th><th>Rego twin</th><th>live</th></tr></thead><tbody>")
        for p in c.policies:
            rego_cls = {"pass": "ok", "fail": "bad", "none": "muted"}[p.rego_status]
            live_cls = "ok" if p.live_status == "Compliant" else ("bad" if p.live_status else "muted")
            body.append(
                f"<tr><td>{e(p.hub)}</td><td><code>{e(p.name)}</code></td><td>{e(p.concern)}</td><td>{e(p.remediation)}</td>"
                f"<td>{e(p.target)}<br><span class='muted'>{e(', '.join(p.clusters) or '(none)')}</span></td>"
                f"<td class='{rego_cls}'>{e(_STATUS_WORD[p.rego_status])}</td>"
                f"<td class='{live_cls}'>{e(_live(p)) or '—'}</td></tr>")
        body.append("</tbody></table>")
    if report.metrics:
        body.append("<h2>Training metrics</h2><ul>" + "".join(
            f"<li><b>{e(m.job)}</b> ({e(m.framework)}, {e(m.hub)}): {'exported' if m.exports else 'not exported'}, "
            f"{e(m.why)}</li>" for m in report.metrics) + "</ul>")
    if report.gaps:
        body.append("<h2>Gaps</h2><ul>" + "".join(f"<li><b>{e(g.hub)}</b> ({e(g.concern)}): {e(g.message)}</li>"
                                                   for g in report.gaps) + "</ul>")
    if report.live_findings:
        body.append("<h2>Expected vs actual on the hub</h2><ul>" + "".join(
            f"<li><b>{e(f.hub)}</b> {e(f.kind)} <code>{e(f.name)}</code>: {e(f.message)}</li>" for f in report.live_findings) + "</ul>")
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>fedfleet audit: {e(report.fleet)}</title><style>{_CSS}</style></head><body>\n"
            + "\n".join(body) + "\n</body></html>\n")


def _classes(v: dict[str, Any]) -> list[tuple[str, float]]:
    recall = v.get("perClassRecall") or {}
    return [(c, recall[c]) for c in sorted(recall, key=lambda c: (0, int(c)) if c.isdigit() else (1, c))]


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.4f}"


def _verdict(v: dict[str, Any]) -> str:
    if not v.get("recorded"):
        return "no result recorded yet"
    word = "passed" if v.get("verdict") == "passed" else "FAILED"
    return word + (" (an earlier run's)" if v.get("stale") else "")


def _limits(v: dict[str, Any]) -> str:
    return ", ".join(f"{k} {val}" for k, val in sorted(v.get("thresholds", {}).items())) or "no thresholds"


def _validation_summary(v: dict[str, Any]) -> str:
    if not v.get("recorded"):
        return f"no result recorded yet ({_limits(v)})"
    return (f"{_verdict(v)}: accuracy {_pct(v.get('accuracy'))} ({_limits(v)}), run {v.get('run')}, "
            f"model {(v.get('modelDigest') or '-')[:19]}" + "".join(f"; {r}" for r in v.get("reasons", [])))


def _recall_chart(v: dict[str, Any]) -> str:
    """Per-class recall as vertical bars, red under minPerClassRecall, with that floor as a dashed line."""
    e = html.escape
    classes = _classes(v)
    floor = v.get("thresholds", {}).get("minPerClassRecall")
    col, top, plot_h, left = 34, 14, 120, 34
    width, height = left + col * len(classes) + 10, top + plot_h + 34
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="Per-class recall of {e(v["job"])}" '
             f'width="{width}" height="{height}" viewBox="0 0 {width} {height}">']
    for tick in (0.0, 0.5, 1.0):
        y = top + plot_h * (1 - tick)
        parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{width - 6}" y2="{y:.1f}" stroke="#e0e0e0"/>'
                     f'<text x="{left - 4}" y="{y + 4:.1f}" text-anchor="end" font-size="10">{tick:.1f}</text>')
    for i, (cls, recall) in enumerate(classes):
        h = plot_h * max(0.0, min(1.0, recall))
        x = left + i * col + 5
        colour = "#c62828" if floor is not None and recall < floor else "#2e7d32"
        parts.append(f'<rect x="{x}" y="{top + plot_h - h:.1f}" width="{col - 10}" height="{h:.1f}" fill="{colour}">'
                     f'<title>class {e(cls)}: recall {recall:.4f}</title></rect>'
                     f'<text x="{x + (col - 10) / 2:.1f}" y="{top + plot_h + 14}" text-anchor="middle" font-size="11">{e(cls)}</text>')
    if floor is not None:
        y = top + plot_h * (1 - floor)
        parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{width - 6}" y2="{y:.1f}" stroke="#212121" stroke-dasharray="4 3">'
                     f'<title>minPerClassRecall {floor}</title></line>')
    parts.append(f'<text x="{left}" y="{height - 4}" font-size="11">recall per class'
                 + (f' (dashed: minPerClassRecall {floor})' if floor is not None else '') + '</text>')
    parts.append("</svg>")
    return "".join(parts)


def render(report: AuditReport, fmt: str) -> str:
    return {"json": to_json, "markdown": to_markdown, "html": to_html}.get(fmt, to_text)(report)
