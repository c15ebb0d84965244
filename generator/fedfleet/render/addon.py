"""The Flower add-on install: shared base objects plus each hub's placement and address.

Follows the upstream flower-addon Helm chart (addon-contrib flower-addon/charts/flower-addon/):
ClusterManagementAddOn `flower-addon` with an AddOnTemplate and an AddOnDeploymentConfig
`flower-addon-config` in `open-cluster-management`, the SuperLink on the hub in `flower-system`.
fedfleet renders the chart's TLS-enabled form and installs by Placement, so the add-on reaches
exactly the cluster sets whose clusters run jobs.
"""

from __future__ import annotations

import json
from typing import Any

from ..spec.model import Fleet, Hub
from ..upstream import (
    ADDON_AGENT_NAMESPACE, ADDON_CONFIG, ADDON_NAME, ADDON_NAMESPACE, API_ADDON, API_CLUSTER_V1BETA1,
    CLIENTAPPIO_PORT, SUPERLINK, SUPERLINK_NAMESPACE, SUPERLINK_PORTS, SUPERNODE, TLS_CA_SECRET, TLS_MOUNT,
    TLS_SERVER_SECRET, superlink_args, supernode_args,
)
from ..versions import SUPERLINK_IMAGE, SUPERNODE_IMAGE
from .common import ADDON_PLACEMENT, WAVE_CONFIG, meta, namespace, obj

_APP_LABELS = {"app.kubernetes.io/name": "flower-superlink", "app.kubernetes.io/component": "hub"}
_SUPERNODE_LABELS = {"app.kubernetes.io/name": "flower-addon", "app.kubernetes.io/component": "supernode"}
def _supernode_manifests() -> list[dict[str, Any]]:
    container = {
        "name": "supernode",
        "image": "{{IMAGE}}",
        "args": supernode_args(True),
        "ports": [{"name": "clientappio", "containerPort": CLIENTAPPIO_PORT, "protocol": "TCP"}],
        "volumeMounts": [{"name": "tls-ca", "mountPath": TLS_MOUNT, "readOnly": True}],
    }
    return [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ADDON_AGENT_NAMESPACE}},
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": SUPERNODE, "namespace": ADDON_AGENT_NAMESPACE, "labels": _SUPERNODE_LABELS},
            "spec": {
                "replicas": 1,
                "selector": {"matchLabels": _SUPERNODE_LABELS},
                "template": {
                    "metadata": {"labels": _SUPERNODE_LABELS},
                    "spec": {
                        "containers": [container],
                        "volumes": [{"name": "tls-ca", "secret": {"secretName": TLS_CA_SECRET}}],
                    },
                },
            },
        },
    ]


