"""The catalogue of governance rules: plugins, their controls, and the policies each hub gets."""

from __future__ import annotations

from typing import Any

from ..pipeline import Rendered


def policy_catalogue(rendered: Rendered) -> list[dict[str, Any]]:
    """One entry per plugin, with the ACM policies it produced per hub and its Rego twin modules."""
    rego = rendered.registry.rego_modules()
    out = []
    for name, plugin in sorted(rendered.registry.plugins.items()):
        c = plugin.concern
        out.append({
            "plugin": name, "concern": c.name, "title": c.title, "severity": c.severity,
            "standards": list(c.standards), "categories": list(c.categories), "controls": list(c.controls),
            "enabled": name in rendered.registry.enabled(rendered.fleet.plugin_params),
            "rego": sorted(rego.get(name, {})),
            "policies": [{
                "hub": hub, "name": p.name, "rule": p.rule, "remediation": p.remediation, "placement": p.placement,
                "controls": ", ".join(p.controls),
            } for hub, g in sorted(rendered.governance.items()) for p in g.policies_of(c.name)],
        })
    return out


def catalogue_text(entries: list[dict[str, Any]]) -> str:
    lines = []
    for e in entries:
        state = "" if e["enabled"] else " (disabled)"
        lines.append(f"{e['plugin']}{state}: {e['title']}")
        lines.append(f"  controls: {'; '.join(e['controls'])} ({', '.join(e['standards'])}), severity {e['severity']}")
        lines.append(f"  rego twin: {', '.join(e['rego']) or '(none)'}")
        for p in e["policies"]:
            lines.append(f"  {p['hub']:<10} {p['name']:<40} {p['remediation']:<8} rule {p['rule'] or '-'} -> placement {p['placement']}")
        lines.append("")
    return "\n".join(lines)
