"""`fedfleet inventory pull|diff` through the real kubernetes client against tests/fake_hub.py.

The hub is a local HTTP server on 127.0.0.1 serving ManagedCluster and ManagedClusterSet list
bodies in the API server's shapes (tests/fixtures/hub-prod/, validated here against the upstream
CRDs), paged with `limit`/`continue` like the API server, and refusing with 401/403 Status bodies
or stalling on demand.
"""

from __future__ import annotations

import copy
import json
import time
from pathlib import Path

import pytest
import yaml

from fake_hub import FIXTURES, Blackhole, FakeHub
from fedfleet.checks.crds import SchemaSet
from fedfleet.inventory.pull import update_entry
from ruamel.yaml import YAML

CLUSTERS_PATH = "/apis/cluster.open-cluster-management.io/v1/managedclusters"
EU = "specs/clusters/eu-hospitals.yaml"


def _hub_clusters() -> dict:
    return json.loads((FIXTURES / "hub-prod" / "managedclusters.json").read_text())


def test_recorded_managed_clusters_match_the_upstream_crds(crds: Path) -> None:
    schemas = SchemaSet.from_directory(crds)
    for name in ("managedclusters.json", "managedclustersets.json"):
        items = json.loads((FIXTURES / "hub-prod" / name).read_text())["items"]
        findings, checked = schemas.validate(items, name)
        assert checked == len(items) > 0
        assert [f for f in findings if f.severity.value == "error"] == [], findings


def test_pull_then_diff_shows_no_drift_and_a_changed_hub_label_shows_drift(fleet_repo: Path, run, tmp_path: Path) -> None:
    with FakeHub() as hub:
        kubeconfig = str(hub.kubeconfig(tmp_path / "kubeconfig"))
        before = run("inventory", "diff", "--kubeconfig", kubeconfig)
        assert before.code == 1 and "label vendor='OpenShift' on the hub is not in the inventory" in before.out
        pulled = run("inventory", "pull", "--kubeconfig", kubeconfig)
        assert pulled.code == 0, pulled.err
        assert "7 updated, 0 added, 0 removed" in pulled.out
        clean = run("inventory", "diff", "--kubeconfig", kubeconfig)
        assert clean.code == 0, clean.out
        assert "no drift" in clean.out and "7 cluster(s)" in clean.out
        # The specs still load and plan after the pull.
        assert run("generate").code == 0

        # Someone relabels a cluster on the hub: the diff names the cluster, the label and where it is declared.
        body = _hub_clusters()
        eu2 = next(c for c in body["items"] if c["metadata"]["name"] == "eu-hosp-2")
        eu2["metadata"]["labels"]["gpu"] = "false"
        hub.bodies[CLUSTERS_PATH] = body
        drift = run("inventory", "diff", "--kubeconfig", kubeconfig, "--format", "json")
        assert drift.code == 1
        report = json.loads(drift.out)
        assert report["clean"] is False and report["hub"] == "hub-prod"
        [entry] = report["drift"]
        assert entry["cluster"] == "eu-hosp-2" and entry["change"] == "changed"
        assert entry["details"] == ["label gpu: inventory 'true', hub 'false'"]
        line = next(i for i, text in enumerate((fleet_repo / EU).read_text().splitlines(), 1) if "name: eu-hosp-2" in text)
        assert entry["location"].startswith(f"specs/clusters/eu-hospitals.yaml:{line}:")


def test_pull_keeps_comments_style_and_spelling_and_is_idempotent(fleet_repo: Path, run, tmp_path: Path) -> None:
    eu = fleet_repo / EU
    eu.write_text(eu.read_text()
                  .replace("metadata:\n  name: eu-hospitals\n",
                           "metadata:\n  name: eu-hospitals\n  annotations: {owner: platform-team}\n")
                  .replace("  - name: eu-hosp-1\n", "  # eu-hosp-1: Lyon university hospital, contact dpo@example.org\n"
                           "  - name: eu-hosp-1  # the first site\n"))
    with FakeHub() as hub:
        kubeconfig = str(hub.kubeconfig(tmp_path / "kubeconfig"))
        assert run("inventory", "pull", "--kubeconfig", kubeconfig).code == 0
        text = eu.read_text()
        assert "  # eu-hosp-1: Lyon university hospital, contact dpo@example.org\n  - name: eu-hosp-1  # the first site\n" in text
        assert "annotations: {owner: platform-team}" in text
        # 128Gi equals the hub's 134217728Ki: the hand-written spelling stays.
        assert "allocatable: {cpu: \"32\", memory: 128Gi}" in text
        assert "gpu: \"true\"" in text  # quoting kept
        assert "vendor: OpenShift" in text and "timeAdded: '2026-11-23T17:40:00Z'" in text
        assert "value: \"true\", effect: NoSelect" in text  # the taint edited in place, not rewritten
        again = run("inventory", "pull", "--kubeconfig", kubeconfig, "--format", "json")
        assert again.code == 0 and json.loads(again.out)["files"] == []
        assert eu.read_text() == text


