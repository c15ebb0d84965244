"""registration (issue 17.5): each Flower client's per-cluster credential from OCM add-on registration.

- registration.expiry, the CertificatePolicy on the clients, judged by cert-policy-controller's rules
  (fedfleet.checks.certpolicy; no dryrun exists for it) on the credential cases of
  tests/oracles/governance/registration.expiry/ (real PEMs, a fixed evaluation time per case);
- registration.addon as the live audit sees it, over the recorded ManagedClusterAddOns of
  tests/fixtures/hub-prod/ (served by tests/fake_hub.py), and its Rego twin over the same objects
  (tests/oracles/test_oracle_registration.py adds config-policy-controller's verdict on them);
- the ManagedClusterAddOn fixtures validate against the upstream CRD, status included;
- registration.openfl, the warning for OpenFL jobs (the controller's OpenFL path has no certificate).
"""

from __future__ import annotations

import copy
import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from fake_hub import FIXTURES, FakeHub
from fedfleet import pipeline
from fedfleet.checks import certpolicy
from fedfleet.checks.crds import SchemaSet
from fedfleet.checks.rego import EmbeddedEngine, build_input, plugin_modules
from fedfleet.governance.builtin import rego_module
from fedfleet.governance.builtin.registration import credential_secret
from fedfleet.upstream import FLOWER_SIGNER, FLOWER_SIGNING_CA, registration_secret

GOVERNANCE = Path(__file__).parent / "oracles" / "governance"
EXPIRY = GOVERNANCE / "registration.expiry"
EXPIRY_CASES = sorted(p for p in EXPIRY.iterdir() if (p / "case.yaml").exists())
ADDONS = "/apis/addon.open-cluster-management.io/v1alpha1/managedclusteraddons"
RECORDED = FIXTURES / "hub-prod" / "managedclusteraddons.json"


def _docs(path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d] if path.exists() else []


def _policy(fleet_repo: Path, name: str) -> dict[str, Any]:
    rendered = pipeline.render(pipeline.Paths(fleet_repo / "specs", fleet_repo))
    return next(d for d in rendered.bundle["overlays/hub-prod/governance/registration.yaml"] if d["metadata"]["name"] == name)


def test_names_follow_ocm_and_the_rego_twin_uses_the_same_signer() -> None:
    # ocm pkg/registration/spoke/addon/configuration.go: "%s-%s-client-cert", signer "/" -> "-"
    assert credential_secret() == "flower-addon-fedfleet.io-flower-addon-client-cert"
    assert registration_secret("open-cluster-management.io/otel-addon", "otel") == \
        "otel-open-cluster-management.io-otel-addon-client-cert"
    rego = rego_module("registration")["registration.rego"]
    assert f'signer := "{FLOWER_SIGNER}"' in rego and f'signing_ca := "{FLOWER_SIGNING_CA}"' in rego


def test_the_policies_and_their_modes(fleet_repo: Path) -> None:
    hub = _policy(fleet_repo, "registration-addon-mnist-eu")
    templates = hub["spec"]["policy-templates"][0]["objectDefinition"]["spec"]["object-templates"]
    # one named template per client the plan selects (eu-hosp-3 is tainted out, eu-hosp-4 not chosen)
    assert [t["objectDefinition"]["metadata"] for t in templates] == [
        {"name": "flower-addon", "namespace": "eu-hosp-1"}, {"name": "flower-addon", "namespace": "eu-hosp-2"}]
    assert templates[0]["objectDefinition"]["status"]["registrations"] == [{"signerName": FLOWER_SIGNER}]
    expiry = _policy(fleet_repo, "registration-expiry-mnist-eu")
    cert = expiry["spec"]["policy-templates"][0]["objectDefinition"]
    assert cert["kind"] == "CertificatePolicy" and cert["spec"]["namespaceSelector"] == {"include": ["flower-addon"]}
    assert cert["spec"]["minimumDuration"] == "3h"
    for name in ("registration-addon-mnist-eu", "registration-credential-mnist-eu", "registration-expiry-mnist-eu"):
        assert _policy(fleet_repo, name)["spec"]["remediationAction"] == "inform", name


