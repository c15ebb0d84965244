"""Policy audit: offline from the repo (four formats), live from a hub (through the real
kubernetes client, against a local server of stored API responses), exit codes."""

from __future__ import annotations

import json
import shutil

import pytest
from html.parser import HTMLParser
from pathlib import Path

from conftest import REPO
from fake_hub import FIXTURES, FakeHub
from fedfleet import pipeline
from fedfleet.checks.crds import SchemaSource


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new, 1))


def test_offline_audit_groups_every_policy_by_control(fleet_repo: Path, run) -> None:
    result = run("audit", "--format", "json")
    report = json.loads(result.out)
    assert result.code == 0 and report["compliant"] and not report["live"]
    controls = {c["control"]: c for c in report["controls"]}
    assert {"SC-8 Transmission Confidentiality and Integrity", "CM-2 Baseline Configuration",
            "CM-8 System Component Inventory", "AC-4 Information Flow Enforcement", "SI-4 System Monitoring"} <= set(controls)
    assert all(c["standard"] == "NIST SP 800-53" for c in report["controls"])
    # every generated policy appears under each of its controls
    sc8 = {(p["hub"], p["name"]) for p in controls["SC-8 Transmission Confidentiality and Integrity"]["policies"]}
    assert ("hub-prod", "tls-superlink") in sc8 and ("hub-dev", "tls-superlink") in sc8
    superlink = {p["hub"]: p for p in controls["SC-8 Transmission Confidentiality and Integrity"]["policies"]
                 if p["name"] == "tls-superlink"}
    assert superlink["hub-prod"]["remediation"] == "enforce" and superlink["hub-dev"]["remediation"] == "inform"
    assert superlink["hub-prod"]["rego"] == {"status": "pass", "findings": []}
    # targets come from the plan
    agent = next(p for p in controls["CM-2 Baseline Configuration"]["policies"] if p["name"] == "addon-agent-mnist-eu")
    assert agent["clusters"] == ["eu-hosp-1", "eu-hosp-2"] and agent["target"] == "job-clients:mnist-eu"
    certs = next(p for p in controls["SC-12 Cryptographic Key Establishment and Management"]["policies"]
                 if p["name"] == "tls-certificates")
    assert certs["rego"]["status"] == "none", "no Rego twin checks certificate expiry"


def test_offline_audit_reports_gaps_and_twin_failures(fleet_repo: Path, run) -> None:
    _edit(fleet_repo / "specs/fleet.yaml", "  hubs:\n", "  governance:\n    plugins:\n      observability: {enabled: false}\n"
          "      data-locality:\n        overrides:\n          mnist-eu: {disabled: true}\n  hubs:\n")
    _edit(fleet_repo / "specs/jobs/mnist-eu.yaml", "  tls: {enabled: true}", "  tls: {enabled: false}")
    result = run("audit", "--format", "json")
    report = json.loads(result.out)
    assert result.code == 1 and not report["compliant"]
    messages = [g["message"] for g in report["gaps"]]
    assert any("hub hub-prod runs jobs but has no observability policy at all" in m for m in messages)
    assert any(m.startswith("policy data-locality-mnist-eu") and "for job mnist-eu" in m and "eu-hosp-4" in m
               and "an override disables it" in m for m in messages)
    jobs = next(p for c in report["controls"] for p in c["policies"] if p["hub"] == "hub-prod" and p["name"] == "tls-jobs")
    assert jobs["rego"]["status"] == "fail" and "turns TLS off" in jobs["rego"]["findings"][0]


def test_markdown_and_html_reports(fleet_repo: Path, run, tmp_path: Path) -> None:
    md = run("audit", "--format", "markdown").out
    assert md.startswith("# Policy audit of fleet `acme-health`")
    assert "## NIST SP 800-53 SC-8 Transmission Confidentiality and Integrity" in md
    assert "| hub-prod | `tls-superlink` | tls | enforce | hub: hub-prod (local-cluster) | pass |  |" in md
    out = tmp_path / "audit.html"
    assert run("audit", "--format", "html", "--output", str(out)).code == 0
    page = out.read_text()

    class Walk(HTMLParser):
        def __init__(self) -> None:
            super().__init__()
            self.tags: list[str] = []
            self.external: list[str] = []

        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            self.tags.append(tag)
            for key, value in attrs:
                if key in ("src", "href") and value and not value.startswith("#"):
                    self.external.append(value)

    walk = Walk()
    walk.feed(page)
    assert walk.external == [], "the HTML report must not load anything"
    assert "script" not in walk.tags and "link" not in walk.tags
    assert walk.tags.count("table") == md.count("\n## NIST")
    assert "svg" in walk.tags and walk.tags.count("rect") >= walk.tags.count("table")
    assert "@import" not in page and "url(" not in page


