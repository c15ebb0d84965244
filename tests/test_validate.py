"""validate: real kustomize builds of every overlay and bootstrap directory, upstream CRD schemas."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import need_crd
from fedfleet.checks.crds import SchemaSet
from fedfleet.checks.kustomize import build, find_kustomize


def test_example_fleet_validates_against_upstream_crds(fleet_repo: Path, run, crds: Path) -> None:
    result = run("validate", "--crds", str(crds), "--format", "json")
    report = json.loads(result.out)
    assert result.code == 0, report["findings"]
    assert set(report["built"]) == {"overlays/hub-dev", "overlays/hub-prod", "bootstrap/hub-dev", "bootstrap/hub-prod"}
    assert report["schemaChecked"] >= 30
    assert not [f for f in report["findings"] if f["severity"] == "error"]


def test_kustomize_build_is_real(fleet_repo: Path, run) -> None:
    run("generate")
    objects = build(fleet_repo / "overlays/hub-prod", find_kustomize())
    fl = [o for o in objects if o["kind"] == "FederatedLearning"]
    assert {o["metadata"]["name"] for o in fl} == {"mnist-eu", "ct-segment-us"}
    # the overlay's label transformer and its patch really ran
    assert all(o["metadata"]["labels"]["fedfleet.io/hub"] == "hub-prod" for o in objects)
    config = next(o for o in objects if o["kind"] == "AddOnDeploymentConfig" and o["metadata"]["name"] == "flower-addon-mnist-eu")
    variables = {v["name"]: v["value"] for v in config["spec"]["customizedVariables"]}
    # the job's own SuperLink, exposed by a passthrough Route under the hub's domain
    assert variables["SUPERLINK_ADDRESS"] == "superlink-mnist-eu.apps.hub-prod.example.com"
    assert variables["SUPERLINK_PORT"] == "443"


def test_crd_check_catches_an_object_the_api_server_would_reject(crds: Path) -> None:
    need_crd(crds, "federation-ai.open-cluster-management.io_federatedlearnings.yaml")
    schemas = SchemaSet.from_directory(crds)
    bad = {
        "apiVersion": "federation-ai.open-cluster-management.io/v1alpha1",
        "kind": "FederatedLearning",
        "metadata": {"name": "x", "namespace": "y"},
        "spec": {"framework": "flower", "server": {"rounds": "five", "image": "i", "colour": "red"}},
    }
    findings, checked = schemas.validate([bad], "test")
    assert checked == 1
    messages = " ".join(f.message for f in findings)
    assert "'five' is not of type 'integer'" in messages
    assert "colour" in messages  # unknown field under strict field validation


def test_builtin_kinds_need_their_required_fields(crds: Path) -> None:
    schemas = SchemaSet.from_directory(crds)
    deployment = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
                  "spec": {"selector": {}, "template": {"spec": {"containers": [{"name": "c"}]}}}}
    findings, _ = schemas.validate([deployment], "test")
    assert any("'image' is a required property" in f.message for f in findings)


def test_missing_crd_directory_is_bad_input(fleet_repo: Path, run) -> None:
    result = run("validate", "--crds", "no/such/dir")
    assert result.code == 2 and "CRD directory does not exist" in result.err
