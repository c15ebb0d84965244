"""The offline audit: from the repo alone.

Gaps are measured against what the governance plugins produce with their defaults (every plugin
enabled, no per-policy override): a policy that the defaults would place on a hub but the fleet's
parameters removed is a gap, and so is a concern with no policy at all on a hub that runs jobs.
"""

from __future__ import annotations

import re
from dataclasses import replace

from .. import pipeline
from ..checks import rego
from ..findings import Severity
from ..governance import Target, govern
from ..governance.wrap import target_label
from ..spec.model import Fleet
from ..upstream import OTEL_ENDPOINT, SIDECAR_ANNOTATION
from .model import AuditReport, ControlGroup, Gap, MetricsExport, PolicyEntry


_RULE_ID = re.compile(r'"rule":\s*"([^"]+)"')


def target_clusters(rendered: pipeline.Rendered, hub: str, target: Target) -> list[str]:
    """The clusters a policy's target covers, from the plan (job clients) or the inventory."""
    fleet = rendered.fleet
    if target.kind == "hub":
        return [f"{hub} (local-cluster)"]
    if target.kind == "job-clients":
        return list(rendered.plan.clusters_of(target.job))
    if target.kind == "job-cluster-sets":
        sets = set(fleet.job_cluster_sets(fleet.job(target.job)))
        return sorted(c.name for c in fleet.clusters if c.cluster_set in sets)
    return sorted(c.name for c in fleet.clusters if c.cluster_set == target.cluster_set)


def policy_entries(rendered: pipeline.Rendered) -> list[PolicyEntry]:
    """Every policy of every hub, by hub and then by concern (the order of the overlay's files)."""
    entries = []
    for hub, g in sorted(rendered.governance.items()):
        for p in sorted(g.policies, key=lambda w: w.concern.name):
            entries.append(PolicyEntry(
                hub=hub, name=p.name, concern=p.concern.name, rule=p.rule, remediation=p.remediation,
                target=target_label(p.target), job=p.target.job if p.target.kind.startswith("job-") else "",
                clusters=target_clusters(rendered, hub, p.target), standards=list(p.concern.standards),
                controls=list(p.controls), twin=p.content.twin,
            ))
    return entries


def attach_rego(rendered: pipeline.Rendered, entries: list[PolicyEntry], objects: list[rego.HubObject] | None) -> None:
    """Each policy's PR-time twin: the Rego findings of its rule on its hub (and job, if job-bound)."""
    modules = rego.plugin_modules(rendered.registry.rego_modules())
    findings = rego.evaluate(rendered.fleet, rendered.plan, objects or rendered.bundle, modules).findings
    # A rule has a twin when some module emits results with that rule id.
    twins = {rule for mods in rendered.registry.rego_modules().values() for src in mods.values()
             for rule in _RULE_ID.findall(src)}
    for e in entries:
        job = e.job
        mine = []
        for f in findings:
            if f.check != f"rego:{e.rule}" or f.severity is not Severity.ERROR:
                continue
            subject_job = f.subject.name if f.subject and f.subject.kind == "FederatedLearningJob" else ""
            subject_hub = f.subject.hub if f.subject else ""
            if subject_hub == e.hub and (not job or subject_job in ("", job)):
                mine.append(f"{f.location}: {f.message}" if f.location else f.message)
        e.rego_findings = mine
        e.rego_status = "fail" if mine else ("pass" if e.rule in twins and e.twin else "none")


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
    expected = govern(_default_params(rendered.fleet), rendered.plan, rendered.registry)
    params = rendered.fleet.plugin_params
    for hub, g in sorted(expected.items()):
        for p in g.policies:
            if (hub, p.name) in actual:
                continue
            why = "the plugin is disabled" if params.get(p.plugin, {}).get("enabled") is False else "an override disables it"
            job = p.target.job if p.target.kind.startswith("job-") else ""
            where = f"for job {job} on clusters {', '.join(target_clusters(rendered, hub, p.target)) or '(none selected)'}" if job else f"on hub {hub}"
            found.append(Gap(hub, p.concern.name, f"policy {p.name} ({', '.join(p.controls)}) is not enforced {where}: {why}", job))
    for hub in rendered.fleet.hubs:
        if not rendered.fleet.jobs_on(hub.name):
            continue
        present = {e.concern for e in entries if e.hub == hub.name}
        # A concern that has nothing to check on this hub even with its defaults (say observability
        # on a hub of Flower jobs only) is no gap.
        possible = {p.concern.name for p in expected[hub.name].policies} if hub.name in expected else set()
        for plugin in rendered.registry.plugins.values():
            if plugin.concern.name in possible and plugin.concern.name not in present:
                found.append(Gap(hub.name, plugin.concern.name, f"hub {hub.name} runs jobs but has no {plugin.concern.name} policy at all"))
    return found


def metrics_exports(rendered: pipeline.Rendered) -> list[MetricsExport]:
    """Per job, whether its metrics are exported. Upstream's FL controller adds the metrics sidecar
    (OTLP to the otel collector) to OpenFL Jobs only, when the FederatedLearning carries the sidecar
    annotation; its Flower path has none (federated-learning-controller internal/controller/manifests)."""
    out = []
    for job in rendered.fleet.jobs:
        annotated = SIDECAR_ANNOTATION in rendered.registry.job_annotations(job, rendered.fleet.plugin_params)
        if job.framework != "openfl":
            out.append(MetricsExport(job.hub, job.name, job.framework, False,
                                     "cannot yet: upstream has no metrics sidecar for Flower jobs"))
        elif annotated:
            out.append(MetricsExport(job.hub, job.name, job.framework, True,
                                     f"the controller's sidecar exports OTLP to {OTEL_ENDPOINT}"))
        else:
            out.append(MetricsExport(job.hub, job.name, job.framework, False,
                                     f"no {SIDECAR_ANNOTATION} annotation (observability plugin disabled, or no "
                                     "governance.plugins.observability.sidecarImage set)"))
    return out


def offline_audit(rendered: pipeline.Rendered, built_objects: list[rego.HubObject] | None = None) -> AuditReport:
    entries = policy_entries(rendered)
    attach_rego(rendered, entries, built_objects)
    return AuditReport(fleet=rendered.fleet.name, controls=group_by_control(entries), gaps=gaps(rendered, entries),
                       metrics=metrics_exports(rendered))
