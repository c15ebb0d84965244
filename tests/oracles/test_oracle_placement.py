"""Placement conformance: `fedfleet plan` selects and scores exactly as OCM's scheduler does.

Each case goes through the CLI (`fedfleet plan --format json`) and through tools/ocm-placement
(OCM's real scheduling controller, filters and prioritizers, pinned in tools/ocm-placement/go.mod).
A difference fails the test with both sides printed next to each other.
"""

from __future__ import annotations

import json
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from fleetbuilder import cluster, job, write_specs
from oracles.oracle_ocm import compare, run_ocm, side_by_side
from oracles.oracle_tools import REPO

sys.path.insert(0, str(REPO / "bench"))
from synthetic import write_fleet  # noqa: E402


def conform(run: Any, specs: Path, scratch: Path) -> dict[str, Any]:
    now = datetime.now(timezone.utc)
    result = run("plan", "--specs", str(specs), "--format", "json", "--all-exclusions")
    assert result.code in (0, 1), result.err
    plan = json.loads(result.out)
    ocm = run_ocm(specs, now, scratch)
    rows = compare(plan, ocm)
    assert not rows, "fedfleet plan and OCM's scheduler disagree:\n" + side_by_side(rows)
    assert {j["job"] for j in plan["jobs"]} == set(ocm), "a job was planned by only one side"
    return plan


def test_example_fleet(run: Any, tmp_path: Path) -> None:
    plan = conform(run, REPO / "specs", tmp_path)
    assert sum(len(j["selected"]) for j in plan["jobs"]) > 0


@pytest.mark.parametrize("seed", [1, 7])
def test_synthetic_fleet(run: Any, tmp_path: Path, seed: int) -> None:
    specs = write_fleet(tmp_path / "fleet", clusters=240, jobs=24, hubs=2, sets_per_hub=3,
                        holders_per_job=8, seed=seed)
    plan = conform(run, specs, tmp_path)
    assert len(plan["jobs"]) == 24


# --- edge cases -------------------------------------------------------------------------------

LONG_AGO, FAR_AHEAD = "2020-01-01T00:00:00Z", "2099-01-01T00:00:00Z"


def _holders(n: int, prefix: str = "c") -> dict[str, str]:
    return {f"{prefix}{i}": "/d" for i in range(n)}


def _clusters(n: int, prefix: str = "c", **kw: Any) -> list[dict[str, Any]]:
    return [cluster(f"{prefix}{i}", **kw) for i in range(n)]


def _with_claims(clusters: list[dict[str, Any]], jobs: list[dict[str, Any]],
                 unclaimed: tuple[str, ...] = ()) -> tuple[list, list]:
    """Every holder of a job carries the job's data claim (what the plan's claim predicate needs)."""
    by_name = {c["name"]: c for c in clusters}
    for j in jobs:
        for holder, path in j["spec"]["data"]["holders"].items():
            if holder not in unclaimed:
                by_name[holder]["claims"][f"{j['metadata']['name']}.client-data"] = path
    return clusters, jobs


def _taint(key: str, effect: str, value: str = "", added: str | None = None) -> dict[str, Any]:
    return {"key": key, "value": value, "effect": effect, **({"timeAdded": added} if added else {})}


def _case_taints() -> tuple[list, list]:
    clusters = [
        cluster("plain"),
        cluster("noselect", taints=[_taint("maintenance", "NoSelect", "true")]),
        cluster("noselect-other-value", taints=[_taint("maintenance", "NoSelect", "false")]),
        cluster("prefer", taints=[_taint("slow", "PreferNoSelect")]),
        cluster("ifnew", taints=[_taint("draining", "NoSelectIfNew")]),
        cluster("gpu-busy", taints=[_taint("gpu", "NoSelect", "busy")]),
        cluster("two-taints",
                taints=[_taint("maintenance", "NoSelect", "true"), _taint("zone", "NoSelect", "cold")]),
    ]
    holders = {c["name"]: "/d" for c in clusters}
    jobs = [
        job("j-none", holders),
        job("j-equal", holders, {"tolerations": [{"key": "maintenance", "operator": "Equal", "value": "true"}]}),
        job("j-exists-key", holders, {"tolerations": [{"key": "maintenance", "operator": "Exists"}]}),
        job("j-exists-all", holders, {"tolerations": [{"operator": "Exists"}]}),
        job("j-effect", holders, {"tolerations": [{"key": "maintenance", "operator": "Exists", "effect": "PreferNoSelect"},
                                                  {"key": "draining", "operator": "Exists", "effect": "NoSelectIfNew"}]}),
        job("j-default-op", holders, {"tolerations": [{"key": "gpu", "value": "busy"}]}),
    ]
    return _with_claims(clusters, jobs)