@pytest.mark.parametrize("case", EXPIRY_CASES, ids=[p.name for p in EXPIRY_CASES])
def test_credential_expiry(fleet_repo: Path, case: Path) -> None:
    spec = yaml.safe_load((case / "case.yaml").read_text())
    assert spec["acm"] == "fedfleet.checks.certpolicy" and spec["twin"] == "none"
    policy = _policy(fleet_repo, "registration-expiry-mnist-eu")["spec"]["policy-templates"][0]["objectDefinition"]
    objects = _docs(case / "clusters.yaml") + [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "flower-addon"}}]
    now = datetime.fromisoformat(spec["now"].replace("Z", "+00:00"))
    verdict = certpolicy.evaluate(policy, objects, now=now)
    assert verdict.word == spec["verdict"], f"{case.name}: {spec['description']}: {verdict.findings}"
    # the Flower CA copy beside it holds only ca.crt (expired on purpose): never read
    assert "flower-addon/flower-tls-ca" not in verdict.checked


def test_expiry_corpus_has_a_passing_an_expired_and_an_overdue_case() -> None:
    verdicts = {p.name: yaml.safe_load((p / "case.yaml").read_text())["verdict"] for p in EXPIRY_CASES}
    assert verdicts["valid-credential"] == "Compliant"
    assert verdicts["expired-credential"] == verdicts["rotation-overdue"] == "NonCompliant"


def test_managed_cluster_addon_fixtures_match_the_crd(crds: Path) -> None:
    schemas = SchemaSet.from_directory(crds)
    fixtures = {"baseline/hub.yaml": _docs(GOVERNANCE / "baseline" / "hub.yaml")}
    for path in sorted(GOVERNANCE.glob("registration.addon/*/hub.yaml")):
        fixtures[str(path.relative_to(GOVERNANCE))] = _docs(path)
    fixtures["hub-prod/managedclusteraddons.json"] = json.loads(RECORDED.read_text())["items"]
    for name, docs in fixtures.items():
        addons = [d for d in docs if d["kind"] == "ManagedClusterAddOn"]
        assert addons, name
        assert all("status" in a for a in addons), name
        findings, checked = schemas.validate(addons, name)
        assert checked >= len(addons) and [f for f in findings if f.severity.value == "error"] == [], (name, findings)


def broken_recording() -> dict[str, Any]:
    """The recorded list with eu-hosp-1 registered for another fleet's signer and eu-hosp-2's
    rotation failed (condition as ocm pkg/registration/register/csr/csr.go Process writes it)."""
    body = json.loads(RECORDED.read_text())
    for item in body["items"]:
        if item["metadata"]["name"] != "flower-addon":
            continue
        status = item["status"]
        if item["metadata"]["namespace"] == "eu-hosp-1":
            status["registrations"][0]["signerName"] = "fleet-b.example.com/flower-addon"
        if item["metadata"]["namespace"] == "eu-hosp-2":
            rotated = next(c for c in status["conditions"] if c["type"] == "ClusterCertificateRotated")
            rotated.update(status="False", reason="ClientCertificateUpdateFailed",
                           message="Failed to rotated client certificate no private key found for certificate in csr: "
                                   "addon-eu-hosp-2-flower-addon-x7k2p")
    return body


def twin_denials(fleet_repo: Path, body: dict[str, Any]) -> dict[str, str]:
    """The Rego twin over recorded ManagedClusterAddOns: cluster -> message."""
    rendered = pipeline.render(pipeline.Paths(fleet_repo / "specs", fleet_repo))
    modules = [m for m in plugin_modules({"registration": rego_module("registration")}) if not m.name.endswith("_test.rego")]
    data = build_input(rendered.fleet, rendered.plan, [])
    data["recorded"] = {"addons": {"hub-prod": [i for i in body["items"] if i["kind"] == "ManagedClusterAddOn"]}}
    denied = EmbeddedEngine().evaluate(modules, data).get("fedfleet.registration", {}).get("deny", [])
    return {d["msg"].split("cluster ")[1].split(" ")[0]: d["msg"] for d in denied}


