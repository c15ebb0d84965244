"""The bootstrap makes a hub ready: Argo CD may sync every kind its overlay contains (checked here
independently of the generator, from `kustomize build` output and the upstream CRDs' own resource
names), the FL controller comes pinned from upstream, cert-manager and the feature gate per flavour."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml

from conftest import need_crd
from fedfleet.checks.crds import SchemaSet
from fedfleet.checks.kustomize import build
from fedfleet.render.bootstrap import plural
from fedfleet.spec.load import load_fleet

REPO = Path(__file__).resolve().parents[1]
ARGOCD_VERBS = {"get", "list", "watch", "create", "update", "patch", "delete"}

# Resource names and scopes of the built-in kinds (the API server's discovery of the core groups),
# and of AddOnTemplate, whose CRD is not in ../shared/crds (ocm api addon/v1alpha1
# types_addontemplate.go: +kubebuilder:resource:scope="Cluster").
BUILTIN = {
    ("", "Namespace"): ("namespaces", "Cluster"), ("", "ConfigMap"): ("configmaps", "Namespaced"),
    ("", "Secret"): ("secrets", "Namespaced"), ("", "Service"): ("services", "Namespaced"),
    ("", "ServiceAccount"): ("serviceaccounts", "Namespaced"), ("apps", "Deployment"): ("deployments", "Namespaced"),
    ("batch", "Job"): ("jobs", "Namespaced"),
    ("rbac.authorization.k8s.io", "Role"): ("roles", "Namespaced"),
    ("rbac.authorization.k8s.io", "RoleBinding"): ("rolebindings", "Namespaced"),
    ("rbac.authorization.k8s.io", "ClusterRole"): ("clusterroles", "Cluster"),
    ("rbac.authorization.k8s.io", "ClusterRoleBinding"): ("clusterrolebindings", "Cluster"),
    # kubernetes pkg/apis/admissionregistration (kubectl api-resources: cluster-scoped)
    ("admissionregistration.k8s.io", "ValidatingAdmissionPolicy"): ("validatingadmissionpolicies", "Cluster"),
    ("admissionregistration.k8s.io", "ValidatingAdmissionPolicyBinding"): ("validatingadmissionpolicybindings", "Cluster"),
    ("addon.open-cluster-management.io", "AddOnTemplate"): ("addontemplates", "Cluster"),
    ("cert-manager.io", "Issuer"): ("issuers", "Namespaced"),
    ("cert-manager.io", "Certificate"): ("certificates", "Namespaced"),
    ("route.openshift.io", "Route"): ("routes", "Namespaced"),
}


def crd_names(crd_dir: Path) -> dict[tuple[str, str], tuple[str, str]]:
    out = dict(BUILTIN)
    for path in sorted(crd_dir.glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if isinstance(doc, dict) and doc.get("kind") == "CustomResourceDefinition":
                spec = doc["spec"]
                out[(spec["group"], spec["names"]["kind"])] = (spec["names"]["plural"], spec["scope"])
    return out


def group(api_version: str) -> str:
    return api_version.rsplit("/", 1)[0] if "/" in api_version else ""


def uncovered(overlay: list[dict[str, Any]], role: dict[str, Any],
              names: dict[tuple[str, str], tuple[str, str]]) -> list[str]:
    """Every (group, resource) of the built overlay that the ClusterRole does not let Argo CD sync."""
    granted: dict[tuple[str, str], set[str]] = {}
    for rule in role["rules"]:
        for g in rule.get("apiGroups", []):
            for r in rule.get("resources", []):
                granted.setdefault((g, r), set()).update(rule["verbs"])
    missing = []
    for o in overlay:
        key = (group(o["apiVersion"]), o["kind"])
        assert key in names, f"no resource name known for {key}: add its CRD or a built-in entry"
        resource = names[key][0]
        if not ARGOCD_VERBS <= granted.get((key[0], resource), set()):
            missing.append(f"{key[0] or 'core'}/{resource}")
    return sorted(set(missing))


def by_kind(objects: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [o for o in objects if o["kind"] == kind]


def test_rbac_covers_every_kind_of_every_built_overlay(fleet_repo: Path, run, crds: Path) -> None:
    need_crd(crds, "federation-ai.open-cluster-management.io_federatedlearnings.yaml")  # its resource name (plural) comes from the CRD
    assert run("generate").code == 0
    names = crd_names(crds)
    fleet = load_fleet(fleet_repo / "specs")
    for hub in fleet.hubs:
        overlay = build(fleet_repo / "overlays" / hub.name)
        boot = build(fleet_repo / "bootstrap" / hub.name)
        [role] = by_kind(boot, "ClusterRole")
        assert uncovered(overlay, role, names) == [], hub.name
        # Breaking fixture: without one of its rules the role leaves that group's kinds uncovered.
        policy_rule = next(r for r in role["rules"] if r["apiGroups"] == ["policy.open-cluster-management.io"])
        crippled = {**role, "rules": [r for r in role["rules"] if r is not policy_rule]}
        assert "policy.open-cluster-management.io/policies" in uncovered(overlay, crippled, names)
        # The binding names the application controller of the hub's flavour.
        [binding] = by_kind(boot, "ClusterRoleBinding")
        sa = {"openshift-gitops": "openshift-gitops-argocd-application-controller",
              "argocd": "argocd-application-controller"}[hub.argocd_flavour]
        assert binding["subjects"] == [{"kind": "ServiceAccount", "name": sa, "namespace": hub.argocd_namespace}]
        assert binding["roleRef"]["name"] == role["metadata"]["name"]
        # The project lets through every cluster-scoped kind of the overlay.
        [project] = by_kind(boot, "AppProject")
        allowed = {(k["group"], k["kind"]) for k in project["spec"]["clusterResourceWhitelist"]}
        cluster_scoped = {(group(o["apiVersion"]), o["kind"]) for o in overlay
                          if names[(group(o["apiVersion"]), o["kind"])][1] == "Cluster"}
        assert cluster_scoped <= allowed, hub.name


def test_rbac_follows_the_overlay_when_a_kind_appears(fleet_repo: Path, run, crds: Path) -> None:
    """A job with S3 storage is the same kinds; a hub without jobs loses FederatedLearning. The
    role is regenerated from the overlay, so it tracks both ways."""
    assert run("generate").code == 0
    role = by_kind(build(fleet_repo / "bootstrap" / "hub-dev"), "ClusterRole")[0]
    assert any("federatedlearnings" in r["resources"] for r in role["rules"])
    for job in (fleet_repo / "specs" / "jobs").glob("*.yaml"):
        if "hub: hub-dev" in job.read_text():
            job.unlink()
    assert run("generate").code == 0
    role = by_kind(build(fleet_repo / "bootstrap" / "hub-dev"), "ClusterRole")[0]
    overlay = build(fleet_repo / "overlays" / "hub-dev")
    assert not by_kind(overlay, "FederatedLearning")
    assert not any("federatedlearnings" in r["resources"] for r in role["rules"]
                   if r["apiGroups"] == ["federation-ai.open-cluster-management.io"])
    assert uncovered(overlay, role, crd_names(crds)) == []


def test_plural_is_the_resource_name_of_every_upstream_crd(crds: Path) -> None:
    names = crd_names(crds)
    assert len(names) > 20
    for (_, kind), (resource, _) in names.items():
        assert plural(kind) == resource, kind


def test_fl_controller_comes_pinned_from_upstream(fleet_repo: Path, run) -> None:
    assert run("generate").code == 0
    fleet = load_fleet(fleet_repo / "specs")
    for hub in fleet.hubs:
        boot = build(fleet_repo / "bootstrap" / hub.name)
        [app] = [a for a in by_kind(boot, "Application") if a["metadata"]["name"].endswith("-fl-controller")]
        source = app["spec"]["source"]
        assert source["repoURL"] == "https://github.com/open-cluster-management-io/addon-contrib.git"
        assert re.fullmatch(r"[0-9a-f]{40}", source["targetRevision"]), "a commit, not a branch"
        assert source["path"] == "federated-learning-controller/config/default"
        assert source["kustomize"]["namespace"] == hub.controller_namespace
        assert source["kustomize"]["images"] == [
            "controller=quay.io/open-cluster-management/federated-learning-controller:latest"]
        # upstream's Namespace object is deleted from the build, so the app never owns (or prunes)
        # an existing open-cluster-management namespace
        [patch] = source["kustomize"]["patches"]
        assert json.loads(patch["patch"]) == {"apiVersion": "v1", "kind": "Namespace",
                                              "metadata": {"name": hub.controller_namespace}, "$patch": "delete"}
        assert "CreateNamespace=true" in app["spec"]["syncPolicy"]["syncOptions"]
        waves = {o["kind"] + "/" + o["metadata"]["name"]: int(o["metadata"]["annotations"]["argocd.argoproj.io/sync-wave"])
                 for o in boot if "annotations" in o["metadata"]}
        assert waves["ClusterRole/fedfleet-argocd"] < waves[f"Application/{app['metadata']['name']}"] \
            < waves[f"Application/fedfleet-{hub.name}"]


def test_cert_manager_and_the_feature_gate_per_flavour(fleet_repo: Path, run, crds: Path) -> None:
    assert run("generate").code == 0
    prod = build(fleet_repo / "bootstrap" / "hub-prod")  # openshift-gitops
    dev = build(fleet_repo / "bootstrap" / "hub-dev")  # plain argocd
    schemas = SchemaSet.from_directory(crds)
    for boot in (prod, dev):
        findings, _ = schemas.validate(boot, "bootstrap")
        assert not [f for f in findings if f.severity.value == "error"], findings
        gate = next(p for p in by_kind(boot, "Policy") if p["metadata"]["name"] == "fedfleet-work-feature-gate")
        config = gate["spec"]["policy-templates"][0]["objectDefinition"]["spec"]
        assert config["remediationAction"] == "enforce"
        [template] = config["object-templates"]
        assert template["complianceType"] == "musthave", "merges into the operator's list, never replaces it"
        assert template["objectDefinition"]["spec"] == {"workConfiguration": {"featureGates": [
            {"feature": "ManifestWorkReplicaSet", "mode": "Enable"}]}}
    operator = [t["objectDefinition"] for p in by_kind(prod, "Policy") for t in p["spec"]["policy-templates"]
                if t["objectDefinition"]["kind"] == "OperatorPolicy"]
    assert [o["spec"]["subscription"]["name"] for o in operator] == ["openshift-cert-manager-operator"]
    assert not [a for a in by_kind(prod, "Application") if a["metadata"]["name"].endswith("-cert-manager")]
    [helm] = [a for a in by_kind(dev, "Application") if a["metadata"]["name"].endswith("-cert-manager")]
    assert helm["spec"]["source"]["chart"] == "cert-manager"
    assert re.fullmatch(r"v\d+\.\d+\.\d+", helm["spec"]["source"]["targetRevision"])
    assert not [t for p in by_kind(dev, "Policy") for t in p["spec"]["policy-templates"]
                if t["objectDefinition"]["kind"] == "OperatorPolicy"]
