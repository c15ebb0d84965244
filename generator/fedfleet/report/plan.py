"""Renderers of the placement preview: JSON (with its schema), text and Markdown."""

from __future__ import annotations

from typing import Any

from ..placement import Decision, JobPlan, Plan

PLAN_JSON_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "fedfleet plan output",
    "type": "object",
    "required": ["ok", "assumptions", "jobs"],
    "additionalProperties": False,
    "properties": {
        "ok": {"type": "boolean"},
        "assumptions": {"type": "array", "items": {"type": "string"}},
        "jobs": {"type": "array", "items": {
            "type": "object",
            "additionalProperties": False,
            "required": ["job", "hub", "namespace", "boundClusterSets", "eligibleClusterSets", "minAvailableClients",
                         "numberOfClusters", "weights", "feasible", "enough", "selected", "excluded",
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


def job_json(jp: JobPlan) -> dict[str, Any]:
    return {
        "job": jp.job, "hub": jp.hub, "namespace": jp.namespace,
        "boundClusterSets": list(jp.bound_sets), "eligibleClusterSets": list(jp.eligible_sets),
        "minAvailableClients": jp.min_clients, "numberOfClusters": jp.number_of_clusters,
        "weights": dict(jp.weights), "feasible": jp.feasible, "enough": jp.enough,
        "selected": [{"cluster": s.name, "score": s.total, "scores": dict(s.scores)} for s in jp.selected],
        "excluded": [{"cluster": e.cluster, "stage": e.stage, "reason": e.reason} for e in jp.excluded],
        "excludedClusterSets": [{"clusterSet": e.cluster_set, "clusters": e.clusters, "reason": e.reason}
                                for e in jp.excluded_sets],
        "findings": [f.as_dict() for f in jp.findings],
    }


def plan_json(plan: Plan) -> dict[str, Any]:
    return {"ok": plan.ok, "assumptions": list(plan.assumptions), "jobs": [job_json(j) for j in plan.jobs]}


def _status(jp: JobPlan) -> str:
    return "ok" if jp.enough else "NOT ENOUGH CLIENTS"


def _score_detail(scores: dict[str, int] | Any, weights: dict[str, int] | Any) -> str:
    return ", ".join(f"{p} {scores[p]}x{weights[p]}" for p in sorted(scores))


def plan_text(plan: Plan) -> str:
    lines: list[str] = []
    for jp in plan.jobs:
        n = "all" if jp.number_of_clusters is None else str(jp.number_of_clusters)
        lines.append(f"{jp.job}  hub {jp.hub}, namespace {jp.namespace}: {len(jp.selected)} selected "
                     f"(numberOfClusters {n}, minAvailableClients {jp.min_clients}, {jp.feasible} feasible): {_status(jp)}")
        width = max((len(c) for c in [*jp.cluster_names, *(e.cluster for e in jp.excluded)]), default=8)
        for s in jp.selected:
            lines.append(f"  + {s.name:<{width}}  score {s.total:>5}  ({_score_detail(s.scores, jp.weights)})")
        for e in jp.excluded:
            lines.append(f"  - {e.cluster:<{width}}  {e.reason}")
        for es in jp.excluded_sets:
            lines.append(f"  - set {es.cluster_set} ({es.clusters} clusters): {es.reason}")
        for f in jp.findings:
            lines.append(f"  ! {f.severity.value}: {f.message}")
        lines.append("")
    lines.append("assumptions: " + "; ".join(plan.assumptions))
    return "\n".join(lines) + "\n"


def plan_markdown(plan: Plan) -> str:
    lines = ["## Placement preview", ""]
    lines.append("| job | hub | selected | min | status |")
    lines.append("| --- | --- | --- | --- | --- |")
    for jp in plan.jobs:
        lines.append(f"| `{jp.job}` | {jp.hub} | {', '.join(jp.cluster_names) or '(none)'} | {jp.min_clients} | {_status(jp)} |")
    for jp in plan.jobs:
        lines += ["", f"### `{jp.job}`", "", "| cluster | decision | score / reason |", "| --- | --- | --- |"]
        for s in jp.selected:
            lines.append(f"| {s.name} | selected | {s.total} ({_score_detail(s.scores, jp.weights)}) |")
        for e in jp.excluded:
            lines.append(f"| {e.cluster} | excluded ({e.stage}) | {e.reason.replace('|', '/')} |")
        for es in jp.excluded_sets:
            lines.append(f"| all {es.clusters} of set {es.cluster_set} | excluded (clusterSet) | {es.reason} |")
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
