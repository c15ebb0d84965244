"""Renderers of the placement preview: JSON (with its schema), text and Markdown."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..placement import EXAMPLES, Decision, ExclusionGroup, JobPlan, Plan, SetExclusion

PLAN_JSON_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "fedfleet plan output",
    "type": "object",
    "required": ["ok", "exitCode", "assumptions", "jobs"],
    "additionalProperties": False,
    "properties": {
        "ok": {"type": "boolean"},
        "exitCode": {"enum": [0, 1]},
        "assumptions": {"type": "array", "items": {"type": "string"}},
        "jobs": {"type": "array", "items": {
            "type": "object",
            "additionalProperties": False,
            "required": ["job", "hub", "namespace", "boundClusterSets", "eligibleClusterSets", "minAvailableClients",
                         "numberOfClusters", "weights", "feasible", "enough", "selected", "exclusions",
                         "excludedClusterSets", "findings"],
            "properties": {
                "job": {"type": "string"}, "hub": {"type": "string"}, "namespace": {"type": "string"},
                "boundClusterSets": {"type": "array", "items": {"type": "string"}},
                "eligibleClusterSets": {"type": "array", "items": {"type": "string"}},
                "minAvailableClients": {"type": "integer"},
                "numberOfClusters": {"type": ["integer", "null"]},
                "weights": {"type": "object", "additionalProperties": {"type": "integer"}},
                "feasible": {"type": "integer"},
                "enough": {"type": "boolean"},
                "selected": {"type": "array", "items": {
                    "type": "object", "additionalProperties": False, "required": ["cluster", "score", "scores"],
                    "properties": {"cluster": {"type": "string"}, "score": {"type": "integer"},
                                   "scores": {"type": "object", "additionalProperties": {"type": "integer"}}}}},
                # grouped by (stage, reason): how many clusters, and the first few by name
                "exclusions": {"type": "array", "items": {
                    "type": "object", "additionalProperties": False,
                    "required": ["stage", "reason", "count", "examples"],
                    "properties": {"stage": {"enum": ["predicate", "taint", "numberOfClusters"]},
                                   "reason": {"type": "string"}, "count": {"type": "integer", "minimum": 1},
                                   "examples": {"type": "array", "items": {"type": "string"}, "maxItems": EXAMPLES}}}},
                # every excluded cluster, one row each: only with --all-exclusions
                "excluded": {"type": "array", "items": {
                    "type": "object", "additionalProperties": False, "required": ["cluster", "stage", "reason"],
                    "properties": {"cluster": {"type": "string"},
                                   "stage": {"enum": ["predicate", "taint", "numberOfClusters"]},
                                   "reason": {"type": "string"}}}},
                "excludedClusterSets": {"type": "array", "items": {
                    "type": "object", "additionalProperties": False, "required": ["clusterSet", "clusters", "reason"],
                    "properties": {"clusterSet": {"type": "string"}, "clusters": {"type": "integer"},
                                   "reason": {"type": "string"}}}},
                "findings": {"type": "array", "items": {"type": "object"}},
            },
        }},
    },
}


def exclusion_groups(jp: JobPlan) -> list[ExclusionGroup]:
    """The job's excluded clusters grouped by stage and reason, largest group first: at 10,000
    clusters a job excludes thousands for a handful of reasons, and a reviewer reads the reasons.
    Worked out from the plan's cluster index, not from a row per excluded cluster."""
    return list(jp.excluded.groups)


def job_json(jp: JobPlan, all_exclusions: bool = False) -> dict[str, Any]:
    out = {
        "job": jp.job, "hub": jp.hub, "namespace": jp.namespace,
        "boundClusterSets": list(jp.bound_sets), "eligibleClusterSets": list(jp.eligible_sets),
        "minAvailableClients": jp.min_clients, "numberOfClusters": jp.number_of_clusters,
        "weights": dict(jp.weights), "feasible": jp.feasible, "enough": jp.enough,
        "selected": [{"cluster": s.name, "score": s.total, "scores": dict(s.scores)} for s in jp.selected],
        "exclusions": [{"stage": g.stage, "reason": g.reason, "count": g.count, "examples": list(g.examples)}
                       for g in exclusion_groups(jp)],
        "excludedClusterSets": [{"clusterSet": e.cluster_set, "clusters": e.clusters, "reason": e.reason}
                                for e in jp.excluded_sets],
        "findings": [f.as_dict() for f in jp.findings],
    }
    if all_exclusions:
        out["excluded"] = [{"cluster": e.cluster, "stage": e.stage, "reason": e.reason} for e in jp.excluded]
    return out


def plan_json(plan: Plan, all_exclusions: bool = False) -> dict[str, Any]:
    return {"ok": plan.ok, "exitCode": 0 if plan.ok else 1, "assumptions": list(plan.assumptions),
            "jobs": [job_json(j, all_exclusions) for j in plan.jobs]}


def _group_line(g: ExclusionGroup) -> str:
    more = ", ..." if g.count > len(g.examples) else ""
    return f"{g.count} excluded ({g.stage}): {g.reason}  e.g. {', '.join(g.examples)}{more}"


@dataclass(frozen=True)
class SetGroup:
    """Excluded cluster sets of one job that are out for the same reason (their names aside)."""

    reason: str  # the reason with the set's name as <set>
    sets: tuple[str, ...]
    clusters: int


def set_groups(jp: JobPlan) -> list[SetGroup]:
    """A job's excluded cluster sets grouped by reason: a hub with many cluster sets would
    otherwise give every job one near-identical line per set it does not use."""
    groups: dict[str, list[SetExclusion]] = {}
    for es in jp.excluded_sets:
        groups.setdefault(es.reason.replace(es.cluster_set, "<set>"), []).append(es)
    return [SetGroup(reason, tuple(e.cluster_set for e in members), sum(e.clusters for e in members))
            for reason, members in groups.items()]


