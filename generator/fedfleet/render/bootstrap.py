"""What makes a hub ready for its overlay, applied once with `kubectl apply --server-side -k
bootstrap/<hub>` by a hub admin, then kept by Argo CD.

Sync waves (lowest first; the same numbers whether kubectl applies the directory at once or Argo
CD re-syncs it): RBAC for Argo CD, then the hub prerequisites (cert-manager, the ClusterManager
feature gate), then the FL controller, then the overlay's Application.

Nothing already on the hub is fought over:
- the Argo CD RBAC is a ClusterRole and binding of fedfleet's own names (aggregation-free);
- cert-manager comes through an ACM OperatorPolicy (OpenShift GitOps hubs), which adopts a
  Subscription that already exists, or an Application of the upstream Helm chart (plain Argo CD);
- the feature gate is a `musthave` ConfigurationPolicy: the config-policy-controller merges the
  listed item into spec.workConfiguration.featureGates and leaves every other gate and field of
  the operator's ClusterManager alone (an SSA of a partial ClusterManager would own the whole
  list, which the ClusterManager API does not mark as a map);
- the FL controller Application drops upstream's Namespace object (on an ACM hub
  `open-cluster-management` belongs to ACM; Argo CD would adopt it and prune it with the app).
"""

from __future__ import annotations

import json
from typing import Any, Iterable

from ..spec.model import Fleet, Hub
from ..upstream import (
    API_ARGO, API_CLUSTER_V1BETA1, API_CLUSTER_V1BETA2, API_POLICY, CERT_MANAGER_CHART, CERT_MANAGER_CHART_REPO,
    CERT_MANAGER_NAMESPACE, CERT_MANAGER_OPERATOR, CLUSTER_MANAGER, FL_CONTROLLER_REPO, FL_CONTROLLER_PATH,
    WORK_GATE,
)
from ..versions import CERT_MANAGER_VERSION, FL_CONTROLLER_COMMIT, FL_CONTROLLER_IMAGE
from .common import meta, obj

from .argocd import WAVE_OVERLAY, WAVE_RBAC  # noqa: F401  (the bootstrap's first and last waves)

WAVE_PREREQ = -4
WAVE_CONTROLLER = -3

RBAC_NAME = "fedfleet-argocd"
BOOTSTRAP_NAMESPACE = "fedfleet-bootstrap"  # where the hub's own prerequisite policies live
ARGOCD_VERBS = ["create", "delete", "get", "list", "patch", "update", "watch"]

# What the FL controller Application syncs: `kubectl kustomize` of addon-contrib
# federated-learning-controller/config/default at FL_CONTROLLER_COMMIT (config/crd, config/rbac/
# kustomization.yaml, config/manager/manager.yaml, config/default/metrics_service.yaml), less the
# Namespace the Application patches out. Creating upstream's ClusterRoles needs `escalate` and
# binding them `bind` (Kubernetes RBAC privilege-escalation prevention), so Argo CD gets those on
# roles and cluster roles.
CONTROLLER_KINDS = [
    ("apiextensions.k8s.io", "CustomResourceDefinition"),
    ("", "ServiceAccount"), ("", "Service"), ("apps", "Deployment"),
    ("rbac.authorization.k8s.io", "Role"), ("rbac.authorization.k8s.io", "RoleBinding"),
    ("rbac.authorization.k8s.io", "ClusterRole"), ("rbac.authorization.k8s.io", "ClusterRoleBinding"),
]
# What the cert-manager chart installs (cert-manager deploy/charts/cert-manager/templates with
# crds.enabled): the plain-Argo CD flavour syncs it.
CERT_MANAGER_KINDS = [
    *CONTROLLER_KINDS, ("", "ConfigMap"), ("", "Namespace"), ("batch", "Job"),
    ("admissionregistration.k8s.io", "MutatingWebhookConfiguration"),
    ("admissionregistration.k8s.io", "ValidatingWebhookConfiguration"),
]
CLUSTER_SCOPED = {"Namespace", "CustomResourceDefinition", "ClusterRole", "ClusterRoleBinding",
                  "MutatingWebhookConfiguration", "ValidatingWebhookConfiguration", "ManagedClusterSet",
                  "ClusterManagementAddOn", "AddOnTemplate", "ClusterManager",
                  "ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding"}


