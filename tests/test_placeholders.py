"""Placeholders are findings (issue 14.2): example hosts, unreachable SuperLink addresses and
unpinned images are warnings in dev/staging and errors in prod, in `check` and `validate`."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from conftest import line_of
from fedfleet.checks.placeholders import example_host, invalid_host, unpinned
from test_checks import SARIF_SCHEMA

DIGEST = "sha256:" + "ab" * 32


@pytest.fixture(autouse=True)
def _store(request: pytest.FixtureRequest) -> None:
    """check and validate validate against the CRD store: the tests that run them get it filled."""
    if "fleet_repo" in request.fixturenames:
        request.getfixturevalue("crds")


@pytest.mark.parametrize("host, why", [
    ("git.example.com", "example.com"), ("example.org", "example.org"), ("a.b.example.net", "example.net"),
    ("hub.test", ".test"), ("x.invalid", ".invalid"), ("api.localhost", ".localhost"), ("foo.example", ".example"),
    ("192.0.2.10", "192.0.2.0/24"), ("198.51.100.7", "198.51.100.0/24"), ("203.0.113.250", "203.0.113.0/24"),
    ("2001:db8::1", "2001:db8::/32"),
    ("git.acme-health.com", None), ("example.com.evil.io", None), ("10.0.0.4", None), ("nodes.examples.com", None),
])
def test_example_hosts(host: str, why: str | None) -> None:
    reason = example_host(host)
    assert (reason is None) if why is None else (reason is not None and why in reason), reason


@pytest.mark.parametrize("host, bad", [
    ("<HUB_NODE_IP>", True), ("REPLACE ME", True), ("under_score.acme.io", True), ("-x.acme.io", True), ("", True),
    ("nodes.acme.io", False), ("10.1.2.3", False), ("NODES.Acme.IO", False),
])
def test_invalid_hosts(host: str, bad: bool) -> None:
    assert (invalid_host(host) is not None) is bad


@pytest.mark.parametrize("image, pinned", [
    ("quay.io/acme/app:1.2.3", True), (f"quay.io/acme/app@{DIGEST}", True), (f"quay.io/acme/app:1.2@{DIGEST}", True),
    ("localhost:5000/app:v1", True), ("flwr/superlink:1.26.1-py3.13-ubuntu24.04", True),
    ("quay.io/acme/app:latest", False), ("quay.io/acme/app", False), ("localhost:5000/app", False),
    ("app", False), ("quay.io/acme/app@sha256:abc", False),
])
def test_what_pinned_means(image: str, pinned: bool) -> None:
    assert (unpinned(image) is None) is pinned, unpinned(image)


def test_an_example_registry_is_a_placeholder_even_when_pinned() -> None:
    from fedfleet.checks.placeholders import image_problem

    assert "example.com" in (image_problem(f"registry.example.com/fl/app@{DIGEST}") or "")
    assert image_problem("registry.acme.io:5000/fl/app:1.0") is None


def test_an_example_argocd_destination_is_found_in_the_bootstrap(fleet_repo: Path, run) -> None:
    _not_an_example(fleet_repo)
    fleet = fleet_repo / "specs/fleet.yaml"
    fleet.write_text(fleet.read_text().replace(
        "argocd: {namespace: argocd, flavour: argocd}",
        "argocd: {namespace: argocd, flavour: argocd, destinationServer: 'https://hub-dev.test:6443'}"))
    assert run("generate").code == 0
    found = _placeholders(json.loads(run("check", "-o", "json").out))
    dest = [f for f in found if f["field"] == "spec.destination.server"]
    assert dest and {f["file"] for f in dest} == {"bootstrap/hub-dev"} and all(f["severity"] == "warning" for f in dest)
    assert ".test, a top-level name reserved" in dest[0]["message"]


def _placeholders(report: dict) -> list[dict]:
    return next(c for c in report["checks"] if c["name"] == "placeholders")["findings"]


def _not_an_example(repo: Path) -> str:
    fleet = repo / "specs/fleet.yaml"
    text = fleet.read_text()
    assert "  example: true\n" in text
    fleet.write_text(text.replace("  example: true\n", ""))
    return fleet.read_text()


def test_the_example_fleet_passes_with_warnings_that_say_why(fleet_repo: Path, run) -> None:
    assert run("generate").code == 0
    result = run("check", "-o", "json")
    assert result.code == 0, result.out
    found = _placeholders(json.loads(result.out))
    assert found and {f["severity"] for f in found} == {"warning"}
    prod = [f for f in found if "hub-prod" in f["message"] or "hub-prod" in f["subject"]]
    assert prod and all("spec.example: true" in f["message"] for f in prod)
    dev = next(f for f in found if f["field"] == "spec.hubs[0].server")
    assert "a warning in environment dev, an error in prod" in dev["message"]


def test_in_prod_they_are_errors_at_file_line_and_field(fleet_repo: Path, run, crds: Path) -> None:
    text = _not_an_example(fleet_repo)
    assert run("generate").code == 0
    result = run("check", "-o", "json")
    assert result.code == 1
    found = _placeholders(json.loads(result.out))
    by_field = {f["field"]: f for f in found if f.get("file") == "specs/fleet.yaml"}
    server = by_field["spec.hubs[1].server"]
    assert server["severity"] == "error" and server["line"] == line_of(text, "server: https://api.hub-prod.example.com")
    assert "example.com, a domain reserved for examples" in server["message"]
    assert by_field["spec.hubs[1].superlink.domain"]["severity"] == "error"
    # the repository URL serves every hub, prod included
    assert by_field["spec.repo.url"]["severity"] == "error"
    assert by_field["spec.hubs[0].server"]["severity"] == "warning", "hub-dev stays a warning"
    # upstream's only controller tag, from the code default: located at the bootstrap root
    controller = next(f for f in found if f.get("file") == "bootstrap/hub-prod")
    assert controller["severity"] == "error" and controller["field"] == "spec.source.kustomize.images[0]"
    assert ":latest" in controller["message"] and "controller.image" in controller["message"]
    # the same findings in SARIF (valid against the schema) and in validate, which exits 1
    sarif = json.loads(run("check", "-o", "sarif").out)
    jsonschema.validate(sarif, SARIF_SCHEMA)
    errors = [r for r in sarif["runs"][0]["results"] if r["ruleId"] == "placeholder" and r["level"] == "error"]
    assert len(errors) == sum(1 for f in found if f["severity"] == "error")
    validated = run("validate", "--crds", str(crds))
    assert validated.code == 1
    assert f"specs/fleet.yaml:{server['line']}:{server['column']}: error: placeholder [spec.hubs[1].server]" in validated.out


def test_pinning_the_controller_and_naming_real_hosts_makes_prod_green(fleet_repo: Path, run) -> None:
    text = _not_an_example(fleet_repo)
    text = text.replace("example.com", "acme-health.io").replace(
        "  defaults:\n", f"  defaults:\n    controller: {{image: 'quay.io/open-cluster-management/federated-learning-controller@{DIGEST}'}}\n")
    (fleet_repo / "specs/fleet.yaml").write_text(text)
    assert run("generate").code == 0
    result = run("check", "-o", "json")
    assert result.code == 0, [f["message"] for f in _placeholders(json.loads(result.out))]
    app = (fleet_repo / "bootstrap/hub-prod/fl-controller.yaml").read_text()
    assert f"controller=quay.io/open-cluster-management/federated-learning-controller@{DIGEST}" in app


def test_unpinned_images_by_environment(fleet_repo: Path, run) -> None:
    _not_an_example(fleet_repo)
    prod = fleet_repo / "specs/jobs/mnist-eu.yaml"
    prod.write_text(prod.read_text().replace("flower-digits:0.1.0-flwr1.26.1", "flower-digits:latest", 1))
    dev = fleet_repo / "specs/jobs/digits-dev.yaml"
    dev.write_text(dev.read_text().replace("flower-digits:0.1.0-flwr1.26.1", "flower-digits", 1))
    run("generate")
    found = _placeholders(json.loads(run("check", "-o", "json").out))
    mnist = next(f for f in found if f.get("file") == "specs/jobs/mnist-eu.yaml")
    assert (mnist["severity"], mnist["field"]) == ("error", "spec.server.image")
    assert mnist["line"] == line_of(prod.read_text(), "flower-digits:latest")
    digits = next(f for f in found if f.get("file") == "specs/jobs/digits-dev.yaml")
    assert (digits["severity"], digits["field"]) == ("warning", "spec.server.image")
    assert "no tag, so it means :latest" in digits["message"]


def test_a_staging_hub_warns(fleet_repo: Path, run) -> None:
    text = _not_an_example(fleet_repo)
    (fleet_repo / "specs/fleet.yaml").write_text(text.replace("environment: prod", "environment: staging"))
    run("generate")
    result = run("check", "-o", "json")
    found = _placeholders(json.loads(result.out))
    assert found and {f["severity"] for f in found} == {"warning"}
    assert any("a warning in environment staging" in f["message"] for f in found)


def test_a_documentation_ip_as_node_address(fleet_repo: Path, run) -> None:
    fleet = fleet_repo / "specs/fleet.yaml"
    fleet.write_text(fleet.read_text().replace("address: nodes.hub-dev.example.com", "address: 192.0.2.10"))
    run("generate")
    found = _placeholders(json.loads(run("check", "-o", "json").out))
    node = next(f for f in found if f["field"] == "spec.hubs[0].superlink.address")
    assert "192.0.2.0/24" in node["message"] and node["line"] == line_of(fleet.read_text(), "address: 192.0.2.10")


def test_a_patched_superlink_address_and_an_unset_superlink_are_found_in_the_build(fleet_repo: Path, run) -> None:
    """User kustomize patches reach what SuperNodes dial: the build is checked, not only the specs."""
    fleet = fleet_repo / "specs/fleet.yaml"
    _not_an_example(fleet_repo)
    patches = (
        "    kustomize:\n      patches:\n"
        "      - target: {kind: AddOnDeploymentConfig, name: flower-addon-mnist-eu}\n"
        "        patch: '[{\"op\": \"replace\", \"path\": \"/spec/customizedVariables/0/value\", \"value\": \"<HUB_NODE_IP>\"}]'\n"
        "      - target: {kind: FederatedLearning, name: mnist-eu}\n"
        "        patch: '[{\"op\": \"remove\", \"path\": \"/spec/server/superlink\"}]'\n")
    text = fleet.read_text()
    anchor = "    superlink: {exposure: Route, domain: apps.hub-prod.example.com}"
    line = next(l for l in text.splitlines() if l.startswith(anchor))
    fleet.write_text(text.replace(line + "\n", line + "\n" + patches))
    assert run("generate").code == 0
    found = [f for f in _placeholders(json.loads(run("check", "-o", "json").out)) if f.get("file") == "overlays/hub-prod"]
    address = next(f for f in found if f["field"] == "spec.customizedVariables[0].value")
    assert address["severity"] == "error" and "'<HUB_NODE_IP>' is not a valid host name" in address["message"]
    assert "AddOnDeploymentConfig open-cluster-management/flower-addon-mnist-eu" in address["subject"]
    unset = next(f for f in found if f["field"] == "spec.server.superlink")
    assert "is unset, so the CRD default superlink.flower-system:9091" in unset["message"]


def test_bad_values_of_the_new_fields_are_bad_input(fleet_repo: Path, run) -> None:
    fleet = fleet_repo / "specs/fleet.yaml"
    text = fleet.read_text()
    fleet.write_text(text.replace("  example: true\n", "  example: yes-please\n")
                     .replace("environment: dev", "environment: qa"))
    result = run("validate")
    assert result.code == 2
    bad = fleet.read_text()
    assert f"specs/fleet.yaml:{line_of(bad, 'example: yes-please')}:" in result.err and "[spec.example]" in result.err
    assert f"specs/fleet.yaml:{line_of(bad, 'environment: qa')}:" in result.err and "[spec.hubs[0].environment]" in result.err


def test_object_scan_on_synthetic_builds(fleet_repo: Path) -> None:
    """The build scan alone: a superlink with the .svc suffix names the same Service; AddOnTemplate
    variables are skipped and their values in the AddOnDeploymentConfig are checked instead."""
    from fedfleet import pipeline
    from fedfleet.checks.placeholders import object_findings

    fleet = pipeline.load(pipeline.Paths(fleet_repo / "specs", fleet_repo))
    service = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "superlink-x", "namespace": "flower-system"}}
    fl = {"apiVersion": "x", "kind": "FederatedLearning", "metadata": {"name": "x", "namespace": "fl"},
          "spec": {"framework": "flower", "server": {"superlink": "superlink-x.flower-system.svc:9091"}}}
    template = {"kind": "AddOnTemplate", "metadata": {"name": "t"},
                "spec": {"agentSpec": {"workload": {"manifests": [
                    {"kind": "Deployment", "spec": {"template": {"spec": {"containers": [{"image": "{{IMAGE}}"}]}}}}]}}}}
    config = {"kind": "AddOnDeploymentConfig", "metadata": {"name": "c", "namespace": "open-cluster-management"},
              "spec": {"customizedVariables": [{"name": "IMAGE", "value": "flwr/supernode"},
                                               {"name": "SUPERLINK_ADDRESS", "value": "superlink.flower-system"}]}}
    found = object_findings(fleet, {"overlays/hub-prod": [service, fl, template, config]}, {"overlays/hub-prod": "hub-prod"})
    assert sorted((f.subject.kind, f.field) for f in found if f.subject) == [
        ("AddOnDeploymentConfig", "spec.customizedVariables[0].value"),
        ("AddOnDeploymentConfig", "spec.customizedVariables[1].value")]
    address = next(f for f in found if f.field.endswith("[1].value"))
    assert "Service name in the hub's namespace 'flower-system'" in address.message