def test_pull_adds_and_removes_clusters_of_the_hubs_sets_only(fleet_repo: Path, run, tmp_path: Path) -> None:
    body = _hub_clusters()
    gone = next(c for c in body["items"] if c["metadata"]["name"] == "us-clinic-3")
    body["items"].remove(gone)
    new = copy.deepcopy(next(c for c in body["items"] if c["metadata"]["name"] == "eu-hosp-3"))  # tainted
    new["metadata"]["name"] = "eu-hosp-5"
    new["metadata"]["labels"]["name"] = "eu-hosp-5"
    body["items"].append(new)
    dev_before = (fleet_repo / "specs/clusters/dev.yaml").read_text()
    with FakeHub() as hub:
        hub.bodies[CLUSTERS_PATH] = body
        kubeconfig = str(hub.kubeconfig(tmp_path / "kubeconfig"))
        result = run("inventory", "pull", "--kubeconfig", kubeconfig, "--format", "json")
        pulled = json.loads(result.out)
        assert pulled["added"] == ["eu-hosp-5"] and pulled["removed"] == ["us-clinic-3"]
    eu = yaml.safe_load((fleet_repo / EU).read_text())
    assert [c["name"] for c in eu["spec"]["clusters"]][-1] == "eu-hosp-5"
    added = eu["spec"]["clusters"][-1]
    assert added["taints"] == [{"key": "maintenance", "value": "true", "effect": "NoSelect", "timeAdded": "2026-11-23T17:40:00Z"}]
    assert added["labels"]["gpu"] == "true" and added["allocatable"] == {"cpu": "16", "memory": "67108864Ki"}
    us = yaml.safe_load((fleet_repo / "specs/clusters/us-clinics.yaml").read_text())
    assert "us-clinic-3" not in [c["name"] for c in us["spec"]["clusters"]]
    # hub-dev's clusters are not this hub's: untouched.
    assert (fleet_repo / "specs/clusters/dev.yaml").read_text() == dev_before
    # us-clinic-3 was a data holder of ct-segment-us: the specs now say so, and pull exits 1.
    # With -o json the findings are in the document and stderr stays empty.
    assert result.code == 1 and pulled["specsValid"] is False and result.err == ""
    assert any("data holder 'us-clinic-3' is not a declared cluster" in f["message"] for f in pulled["findings"])


def test_paging_follows_continue_and_gives_the_same_inventory(fleet_repo: Path, run, tmp_path: Path) -> None:
    with FakeHub() as hub:
        kubeconfig = str(hub.kubeconfig(tmp_path / "kubeconfig"))
        whole = json.loads(run("inventory", "diff", "--kubeconfig", kubeconfig, "--format", "json").out)
        hub.queries.clear()
        paged = json.loads(run("inventory", "diff", "--kubeconfig", kubeconfig, "--format", "json", "--page-size", "3").out)
        cluster_calls = [q for path, q in zip(hub.requests[-len(hub.queries):], hub.queries) if path == CLUSTERS_PATH]
    assert paged == whole
    # 8 ManagedClusters in pages of 3: three calls, the later two carrying the server's continue token.
    assert [q.get("limit") for q in cluster_calls] == [["3"]] * 3
    assert ["continue" in q for q in cluster_calls] == [False, True, True]


@pytest.mark.parametrize("fault,expect", [
    ("401", "401 Unauthorized listing managedclusters.cluster.open-cluster-management.io"),
    ("403", "403 Forbidden listing managedclusters.cluster.open-cluster-management.io on hub hub-prod"),
])
def test_refusals_are_exit_2_with_the_reason(fleet_repo: Path, run, tmp_path: Path, fault: str, expect: str) -> None:
    with FakeHub() as hub:
        hub.fault = fault
        result = run("inventory", "diff", "--kubeconfig", str(hub.kubeconfig(tmp_path / "kubeconfig")))
    assert result.code == 2 and expect in result.err and "Traceback" not in result.err
    if fault == "403":
        assert 'cannot list resource "managedclusters"' in result.err


def test_read_timeout_is_reported_as_such(fleet_repo: Path, run, tmp_path: Path) -> None:
    with FakeHub() as hub:
        hub.fault, hub.slow_seconds = "slow", 2.0
        start = time.monotonic()
        result = run("inventory", "diff", "--kubeconfig", str(hub.kubeconfig(tmp_path / "kubeconfig")),
                     "--read-timeout", "0.4")
        elapsed = time.monotonic() - start
    assert result.code == 2
    assert "connected, but no response within the read timeout of 0.4 s" in result.err
    assert elapsed < 1.9, "one attempt only: the stated timeout is the one that expired"


def test_connect_timeout_is_reported_as_such(fleet_repo: Path, run, tmp_path: Path) -> None:
    with Blackhole() as hole:
        result = run("inventory", "diff", "--kubeconfig", str(hole.kubeconfig(tmp_path / "kubeconfig")),
                     "--hub", "hub-prod", "--connect-timeout", "0.3")
    assert result.code == 2
    assert "no connection within the connect timeout of 0.3 s" in result.err


