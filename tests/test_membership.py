"""Set membership is real: after Argo CD syncs the bundle onto a fresh hub, every cluster the plan
selects is a member of the job's cluster sets and carries the labels its placement selects on.

The hub is simulated from the bundle alone, independently of placement.py: ManagedClusters start
with only what OCM gives them (its webhook's `cluster.open-cluster-management.io/clusterset=default`);
the enforced membership policies' object templates are resolved (the `lookup` guard finds every
inventory cluster) and merged as `musthave` merges labels; the rendered ManagedClusterSets are then
evaluated with OCM's selector semantics (fedfleet.inventory.observed mirrors BuildClusterSelector).
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import yaml

from fedfleet.inventory.observed import selector_matches, set_selects

GUARD = re.compile(r'\{\{- if \(lookup "cluster.open-cluster-management.io/v1" "ManagedCluster" "" "([^"]+)"\) \}\}\n'
                   r"(.*?)\{\{- end \}\}\n", re.S)


def _docs(root: Path, pattern: str) -> list[dict[str, Any]]:
    return [d for p in sorted(root.glob(pattern)) for d in yaml.safe_load_all(p.read_text()) if d]


def _inventory(root: Path) -> list[dict[str, Any]]:
    return [c for d in _docs(root, "specs/clusters/*.yaml") for c in d["spec"]["clusters"]]


def resolve_membership(raw: str, existing: set[str]) -> list[dict[str, Any]]:
    """The object templates the config-policy-controller gets once `lookup` resolved on the hub."""
    body = GUARD.sub(lambda m: m.group(2) if m.group(1) in existing else "", raw)
    return yaml.safe_load(body) or []


def synced_hub(root: Path, hub: str) -> dict[str, dict[str, str]]:
    """ManagedCluster name -> labels after the hub's membership policies were enforced."""
    names = {c["name"] for c in _inventory(root)}
    labels = {n: {"cluster.open-cluster-management.io/clusterset": "default"} for n in names}
    for policy in _docs(root, f"overlays/{hub}/governance/*.yaml"):
        if policy["kind"] != "Policy" or policy["spec"]["remediationAction"] != "enforce":
            continue
        for template in policy["spec"]["policy-templates"]:
            raw = template["objectDefinition"]["spec"].get("object-templates-raw", "")
            if '"ManagedCluster"' not in raw:
                continue
            for t in resolve_membership(raw, names):
                assert t["complianceType"] == "musthave"
                obj = t["objectDefinition"]
                labels[obj["metadata"]["name"]].update(obj["metadata"]["labels"])
    return labels


def members(root: Path, hub: str, labels: dict[str, dict[str, str]]) -> dict[str, set[str]]:
    sets = [d for d in _docs(root, f"overlays/{hub}/cluster-sets.yaml") if d["kind"] == "ManagedClusterSet"]
    return {s["metadata"]["name"]: {n for n, lab in labels.items() if set_selects(s, lab)} for s in sets}


def _check_every_selected_cluster(root: Path, run) -> list[str]:
    """Problems found: a selected cluster that is no member, or lacks a label its placement needs."""
    plan = json.loads(run("plan", "--format", "json").out)
    problems = []
    for job in plan["jobs"]:
        labels = synced_hub(root, job["hub"])
        sets = members(root, job["hub"], labels)
        fl = next(d for d in _docs(root, f"overlays/{job['hub']}/jobs/{job['job']}.yaml") if d["kind"] == "FederatedLearning")
        placement = fl["spec"]["client"]["placement"]
        for s in job["selected"]:
            cluster = s["cluster"]
            if not any(cluster in sets.get(name, set()) for name in placement["clusterSets"]):
                problems.append(f"{job['job']}: {cluster} is no member of {placement['clusterSets']}")
            if not any(selector_matches(p["requiredClusterSelector"].get("labelSelector"), labels[cluster])
                       for p in placement["predicates"]):
                problems.append(f"{job['job']}: {cluster} lacks the labels its placement selects on")
    return problems


