"""Placement conformance: `fedfleet plan` against OCM's own scheduler (tools/ocm-placement).

`hub_inputs` turns a spec directory into what a hub would hold, one fleet file per hub, in the
API shapes the harness decodes strictly (unknown fields are an error):
- a ManagedCluster per cluster of the hub's sets, labelled with its set (the label the bundle's
  LabelSelector sets select on and its membership policy writes),
  its claims as `status.clusterClaims`, its taints, and allocatable/capacity exactly as the
  inventory writes them (the quantities are parsed by Go, not by fedfleet);
- the ManagedClusterSets and ManagedClusterSetBindings of the hub's overlay
  (`render.jobs.cluster_set_objects`);
- per job, the Placement the FL controller creates: named like the job, in its namespace, with the
  spec fedfleet renders (`Job.effective_placement`).

`compare` lines the two results up per job and returns the differences as side-by-side rows.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from fedfleet.upstream import CLUSTER_SET_LABEL
from fedfleet.render.jobs import cluster_set_objects
from fedfleet.spec.load import load_fleet, read_spec_documents

from oracles.oracle_tools import tool


def _raw_clusters(spec_dir: Path) -> dict[str, dict[str, Any]]:
    """The inventory entries as written (quantities unparsed), by cluster name."""
    out: dict[str, dict[str, Any]] = {}
    for doc in read_spec_documents(spec_dir):
        data = doc.data if isinstance(doc.data, dict) else {}
        for c in (data.get("spec") or {}).get("clusters", []) if data.get("kind") in ("Fleet", "ManagedClusterInventory") else []:
            out[c["name"]] = c
    return out


def _quantities(values: dict[str, Any]) -> dict[str, str]:
    return {k: str(v) for k, v in values.items()}


def hub_inputs(spec_dir: Path, now: datetime) -> dict[str, dict[str, Any]]:
    fleet = load_fleet(spec_dir)
    raw = _raw_clusters(spec_dir)
    per_hub: dict[str, dict[str, Any]] = {}
    for hub in fleet.hubs:
        sets = {s.name for s in fleet.sets_of(hub.name)}
        clusters = []
        for c in fleet.clusters:
            if c.cluster_set not in sets:
                continue
            entry = raw[c.name]
            alloc = entry.get("allocatable", {})
            # fedfleet's inventory lets capacity default to allocatable; a ManagedCluster reports both.
            cap = {**alloc, **entry.get("capacity", {})}
            spec: dict[str, Any] = {"hubAcceptsClient": True}
            if c.taints:
                spec["taints"] = [{"key": t.key, "value": t.value, "effect": t.effect,
                                   **({"timeAdded": t.time_added} if t.time_added else {})} for t in c.taints]
            clusters.append({
                "apiVersion": "cluster.open-cluster-management.io/v1", "kind": "ManagedCluster",
                "metadata": {"name": c.name, "labels": {**c.labels, CLUSTER_SET_LABEL: c.cluster_set}},
                "spec": spec,
                "status": {
                    "allocatable": _quantities(alloc), "capacity": _quantities(cap),
                    "clusterClaims": [{"name": k, "value": v} for k, v in sorted(c.claims.items())],
                },
            })
        placements = [{
            "apiVersion": "cluster.open-cluster-management.io/v1beta1", "kind": "Placement",
            "metadata": {"name": job.name, "namespace": job.namespace},
            "spec": job.effective_placement,
        } for job in fleet.jobs if job.hub == hub.name]
        # the ManagedClusterSets and ManagedClusterSetBindings exactly as the hub's overlay ships them
        set_objects = cluster_set_objects(fleet, hub)
        per_hub[hub.name] = {
            "now": now.isoformat().replace("+00:00", "Z"),
            "clusters": clusters,
            "clusterSets": [o for o in set_objects if o["kind"] == "ManagedClusterSet"],
            "bindings": [o for o in set_objects if o["kind"] == "ManagedClusterSetBinding"],
            "placements": placements,
        }
    return per_hub


def run_ocm(spec_dir: Path, now: datetime, scratch: Path) -> dict[str, dict[str, Any]]:
    """OCM's result per job name."""
    out: dict[str, dict[str, Any]] = {}
    for hub, data in hub_inputs(spec_dir, now).items():
        if not data["placements"]:
            continue
        path = scratch / f"ocm-input-{hub}.json"
        path.write_text(json.dumps(data))
        done = subprocess.run([str(tool("ocm-placement")), str(path)], capture_output=True, text=True, timeout=600)
        if done.returncode != 0:
            raise AssertionError(f"ocm-placement failed on {path}:\n{done.stderr}")
        for p in json.loads(done.stdout)["placements"]:
            out[p["name"]] = p
    return out


@dataclass(frozen=True)
class Row:
    job: str
    what: str
    fedfleet: str
    ocm: str


def compare(plan: dict[str, Any], ocm: dict[str, dict[str, Any]]) -> list[Row]:
    """Every difference between `fedfleet plan --format json` and OCM's scheduler, per job."""
    rows: list[Row] = []
    for jp in plan["jobs"]:
        job = jp["job"]
        o = ocm.get(job)
        if o is None:
            rows.append(Row(job, "placement", "planned", "not scheduled"))
            continue

        def diff(what: str, ours: Any, theirs: Any) -> None:
            if ours != theirs:
                rows.append(Row(job, what, json.dumps(ours), json.dumps(theirs)))

        if o["status"] != "Success":
            rows.append(Row(job, "status", "ok", f"{o['status']}: {o['message']}"))
        diff("eligible cluster sets", jp["eligibleClusterSets"], o["eligibleClusterSets"])
        filters = {f["name"]: set(f["clusters"]) for f in o["filters"] or []}
        predicate_ok = filters.get("Predicate", set(o["candidates"] or []))
        feasible = filters.get("Predicate,TaintToleration", predicate_ok)
        diff("feasible", jp["feasible"], len(feasible))
        diff("selected (in order)", [s["cluster"] for s in jp["selected"]], o["decisions"])
        diff("weights", dict(sorted(jp["weights"].items())),
             {p["name"]: p["weight"] for p in o["prioritizers"] or []})
        for s in jp["selected"]:
            name = s["cluster"]
            diff(f"{name} total score", s["score"], o["scores"].get(name))
            theirs = {p["name"]: p["scores"][name] for p in o["prioritizers"] or [] if name in p["scores"]}
            diff(f"{name} scores", dict(sorted(s["scores"].items())), dict(sorted(theirs.items())))
        # every exclusion names the stage OCM drops the cluster at
        for e in jp["excluded"]:
            name = e["cluster"]
            stage = ("predicate" if name not in predicate_ok else "taint" if name not in feasible
                     else "numberOfClusters" if name not in o["decisions"] else "selected")
            diff(f"{name} excluded at", e["stage"], stage)
    return rows


def side_by_side(rows: list[Row]) -> str:
    width = [max([len(h)] + [len(getattr(r, f)) for r in rows]) for h, f in
             (("job", "job"), ("what", "what"), ("fedfleet plan", "fedfleet"))]
    lines = [f"{'job':<{width[0]}}  {'what':<{width[1]}}  {'fedfleet plan':<{width[2]}}  OCM scheduler"]
    lines += [f"{r.job:<{width[0]}}  {r.what:<{width[1]}}  {r.fedfleet:<{width[2]}}  {r.ocm}" for r in rows]
    return "\n".join(lines)