def test_missing_kubeconfig_is_exit_2(fleet_repo: Path, run, tmp_path: Path) -> None:
    result = run("inventory", "pull", "--kubeconfig", str(tmp_path / "absent"))
    assert result.code == 2 and "kubeconfig not found" in result.err


def test_update_keeps_fields_fedfleet_does_not_know() -> None:
    y = YAML(typ="rt")
    node = y.load("name: c1\nclusterSet: s\nsite: {room: 4}  # hand-kept\nlabels: {a: '1'}\n")
    changed = update_entry(node, {"name": "c1", "clusterSet": "s", "labels": {"a": "2"}, "claims": {}})
    assert changed and node["site"] == {"room": 4} and node["labels"] == {"a": "2"}


def test_pull_rewrites_a_flow_style_file_whole_and_keeps_other_files_untouched(fleet_repo: Path, run, tmp_path: Path) -> None:
    us = fleet_repo / "specs/clusters/us-clinics.yaml"
    us.write_text(json.dumps(yaml.safe_load(us.read_text()), indent=1) + "\n")  # JSON is YAML in flow style
    with FakeHub() as hub:
        kubeconfig = str(hub.kubeconfig(tmp_path / "kubeconfig"))
        assert run("inventory", "pull", "--kubeconfig", kubeconfig).code == 0
        assert run("inventory", "diff", "--kubeconfig", kubeconfig).code == 0
        eu_text = (fleet_repo / EU).read_text()
        body = _hub_clusters()
        eu1 = next(c for c in body["items"] if c["metadata"]["name"] == "eu-hosp-1")
        eu1["metadata"]["labels"]["tier"] = "university"
        hub.bodies[CLUSTERS_PATH] = body
        pulled = json.loads(run("inventory", "pull", "--kubeconfig", kubeconfig, "--format", "json").out)
    assert pulled["updated"] == ["eu-hosp-1"] and pulled["files"] == ["specs/clusters/eu-hospitals.yaml"]
    after = (fleet_repo / EU).read_text()
    changed = [(a, b) for a, b in zip(eu_text.splitlines(), after.splitlines()) if a != b]
    assert len(changed) == 1 and "tier: university" in changed[0][1], changed  # one line, in place
    assert [c["name"] for c in yaml.safe_load(us.read_text())["spec"]["clusters"]] == ["us-clinic-1", "us-clinic-2", "us-clinic-3"]


def test_a_hub_without_the_fleets_sets_leaves_their_clusters_alone(fleet_repo: Path, run, tmp_path: Path) -> None:
    """Before the first sync the hub has no fleet set: nothing is compared, nothing removed."""
    before = {p: p.read_text() for p in (fleet_repo / "specs/clusters").glob("*.yaml")}
    sets = json.loads((FIXTURES / "hub-prod" / "managedclustersets.json").read_text())
    sets["items"] = [s for s in sets["items"] if s["metadata"]["name"] in ("default", "global")]
    with FakeHub() as hub:
        hub.bodies["/apis/cluster.open-cluster-management.io/v1beta2/managedclustersets"] = sets
        kubeconfig = str(hub.kubeconfig(tmp_path / "kubeconfig"))
        result = run("inventory", "pull", "--kubeconfig", kubeconfig, "--format", "json")
        diff = json.loads(run("inventory", "diff", "--kubeconfig", kubeconfig, "--format", "json").out)
    pulled = json.loads(result.out)
    assert result.code == 0 and pulled["files"] == [] and pulled["removed"] == []
    assert any("eu-hospitals is not on the hub" in n for n in pulled["notes"])
    assert diff["clean"] and diff["compared"] == 0
    assert {p: p.read_text() for p in (fleet_repo / "specs/clusters").glob("*.yaml")} == before


def test_a_first_pull_fills_an_inventory_the_jobs_already_need(fleet_repo: Path, run, tmp_path: Path) -> None:
    """Without specs/clusters/eu-hospitals.yaml the specs do not load (mnist-eu's holders dangle);
    pull still runs, writes the set's file from the hub, and the specs load again."""
    (fleet_repo / EU).unlink()
    assert run("generate").code == 2
    with FakeHub() as hub:
        result = run("inventory", "pull", "--kubeconfig", str(hub.kubeconfig(tmp_path / "kubeconfig")), "--format", "json")
    assert result.code == 0, result.err
    pulled = json.loads(result.out)
    assert pulled["added"] == ["eu-hosp-1", "eu-hosp-2", "eu-hosp-3", "eu-hosp-4"]
    assert pulled["files"] == ["specs/clusters/eu-hospitals.yaml", "specs/clusters/us-clinics.yaml"]
    doc = yaml.safe_load((fleet_repo / EU).read_text())
    assert doc["kind"] == "ManagedClusterInventory" and doc["metadata"]["name"] == "eu-hospitals"
    assert run("generate").code == 0