def plural(kind: str) -> str:
    """The resource name of a kind, as the API server serves it: the lower-cased kind plus the
    English plural suffix, which is what kubebuilder (flect.Pluralize) and the core API use for
    every kind fedfleet ships. tests/test_bootstrap.py checks it against the CRDs' spec.names."""
    k = kind.lower()
    if k.endswith("y") and k[-2:-1] not in "aeiou":
        return k[:-1] + "ies"
    if k.endswith(("s", "x", "ch", "sh")):
        return k + "es"
    return k + "s"


def group_of(api_version: str) -> str:
    return api_version.rsplit("/", 1)[0] if "/" in api_version else ""


def kinds_of(objects: Iterable[dict[str, Any]]) -> set[tuple[str, str]]:
    return {(group_of(o["apiVersion"]), o["kind"]) for o in objects}


def argocd_service_account(hub: Hub) -> str:
    """The Argo CD application controller's ServiceAccount: the OpenShift GitOps operator names it
    `<ArgoCD name>-argocd-application-controller` (argocd-operator controllers/argocd/
    service_account.go, nameWithSuffix), upstream Argo CD `argocd-application-controller`
    (argo-cd manifests/base/application-controller/argocd-application-controller-sa.yaml)."""
    if hub.argocd_flavour == "openshift-gitops":
        return f"{hub.argocd_instance}-argocd-application-controller"
    return "argocd-application-controller"


def synced_kinds(hub: Hub, overlay_kinds: set[tuple[str, str]]) -> set[tuple[str, str]]:
    """Every kind Argo CD syncs for this hub: the overlay's and the bootstrap Applications'."""
    extra = CERT_MANAGER_KINDS if hub.argocd_flavour == "argocd" else CONTROLLER_KINDS
    return overlay_kinds | set(extra)


def rbac(hub: Hub, overlay_kinds: set[tuple[str, str]]) -> list[dict[str, Any]]:
    """A ClusterRole over every kind Argo CD syncs for the hub, derived from the built overlay's
    objects (so it cannot lag behind them), and its binding to the application controller."""
    by_group: dict[str, set[str]] = {}
    for group, kind in synced_kinds(hub, overlay_kinds):
        by_group.setdefault(group, set()).add(plural(kind))
    rules: list[dict[str, Any]] = [{"apiGroups": [g], "resources": sorted(r), "verbs": ARGOCD_VERBS}
                                   for g, r in sorted(by_group.items())]
    rules.append({"apiGroups": ["rbac.authorization.k8s.io"], "resources": ["clusterroles", "roles"],
                  "verbs": ["bind", "escalate"]})
    role = obj("rbac.authorization.k8s.io/v1", "ClusterRole", meta(RBAC_NAME, wave=WAVE_RBAC), rules=rules)
    binding = obj("rbac.authorization.k8s.io/v1", "ClusterRoleBinding", meta(RBAC_NAME, wave=WAVE_RBAC),
                  roleRef={"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": RBAC_NAME},
                  subjects=[{"kind": "ServiceAccount", "name": argocd_service_account(hub),
                             "namespace": hub.argocd_namespace}])
    return [role, binding]


def cluster_kinds(hub: Hub, overlay_kinds: set[tuple[str, str]]) -> list[tuple[str, str]]:
    """The cluster-scoped kinds the AppProject lets through: the overlay's and the bootstrap
    Applications', nothing else."""
    return sorted(k for k in synced_kinds(hub, overlay_kinds) if k[1] in CLUSTER_SCOPED)


