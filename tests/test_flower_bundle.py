"""What the bundle ships for Flower, checked without running it: cert-manager objects against
cert-manager's own CRDs, the exposure and federation-membership rules as input errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import extra_crd
from fedfleet import pipeline
from fedfleet.checks.built import build_and_check
from fedfleet.checks.crds import SchemaSet, SchemaSource
from fedfleet.findings import InputError

PATHS = pipeline.Paths(Path("specs"), Path("."))


@pytest.fixture(scope="module")
def crd_dir(crds: Path) -> Path:
    """The CRD store (cert-manager's CRDs come from its Go module)."""
    for file in ("cert-manager.io_certificates.yaml", "cert-manager.io_issuers.yaml"):
        extra_crd(file)
    return crds


def _hub_prod(fleet_repo: Path, crd_dir: Path):  # type: ignore[no-untyped-def]
    rendered = pipeline.render(PATHS)
    source = SchemaSource.resolve([crd_dir], rendered.fleet.allow_unvalidated_kinds, store=False)
    return build_and_check(rendered.files, {"overlays/hub-prod": "hub-prod"}, source)


def test_cert_manager_objects_are_valid_against_cert_managers_crds(fleet_repo: Path, crd_dir: Path) -> None:
    built = _hub_prod(fleet_repo, crd_dir)
    objs = built.objects["overlays/hub-prod"]
    kinds = {(o["kind"], o["metadata"]["name"]) for o in objs if o["apiVersion"] == "cert-manager.io/v1"}
    assert kinds == {("Issuer", "flower-selfsigned"), ("Certificate", "flower-ca"), ("Issuer", "flower-ca"),
                     ("Certificate", "superlink-mnist-eu"), ("Certificate", "flower-addon-signer"),
                     # the otel add-on's signing CA (render/otel.py; the prod hub has OpenFL jobs)
                     ("Issuer", "otel-selfsigned"), ("Certificate", "otel-signer")}
    assert not [f for f in built.crd_findings if "cert-manager" in f.message and f.severity.value == "error"]
    assert not [f for f in built.crd_findings if "no schema for cert-manager.io" in f.message], "now validated"


def test_a_broken_certificate_fails_cert_managers_schema(fleet_repo: Path, crd_dir: Path) -> None:
    built = _hub_prod(fleet_repo, crd_dir)
    cert = next(o for o in built.objects["overlays/hub-prod"] if o["kind"] == "Certificate" and o["metadata"]["name"] == "superlink-mnist-eu")
    cert["spec"]["dnsName"] = cert["spec"].pop("dnsNames")  # a misspelt field
    findings, checked = SchemaSet.from_directory(crd_dir).validate([cert], "x")
    assert checked == 1 and any("dnsName" in f.message for f in findings)


def test_a_hub_with_flower_jobs_must_say_how_superlinks_are_reached(fleet_repo: Path) -> None:
    fleet = fleet_repo / "specs/fleet.yaml"
    text = fleet.read_text()
    line = next(l for l in text.splitlines() if "exposure: Route" in l)
    fleet.write_text(text.replace(line + "\n", ""))
    with pytest.raises(InputError) as err:
        pipeline.render(PATHS)
    [finding] = err.value.findings
    assert "hub 'hub-prod' runs Flower jobs (mnist-eu) but does not say how managed clusters reach its SuperLinks" in finding.message
    assert finding.location and finding.location.file == "specs/fleet.yaml"


@pytest.mark.parametrize("exposure, fragment", [
    ("{exposure: Route, domain: flower-system}", "Service name in the hub's namespace 'flower-system'"),
    ("{exposure: NodePort, address: hubnode, nodePorts: {mnist-eu: 30093}}", "single-label"),
    ("{exposure: Route, domain: svc.cluster.local}", "cluster-internal DNS zone"),
    ("{exposure: LoadBalancer, domain: flower-system.svc}", "cluster-internal DNS zone"),
    ("{exposure: NodePort, address: superlink.flower-system, nodePorts: {mnist-eu: 30093}}", "Service name in the hub's namespace 'flower-system'"),
    ("{exposure: NodePort, address: 127.0.0.1, nodePorts: {mnist-eu: 30093}}", "loopback"),
    ("{exposure: NodePort, address: nodes.hub-prod.example.com}", "has no node port in superlink.nodePorts"),
    ("{exposure: Route}", "needs superlink.domain"),
])
def test_an_address_managed_clusters_cannot_reach_is_bad_input(fleet_repo: Path, run, exposure: str, fragment: str) -> None:
    fleet = fleet_repo / "specs/fleet.yaml"
    text = fleet.read_text()
    line = next(l for l in text.splitlines() if "exposure: Route" in l)
    fleet.write_text(text.replace(line, "    superlink: " + exposure))
    result = run("generate")
    assert result.code == 2 and fragment in result.err, result.err
    row = text.splitlines().index(line) + 1
    assert f"specs/fleet.yaml:{row}:" in result.err, "file:line of the hub's superlink setting"
    assert not (fleet_repo / "overlays").exists(), "nothing written"


def test_the_example_routes_and_node_ports_are_accepted(fleet_repo: Path, run) -> None:
    assert run("generate").code == 0
    route = (fleet_repo / "overlays/hub-prod/flower/mnist-eu.yaml").read_text()
    assert "host: superlink-mnist-eu.apps.hub-prod.example.com" in route and "termination: passthrough" in route
    dev = (fleet_repo / "overlays/hub-dev/flower/digits-dev.yaml").read_text()
    assert "nodePort: 30092" in dev and "type: NodePort" in dev
