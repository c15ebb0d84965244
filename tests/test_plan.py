"""Placement preview: OCM's rules, each with a hand-computed expectation.

Scores follow OCM's plugins: resource score int((ratio - 0.5) * 200) over the feasible clusters,
Balance 100 and Steady 0 on a fresh hub, Additive mode adding Balance=1 and Steady=1.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import jsonschema
import pytest

from fedfleet.placement import plan
from fedfleet.report.plan import PLAN_JSON_SCHEMA
from fleetbuilder import build_fleet, cluster, job, write_specs

CLAIM = "j.client-data"


def holders(*names: str) -> dict[str, str]:
    return {n: f"/data/{n}" for n in names}


def with_claim(name: str, **kw) -> dict:
    claims = {CLAIM: f"/data/{name}", **kw.pop("claims", {})}
    return cluster(name, claims=claims, **kw)


def reasons(p, job_name: str = "j") -> dict[str, str]:
    return {e.cluster: e.reason for e in p.job(job_name).excluded}


def test_only_clusters_of_bound_sets(tmp_path: Path) -> None:
    fleet = build_fleet(tmp_path, [with_claim("a1"), with_claim("b1", cluster_set="set-b")],
                        [job("j", holders("a1"), {"clusterSets": ["set-a"]})])
    p = plan(fleet)
    assert p.clusters_of("j") == ("a1",)
    jp = p.job("j")
    assert [(e.cluster_set, e.clusters) for e in jp.excluded_sets] == [("set-b", 1)]
    assert jp.reason_for("b1", "set-b", "hub-a") == "not in a bound cluster set (cluster set set-b is not bound to namespace fl-a)"


def test_the_plan_says_why_a_cluster_of_another_hub_is_out(tmp_path: Path) -> None:
    fleet = build_fleet(tmp_path, [with_claim("a1"), with_claim("c1", cluster_set="set-c")],
                        [job("j", holders("a1"))], sets=(("set-a", "hub-a"), ("set-c", "hub-c")),
                        hubs=(("hub-a", "prod"), ("hub-c", "dev")))
    p = plan(fleet)
    [out] = p.explain("c1", "set-c", "hub-c")
    assert (out.job, out.selected, out.reason) == ("j", None, "managed by hub hub-c, the job runs on hub hub-a")
    [chosen] = p.explain("a1", "set-a", "hub-a")
    assert chosen.selected is not None and chosen.selected.name == "a1" and chosen.reason == ""


def test_cluster_sets_narrow_what_the_namespace_has_bound(tmp_path: Path) -> None:
    # Two jobs share fl-a: both sets are bound there, but job j asks for set-a only.
    fleet = build_fleet(tmp_path, [with_claim("a1", claims={"k.client-data": "/data/a1"}),
                                   with_claim("b1", cluster_set="set-b", claims={"k.client-data": "/data/b1"})],
                        [job("j", holders("a1"), {"clusterSets": ["set-a"]}),
                         job("k", holders("a1", "b1"), {"clusterSets": ["set-a", "set-b"]})])
    p = plan(fleet)
    assert p.job("j").bound_sets == ("set-a", "set-b")
    assert p.job("j").reason_for("b1", "set-b", "hub-a") == (
        "not in a bound cluster set (cluster set set-b is not in the placement's clusterSets)")
    assert p.clusters_of("k") == ("a1", "b1")


def test_predicates_are_ored_and_selectors_anded(tmp_path: Path) -> None:
    clusters = [with_claim("c1", labels={"region": "eu"}),
                with_claim("c2", labels={"region": "us", "gpu": "true"}),
                with_claim("c3", labels={"region": "us"}),
                cluster("c4", labels={"region": "eu"})]  # label matches, claim missing
    placement = {"predicates": [
        {"requiredClusterSelector": {"labelSelector": {"matchLabels": {"region": "eu"}}}},
        {"requiredClusterSelector": {"labelSelector": {"matchExpressions": [{"key": "gpu", "operator": "Exists"}]}}},
    ]}
    p = plan(build_fleet(tmp_path, clusters, [job("j", holders("c1", "c2", "c3"), placement)]))
    assert set(p.clusters_of("j")) == {"c1", "c2"}
    r = reasons(p)
    assert r["c3"] == "matches no predicate: #1 label region=us does not match region=eu; #2 no label gpu"
    # fedfleet ANDs the data claim into every predicate, so c4 fails both on the claim
    assert r["c4"] == f"matches no predicate: #1 no claim {CLAIM}; #2 no label gpu and no claim {CLAIM}"


@pytest.mark.parametrize("expr,selected,reason_of_other", [
    ({"key": "tier", "operator": "In", "values": ["gold", "silver"]}, {"g", "s"}, "label tier=bronze does not match tier In [gold, silver]"),
    ({"key": "tier", "operator": "NotIn", "values": ["gold"]}, {"s", "b", "none"}, "label tier=gold matches tier NotIn [gold]"),
    ({"key": "tier", "operator": "Exists"}, {"g", "s", "b"}, "no label tier"),
    ({"key": "tier", "operator": "DoesNotExist"}, {"none"}, "label tier exists (needs DoesNotExist)"),
])
def test_match_expression_operators(tmp_path: Path, expr, selected, reason_of_other) -> None:
    clusters = [with_claim("g", labels={"tier": "gold"}), with_claim("s", labels={"tier": "silver"}),
                with_claim("b", labels={"tier": "bronze"}), with_claim("none")]
    placement = {"predicates": [{"requiredClusterSelector": {"labelSelector": {"matchExpressions": [expr]}}}]}
    p = plan(build_fleet(tmp_path, clusters, [job("j", holders("g", "s", "b", "none"), placement)]))
    assert set(p.clusters_of("j")) == selected
    assert reason_of_other in reasons(p).values()


def test_claim_selector_in_operator(tmp_path: Path) -> None:
    clusters = [with_claim("a", claims={"region.open-cluster-management.io": "eu-west-1"}),
                with_claim("b", claims={"region.open-cluster-management.io": "us-east-1"})]
    placement = {"predicates": [{"requiredClusterSelector": {"claimSelector": {"matchExpressions": [
        {"key": "region.open-cluster-management.io", "operator": "In", "values": ["eu-west-1"]}]}}}]}
    p = plan(build_fleet(tmp_path, clusters, [job("j", holders("a", "b"), placement)]))
    assert p.clusters_of("j") == ("a",)
    assert reasons(p)["b"] == "claim region.open-cluster-management.io=us-east-1 does not match region.open-cluster-management.io In [eu-west-1]"


def _taint(effect: str, key: str = "gpu", value: str = "busy", added: str | None = None) -> list[dict]:
    t = {"key": key, "value": value, "effect": effect}
    if added:
        t["timeAdded"] = added
    return [t]


@pytest.mark.parametrize("effect,tolerations,selected", [
    ("NoSelect", [], False),
    ("PreferNoSelect", [], True),                                   # never filters
    ("NoSelectIfNew", [], False),                                   # fresh hub: not in any decision
    ("NoSelect", [{"key": "gpu", "operator": "Equal", "value": "busy"}], True),
    ("NoSelect", [{"key": "gpu", "value": "busy"}], True),          # empty operator means Equal
    ("NoSelect", [{"key": "gpu", "operator": "Equal", "value": "idle"}], False),
    ("NoSelect", [{"key": "gpu", "operator": "Exists"}], True),
    ("NoSelect", [{"operator": "Exists"}], True),                   # empty key: every taint
    ("NoSelect", [{"key": "gpu", "operator": "Exists", "effect": "PreferNoSelect"}], False),  # effect mismatch
    ("NoSelectIfNew", [{"key": "gpu", "operator": "Exists", "effect": "NoSelectIfNew"}], True),
])
def test_taints_and_tolerations(tmp_path: Path, effect, tolerations, selected) -> None:
    clusters = [with_claim("t", taints=_taint(effect)), with_claim("plain")]
    p = plan(build_fleet(tmp_path, clusters, [job("j", holders("t", "plain"), {"tolerations": tolerations})]))
    assert ("t" in p.clusters_of("j")) is selected
    if not selected:
        assert reasons(p)["t"] == f"taint gpu=busy:{effect} not tolerated"


def test_toleration_seconds_expire(tmp_path: Path) -> None:
    clusters = [with_claim("t", taints=_taint("NoSelect", added="2026-01-01T00:00:00Z"))]
    placement = {"tolerations": [{"key": "gpu", "operator": "Exists", "tolerationSeconds": 3600}]}
    fleet = build_fleet(tmp_path, clusters, [job("j", holders("t"), placement)])
    assert plan(fleet, now=datetime(2026, 1, 1, 0, 30, tzinfo=timezone.utc)).clusters_of("j") == ("t",)
    assert plan(fleet, now=datetime(2026, 1, 1, 1, 30, tzinfo=timezone.utc)).clusters_of("j") == ()


def test_toleration_seconds_on_a_taint_without_time_added_have_expired(tmp_path: Path) -> None:
    # OCM reads the missing timeAdded as Go's zero time (found by tests/oracles/test_oracle_placement.py)
    clusters = [with_claim("t", taints=_taint("NoSelect"))]
    placement = {"tolerations": [{"key": "gpu", "operator": "Exists", "tolerationSeconds": 3600}]}
    assert plan(build_fleet(tmp_path, clusters, [job("j", holders("t"), placement)])).clusters_of("j") == ()
    forever = {"tolerations": [{"key": "gpu", "operator": "Exists"}]}
    assert plan(build_fleet(tmp_path / "f", clusters, [job("j", holders("t"), forever)])).clusters_of("j") == ("t",)


def test_resource_scores_normalised_and_cut_by_number_of_clusters(tmp_path: Path) -> None:
    # memory 16, 32, 64 Gi -> ratios 0, 1/3, 1 -> scores -100, int(-33.3) = -33, 100
    clusters = [with_claim("small", memory="16Gi"), with_claim("mid", memory="32Gi"), with_claim("big", memory="64Gi")]
    placement = {"numberOfClusters": 2, "prioritizerPolicy": {"mode": "Exact", "configurations": [
        {"scoreCoordinate": {"builtIn": "ResourceAllocatableMemory"}, "weight": 3}]}}
    p = plan(build_fleet(tmp_path, clusters, [job("j", holders("small", "mid", "big"), placement)]))
    jp = p.job("j")
    assert [(s.name, s.total) for s in jp.selected] == [("big", 300), ("mid", -99)]
    assert dict(jp.selected[1].scores) == {"ResourceAllocatableMemory": -33}
    assert reasons(p)["small"] == "cut by numberOfClusters=2 (score -300 < -99)"


def test_additive_mode_adds_balance_and_steady(tmp_path: Path) -> None:
    clusters = [with_claim("a", cpu="4"), with_claim("b", cpu="12")]
    placement = {"prioritizerPolicy": {"configurations": [{"scoreCoordinate": {"builtIn": "ResourceAllocatableCPU"}, "weight": 2}]}}
    jp = plan(build_fleet(tmp_path, clusters, [job("j", holders("a", "b"), placement)])).job("j")
    assert dict(jp.weights) == {"Balance": 1, "Steady": 1, "ResourceAllocatableCPU": 2}
    # b: 100*1 + 0*1 + 100*2 = 300; a: 100 + 0 - 200 = -100
    assert [(s.name, s.total) for s in jp.selected] == [("b", 300), ("a", -100)]


def test_weight_zero_drops_a_default_prioritizer(tmp_path: Path) -> None:
    placement = {"prioritizerPolicy": {"mode": "Additive", "configurations": [{"scoreCoordinate": {"builtIn": "Balance"}, "weight": 0}]}}
    jp = plan(build_fleet(tmp_path, [with_claim("a")], [job("j", holders("a"), placement)])).job("j")
    assert dict(jp.weights) == {"Steady": 1}
    assert jp.selected[0].total == 0


def test_equal_resources_score_100_and_ties_break_by_name(tmp_path: Path) -> None:
    clusters = [with_claim(n, cpu="8") for n in ("zeta", "alpha", "mid")]
    placement = {"numberOfClusters": 2, "prioritizerPolicy": {"mode": "Exact", "configurations": [
        {"scoreCoordinate": {"builtIn": "ResourceAllocatableCPU"}, "weight": 1}]}}
    p = plan(build_fleet(tmp_path, clusters, [job("j", holders("zeta", "alpha", "mid"), placement)]))
    assert [(s.name, s.total) for s in p.job("j").selected] == [("alpha", 100), ("mid", 100)]
    assert reasons(p)["zeta"] == "cut by numberOfClusters=2 (score 100 = 100, name sorts after mid)"


def test_cluster_without_resource_gets_no_score(tmp_path: Path) -> None:
    clusters = [with_claim("a", cpu="4"), with_claim("b", cpu="8"), with_claim("unknown", cpu=None, memory=None)]
    placement = {"prioritizerPolicy": {"mode": "Exact", "configurations": [{"scoreCoordinate": {"builtIn": "ResourceAllocatableCPU"}, "weight": 1}]}}
    jp = plan(build_fleet(tmp_path, clusters, [job("j", holders("a", "b", "unknown"), placement)])).job("j")
    assert [(s.name, s.total, dict(s.scores)) for s in jp.selected] == [
        ("b", 100, {"ResourceAllocatableCPU": 100}), ("unknown", 0, {}), ("a", -100, {"ResourceAllocatableCPU": -100})]


def test_addon_prioritizer_is_a_finding_not_a_silent_pass(tmp_path: Path) -> None:
    placement = {"prioritizerPolicy": {"mode": "Exact", "configurations": [
        {"scoreCoordinate": {"type": "AddOn", "addOn": {"resourceName": "gpu-score", "scoreName": "free"}}, "weight": 1}]}}
    jp = plan(build_fleet(tmp_path, [with_claim("a")], [job("j", holders("a"), placement)])).job("j")
    assert any("AddOn gpu-score/free" in f.message and "cannot evaluate" in f.message for f in jp.findings)


def test_data_locality_cross_check(tmp_path: Path) -> None:
    clusters = [with_claim("holder-selected"), cluster("holder-without-claim"), with_claim("claim-but-no-holder")]
    jp = plan(build_fleet(tmp_path, clusters, [job("j", holders("holder-selected", "holder-without-claim"))])).job("j")
    messages = [f.message for f in jp.findings]
    assert f"holder-without-claim holds the job's data but is not selected: no claim {CLAIM}" in messages
    assert any(m.startswith("claim-but-no-holder is selected") for m in messages)


def _cli_fleet(root: Path, min_clients: int) -> None:
    write_specs(root, [with_claim("a"), with_claim("b"), cluster("c")],
                [job("j", holders("a", "b"), {"numberOfClusters": 2}, min_clients=min_clients)])


def test_cli_json_is_schema_valid_and_exit_0_when_enough(tmp_path: Path, run, monkeypatch) -> None:
    _cli_fleet(tmp_path, 2)
    monkeypatch.chdir(tmp_path)
    result = run("plan", "--format", "json", "--all-exclusions")
    assert result.code == 0
    data = json.loads(result.out)
    jsonschema.validate(data, PLAN_JSON_SCHEMA)
    assert data["jobs"][0]["selected"][0]["cluster"] == "a"
    assert {"cluster": "c", "stage": "predicate", "reason": f"no claim {CLAIM}"} in data["jobs"][0]["excluded"]
    grouped = json.loads(run("plan", "--format", "json").out)
    jsonschema.validate(grouped, PLAN_JSON_SCHEMA)
    assert "excluded" not in grouped["jobs"][0]
    assert {"stage": "predicate", "reason": f"no claim {CLAIM}", "count": 1, "examples": ["c"]} in grouped["jobs"][0]["exclusions"]


def test_cli_exit_1_when_a_job_lacks_clients(tmp_path: Path, run, monkeypatch) -> None:
    _cli_fleet(tmp_path, 2)
    spec = tmp_path / "specs/fleet.yaml"
    spec.write_text(spec.read_text().replace(f"{CLAIM}: /data/b", "other: /data/b"))
    monkeypatch.chdir(tmp_path)
    result = run("plan")
    assert result.code == 1
    assert "fewer than minAvailableClients=2" in result.out and "NOT ENOUGH CLIENTS" in result.out


def test_cli_exit_2_on_bad_input(tmp_path: Path, run, monkeypatch) -> None:
    _cli_fleet(tmp_path, 2)
    monkeypatch.chdir(tmp_path)
    assert run("plan", "no-such-job").code == 2
    assert run("plan", "--explain", "no-such-cluster").code == 2
    (tmp_path / "specs/jobs.yaml").write_text("kind: [\n")
    assert run("plan").code == 2


def test_example_fleet_plan_lists_every_job_with_reasons(fleet_repo: Path, run) -> None:
    result = run("plan", "--format", "json", "--all-exclusions")
    data = json.loads(result.out)
    jsonschema.validate(data, PLAN_JSON_SCHEMA)
    assert result.code == 0
    by_job = {j["job"]: j for j in data["jobs"]}
    assert set(by_job) == {"mnist-eu", "digits-dev", "ct-segment-us"}
    mnist = by_job["mnist-eu"]
    assert [s["cluster"] for s in mnist["selected"]] == ["eu-hosp-1", "eu-hosp-2"]
    hub_prod = {"eu-hosp-1", "eu-hosp-2", "eu-hosp-3", "eu-hosp-4", "us-clinic-1", "us-clinic-2", "us-clinic-3"}
    # every cluster of the hub is selected, excluded with a reason, or in an excluded set with one
    covered = {s["cluster"] for s in mnist["selected"]} | {e["cluster"] for e in mnist["excluded"]}
    assert hub_prod - covered == {"us-clinic-1", "us-clinic-2", "us-clinic-3"}
    assert mnist["excludedClusterSets"] == [{"clusterSet": "us-clinics", "clusters": 3,
                                             "reason": "not in a bound cluster set (cluster set us-clinics is not bound to namespace fl-mnist)"}]
    assert all(e["reason"] for e in mnist["excluded"])


def test_explain_one_cluster_across_jobs(fleet_repo: Path, run) -> None:
    result = run("plan", "--explain", "eu-hosp-3", "--format", "json")
    rows = {r["job"]: r for r in json.loads(result.out)["jobs"]}
    assert rows["mnist-eu"]["reason"] == "taint maintenance=true:NoSelect not tolerated"
    assert rows["digits-dev"]["reason"] == "managed by hub hub-prod, the job runs on hub hub-dev"
    assert rows["ct-segment-us"]["decision"] == "excluded"


def test_markdown_output(fleet_repo: Path, run) -> None:
    result = run("plan", "--format", "markdown")
    assert result.code == 0
    assert "| `mnist-eu` | hub-prod | eu-hosp-1, eu-hosp-2 | 2 | ok |" in result.out


def test_exclusions_are_grouped_by_reason_with_counts_and_examples(fleet_repo: Path, run) -> None:
    every = json.loads(run("plan", "--format", "json", "--all-exclusions").out)
    grouped = json.loads(run("plan", "--format", "json").out)
    jsonschema.validate(grouped, PLAN_JSON_SCHEMA)
    for full, short in zip(every["jobs"], grouped["jobs"]):
        assert "excluded" not in short and short["selected"] == full["selected"]
        rows: dict[tuple[str, str], list[str]] = {}
        for e in full["excluded"]:
            rows.setdefault((e["stage"], e["reason"]), []).append(e["cluster"])
        assert {(g["stage"], g["reason"]): g["count"] for g in short["exclusions"]} == {k: len(v) for k, v in rows.items()}
        for g in short["exclusions"]:
            assert g["examples"] == sorted(rows[(g["stage"], g["reason"])])[:3]
    pretty = run("plan", "--format", "json", "--pretty").out
    assert json.loads(pretty) == grouped and "\n  " in pretty
    compact = run("plan", "--format", "json").out
    assert compact.count("\n") == 1
    text = run("plan").out
    assert "excluded (taint): taint maintenance=true:NoSelect not tolerated  e.g. eu-hosp-3" in text
    assert "  - eu-hosp-3 " in run("plan", "--all-exclusions").out


# --- exclusions grouped from the index are the rows, aggregated ---------------------------------

def _aggregate(rows) -> list[tuple[str, str, int, tuple[str, ...]]]:
    """The rows grouped by (stage, reason), largest first: the reference for JobPlan's groups."""
    groups: dict[tuple[str, str], list[str]] = {}
    for e in rows:
        groups.setdefault((e.stage, e.reason), []).append(e.cluster)
    return [(stage, reason, len(names), tuple(sorted(names)[:3]))
            for (stage, reason), names in sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[0]))]


