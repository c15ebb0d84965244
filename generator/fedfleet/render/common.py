"""Shared vocabulary of the renderers: labels, sync waves, API versions."""

from __future__ import annotations

from typing import Any

MANAGED_BY = {"app.kubernetes.io/managed-by": "fedfleet"}
SYNC_WAVE = "argocd.argoproj.io/sync-wave"

# Argo CD applies lower waves first and waits until every object of a wave is Healthy (or fails
# the sync when one is Degraded) before the next (gitops-engine/pkg/sync/sync_context.go): so
# namespaces and cluster sets, then bindings, then the placements and config the jobs need, then
# the policies that put the jobs' prerequisites in place (data claims, the CA on the clients),
# and the jobs last: a job Waiting for its clients is Progressing (render/health/), and nothing
# it waits for may sit in a later wave.
WAVE_NAMESPACE = -2
WAVE_BINDING = -1
WAVE_CONFIG = 0
WAVE_POLICY = 1
WAVE_JOB = 2

API_FL = "federation-ai.open-cluster-management.io/v1alpha1"
API_CLUSTER_V1BETA1 = "cluster.open-cluster-management.io/v1beta1"
API_CLUSTER_V1BETA2 = "cluster.open-cluster-management.io/v1beta2"
API_ADDON = "addon.open-cluster-management.io/v1alpha1"
API_ARGO = "argoproj.io/v1alpha1"
API_KUSTOMIZE = "kustomize.config.k8s.io/v1beta1"

ADDON_NAME = "flower-addon"
ADDON_NAMESPACE = "open-cluster-management"  # where the flower-addon chart keeps its config
ADDON_AGENT_NAMESPACE = "flower-addon"
SUPERLINK_NAMESPACE = "flower-system"
ADDON_PLACEMENT = "flower-addon-placement"
# The label that makes a ManagedCluster a member of a fleet cluster set: the bundle's
# ManagedClusterSets select on it (selectorType LabelSelector) and the `membership` governance
# plugin writes it, with the labels job placements select on, onto every ManagedCluster.
CLUSTER_SET_LABEL = "fedfleet.io/cluster-set"


def meta(name: str, namespace: str | None = None, wave: int | None = None,
         labels: dict[str, str] | None = None, annotations: dict[str, str] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"name": name}
    if namespace:
        out["namespace"] = namespace
    out["labels"] = {**MANAGED_BY, **(labels or {})}
    notes = dict(annotations or {})
    if wave is not None:
        notes[SYNC_WAVE] = str(wave)
    if notes:
        out["annotations"] = notes
    return out


def obj(api_version: str, kind: str, metadata: dict[str, Any], **body: Any) -> dict[str, Any]:
    return {"apiVersion": api_version, "kind": kind, "metadata": metadata, **body}


def namespace(name: str, labels: dict[str, str] | None = None) -> dict[str, Any]:
    return obj("v1", "Namespace", meta(name, wave=WAVE_NAMESPACE, labels=labels))


def kustomization(resources: list[str], **extra: Any) -> dict[str, Any]:
    return {"apiVersion": API_KUSTOMIZE, "kind": "Kustomization", "resources": resources, **extra}