def controller_application(hub: Hub, project: str) -> dict[str, Any]:
    """The FL controller, as upstream `make deploy` installs it (Makefile: kustomize edit set image
    controller=$IMG; set namespace $NAMESPACE; build config/default), through Argo CD's own
    kustomize options at a pinned commit of addon-contrib."""
    ns = hub.controller_namespace
    drop_namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}, "$patch": "delete"}
    return obj(API_ARGO, "Application", meta(f"fedfleet-{hub.name}-fl-controller", hub.argocd_namespace,
                                             wave=WAVE_CONTROLLER, labels={"fedfleet.io/hub": hub.name}),
               spec={
                   "project": project,
                   "source": {
                       "repoURL": FL_CONTROLLER_REPO, "targetRevision": FL_CONTROLLER_COMMIT, "path": FL_CONTROLLER_PATH,
                       "kustomize": {
                           "namespace": ns,
                           "images": [f"controller={hub.controller_image or FL_CONTROLLER_IMAGE}"],
                           # config/manager/manager.yaml ships a Namespace (renamed to `ns` by the
                           # namespace transformer); CreateNamespace makes it only where missing.
                           "patches": [{"target": {"version": "v1", "kind": "Namespace"},
                                        "patch": json.dumps(drop_namespace)}],
                       },
                   },
                   "destination": {"server": hub.destination_server, "namespace": ns},
                   "syncPolicy": {"automated": {"prune": True, "selfHeal": True},
                                  "syncOptions": ["CreateNamespace=true", "ServerSideApply=true"]},
               })


def _hub_policy(name: str, hub: Hub, templates: list[dict[str, Any]], description: str) -> dict[str, Any]:
    return obj(API_POLICY, "Policy",
               meta(name, BOOTSTRAP_NAMESPACE, wave=WAVE_PREREQ,
                    annotations={"policy.open-cluster-management.io/standards": "NIST SP 800-53",
                                 "policy.open-cluster-management.io/categories": "CM Configuration Management",
                                 "policy.open-cluster-management.io/controls": "CM-2 Baseline Configuration",
                                 "policy.open-cluster-management.io/description": description}),
               spec={"disabled": False, "remediationAction": "enforce",
                     "policy-templates": [{"objectDefinition": t} for t in templates]})


def feature_gate_policy(hub: Hub) -> dict[str, Any]:
    """ManifestWorkReplicaSet on the ClusterManager (ocm api operator/v1/types_clustermanager.go
    WorkConfiguration.FeatureGates; off by default, api feature/feature.go). `musthave` merges the
    item into the existing list (config-policy-controller: arrays in musthave are merged)."""
    return _hub_policy("fedfleet-work-feature-gate", hub, [obj(API_POLICY, "ConfigurationPolicy",
        {"name": "fedfleet-work-feature-gate"},
        spec={"remediationAction": "enforce", "severity": "high", "pruneObjectBehavior": "None",
              "object-templates": [{"complianceType": "musthave", "objectDefinition": {
                  "apiVersion": "operator.open-cluster-management.io/v1", "kind": "ClusterManager",
                  "metadata": {"name": CLUSTER_MANAGER},
                  "spec": {"workConfiguration": {"featureGates": [WORK_GATE]}}}}]})],
        "The work feature gate ManifestWorkReplicaSet the FL controller's Flower path needs")