def test_grouped_exclusions_are_every_row_aggregated(tmp_path: Path) -> None:
    """The default plan counts and groups a job's exclusions without a row per cluster (labels
    many clusters share are grouped per set, keys few carry are looked at one by one); the
    groups, the count and each cluster's reason must be exactly those of the rows."""
    import random

    rnd = random.Random(15)
    sets = (("set-a", "hub-a"), ("set-b", "hub-a"), ("set-c", "hub-a"))
    jobs_claims = [f"{name}.client-data" for name in ("j", "k", "m", "cel")]
    clusters = []
    for i in range(400):
        labels = {k: rnd.choice(v) for k, v in (("region", ["eu", "us", "ap"]), ("tier", ["gold", "silver"]),
                                                ("gpu", ["true", "false"])) if rnd.random() < 0.85}
        if i % 50 == 0:
            labels["rare"] = "yes"  # a label key few clusters carry
        claims = {c: f"/data/c{i:03d}" for c in jobs_claims if rnd.random() < 0.04}
        taints = [{"key": "maintenance", "effect": "NoSelect"}] if i % 37 == 0 else None
        clusters.append(cluster(f"c{i:03d}", rnd.choice(sets)[0], labels, claims, cpu=rnd.choice(["4", "8", "16"]),
                                taints=taints))
    placements = {
        "j": {"numberOfClusters": 2, "predicates": [{"requiredClusterSelector": {"labelSelector": {
            "matchLabels": {"tier": "gold"}, "matchExpressions": [{"key": "region", "operator": "In", "values": ["eu", "us"]}]}}}]},
        "k": {"clusterSets": ["set-a", "set-b"], "predicates": [
            {"requiredClusterSelector": {"labelSelector": {"matchExpressions": [{"key": "gpu", "operator": "NotIn",
                                                                                  "values": ["false"]}]}}},
            {"requiredClusterSelector": {"labelSelector": {"matchExpressions": [{"key": "rare", "operator": "Exists"}]},
                                         "claimSelector": {"matchExpressions": [{"key": "j.client-data",
                                                                                 "operator": "DoesNotExist"}]}}}]},
        "m": {"numberOfClusters": 3},
        "cel": {"predicates": [{"requiredClusterSelector": {"celSelector": {"celExpressions": [
            'managedCluster.metadata.labels["region"] == "eu"']}}}]},
    }
    jobs = []
    for name, placement in placements.items():
        claim = f"{name}.client-data"
        allowed = placement.get("clusterSets") or [s for s, _ in sets]
        mine = {c["name"]: c["claims"][claim] for c in clusters if claim in c["claims"] and c["clusterSet"] in allowed}
        jobs.append(job(name, mine, placement))
    p = plan(build_fleet(tmp_path, clusters, jobs, sets=sets))
    for jp in p.jobs:
        rows = list(jp.excluded)
        assert len(jp.excluded) == len(rows) > 200
        assert [(g.stage, g.reason, g.count, g.examples) for g in jp.excluded.groups] == _aggregate(rows)
        assert len(jp.excluded.groups) >= 2
        for e in rows:
            assert jp.excluded.reason_of(e.cluster) == e.reason
        assert all(jp.excluded.reason_of(s.name) is None for s in jp.selected)
    stages = {g.stage for jp in p.jobs for g in jp.excluded.groups}
    assert stages == {"predicate", "taint", "numberOfClusters"}