def _case_toleration_seconds() -> tuple[list, list]:
    clusters = [
        cluster("fresh-taint", taints=[_taint("unreachable", "NoSelect", added=FAR_AHEAD)]),
        cluster("old-taint", taints=[_taint("unreachable", "NoSelect", added=LONG_AGO)]),
        cluster("no-time", taints=[_taint("unreachable", "NoSelect")]),
        cluster("plain"),
    ]
    holders = {c["name"]: "/d" for c in clusters}
    jobs = [
        job("j-seconds", holders, {"tolerations": [{"key": "unreachable", "operator": "Exists", "tolerationSeconds": 300}]}),
        job("j-forever", holders, {"tolerations": [{"key": "unreachable", "operator": "Exists"}]}),
        job("j-zero", holders, {"tolerations": [{"key": "unreachable", "operator": "Exists", "tolerationSeconds": 0}]}),
    ]
    return _with_claims(clusters, jobs)


def _case_modes() -> tuple[list, list]:
    clusters = [cluster(f"m{i}", cpu=str(2 + 3 * i), memory=f"{(i % 3 + 1) * 16}Gi")
                for i in range(6)]
    holders = {c["name"]: "/d" for c in clusters}
    cpu = {"scoreCoordinate": {"builtIn": "ResourceAllocatableCPU"}}
    mem = {"scoreCoordinate": {"builtIn": "ResourceAllocatableMemory"}}
    jobs = [
        job("j-additive-default", holders, {"numberOfClusters": 3}),
        job("j-additive-cpu", holders, {"numberOfClusters": 3, "prioritizerPolicy": {"configurations": [{**cpu, "weight": 2}]}}),
        job("j-additive-noweight", holders, {"numberOfClusters": 2, "prioritizerPolicy": {"mode": "Additive", "configurations": [mem]}}),
        job("j-exact-cpu", holders, {"numberOfClusters": 4, "prioritizerPolicy": {"mode": "Exact", "configurations": [{**cpu, "weight": 1}]}}),
        job("j-exact-empty", holders, {"numberOfClusters": 2, "prioritizerPolicy": {"mode": "Exact"}}),
        job("j-exact-negative", holders, {"numberOfClusters": 2, "prioritizerPolicy": {"mode": "Exact", "configurations": [
            {**mem, "weight": -3}, {**cpu, "weight": 1}]}}),
        job("j-balance-off", holders, {"prioritizerPolicy": {"configurations": [
            {"scoreCoordinate": {"builtIn": "Balance"}, "weight": 0},
            {"scoreCoordinate": {"type": "BuiltIn", "builtIn": "Steady"}, "weight": 3}, {**mem, "weight": 1}]}}),
    ]
    return _with_claims(clusters, jobs)