def base_objects() -> dict[str, dict[str, Any]]:
    """bases/flower-addon: identical on every hub (TLS on); hubs patch only what differs."""
    cma = obj(
        API_ADDON, "ClusterManagementAddOn", meta(ADDON_NAME, wave=WAVE_CONFIG),
        spec={
            "addOnMeta": {
                "displayName": "Flower Federated Learning",
                "description": "Flower SuperNodes on managed clusters, connected to the hub's SuperLink over TLS.",
            },
            "supportedConfigs": [
                {"group": "addon.open-cluster-management.io", "resource": "addontemplates",
                 "defaultConfig": {"name": ADDON_NAME}},
                {"group": "addon.open-cluster-management.io", "resource": "addondeploymentconfigs",
                 "defaultConfig": {"name": ADDON_CONFIG, "namespace": ADDON_NAMESPACE}},
            ],
            "installStrategy": {
                "type": "Placements",
                "placements": [{"name": ADDON_PLACEMENT, "namespace": ADDON_NAMESPACE}],
            },
        },
    )
    template = obj(
        API_ADDON, "AddOnTemplate", meta(ADDON_NAME, wave=WAVE_CONFIG),
        spec={"addonName": ADDON_NAME, "agentSpec": {"workload": {"manifests": _supernode_manifests()}}},
    )
    config = obj(
        API_ADDON, "AddOnDeploymentConfig", meta(ADDON_CONFIG, ADDON_NAMESPACE, wave=WAVE_CONFIG),
        spec={
            "agentInstallNamespace": ADDON_AGENT_NAMESPACE,
            "customizedVariables": _variables(f"{SUPERLINK}.{SUPERLINK_NAMESPACE}.svc", SUPERLINK_PORTS["fleet"]),
        },
    )
    deployment = obj(
        "apps/v1", "Deployment", meta(SUPERLINK, SUPERLINK_NAMESPACE, wave=WAVE_CONFIG, labels=_APP_LABELS),
        spec={
            "replicas": 1,
            "selector": {"matchLabels": _APP_LABELS},
            "template": {
                "metadata": {"labels": _APP_LABELS},
                "spec": {
                    "containers": [{
                        "name": SUPERLINK,
                        "image": SUPERLINK_IMAGE,
                        "args": superlink_args(True),
                        "ports": [{"name": n, "containerPort": p, "protocol": "TCP"} for n, p in SUPERLINK_PORTS.items()],
                        "volumeMounts": [{"name": "tls-certs", "mountPath": TLS_MOUNT, "readOnly": True}],
                    }],
                    "volumes": [{"name": "tls-certs", "secret": {"secretName": TLS_SERVER_SECRET}}],
                },
            },
        },
    )
    service = obj(
        "v1", "Service", meta(SUPERLINK, SUPERLINK_NAMESPACE, wave=WAVE_CONFIG, labels=_APP_LABELS),
        spec={
            "type": "ClusterIP",
            "selector": _APP_LABELS,
            "ports": [{"name": n, "port": p, "targetPort": p, "protocol": "TCP"} for n, p in SUPERLINK_PORTS.items()],
        },
    )
    return {
        "namespace.yaml": namespace(SUPERLINK_NAMESPACE),
        "cluster-management-addon.yaml": cma,
        "addon-template.yaml": template,
        "addon-deployment-config.yaml": config,
        "superlink.yaml": [deployment, service],  # type: ignore[dict-item]
    }


def _variables(address: str, port: int) -> list[dict[str, str]]:
    return [
        {"name": "SUPERLINK_ADDRESS", "value": address},
        {"name": "SUPERLINK_PORT", "value": str(port)},
        {"name": "IMAGE", "value": SUPERNODE_IMAGE},
        {"name": "NUM_PARTITIONS", "value": "1"},
    ]


def hub_placement(fleet: Fleet, hub: Hub) -> dict[str, Any]:
    """The add-on install Placement: every cluster set of the hub that a job draws clients from."""
    sets = sorted({s for job in fleet.jobs_on(hub.name) for s in fleet.job_cluster_sets(job)})
    return obj(
        API_CLUSTER_V1BETA1, "Placement", meta(ADDON_PLACEMENT, ADDON_NAMESPACE, wave=WAVE_CONFIG),
        spec={"clusterSets": sets, "tolerations": [{"key": "cluster.open-cluster-management.io/unreachable", "operator": "Exists"}]},
    )


def hub_patches(fleet: Fleet, hub: Hub) -> list[dict[str, Any]]:
    """Strategic-merge and JSON patches that turn the shared base into this hub's add-on."""
    patches: list[dict[str, Any]] = [
        {
            "target": {"kind": "AddOnDeploymentConfig", "name": ADDON_CONFIG},
            "patch": _json_patch([{"op": "replace", "path": "/spec/customizedVariables",
                                   "value": _variables(hub.superlink_address, fleet.superlink_port)}]),
        }
    ]
    if not hub.tls_enabled:
        # A hub without TLS (allowed only where the fleet says so, e.g. a dev sandbox) runs the
        # chart's default insecure arguments; the tls governance plugin reports it.
        patches.append({
            "target": {"kind": "Deployment", "name": SUPERLINK, "namespace": SUPERLINK_NAMESPACE},
            "patch": _json_patch([{"op": "replace", "path": "/spec/template/spec/containers/0/args",
                                   "value": superlink_args(False)}]),
        })
        patches.append({
            "target": {"kind": "AddOnTemplate", "name": ADDON_NAME},
            "patch": _json_patch([{"op": "replace",
                                   "path": "/spec/agentSpec/workload/manifests/1/spec/template/spec/containers/0/args",
                                   "value": supernode_args(False)}]),
        })
    return patches


def _json_patch(ops: list[dict[str, Any]]) -> str:
    # Inline JSON 6902 patches are YAML text inside kustomization.yaml; JSON is valid YAML and
    # serialises deterministically.
    return json.dumps(ops, sort_keys=True)