def test_excluded_sets_with_one_reason_are_one_line(tmp_path: Path) -> None:
    # A hub with many cluster sets: every job would otherwise get one near-identical line per
    # set it does not use. The grouped line counts sets and clusters; --all-exclusions keeps one
    # line per set, and JSON keeps every set.
    from fedfleet.report.plan import plan_json, plan_markdown, plan_text, set_groups

    names = [f"set-{c}" for c in "abcdef"]
    fleet = build_fleet(tmp_path, [with_claim("a1"), *(with_claim(f"{s}-1", cluster_set=s) for s in names[1:]),
                                   with_claim("f-2", cluster_set="set-f")],
                        [job("j", holders("a1"), {"clusterSets": ["set-a"]})],
                        sets=tuple((s, "hub-a") for s in names))
    p = plan(fleet)
    jp = p.job("j")
    [group] = set_groups(jp)
    assert group.sets == ("set-b", "set-c", "set-d", "set-e", "set-f") and group.clusters == 6
    assert group.reason == "not in a bound cluster set (cluster set <set> is not bound to namespace fl-a)"
    text = plan_text(p)
    assert "  - 5 sets (6 clusters): not in a bound cluster set (cluster set <set> is not bound to namespace fl-a)" \
           "  e.g. set-b, set-c, set-d, ..." in text
    assert "set set-b" not in text
    every = plan_text(p, all_exclusions=True)
    assert all(f"  - set {s} (" in every for s in names[1:])
    assert "| all 6 of 5 sets, e.g. set-b, set-c, set-d, ... | excluded (clusterSet) |" in plan_markdown(p)
    assert [e["clusterSet"] for e in plan_json(p)["jobs"][0]["excludedClusterSets"]] == names[1:]