def _case_resources() -> tuple[list, list]:
    clusters = [
        cluster("r-milli", cpu="500m", memory="1536Mi"),
        cluster("r-int", cpu="2", memory="2Gi"),
        cluster("r-decimal", cpu="1.5", memory="2G"),
        cluster("r-big", cpu="64", memory="1Ti"),
        cluster("r-none", cpu=None, memory=None),
        cluster("r-cpu-only", cpu="8", memory=None),
        cluster("r-third", cpu="22", memory="348Gi"),
    ]
    holders = {c["name"]: "/d" for c in clusters}
    equal = [cluster(f"e{i}", cpu="4", memory="8Gi") for i in range(3)]
    jobs = [
        job("j-cpu", holders, {"prioritizerPolicy": {"mode": "Exact", "configurations": [
            {"scoreCoordinate": {"builtIn": "ResourceAllocatableCPU"}, "weight": 1}]}}),
        job("j-mem", holders, {"prioritizerPolicy": {"configurations": [
            {"scoreCoordinate": {"builtIn": "ResourceAllocatableMemory"}, "weight": 5}]}}),
        job("j-equal", {c["name"]: "/d" for c in equal}, {"clusterSets": ["set-b"], "prioritizerPolicy": {
            "configurations": [{"scoreCoordinate": {"builtIn": "ResourceAllocatableMemory"}, "weight": 1}]}}),
    ]
    for c in equal:
        c["clusterSet"] = "set-b"
    return _with_claims(clusters + equal, jobs)


def _case_ties_and_counts() -> tuple[list, list]:
    clusters = _clusters(5, prefix="t", cpu="4", memory="8Gi")
    clusters += [cluster("t-zz", cpu="4", memory="8Gi")]
    holders = {c["name"]: "/d" for c in clusters}
    jobs = [
        job("j-tie-cut", holders, {"numberOfClusters": 3}),
        job("j-all-feasible", holders, {"numberOfClusters": 6}),
        job("j-more-than-feasible", holders, {"numberOfClusters": 50}),
        job("j-one", holders, {"numberOfClusters": 1, "prioritizerPolicy": {"configurations": [
            {"scoreCoordinate": {"builtIn": "ResourceAllocatableCPU"}, "weight": 2}]}}),
    ]
    return _with_claims(clusters, jobs)


def _case_selectors() -> tuple[list, list]:
    clusters = [
        cluster("s-eu-gpu", claims={"region.open-cluster-management.io": "eu-west-1"},
                labels={"region": "eu", "gpu": "true", "tier": "gold"}),
        cluster("s-eu-cpu", claims={"region.open-cluster-management.io": "eu-north-1"},
                labels={"region": "eu", "gpu": "false"}),
        cluster("s-us-gpu", labels={"region": "us", "gpu": "true", "tier": "silver"}),
        cluster("s-nolabels"),
        cluster("s-noclaim", labels={"region": "eu", "gpu": "true"}),
        cluster("s-other-set", cluster_set="set-b", labels={"region": "eu", "gpu": "true"}),
    ]
    holders = {c["name"]: "/d" for c in clusters}
    sel = lambda labels=None, claims=None: {"requiredClusterSelector": {  # noqa: E731
        **({"labelSelector": labels} if labels else {}), **({"claimSelector": claims} if claims else {})}}
    jobs = [
        job("j-or", holders, {"predicates": [sel({"matchLabels": {"region": "us"}}),
                                              sel({"matchExpressions": [{"key": "tier", "operator": "Exists"}]})]}),
        job("j-and", holders, {"predicates": [sel({"matchLabels": {"region": "eu"}, "matchExpressions": [
            {"key": "gpu", "operator": "NotIn", "values": ["false"]}]})]}),
        job("j-doesnotexist", holders, {"predicates": [sel({"matchExpressions": [{"key": "tier", "operator": "DoesNotExist"}]})]}),
        job("j-claim-in", holders, {"predicates": [sel(claims={"matchExpressions": [
            {"key": "region.open-cluster-management.io", "operator": "In", "values": ["eu-west-1", "eu-north-1"]}]})]}),
        job("j-set-b", {"s-other-set": "/d"}, {"clusterSets": ["set-b"]}),
        job("j-both-sets", holders, {"predicates": [sel({"matchLabels": {"gpu": "true"}})]}),
    ]
    # j-both-sets uses both sets (the bundle binds every set a job of the namespace uses)
    jobs[-1]["spec"]["placement"]["clusterSets"] = ["set-a", "set-b"]
    return _with_claims(clusters, jobs, unclaimed=("s-noclaim",))


