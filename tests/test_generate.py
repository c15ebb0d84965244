"""The bundle generator: output layout, determinism, pruning, drift, atomicity."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import yaml

from fedfleet.write import HEADER


def _objects(path: Path) -> list[dict]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d]


def _kinds(root: Path) -> set[str]:
    return {o["kind"] for f in root.rglob("*.yaml") if f.name != "kustomization.yaml" for o in _objects(f)}


def test_overlays_hold_jobs_bindings_placements_and_apps(fleet_repo: Path, run) -> None:
    assert run("generate").code == 0
    for hub in ("hub-dev", "hub-prod"):
        kinds = _kinds(fleet_repo / "overlays" / hub)
        assert {"FederatedLearning", "Placement", "ManagedClusterSetBinding", "ManagedClusterSet", "Namespace"} <= kinds
        apps = _objects(fleet_repo / "bootstrap" / hub / "application.yaml")
        assert apps[0]["kind"] == "Application"
        assert apps[0]["spec"]["source"]["path"] == f"overlays/{hub}"
        assert apps[0]["spec"]["syncPolicy"]["automated"] == {"prune": True, "selfHeal": True}
    assert (fleet_repo / "bases" / "flower-addon" / "kustomization.yaml").exists()


def test_client_placement_gets_the_data_claim_in_every_predicate(fleet_repo: Path, run) -> None:
    run("generate")
    fl = _objects(fleet_repo / "overlays/hub-prod/jobs/mnist-eu.yaml")[0]
    predicates = fl["spec"]["client"]["placement"]["predicates"]
    assert predicates, "the job's placement must carry predicates"
    for p in predicates:
        exprs = p["requiredClusterSelector"]["claimSelector"]["matchExpressions"]
        assert exprs[-1] == {"key": "mnist-eu.client-data", "operator": "Exists"}
    # the user's own label selector is still there, ANDed with the claim
    assert predicates[0]["requiredClusterSelector"]["labelSelector"] == {"matchLabels": {"gpu": "true"}}
    # a job without predicates gets one selecting on the claim alone
    dev = _objects(fleet_repo / "overlays/hub-dev/jobs/digits-dev.yaml")[0]
    assert dev["spec"]["client"]["placement"]["predicates"] == [
        {"requiredClusterSelector": {"claimSelector": {"matchExpressions": [{"key": "digits-dev.client-data", "operator": "Exists"}]}}}
    ]


def test_no_placement_named_like_a_job_is_shipped(fleet_repo: Path, run) -> None:
    """The FL controller creates the Placement named like the job; shipping one would give it two owners."""
    run("generate")
    jobs = {(o["metadata"]["namespace"], o["metadata"]["name"])
            for f in (fleet_repo / "overlays").rglob("*.yaml") for o in _objects(f) if o.get("kind") == "FederatedLearning"}
    placements = {(o["metadata"]["namespace"], o["metadata"]["name"])
                  for f in (fleet_repo / "overlays").rglob("*.yaml") for o in _objects(f) if o.get("kind") == "Placement"}
    assert jobs and placements and not (jobs & placements)


def test_bindings_cover_every_namespace_and_set_in_use(fleet_repo: Path, run) -> None:
    run("generate")
    objs = _objects(fleet_repo / "overlays/hub-prod/cluster-sets.yaml")
    bindings = {(o["metadata"]["namespace"], o["spec"]["clusterSet"]) for o in objs if o["kind"] == "ManagedClusterSetBinding"}
    assert {("fl-mnist", "eu-hospitals"), ("fl-ct", "us-clinics")} <= bindings
    assert ("open-cluster-management", "eu-hospitals") in bindings  # for the add-on install placement


def test_data_locality_is_one_map_per_job(fleet_repo: Path, run) -> None:
    run("generate")
    maps = [o for o in _objects(fleet_repo / "overlays/hub-prod/jobs/mnist-eu.yaml") if o["kind"] == "ConfigMap"]
    assert len(maps) == 1
    assert maps[0]["data"] == {"eu-hosp-1": "/data/private/mnist", "eu-hosp-2": "/data/private/mnist", "eu-hosp-3": "/srv/fl/mnist"}


def test_two_generations_are_byte_identical(fleet_repo: Path, run) -> None:
    run("generate")
    first = {p: p.read_bytes() for p in fleet_repo.rglob("*") if p.is_file() and "specs" not in p.parts}
    result = run("generate")
    assert result.code == 0 and "nothing changed" in result.out
    second = {p: p.read_bytes() for p in fleet_repo.rglob("*") if p.is_file() and "specs" not in p.parts}
    assert first == second
    assert all(content.startswith(HEADER.encode()) for content in first.values())


def test_two_processes_with_different_hash_seeds_write_the_same_bytes(fleet_repo: Path, tmp_path: Path) -> None:
    # Set and dict order of str keys changes with the hash seed between processes; the bundle must not.
    trees = []
    for seed in ("1", "2"):
        out = tmp_path / f"out-{seed}"
        env = {**os.environ, "PYTHONHASHSEED": seed}
        subprocess.run([sys.executable, "-m", "fedfleet.cli", "generate", "--specs", str(fleet_repo / "specs"),
                        "--out", str(out)], check=True, env=env, capture_output=True)
        trees.append({p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()})
    assert trees[0] and trees[0] == trees[1]


def test_check_reports_drift_and_writes_nothing(fleet_repo: Path, run) -> None:
    result = run("generate", "--check")
    assert result.code == 1 and "overlays/hub-prod/jobs/mnist-eu.yaml" in result.err
    assert not (fleet_repo / "overlays").exists()
    run("generate")
    assert run("generate", "--check").code == 0
    job = fleet_repo / "specs/jobs/mnist-eu.yaml"
    job.write_text(job.read_text().replace("rounds: 5", "rounds: 7"))
    result = run("generate", "--check", "--format", "json")
    assert result.code == 1
    assert '"overlays/hub-prod/jobs/mnist-eu.yaml"' in result.out


def test_prunes_own_stale_files_but_never_hand_written_ones(fleet_repo: Path, run) -> None:
    run("generate")
    stale = fleet_repo / "overlays/hub-prod/jobs/ct-segment-us.yaml"
    assert stale.is_file(), "the job's file exists before its spec goes"
    hand = fleet_repo / "overlays/hub-prod/README.md"
    hand.write_text("notes kept by the platform team\n")
    (fleet_repo / "specs/jobs/ct-segment-us.yaml").unlink()
    result = run("generate")
    # ct-segment-us was hub-prod's only OpenFL job: its otel add-on and observability policies go too
    assert result.code == 0 and "pruned 3" in result.out
    assert not stale.exists()
    assert not (fleet_repo / "overlays/hub-prod/otel-addon.yaml").exists()
    assert not (fleet_repo / "overlays/hub-prod/governance/observability.yaml").exists()
    assert hand.read_text() == "notes kept by the platform team\n"


def test_hand_written_file_in_the_way_is_an_input_error(fleet_repo: Path, run) -> None:
    target = fleet_repo / "overlays/hub-prod/jobs/mnist-eu.yaml"
    target.parent.mkdir(parents=True)
    target.write_text("# mine\n")
    result = run("generate")
    assert result.code == 2 and "hand-written" in result.err
    assert target.read_text() == "# mine\n"
    assert not (fleet_repo / "bases").exists(), "nothing may be written when one file clashes"


def test_version_and_help_on_every_verb(run) -> None:
    assert run("--version").code == 0
    for verb in ("generate", "validate", "plan", "check", "diff", "simulate", "audit", "schema", "policy",
                 "policy list", "policy test"):
        result = run(*verb.split(), "--help")
        assert result.code == 0 and "usage: fedfleet " + verb in result.out
    assert run("no-such-verb").code == 2


def test_schema_is_published_json_schema(run) -> None:
    import json

    import jsonschema

    result = run("schema")
    schema = json.loads(result.out)
    jsonschema.Draft202012Validator.check_schema(schema)
    kinds = {s["properties"]["kind"]["const"] for s in schema["oneOf"]}
    assert kinds == {"Fleet", "ManagedClusterInventory", "FederatedLearningJob"}