def test_recorded_hub_objects_match_the_upstream_crds(crds: Path) -> None:
    # the kinds the example fleet allows without a schema (CertificatePolicy: not on the Go proxy)
    allowed = pipeline.load(pipeline.Paths(REPO / "specs", REPO)).allow_unvalidated_kinds
    schemas = SchemaSource.resolve([crds], allowed, store=False).load()
    fl = (crds / "federation-ai.open-cluster-management.io_federatedlearnings.yaml").is_file()  # not on the proxy
    for name in ("policies.json", "applications.json", "federatedlearnings.json", "placements.json",
                 "clustermanagementaddons.json", "managedclusteraddons.json"):
        if name == "federatedlearnings.json" and not fl:
            continue
        items = json.loads((FIXTURES / "hub-prod" / name).read_text())["items"]
        findings, checked = schemas.validate(items, name)
        assert checked >= len(items) and [f for f in findings if f.severity.value == "error"] == []


def test_live_audit_reports_expected_against_actual(fleet_repo: Path, run, tmp_path: Path) -> None:
    with FakeHub() as hub:
        kubeconfig = hub.kubeconfig(tmp_path / "kubeconfig")
        result = run("audit", "--kubeconfig", str(kubeconfig), "--format", "json")
        assert set(hub.requests) == {
            "/apis/policy.open-cluster-management.io/v1/namespaces/fl-governance/policies",
            "/apis/argoproj.io/v1alpha1/namespaces/openshift-gitops/applications",
            "/apis/federation-ai.open-cluster-management.io/v1alpha1/federatedlearnings",
            "/apis/cluster.open-cluster-management.io/v1beta1/placements",
            "/apis/addon.open-cluster-management.io/v1alpha1/clustermanagementaddons",
            "/apis/addon.open-cluster-management.io/v1alpha1/managedclusteraddons",
            "/api/v1/namespaces/fl-mnist/configmaps",  # only the namespaces of jobs with a quality gate
            "/apis/batch/v1/namespaces/flower-system/jobs"}  # the Flower run Jobs (a hub with Flower jobs)
    report = json.loads(result.out)
    assert result.code == 1 and report["live"] and report["liveHubs"] == ["hub-prod"]
    found = {(f["kind"], f["name"]): f["message"] for f in report["liveFindings"]}
    app_findings = {f["message"] for f in report["liveFindings"] if f["kind"] == "application"}
    assert found[("policy", "data-locality-mnist-eu")] == "NonCompliant on eu-hosp-4 (enforce: Argo CD Degraded)"
    assert app_findings == {"sync status OutOfSync at 3f2b9c1d0e8a", "health Degraded"}, "the hub's Argo CD agrees"
    assert found[("job", "ct-segment-us")] == ("stuck in Waiting: Expected 2 clusters, but only 1 meet the criteria "
                                               "(Argo CD: Progressing)")
    assert found[("policy", "observability-hub")].startswith("in the repo but not on the hub")
    assert found[("policy", "tls-ca-retired-job")].startswith("on the hub but no longer in the repo")
    assert ("job", "mnist-eu") not in found  # Running is fine
    policy = next(p for c in report["controls"] for p in c["policies"] if p["hub"] == "hub-prod" and p["name"] == "data-locality-mnist-eu")
    assert policy["live"]["status"] == "NonCompliant" and policy["live"]["clusters"]["eu-hosp-4"] == "NonCompliant"


def test_live_audit_text_and_html(fleet_repo: Path, run, tmp_path: Path) -> None:
    with FakeHub() as hub:
        kubeconfig = hub.kubeconfig(tmp_path / "kubeconfig")
        text = run("audit", "--kubeconfig", str(kubeconfig))
        html = run("audit", "--kubeconfig", str(kubeconfig), "--format", "html").out
    assert text.code == 1
    assert "hub-prod: job ct-segment-us: stuck in Waiting" in text.out
    assert "NonCompliant (eu-hosp-4)" in html and "Expected vs actual on the hub" in html


def test_live_audit_bad_input_is_exit_2_without_traceback(fleet_repo: Path, run, tmp_path: Path) -> None:
    broken = tmp_path / "broken"
    broken.write_text(": not a kubeconfig [")
    result = run("audit", "--kubeconfig", str(broken))
    assert result.code == 2 and "kubeconfig" in result.err and "Traceback" not in result.err
    assert run("audit", "--kubeconfig", str(tmp_path / "absent")).code == 2
    with FakeHub() as hub:
        kubeconfig = hub.kubeconfig(tmp_path / "kubeconfig")
    # the server is gone: the hub is unreachable
    result = run("audit", "--kubeconfig", str(kubeconfig))
    assert result.code == 2 and "unreachable" in result.err and "Traceback" not in result.err
    with FakeHub() as hub:
        other = hub.kubeconfig(tmp_path / "other", context="somewhere-else")
        result = run("audit", "--kubeconfig", str(other))
        assert result.code == 2 and "matches no hub" in result.err
        assert run("audit", "--kubeconfig", str(other), "--hub", "hub-prod").code == 1


