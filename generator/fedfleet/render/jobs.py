"""FederatedLearning resources, their namespaces and cluster-set bindings, data-locality maps."""

from __future__ import annotations

from typing import Any

from ..spec.model import Fleet, Hub, Job
from ..upstream import (
    ADDON_NAMESPACE, API_CLUSTER_V1BETA2, API_FL, CLUSTER_SET_LABEL, DATA_CLAIM_ANNOTATION, RUN_LABEL, SUPERLINK_NAMESPACE,
    SUPERLINK_PORTS, TLS_ANNOTATION, superlink_name,
)
from .common import WAVE_BINDING, WAVE_CONFIG, WAVE_JOB, WAVE_NAMESPACE, meta, namespace, obj


def federated_learning(job: Job, annotations: dict[str, str] | None = None) -> dict[str, Any]:
    server: dict[str, Any] = {
        "image": job.server["image"],
        "rounds": job.rounds,
        "minAvailableClients": job.min_clients,
    }
    if job.server.get("listeners"):
        server["listeners"] = sorted((dict(li) for li in job.server["listeners"]), key=lambda li: li["name"])
    if job.server.get("storage"):
        storage = dict(job.server["storage"])
        if "size" in storage:
            storage["size"] = str(storage["size"])  # a string in the CRD, even when YAML says 2
        server["storage"] = storage
    client: dict[str, Any] = {"image": job.client_image, "placement": job.effective_placement}
    if job.framework == "flower":
        # The job's own SuperLink (render/flower.py); the controller passes it verbatim to its
        # ServerApp's --appio-api-address (manifests/flower/serverapp/serverapp-deployment.yaml:27).
        # spec.client.supernode keeps the CRD default flower-supernode.flower-addon:9094, the
        # Service the add-on ships on every cluster.
        server["superlink"] = f"{superlink_name(job.name)}.{SUPERLINK_NAMESPACE}:{SUPERLINK_PORTS['serverappio']}"
    return obj(
        API_FL, "FederatedLearning",
        meta(job.object_name, job.namespace, wave=WAVE_JOB, labels={"fedfleet.io/job": job.name, RUN_LABEL: str(job.run)},
             annotations={**(annotations or {}), DATA_CLAIM_ANNOTATION: job.data_claim,
                          TLS_ANNOTATION: "enabled" if job.tls_enabled else "disabled"}),
        spec={
            "framework": job.framework,
            "server": server,
            "client": client,
        },
    )


def data_locality_map(fleet: Fleet, job: Job) -> dict[str, Any]:
    """Which cluster holds the job's data at which path, read by the data-locality policy's hub
    templates (`fromConfigMap` in the policy's own namespace). One map per job keeps the bundle
    O(jobs + holders) instead of one policy per (job, cluster)."""
    return obj(
        "v1", "ConfigMap",
        meta(f"{job.name}-data-locality", fleet.governance_namespace, wave=WAVE_CONFIG,
             labels={"fedfleet.io/job": job.name}, annotations={DATA_CLAIM_ANNOTATION: job.data_claim}),
        data={cluster: job.holders[cluster] for cluster in sorted(job.holders)},
    )


def cluster_set_objects(fleet: Fleet, hub: Hub) -> list[dict[str, Any]]:
    """ManagedClusterSets of the hub, and a binding for every (namespace, set) pair in use."""
    out: list[dict[str, Any]] = []
    for cs in sorted(fleet.sets_of(hub.name), key=lambda s: s.name):
        # LabelSelector over fedfleet's own label, not ExclusiveClusterSetLabel: membership then
        # exists on the hub because the `membership` policy writes the label from the inventory,
        # and fedfleet never moves a cluster out of a set someone else made (the exclusive label
        # holds one set per cluster, and OCM's webhook defaults it to `default`). OCM evaluates the
        # selector in BuildClusterSelector (ocm vendor/open-cluster-management.io/sdk-go/pkg/apis/
        # cluster/v1beta2/managedclusterset.go:88, LabelSelector -> metav1.LabelSelectorAsSelector).
        out.append(obj(API_CLUSTER_V1BETA2, "ManagedClusterSet", meta(cs.name, wave=WAVE_NAMESPACE),
                       spec={"clusterSelector": {"selectorType": "LabelSelector",
                                                 "labelSelector": {"matchLabels": {CLUSTER_SET_LABEL: cs.name}}}}))
    pairs = {(job.namespace, s) for job in fleet.jobs_on(hub.name) for s in fleet.job_cluster_sets(job)}
    # The add-on install Placements live in open-cluster-management, the Flower delivery policies'
    # Placements in flower-system: both need the Flower jobs' sets bound there.
    flower_sets = {s for job in fleet.jobs_on(hub.name) if job.framework == "flower" for s in fleet.job_cluster_sets(job)}
    pairs |= {(ns, s) for s in flower_sets for ns in (ADDON_NAMESPACE, SUPERLINK_NAMESPACE)}
    for ns, set_name in sorted(pairs):
        out.append(obj(API_CLUSTER_V1BETA2, "ManagedClusterSetBinding", meta(set_name, ns, wave=WAVE_BINDING),
                       spec={"clusterSet": set_name}))
    return out


def job_namespaces(fleet: Fleet, hub: Hub) -> list[dict[str, Any]]:
    names = sorted({job.namespace for job in fleet.jobs_on(hub.name)})
    return [namespace(n, labels={"fedfleet.io/fl-namespace": "true"}) for n in names]