def _set_names(g: SetGroup) -> str:
    shown = ", ".join(g.sets[:EXAMPLES])
    return shown + (", ..." if len(g.sets) > EXAMPLES else "")


def _set_lines(jp: JobPlan, all_exclusions: bool) -> list[str]:
    if all_exclusions:
        return [f"set {es.cluster_set} ({es.clusters} clusters): {es.reason}" for es in jp.excluded_sets]
    return [f"set {g.sets[0]} ({g.clusters} clusters): {g.reason.replace('<set>', g.sets[0])}" if len(g.sets) == 1
            else f"{len(g.sets)} sets ({g.clusters} clusters): {g.reason}  e.g. {_set_names(g)}"
            for g in set_groups(jp)]


def _status(jp: JobPlan) -> str:
    return "ok" if jp.enough else "NOT ENOUGH CLIENTS"


def _score_detail(scores: dict[str, int] | Any, weights: dict[str, int] | Any) -> str:
    return ", ".join(f"{p} {scores[p]}x{weights[p]}" for p in sorted(scores))


def plan_text(plan: Plan, all_exclusions: bool = False) -> str:
    lines: list[str] = []
    for jp in plan.jobs:
        n = "all" if jp.number_of_clusters is None else str(jp.number_of_clusters)
        lines.append(f"{jp.job}  hub {jp.hub}, namespace {jp.namespace}: {len(jp.selected)} selected "
                     f"(numberOfClusters {n}, minAvailableClients {jp.min_clients}, {jp.feasible} feasible): {_status(jp)}")
        shown = jp.excluded if all_exclusions else ()
        width = max((len(c) for c in [*jp.cluster_names, *(e.cluster for e in shown)]), default=8)
        for s in jp.selected:
            lines.append(f"  + {s.name:<{width}}  score {s.total:>5}  ({_score_detail(s.scores, jp.weights)})")
        for e in shown:
            lines.append(f"  - {e.cluster:<{width}}  {e.reason}")
        if not all_exclusions:
            lines += [f"  - {_group_line(g)}" for g in exclusion_groups(jp)]
        lines += [f"  - {line}" for line in _set_lines(jp, all_exclusions)]
        for f in jp.findings:
            lines.append(f"  ! {f.severity.value}: {f.message}")
        lines.append("")
    lines.append("assumptions: " + "; ".join(plan.assumptions))
    return "\n".join(lines) + "\n"


def plan_markdown(plan: Plan, all_exclusions: bool = False) -> str:
    lines = ["## Placement preview", ""]
    lines.append("| job | hub | selected | min | status |")
    lines.append("| --- | --- | --- | --- | --- |")
    for jp in plan.jobs:
        lines.append(f"| `{jp.job}` | {jp.hub} | {', '.join(jp.cluster_names) or '(none)'} | {jp.min_clients} | {_status(jp)} |")
    for jp in plan.jobs:
        lines += ["", f"### `{jp.job}`", "", "| cluster | decision | score / reason |", "| --- | --- | --- |"]
        for s in jp.selected:
            lines.append(f"| {s.name} | selected | {s.total} ({_score_detail(s.scores, jp.weights)}) |")
        if all_exclusions:
            for e in jp.excluded:
                lines.append(f"| {e.cluster} | excluded ({e.stage}) | {e.reason.replace('|', '/')} |")
        else:
            for g in exclusion_groups(jp):
                more = ", ..." if g.count > len(g.examples) else ""
                lines.append(f"| {g.count} clusters, e.g. {', '.join(g.examples)}{more} | excluded ({g.stage}) "
                             f"| {g.reason.replace('|', '/')} |")
        if all_exclusions:
            for es in jp.excluded_sets:
                lines.append(f"| all {es.clusters} of set {es.cluster_set} | excluded (clusterSet) | {es.reason} |")
        else:
            for g in set_groups(jp):
                where = (f"all {g.clusters} of set {g.sets[0]}" if len(g.sets) == 1
                         else f"all {g.clusters} of {len(g.sets)} sets, e.g. {_set_names(g)}")
                reason = g.reason.replace("<set>", g.sets[0]) if len(g.sets) == 1 else g.reason
                lines.append(f"| {where} | excluded (clusterSet) | {reason.replace('|', '/')} |")
        for f in jp.findings:
            lines.append(f"\n> **{f.severity.value}**: {f.message}")
    lines += ["", "_Assumptions: " + "; ".join(plan.assumptions) + "_", ""]
    return "\n".join(lines)


def explain_rows(decisions: list[Decision]) -> list[dict[str, Any]]:
    """One cluster across all jobs, as JSON rows: selected with its score, or the plan's reason."""
    return [{"job": d.job, "hub": d.hub, "decision": "selected" if d.selected else "excluded",
             "score": d.selected.total if d.selected else None,
             "reason": _score_detail(d.selected.scores, d.weights) if d.selected else d.reason}
            for d in decisions]


def explain_json(cluster: str, cluster_set: str, hub: str, decisions: list[Decision]) -> dict[str, Any]:
    return {"cluster": cluster, "clusterSet": cluster_set, "hub": hub, "jobs": explain_rows(decisions)}


def explain_text(cluster: str, cluster_set: str, hub: str, decisions: list[Decision]) -> str:
    lines = [f"{cluster} (cluster set {cluster_set}, hub {hub})"]
    for row in explain_rows(decisions):
        detail = f"score {row['score']} ({row['reason']})" if row["decision"] == "selected" else row["reason"]
        lines.append(f"  {row['job']}: {row['decision']}: {detail}")
    return "\n".join(lines) + "\n"