def _case_cel() -> tuple[list, list]:
    """celSelector, evaluated by OCM's real CEL environment (pkg/placement/helpers/cel.go) on the
    harness side: quantities, semver, claims, a missing AddOnPlacementScore, a failing lookup."""
    clusters = [
        cluster("m-big", memory="128Gi", labels={"version": "1.31.2", "env": "prod"}),
        cluster("m-edge", memory="96Gi", labels={"version": "v1.30", "env": "prod"}),
        cluster("m-bytes", memory="103079215104", labels={"version": "1.29.0"}),  # = 96Gi
        cluster("m-small", memory="64Gi", cpu="4", labels={"version": "1.32.0-rc.1", "env": "dev"}),
        cluster("m-milli", memory="200Gi", cpu="1500m", labels={"env": "prod"}),
        cluster("m-none", memory=None, cpu=None, labels={"env": "prod"}),
    ]
    holders = {c["name"]: "/d" for c in clusters}
    cel = lambda *exprs: {"predicates": [{"requiredClusterSelector": {  # noqa: E731
        "celSelector": {"celExpressions": list(exprs)}}}]}
    memory = "quantity(managedCluster.status.allocatable.memory)"
    jobs = [
        job("j-mem-ge", holders, cel(f'{memory}.compareTo(quantity("96Gi")) >= 0')),
        job("j-mem-gt", holders, cel(f'{memory}.isGreaterThan(quantity("96Gi"))')),
        job("j-cpu-int", holders, cel('quantity(managedCluster.status.allocatable.cpu).isInteger()',
                                      'quantity(managedCluster.status.allocatable.cpu).asInteger() >= 8')),
        job("j-semver", holders, cel('semver(managedCluster.metadata.labels["version"])'
                                     '.isGreaterThan(semver("1.29.9"))')),
        job("j-semver-strict", holders, cel('isSemver(managedCluster.metadata.labels["version"])')),
        job("j-claims-env", holders, cel('managedCluster.metadata.labels["env"] == "prod"',
                                         'managedCluster.status.clusterClaims.exists(c, c.name == "j-claims-env.client-data")')),
        job("j-no-score", holders, cel('managedCluster.scores("demo").all(e, e.value > 80)')),
    ]
    return _with_claims(clusters, jobs)


CASES = {
    "cel": _case_cel,
    "taints": _case_taints,
    "toleration-seconds": _case_toleration_seconds,
    "prioritizer-modes": _case_modes,
    "resource-scores": _case_resources,
    "ties-and-numberOfClusters": _case_ties_and_counts,
    "selectors-and-sets": _case_selectors,
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_edge_cases(run: Any, tmp_path: Path, case: str) -> None:
    clusters, jobs = CASES[case]()
    specs = write_specs(tmp_path / "fleet", clusters, jobs)
    plan = conform(run, specs, tmp_path)
    assert len(plan["jobs"]) == len(jobs)
    # not vacuous: every case selects clusters, and excludes some, in most of its jobs
    assert sum(1 for j in plan["jobs"] if j["selected"]) >= len(jobs) // 2
    assert any(j["excluded"] for j in plan["jobs"])


def test_a_difference_is_shown_side_by_side(run: Any, tmp_path: Path) -> None:
    """The comparison itself can fail: a tampered plan is caught and both sides are printed."""
    clusters, jobs = _case_ties_and_counts()
    specs = write_specs(tmp_path / "fleet", clusters, jobs)
    plan = json.loads(run("plan", "--specs", str(specs), "--format", "json", "--all-exclusions").out)
    ocm = run_ocm(specs, datetime.now(timezone.utc), tmp_path)
    tie_cut = next(j for j in plan["jobs"] if j["job"] == "j-tie-cut")
    names = [s["cluster"] for s in tie_cut["selected"]]
    assert names == ["t-zz", "t0", "t1"]  # a three-way tie of equal scores, cut by name ('-' < '0')
    tie_cut["selected"].reverse()
    rows = compare(plan, ocm)
    assert [(r.job, r.what) for r in rows] == [("j-tie-cut", "selected (in order)")]
    table = side_by_side(rows).splitlines()
    assert table[1].split() == ["j-tie-cut", "selected", "(in", "order)", '["t1",', '"t0",', '"t-zz"]',
                                '["t-zz",', '"t0",', '"t1"]']