def test_every_cluster_the_plan_selects_is_a_member_after_sync(fleet_repo: Path, run) -> None:
    assert run("generate").code == 0
    plan = json.loads(run("plan", "--format", "json").out)
    assert sum(len(j["selected"]) for j in plan["jobs"]) >= 6, "the example selects clusters on both hubs"
    assert _check_every_selected_cluster(fleet_repo, run) == []
    # Exactly the inventory's clusters of each set are members; nothing else.
    for hub in ("hub-dev", "hub-prod"):
        got = members(fleet_repo, hub, synced_hub(fleet_repo, hub))
        want: dict[str, set[str]] = {}
        for c in _inventory(fleet_repo):
            if c["clusterSet"] in got:
                want.setdefault(c["clusterSet"], set()).add(c["name"])
        assert got == want


def test_without_the_membership_policies_no_cluster_is_a_member(fleet_repo: Path, run) -> None:
    """The proof can fail: with the plugin off, the fresh hub's sets are empty."""
    fleet = fleet_repo / "specs/fleet.yaml"
    fleet.write_text(fleet.read_text() + "  governance:\n    plugins:\n      membership: {enabled: false}\n")
    assert run("generate").code == 0
    problems = _check_every_selected_cluster(fleet_repo, run)
    assert problems and all("no member" in p or "lacks the labels" in p for p in problems)


def test_a_missing_cluster_is_never_created_by_the_policy(fleet_repo: Path, run) -> None:
    assert run("generate").code == 0
    policy = next(d for d in _docs(fleet_repo, "overlays/hub-prod/governance/membership.yaml")
                  if d["kind"] == "Policy" and d["metadata"]["name"] == "membership-eu-hospitals")
    raw = policy["spec"]["policy-templates"][0]["objectDefinition"]["spec"]["object-templates-raw"]
    on_hub = resolve_membership(raw, {"eu-hosp-1", "eu-hosp-2"})
    assert [t["objectDefinition"]["metadata"]["name"] for t in on_hub] == ["eu-hosp-1", "eu-hosp-2"]
    assert on_hub[0]["objectDefinition"]["metadata"]["labels"] == {
        "fedfleet.io/cluster-set": "eu-hospitals", "gpu": "true", "region": "eu-west"}
    assert resolve_membership(raw, set()) == []
    assert policy["spec"]["remediationAction"] == "enforce"  # even where the environment informs


def test_membership_rule_breaks_on_an_exclusive_label_set(fleet_repo: Path, run) -> None:
    from fedfleet import pipeline
    from fedfleet.checks import rego

    paths = pipeline.Paths(specs=Path("specs"), out=Path("."))
    b = pipeline.render(paths)
    modules = rego.plugin_modules(b.registry.rego_modules())
    assert not [f for f in rego.evaluate(b.fleet, b.plan, b.bundle, modules).findings if f.check == "rego:membership.labels"]
    edited = {p: [({**d, "spec": {"clusterSelector": {"selectorType": "ExclusiveClusterSetLabel"}}}
                   if d.get("kind") == "ManagedClusterSet" and d["metadata"]["name"] == "us-clinics" else d) for d in docs]
              for p, docs in b.bundle.items()}
    found = [f for f in rego.evaluate(b.fleet, b.plan, edited, modules).findings if f.check == "rego:membership.labels"]
    assert len(found) == 1 and "us-clinics" in found[0].message


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
                          check=True, capture_output=True, text=True).stdout


def test_a_cluster_added_to_the_inventory_shows_in_diff(fleet_repo: Path, run) -> None:
    _git(fleet_repo, "init", "-q", "-b", "main")
    _git(fleet_repo, "add", "specs")
    _git(fleet_repo, "commit", "-q", "-m", "base")
    us = fleet_repo / "specs/clusters/us-clinics.yaml"
    us.write_text(us.read_text() + "  - name: us-clinic-4\n    clusterSet: us-clinics\n"
                  "    labels: {region: us-east, gpu: \"true\", tier: clinic}\n")
    changes = json.loads(run("diff", "--base", "main", "--format", "json").out)["changes"]
    policy = next(c for c in changes if c["kind"] == "Policy" and c["name"].endswith("membership-us-clinics"))
    assert policy["root"] == "overlays/hub-prod" and policy["change"] == "changed"
    assert "us-clinic-4" in json.dumps(policy["fields"])
