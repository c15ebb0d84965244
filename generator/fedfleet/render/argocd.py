"""Argo CD bootstrap: per hub, an AppProject and the Application that syncs its overlay."""

from __future__ import annotations

from typing import Any

from ..spec.model import Fleet, Hub
from .common import API_ARGO, meta, obj

PROJECT = "fedfleet"

# Kinds the overlays contain; the project allows nothing else, so a stray object in Git cannot
# be synced to a hub by accident.
CLUSTER_KINDS = [
    ("", "Namespace"),
    ("addon.open-cluster-management.io", "ClusterManagementAddOn"),
    ("addon.open-cluster-management.io", "AddOnTemplate"),
    ("cluster.open-cluster-management.io", "ManagedClusterSet"),
]


def app_name(hub: Hub) -> str:
    return f"fedfleet-{hub.name}"


def project(fleet: Fleet, hub: Hub) -> dict[str, Any]:
    return obj(
        API_ARGO, "AppProject", meta(PROJECT, hub.argocd_namespace),
        spec={
            "description": f"fedfleet-managed federated learning on {hub.name}",
            "sourceRepos": [fleet.repo_url],
            "destinations": [{"server": hub.destination_server, "namespace": "*"}],
            "clusterResourceWhitelist": [{"group": g, "kind": k} for g, k in CLUSTER_KINDS],
            "namespaceResourceWhitelist": [{"group": "*", "kind": "*"}],
        },
    )


def application(fleet: Fleet, hub: Hub) -> dict[str, Any]:
    return obj(
        API_ARGO, "Application",
        meta(app_name(hub), hub.argocd_namespace, labels={"fedfleet.io/hub": hub.name,
                                                          "fedfleet.io/environment": hub.environment}),
        spec={
            "project": PROJECT if hub.argocd_project == "default" else hub.argocd_project,
            "source": {"repoURL": fleet.repo_url, "targetRevision": fleet.revision, "path": f"overlays/{hub.name}"},
            "destination": {"server": hub.destination_server},
            "syncPolicy": {
                "automated": {"prune": True, "selfHeal": True},
                # FederatedLearning and Policy CRDs may arrive with their controllers after the
                # first sync attempt; the dry run must not fail the whole wave on them.
                "syncOptions": ["PruneLast=true", "SkipDryRunOnMissingResource=true"],
                "retry": {"limit": 5, "backoff": {"duration": "10s", "factor": 2, "maxDuration": "5m"}},
            },
        },
    )
