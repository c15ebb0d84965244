"""The offline audit: from the repo alone.

Gaps are measured against what the governance plugins produce with their defaults (every plugin
enabled, no per-policy override): a policy that the defaults would place on a hub but the fleet's
parameters removed is a gap, and so is a concern with no policy at all on a hub that runs jobs.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

from .. import pipeline
from ..checks import rego
from ..findings import Severity
from ..governance import governance_objects
from ..governance.wrap import ANN_CONCERN, ANN_CONTROLS, ANN_RULE, ANN_STANDARDS, ANN_TARGET
from ..spec.model import Fleet
from .model import AuditReport, ControlGroup, Gap, PolicyEntry


_RULE_ID = re.compile(r'"rule":\s*"([^"]+)"')


def target_clusters(rendered: pipeline.Rendered, hub: str, target: str) -> list[str]:
    """The clusters a policy's target covers, from the plan (job clients) or the inventory."""
    fleet = rendered.fleet
    if target == "hub":
        return [f"{hub} (local-cluster)"]
    kind, _, name = target.partition(":")
    if kind == "job-clients":
        return list(rendered.plan.clusters_of(name))
    if kind == "job-cluster-sets":
        sets = set(fleet.job_cluster_sets(fleet.job(name)))
        return sorted(c.name for c in fleet.clusters if c.cluster_set in sets)
    return sorted(c.name for c in fleet.clusters if c.cluster_set == name)


def _split(value: str) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()]


def policy_entries(rendered: pipeline.Rendered) -> list[PolicyEntry]:
    entries = []
    for path, docs in sorted(rendered.bundle.items()):
        if "/governance/" not in path:
            continue
        hub = path.split("/")[1]
        for doc in docs:
            if doc["kind"] != "Policy":
                continue
            ann = doc["metadata"]["annotations"]
            target = ann.get(ANN_TARGET, "hub")
            entries.append(PolicyEntry(
                hub=hub, name=doc["metadata"]["name"], concern=ann.get(ANN_CONCERN, ""), rule=ann.get(ANN_RULE, ""),
                remediation=doc["spec"]["remediationAction"], target=target,
                clusters=target_clusters(rendered, hub, target), standards=_split(ann.get(ANN_STANDARDS, "")),
                controls=_split(ann.get(ANN_CONTROLS, "")),
            ))
    return entries


def attach_rego(rendered: pipeline.Rendered, entries: list[PolicyEntry], objects: dict[str, list[dict[str, Any]]] | None) -> None:
    """Each policy's PR-time twin: the Rego findings of its rule on its hub (and job, if job-bound)."""
    modules = rego.plugin_modules(rendered.registry.rego_modules())
    findings = rego.evaluate(rendered.fleet, rendered.plan, objects or rendered.bundle, modules).findings
    hub_of_job = {j.name: j.hub for j in rendered.fleet.jobs}
    # A rule has a twin when some module emits results with that rule id.
    twins = {rule for mods in rendered.registry.rego_modules().values() for src in mods.values()
             for rule in _RULE_ID.findall(src)}
    for e in entries:
        job = e.target.partition(":")[2] if e.target.startswith("job-") else ""
        mine = []
        for f in findings:
            if f.check != f"rego:{e.rule}" or f.severity is not Severity.ERROR:
                continue
            subject_job = f.subject.removeprefix("FederatedLearningJob ") if f.subject.startswith("FederatedLearningJob ") else ""
            subject_hub = f.subject.removeprefix("hub ") if f.subject.startswith("hub ") else hub_of_job.get(subject_job, "")
            if subject_hub == e.hub and (not job or subject_job in ("", job)):
                mine.append(f"{f.location}: {f.message}" if f.location else f.message)
        e.rego_findings = mine
        e.rego_status = "fail" if mine else ("pass" if e.rule in twins else "none")


def group_by_control(entries: list[PolicyEntry]) -> list[ControlGroup]:
    groups: dict[tuple[str, str], ControlGroup] = {}
    for e in entries:
        for standard in e.standards or ["(no standard)"]:
            for control in e.controls or ["(no control)"]:
                groups.setdefault((standard, control), ControlGroup(standard, control)).policies.append(e)
    return [groups[k] for k in sorted(groups)]


def _default_params(fleet: Fleet) -> Fleet:
    """The fleet with every plugin enabled and no per-policy overrides: what 'complete' means."""
    params = {name: {k: v for k, v in p.items() if k not in ("enabled", "overrides")}
              for name, p in fleet.plugin_params.items()}
    return replace(fleet, plugin_params=params)


def gaps(rendered: pipeline.Rendered, entries: list[PolicyEntry]) -> list[Gap]:
    found: list[Gap] = []
    actual = {(e.hub, e.name) for e in entries}
    expected = governance_objects(_default_params(rendered.fleet), rendered.plan, rendered.registry)
    params = rendered.fleet.plugin_params
    for hub, objects in sorted(expected.items()):
        for o in objects:
            if o["kind"] != "Policy" or (hub, o["metadata"]["name"]) in actual:
                continue
            ann = o["metadata"]["annotations"]
            concern, target = ann[ANN_CONCERN], ann.get(ANN_TARGET, "hub")
            plugin = next((n for n, p in rendered.registry.plugins.items() if p.concern.name == concern), concern)
            why = "the plugin is disabled" if params.get(plugin, {}).get("enabled") is False else "an override disables it"
            job = target.partition(":")[2] if target.startswith("job-") else ""
            where = f"for job {job} on clusters {', '.join(target_clusters(rendered, hub, target)) or '(none selected)'}" if job else f"on hub {hub}"
            found.append(Gap(hub, concern, f"policy {o['metadata']['name']} ({ann[ANN_CONTROLS]}) is not enforced {where}: {why}", job))
    for hub in rendered.fleet.hubs:
        if not rendered.fleet.jobs_on(hub.name):
            continue
        present = {e.concern for e in entries if e.hub == hub.name}
        for plugin in rendered.registry.plugins.values():
            if plugin.concern.name not in present:
                found.append(Gap(hub.name, plugin.concern.name, f"hub {hub.name} runs jobs but has no {plugin.concern.name} policy at all"))
    return found


def offline_audit(rendered: pipeline.Rendered, built_objects: dict[str, list[dict[str, Any]]] | None = None) -> AuditReport:
    entries = policy_entries(rendered)
    attach_rego(rendered, entries, built_objects)
    return AuditReport(fleet=rendered.fleet.name, controls=group_by_control(entries), gaps=gaps(rendered, entries))