def test_a_hub_name_that_names_no_hub_is_bad_input_with_or_without_kubeconfig(fleet_repo: Path, run, tmp_path: Path) -> None:
    result = run("audit", "--hub", "NOSUCH")
    assert result.code == 2 and "no hub 'NOSUCH'" in result.err and "hub-prod" in result.err
    with FakeHub() as hub:
        kubeconfig = hub.kubeconfig(tmp_path / "kubeconfig")
        result = run("audit", "--kubeconfig", str(kubeconfig), "--hub", "NOSUCH")
        assert result.code == 2 and "no hub 'NOSUCH'" in result.err and "hub-prod" in result.err


def _health_of(report: dict) -> dict[tuple[str, str], dict]:
    return {(h["kind"], (h["namespace"] + "/" if h["namespace"] else "") + h["name"]): h
            for h in report["liveObjects"]["hub-prod"]["argoHealth"]}


def test_live_audit_shows_what_argo_cd_shows(fleet_repo: Path, run, tmp_path: Path) -> None:
    """The audit runs the bootstrap's health checks on what it reads; where the hub's Argo CD
    recorded per-resource health, the two agree, and objects of other teams are left alone."""
    with FakeHub() as hub:
        report = json.loads(run("audit", "--kubeconfig", str(hub.kubeconfig(tmp_path / "kc")), "--format", "json").out)
    health = _health_of(report)
    recorded = json.loads((FIXTURES / "hub-prod" / "applications.json").read_text())["items"][0]["status"]["resources"]
    for res in recorded:
        key = (res["kind"], (res.get("namespace", "") + "/" if res.get("namespace") else "") + res["name"])
        assert (health[key]["status"], health[key]["message"]) == (res["health"]["status"], res["health"]["message"]), key
    assert ("Placement", "team-vision/gpu-batch") not in health
    assert ("ManagedClusterAddOn", "eu-hosp-4/work-manager") not in health
    found = {(f["kind"], f["name"]): f["message"] for f in report["liveFindings"]}
    assert found[("health", "ManagedClusterAddOn us-clinic-2/flower-addon")].startswith("Argo CD Degraded: Not available (ProbeUnavailable)")
    assert found[("health", "Placement fl-governance/fedfleet-clients-ct-segment-us")].endswith(
        "job ct-segment-us needs 2 (minAvailableClients) and stays Waiting")
    # an enforced policy that stays NonCompliant is both a compliance finding and Degraded in Argo CD
    policy = next(p for c in report["controls"] for p in c["policies"]
                  if p["hub"] == "hub-prod" and p["name"] == "data-locality-mnist-eu")
    assert policy["live"]["argoHealth"] == {"status": "Degraded", "message": "enforce: not remediated, NonCompliant on eu-hosp-4"}
    assert health[("FederatedLearning", "fl-mnist/mnist-eu")]["status"] == "Healthy"


def test_live_audit_reports_a_hub_running_other_health_checks(fleet_repo: Path, run, tmp_path: Path) -> None:
    """A hub whose Argo CD still runs the built-in Policy check shows an inform violation as
    Degraded; the audit names the difference and the file to apply."""
    folder = tmp_path / "hub"
    shutil.copytree(FIXTURES / "hub-prod", folder)
    policies = json.loads((folder / "policies.json").read_text())
    informed = next(p for p in policies["items"] if p["metadata"]["name"] == "data-locality-mnist-eu")
    informed["spec"]["remediationAction"] = "inform"
    (folder / "policies.json").write_text(json.dumps(policies))
    with FakeHub(folder=folder) as hub:
        report = json.loads(run("audit", "--kubeconfig", str(hub.kubeconfig(tmp_path / "kc")), "--format", "json").out)
    messages = {f["message"] for f in report["liveFindings"] if f["kind"] == "application"}
    assert ("Argo CD shows Degraded for Policy fl-governance/data-locality-mnist-eu, fedfleet's check gives Healthy "
            "(inform: violation reported (not enforced), NonCompliant on eu-hosp-4): the hub runs other health checks; "
            "apply bootstrap/hub-prod/health-checks.yaml") in messages
    found = {(f["kind"], f["name"]): f["message"] for f in report["liveFindings"]}
    assert found[("policy", "data-locality-mnist-eu")] == "NonCompliant on eu-hosp-4 (inform: Argo CD Healthy)"


