"""Lifecycle: re-running a job with `spec.run`, and `check --base` warning on edits that would drive
a running job to terminal Failed (the FL controller's behaviour, cited in checks/lifecycle.py)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import yaml

OPENFL = "specs/jobs/ct-segment-us.yaml"


@pytest.fixture(autouse=True)
def _crd_store(crds: Path) -> None:
    """check validates against the CRD store by default: these tests need it filled."""


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
                          check=True, capture_output=True, text=True).stdout


def _base(repo: Path) -> None:
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "add", "specs")
    _git(repo, "commit", "-q", "-m", "base")


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"fixture drifted: {old!r}"
    path.write_text(text.replace(old, new, 1))


def _line_of(path: Path, needle: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if needle in line)


def _lifecycle(result_out: str) -> list[dict]:
    report = json.loads(result_out)
    run = next(r for r in report["checks"] if r["name"] == "lifecycle")
    return run["findings"]


def test_run_counter_renders_a_new_object_name(fleet_repo: Path, run) -> None:
    _edit(fleet_repo / OPENFL, "  framework: openfl\n", "  framework: openfl\n  run: 2\n")
    assert run("generate").code == 0
    docs = list(yaml.safe_load_all((fleet_repo / "overlays/hub-prod/jobs/ct-segment-us.yaml").read_text()))
    fl = next(d for d in docs if d and d["kind"] == "FederatedLearning")
    assert fl["metadata"]["name"] == "ct-segment-us-run2"
    assert fl["metadata"]["labels"]["fedfleet.io/job"] == "ct-segment-us" and fl["metadata"]["labels"]["fedfleet.io/run"] == "2"
    # the data stays where it was: the claim is the job's, not the run's
    claims = [e["key"] for p in fl["spec"]["client"]["placement"]["predicates"]
              for e in p["requiredClusterSelector"]["claimSelector"]["matchExpressions"] if e["operator"] == "Exists"]
    assert claims == ["ct-segment-us.client-data"]


def test_a_re_run_shows_in_diff_as_a_replaced_object(fleet_repo: Path, run) -> None:
    _base(fleet_repo)
    _edit(fleet_repo / OPENFL, "  framework: openfl\n", "  framework: openfl\n  run: 2\n")
    changes = json.loads(run("diff", "--base", "main", "--format", "json").out)["changes"]
    fls = {(c["name"], c["change"]) for c in changes if c["kind"] == "FederatedLearning"}
    assert fls == {("fl-ct/ct-segment-us", "removed"), ("fl-ct/ct-segment-us-run2", "added")}


def test_check_warns_on_an_openfl_edit_that_recreates_the_server_job(fleet_repo: Path, run) -> None:
    _base(fleet_repo)
    assert run("generate").code == 0
    job = fleet_repo / OPENFL
    _edit(job, "rounds: 10", "rounds: 12")
    assert run("generate").code == 0
    result = run("check", "--base", "main", "--format", "json")
    assert result.code == 0, "a warning, not a failure"
    [finding] = _lifecycle(result.out)
    assert finding["severity"] == "warning" and finding["field"] == "spec.server.rounds"
    assert finding["file"] == "specs/jobs/ct-segment-us.yaml" and finding["line"] == _line_of(job, "rounds: 12")
    assert "terminal Failed" in finding["message"] and "bump spec.run (to 2)" in finding["message"]
    text = run("check", "--base", "main").out
    assert "spec.server.rounds changes (spec.server.rounds: 10 -> 12)" in text

    # The documented way: the same edit with a new run is a new object, nothing to warn about.
    _edit(job, "  framework: openfl\n", "  framework: openfl\n  run: 2\n")
    assert run("generate").code == 0
    assert _lifecycle(run("check", "--base", "main", "--format", "json").out) == []


def test_placement_edit_of_an_openfl_job_warns_and_flower_edits_do_not(fleet_repo: Path, run) -> None:
    _base(fleet_repo)
    _edit(fleet_repo / OPENFL, "numberOfClusters: 2", "numberOfClusters: 3")  # changes --cols of the server Job
    _edit(fleet_repo / "specs/jobs/mnist-eu.yaml", "rounds: 5", "rounds: 8")  # Flower: updated in place
    assert run("generate").code == 0
    found = _lifecycle(run("check", "--base", "main", "--format", "json").out)
    assert [(f["subject"], f["field"]) for f in found] == [("FederatedLearningJob ct-segment-us", "spec.placement")]


def test_framework_change_under_the_same_name_warns(fleet_repo: Path, run) -> None:
    _base(fleet_repo)
    _edit(fleet_repo / "specs/jobs/digits-dev.yaml", "framework: flower", "framework: openfl")
    assert run("generate").code == 0
    found = _lifecycle(run("check", "--base", "main", "--format", "json").out)
    assert len(found) == 1 and found[0]["field"] == "spec.framework" and "from flower to openfl" in found[0]["message"]


def test_without_base_there_is_no_lifecycle_check(fleet_repo: Path, run) -> None:
    assert run("generate").code == 0
    report = json.loads(run("check", "--format", "json").out)
    assert "lifecycle" not in [r["name"] for r in report["checks"]]


def test_a_base_that_does_not_load_is_a_warning_and_a_bad_revision_is_bad_input(fleet_repo: Path, run) -> None:
    job = fleet_repo / OPENFL
    _edit(job, "      size: 20Gi\n", "")  # the base breaks the controller contract
    _base(fleet_repo)
    job.write_text(job.read_text().replace("      path: /models\n", "      path: /models\n      size: 20Gi\n"))
    assert run("generate").code == 0
    [finding] = _lifecycle(run("check", "--base", "main", "--format", "json").out)
    assert finding["severity"] == "warning" and "do not load" in finding["message"]
    assert run("check", "--base", "no-such-ref").code == 2