def test_live_audit_shows_each_clients_registration(fleet_repo: Path, run, tmp_path: Path) -> None:
    with FakeHub() as hub:
        report = json.loads(run("audit", "--kubeconfig", str(hub.kubeconfig(tmp_path / "kc")), "-o", "json").out)
    entries = {e["cluster"]: e for e in report["liveObjects"]["hub-prod"]["registrations"]}
    assert set(entries) == {"eu-hosp-1", "eu-hosp-2"}  # mnist-eu's planned clients
    assert all(e["registered"] and e["signers"] == [FLOWER_SIGNER] for e in entries.values())
    assert entries["eu-hosp-1"]["validUntil"] == "2026-11-26 02:10:00 +0000 UTC"
    assert [f for f in report["liveFindings"] if f["kind"] == "registration"] == []
    assert twin_denials(fleet_repo, json.loads(RECORDED.read_text())) == {}


def test_live_audit_and_twin_flag_a_wrong_signer_and_a_failed_rotation(fleet_repo: Path, run, tmp_path: Path) -> None:
    body = broken_recording()
    with FakeHub() as hub:
        hub.bodies[ADDONS] = body
        kubeconfig = hub.kubeconfig(tmp_path / "kc")
        result = run("audit", "--kubeconfig", str(kubeconfig), "-o", "json")
        text = run("audit", "--kubeconfig", str(kubeconfig)).out
    report = json.loads(result.out)
    assert result.code == 1
    found = {f["name"]: f["message"] for f in report["liveFindings"] if f["kind"] == "registration"}
    assert found == {
        "eu-hosp-1": "the flower-addon of eu-hosp-1 (job mnist-eu) has no registration for signer fedfleet.io/flower-addon "
                     "(registered for fleet-b.example.com/flower-addon)",
        "eu-hosp-2": "the flower-addon of eu-hosp-2 (job mnist-eu) has no ClusterCertificateRotated=True condition "
                     "(Failed to rotated client certificate no private key found for certificate in csr: "
                     "addon-eu-hosp-2-flower-addon-x7k2p)"}
    assert "hub-prod: registration eu-hosp-1:" in text
    assert set(twin_denials(fleet_repo, body)) == {"eu-hosp-1", "eu-hosp-2"}


def test_live_audit_flags_a_client_without_the_addon(fleet_repo: Path, run, tmp_path: Path) -> None:
    body = json.loads(RECORDED.read_text())
    body["items"] = [i for i in body["items"] if i["metadata"].get("namespace") != "eu-hosp-2"]
    with FakeHub() as hub:
        hub.bodies[ADDONS] = copy.deepcopy(body)
        report = json.loads(run("audit", "--kubeconfig", str(hub.kubeconfig(tmp_path / "kc")), "-o", "json").out)
    found = {f["name"]: f["message"] for f in report["liveFindings"] if f["kind"] == "registration"}
    assert found == {"eu-hosp-2": "the flower-addon of eu-hosp-2 (job mnist-eu) has no flower-addon ManagedClusterAddOn: "
                                  "no registration credential"}
    assert set(twin_denials(fleet_repo, body)) == {"eu-hosp-2"}


def test_openfl_jobs_are_warned_and_flower_jobs_are_not(fleet_repo: Path, run) -> None:
    assert run("generate").code == 0
    result = run("check", "--format", "json")
    assert result.code == 0, result.err
    report = json.loads(result.out)
    flat = json.dumps(report)
    assert "registration.openfl" in flat and "ct-segment-us" in flat
    # the breaking and passing fixtures of the warning: an OpenFL job with TLS on warns, one with TLS off
    # (which tls.jobs reports instead) and a Flower job do not
    rendered = pipeline.render(pipeline.Paths(fleet_repo / "specs", fleet_repo))
    modules = [m for m in plugin_modules({"registration": rego_module("registration")}) if not m.name.endswith("_test.rego")]
    data = build_input(rendered.fleet, rendered.plan, [])
    warned = EmbeddedEngine().evaluate(modules, data).get("fedfleet.registration", {}).get("warn", [])
    assert [(w["rule"], w["job"]) for w in warned] == [("registration.openfl", "ct-segment-us")]
    for job in data["jobs"]:
        job["tls"] = job["framework"] == "flower"
    assert EmbeddedEngine().evaluate(modules, data).get("fedfleet.registration", {}).get("warn", []) == []