def test_policies_without_a_twin_are_unknown_offline_and_metrics_exports_are_listed(fleet_repo: Path, run) -> None:
    report = json.loads(run("audit", "--format", "json").out)
    metrics = {m["job"]: m for m in report["metrics"]}
    # no sidecar image configured (upstream publishes no pinned one): not exported, and why
    assert not metrics["ct-segment-us"]["exports"] and "sidecarImage" in metrics["ct-segment-us"]["why"]
    fleet = fleet_repo / "specs/fleet.yaml"
    fleet.write_text(fleet.read_text().replace("  hubs:\n", "  governance:\n    plugins:\n      observability:\n"
                                               "        sidecarImage: registry.acme.test/fl-sidecar:1.0\n  hubs:\n", 1))
    report = json.loads(run("audit", "--format", "json").out)
    sc12 = next(c for c in report["controls"] if c["control"].startswith("SC-12"))
    twinless = [p for p in sc12["policies"] if p["rego"]["status"] == "none"]
    assert twinless and sc12["counts"]["unknown"] == len(twinless), "a policy nothing checked is not a passing one"
    metrics = {m["job"]: m for m in report["metrics"]}
    assert metrics["ct-segment-us"]["exports"] and "otel-collector.open-cluster-management-agent-addon" in metrics["ct-segment-us"]["why"]
    assert not metrics["mnist-eu"]["exports"] and "Flower" in metrics["mnist-eu"]["why"]
    text = run("audit").out
    assert "metrics:" in text and "cannot yet: upstream has no metrics sidecar for Flower jobs" in text


RUN_JOBS = "/apis/batch/v1/namespaces/flower-system/jobs"


def _run_jobs_with(status: dict) -> dict:
    """The recorded JobList with the run Job's status replaced (as the Job controller writes it)."""
    body = json.loads((FIXTURES / "hub-prod" / "jobs-flower-system.json").read_text())
    body["items"][0]["status"] = status
    return body


@pytest.mark.parametrize(("status", "state"), [
    (None, "Running"),  # the recorded Job: one active pod
    ({"startTime": "2026-11-24T09:13:05Z", "completionTime": "2026-11-24T09:31:40Z", "succeeded": 1,
      "conditions": [{"type": "SuccessCriteriaMet", "status": "True"}, {"type": "Complete", "status": "True"}]}, "Completed"),
    ({"startTime": "2026-11-24T09:13:05Z", "failed": 5,
      "conditions": [{"type": "FailureTarget", "status": "True"},
                     {"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded"}]}, "Failed"),
])
def test_live_audit_reads_the_flower_run_job(fleet_repo: Path, run, tmp_path: Path, status, state: str) -> None:
    with FakeHub() as hub:
        if status is not None:
            hub.bodies[RUN_JOBS] = _run_jobs_with(status)
        result = run("audit", "--kubeconfig", str(hub.kubeconfig(tmp_path / "kubeconfig")), "--format", "json")
    report = json.loads(result.out)
    job = next(j for j in report["liveObjects"]["hub-prod"]["jobs"] if j["job"] == "mnist-eu")
    assert job["phase"] == "Running"  # the controller leaves a Flower job Running
    assert job["flowerRun"] == {"job": "flower-system/flwr-run-mnist-eu", "state": state}
    flower = [f["message"] for f in report["liveFindings"] if f["kind"] == "job" and f["name"] == "mnist-eu"]
    assert flower == (["Flower run Job flower-system/flwr-run-mnist-eu Failed"] if state == "Failed" else [])
    ct = next(j for j in report["liveObjects"]["hub-prod"]["jobs"] if j["job"] == "ct-segment-us")
    assert "flowerRun" not in ct  # OpenFL: the controller's phase is the completion


def test_live_audit_reports_a_missing_flower_run_job(fleet_repo: Path, run, tmp_path: Path) -> None:
    with FakeHub() as hub:
        hub.bodies[RUN_JOBS] = {"kind": "JobList", "apiVersion": "batch/v1", "metadata": {"resourceVersion": "1"}, "items": []}
        result = run("audit", "--kubeconfig", str(hub.kubeconfig(tmp_path / "kubeconfig")), "--format", "json")
    report = json.loads(result.out)
    job = next(j for j in report["liveObjects"]["hub-prod"]["jobs"] if j["job"] == "mnist-eu")
    assert job["flowerRun"]["state"] == "missing"
    assert "Flower run Job flower-system/flwr-run-mnist-eu is not on the hub" in {f["message"] for f in report["liveFindings"]}
