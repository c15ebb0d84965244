"""Hub prerequisites as inform policies (the `prerequisites` plugin, the `addon` controller rule),
each with a passing fixture (the example fleet) and a breaking one (the check missing from the
overlay, or a job that needs it added), through the Rego twin."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from fedfleet import pipeline
from fedfleet.checks import rego

PATHS = pipeline.Paths(Path("specs"), Path("."))


def _rego(b: pipeline.Rendered, bundle: dict[str, list[dict[str, Any]]] | None = None) -> list:
    modules = rego.plugin_modules(b.registry.rego_modules())
    return rego.evaluate(b.fleet, b.plan, bundle if bundle is not None else b.bundle, modules).findings


def _policy(b: pipeline.Rendered, hub: str, name: str) -> dict[str, Any]:
    return next(d for d in b.bundle[f"overlays/{hub}/governance/prerequisites.yaml"]
                if d["kind"] == "Policy" and d["metadata"]["name"] == name)


def _checked(policy: dict[str, Any]) -> list[dict[str, Any]]:
    spec = policy["spec"]["policy-templates"][0]["objectDefinition"]["spec"]
    assert spec["remediationAction"] == "inform"
    return [t["objectDefinition"] for t in spec["object-templates"]]


def _without(b: pipeline.Rendered, name: str, hub: str = "") -> dict[str, list[dict[str, Any]]]:
    """The bundle with policy `name` removed (from one hub's overlay, or from every hub)."""
    return {p: [d for d in docs if d.get("metadata", {}).get("name") != name or not p.startswith(f"overlays/{hub}")]
            for p, docs in b.bundle.items()}


def _without_bootstrap_policies(bundle: dict[str, list[dict[str, Any]]]) -> dict[str, list[dict[str, Any]]]:
    """The bootstrap's enforced hub policies (the feature gate, cert-manager) also check what the
    overlay's inform policies check; a breaking fixture removes both."""
    return {p: [d for d in docs if not (p.startswith("bootstrap/") and d.get("kind") == "Policy")]
            for p, docs in bundle.items()}


RULES = [
    # (rule, policy name, hub, what the policy checks)
    ("prerequisites.manifestworkreplicaset", "prerequisites-work-replicaset-gate", "hub-dev",
     {"apiVersion": "operator.open-cluster-management.io/v1", "kind": "ClusterManager", "metadata": {"name": "cluster-manager"},
      "spec": {"workConfiguration": {"featureGates": [{"feature": "ManifestWorkReplicaSet", "mode": "Enable"}]}}}),
    ("prerequisites.s3-csi-driver", "prerequisites-s3-csi-driver", "hub-prod",
     {"apiVersion": "storage.k8s.io/v1", "kind": "CSIDriver", "metadata": {"name": "s3.csi.aws.com"}}),
    ("prerequisites.cert-manager", "prerequisites-cert-manager", "hub-prod",
     {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
      "metadata": {"name": "certificates.cert-manager.io"}}),
]


@pytest.mark.parametrize("rule,name,hub,expected", RULES, ids=[r[0] for r in RULES])
def test_prerequisite_passes_on_the_example_and_breaks_without_its_policy(fleet_repo: Path, rule, name, hub, expected) -> None:
    b = pipeline.render(PATHS)
    assert expected in _checked(_policy(b, hub, name))
    assert not [f for f in _rego(b) if f.check == f"rego:{rule}"]
    broken = [f for f in _rego(b, _without_bootstrap_policies(_without(b, name))) if f.check == f"rego:{rule}"]
    assert broken and all(f.severity.value == "error" for f in broken)


def test_s3_driver_is_checked_only_where_s3_jobs_run(fleet_repo: Path) -> None:
    b = pipeline.render(PATHS)
    dev = [d["metadata"]["name"] for d in b.bundle["overlays/hub-dev/governance/prerequisites.yaml"] if d["kind"] == "Policy"]
    assert "prerequisites-s3-csi-driver" not in dev
    # a dev job moving to S3 storage needs the driver checked on hub-dev: the twin says so until the policy is there
    job = fleet_repo / "specs/jobs/digits-dev.yaml"
    job.write_text(job.read_text().replace(
        "storage: {type: PersistentVolumeClaim, name: digits-models, path: /data/models, size: 1Gi}",
        "storage: {type: S3Bucket, name: digits-models, path: /data/models, size: 1Gi, s3: {bucketName: b}}"))
    b2 = pipeline.render(PATHS)
    assert [d for d in b2.bundle["overlays/hub-dev/governance/prerequisites.yaml"]
            if d["kind"] == "Policy" and d["metadata"]["name"] == "prerequisites-s3-csi-driver"]
    found = [f for f in _rego(b2, _without(b2, "prerequisites-s3-csi-driver", "hub-dev")) if f.check == "rego:prerequisites.s3-csi-driver"]
    assert len(found) == 1 and found[0].location and found[0].location.file == "specs/jobs/digits-dev.yaml"


def test_controller_namespace_is_a_fleet_setting_defaulting_to_upstreams(fleet_repo: Path) -> None:
    def controller(b: pipeline.Rendered, hub: str) -> dict[str, Any]:
        policy = next(d for d in b.bundle[f"overlays/{hub}/governance/addon.yaml"]
                      if d["kind"] == "Policy" and d["metadata"]["name"] == "addon-controller")
        return next(o for o in _checked(policy) if o["kind"] == "Deployment")

    b = pipeline.render(PATHS)
    # upstream `make deploy` installs into open-cluster-management (federated-learning-controller/Makefile)
    assert controller(b, "hub-prod")["metadata"] == {"name": "federated-learning-controller", "namespace": "open-cluster-management"}
    fleet = fleet_repo / "specs/fleet.yaml"
    fleet.write_text(fleet.read_text().replace(
        "    environment: dev\n", "    environment: dev\n    controller: {namespace: federated-learning}\n"))
    b = pipeline.render(PATHS)
    assert controller(b, "hub-dev")["metadata"]["namespace"] == "federated-learning"
    assert controller(b, "hub-prod")["metadata"]["namespace"] == "open-cluster-management"