def cert_manager_policy(hub: Hub) -> dict[str, Any]:
    """cert-manager Operator for Red Hat OpenShift through OLM, as an OperatorPolicy (config-policy-
    controller api/v1beta1 operatorpolicy_types.go). An existing Subscription of the same package is
    adopted, not replaced; upgrades wait for approval (upgradeApproval None)."""
    sub = CERT_MANAGER_OPERATOR
    namespace = obj("v1", "Namespace", {"name": sub["namespace"]})
    return _hub_policy("fedfleet-cert-manager", hub, [
        obj(API_POLICY, "ConfigurationPolicy", {"name": "fedfleet-cert-manager-namespace"},
            spec={"remediationAction": "enforce", "severity": "high", "pruneObjectBehavior": "None",
                  "object-templates": [{"complianceType": "musthave", "objectDefinition": namespace}]}),
        obj("policy.open-cluster-management.io/v1beta1", "OperatorPolicy", {"name": "fedfleet-cert-manager"},
            spec={"remediationAction": "enforce", "severity": "high", "complianceType": "musthave",
                  "upgradeApproval": "None",
                  "subscription": dict(sub),
                  "removalBehavior": {"operatorGroups": "Keep", "subscriptions": "Keep",
                                      "clusterServiceVersions": "Keep", "customResourceDefinitions": "Keep"}}),
    ], "cert-manager, which issues the SuperLink's TLS certificates")


def hub_placement_objects(policies: list[str]) -> list[dict[str, Any]]:
    """The hub's own ManagedCluster (local-cluster=true, in the `global` set) as the policies' target."""
    return [
        obj("v1", "Namespace", meta(BOOTSTRAP_NAMESPACE, wave=WAVE_RBAC)),
        obj(API_CLUSTER_V1BETA2, "ManagedClusterSetBinding", meta("global", BOOTSTRAP_NAMESPACE, wave=WAVE_RBAC),
            spec={"clusterSet": "global"}),
        obj(API_CLUSTER_V1BETA1, "Placement", meta("fedfleet-hub", BOOTSTRAP_NAMESPACE, wave=WAVE_PREREQ),
            spec={"clusterSets": ["global"], "predicates": [
                {"requiredClusterSelector": {"labelSelector": {"matchLabels": {"local-cluster": "true"}}}}]}),
        {"apiVersion": API_POLICY, "kind": "PlacementBinding",
         "metadata": meta("fedfleet-hub", BOOTSTRAP_NAMESPACE, wave=WAVE_PREREQ),
         "placementRef": {"apiGroup": "cluster.open-cluster-management.io", "kind": "Placement", "name": "fedfleet-hub"},
         "subjects": [{"apiGroup": "policy.open-cluster-management.io", "kind": "Policy", "name": p} for p in sorted(policies)]},
    ]


def cert_manager_application(hub: Hub, project: str) -> dict[str, Any]:
    """Plain Kubernetes: the upstream cert-manager Helm chart at a pinned version (CRDs included)."""
    return obj(API_ARGO, "Application", meta(f"fedfleet-{hub.name}-cert-manager", hub.argocd_namespace,
                                             wave=WAVE_PREREQ, labels={"fedfleet.io/hub": hub.name}),
               spec={
                   "project": project,
                   "source": {"repoURL": CERT_MANAGER_CHART_REPO, "chart": CERT_MANAGER_CHART,
                              "targetRevision": CERT_MANAGER_VERSION,
                              "helm": {"releaseName": "cert-manager", "valuesObject": {"crds": {"enabled": True}}}},
                   "destination": {"server": hub.destination_server, "namespace": CERT_MANAGER_NAMESPACE},
                   "syncPolicy": {"automated": {"prune": True, "selfHeal": True},
                                  "syncOptions": ["CreateNamespace=true", "ServerSideApply=true"]},
               })


def prerequisites(fleet: Fleet, hub: Hub, project: str) -> dict[str, list[dict[str, Any]]]:
    """The bootstrap files beyond the Argo CD project, Application and health checks."""
    policies = [feature_gate_policy(hub)]
    files: dict[str, list[dict[str, Any]]] = {}
    if hub.argocd_flavour == "openshift-gitops":
        policies.append(cert_manager_policy(hub))
    else:
        files["cert-manager.yaml"] = [cert_manager_application(hub, project)]
    files["hub-policies.yaml"] = [*hub_placement_objects([p["metadata"]["name"] for p in policies]), *policies]
    files["fl-controller.yaml"] = [controller_application(hub, project)]
    return files
