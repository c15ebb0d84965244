"""The Flower add-on: the shared base (AddOnTemplate, the hub's TLS issuers) and each hub's
ClusterManagementAddOn with one install placement per Flower job.

Follows the upstream flower-addon Helm chart (addon-contrib flower-addon/charts/flower-addon/):
ClusterManagementAddOn and AddOnTemplate `flower-addon`, AddOnDeploymentConfigs in
`open-cluster-management`, agents in `flower-addon`. Where fedfleet differs, and why:
- the SuperLink is per job (render/flower.py), not one per hub (templates/superlink.yaml);
- install strategy `Placements` with one placement and AddOnDeploymentConfig per Flower job
  (templates/cluster-management-addon.yaml supports `placements[].configs`), so SuperNodes run
  only on the job's clusters and dial the job's SuperLink;
- TLS material comes from cert-manager, not hack/generate-certs.sh, with cert-manager's key names
  (`tls.crt`, `tls.key`, `ca.crt`); the CA reaches managed clusters through an ACM policy
  (render/flower.py), not through a helm `lookup` baked into the AddOnTemplate (addon-template.yaml:88-102);
- each SuperNode gets a stable `partition-id` (the chart passes only cluster-name and
  num-partitions, addon-template.yaml:56);
- the template carries a `registration` (CustomSigner, as upstream's otel add-on does:
  federated-learning-controller/deploy/obs/otel-addon/resources/addon-template.yaml), so every
  cluster's agent gets its own hub-signed credential, and the SuperNode pod has a tunnel that
  presents it (render/tunnel.py): only registered clusters reach the SuperLink.
"""

from __future__ import annotations

import json
from typing import Any

from ..spec.model import Fleet, Hub
from ..upstream import (
    ADDON_AGENT_NAMESPACE, ADDON_NAME, ADDON_NAMESPACE, API_ADDON, API_CERT_MANAGER, CLIENTAPPIO_PORT, FLOWER_SIGNER,
    FLOWER_SIGNING_CA, FLOWER_SIGNING_CA_NAMESPACE, NODE_CONFIG_MAP, SUPERLINK_NAMESPACE, SUPERNODE, TLS_CA_SECRET,
    TLS_MOUNT, TUNNEL_CONTAINER, supernode_args,
)
from . import tunnel
from .common import WAVE_BINDING, WAVE_CONFIG, meta, namespace, obj

_SUPERNODE_LABELS = {"app.kubernetes.io/name": "flower-addon", "app.kubernetes.io/component": "supernode"}
# NODE_CONFIG_MAP is delivered to each job cluster by the job's Flower policy (render/flower.py):
# this cluster's partition of the job's data, read into --node-config through $(PARTITION_ID).
CA_ISSUER = "flower-ca"
SELF_SIGNED_ISSUER = "flower-selfsigned"


def _supernode_manifests() -> list[dict[str, Any]]:
    probe = {"tcpSocket": {"port": CLIENTAPPIO_PORT}}
    container = {
        "name": "supernode",
        "image": "{{IMAGE}}",
        "args": supernode_args(True),
        "env": [{"name": "PARTITION_ID", "valueFrom": {"configMapKeyRef": {"name": NODE_CONFIG_MAP, "key": "partition-id"}}}],
        "ports": [{"name": "clientappio", "containerPort": CLIENTAPPIO_PORT, "protocol": "TCP"}],
        # addon-template.yaml:71-80: TCP probes on the ClientAppIo port.
        "livenessProbe": {**probe, "initialDelaySeconds": 30, "periodSeconds": 10},
        "readinessProbe": {**probe, "initialDelaySeconds": 5, "periodSeconds": 5},
        "volumeMounts": [{"name": "tls-ca", "mountPath": TLS_MOUNT, "readOnly": True}],
    }
    return [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ADDON_AGENT_NAMESPACE}},
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": SUPERNODE, "namespace": ADDON_AGENT_NAMESPACE, "labels": _SUPERNODE_LABELS,
                         "annotations": {"cluster-name": "{{CLUSTER_NAME}}"}},
            "spec": {
                "replicas": 1,
                "selector": {"matchLabels": _SUPERNODE_LABELS},
                "template": {
                    "metadata": {"labels": _SUPERNODE_LABELS},
                    "spec": {
                        # The registration credential's volume is not declared here: the template
                        # agent adds it to every container (ocm templateagent/decorator.go volumeDecorator).
                        "containers": [container, tunnel.tunnel_container(
                            "fleet-tunnel", [{"name": "tls-ca", "mountPath": TLS_MOUNT, "readOnly": True}], None)],
                        "volumes": [{"name": "tls-ca", "secret": {"secretName": TLS_CA_SECRET}},
                                    {"name": "fleet-tunnel", "configMap": {"name": tunnel.CLIENT_TUNNEL_CONFIG}}],
                    },
                },
            },
        },
        {"apiVersion": "v1", "kind": "ConfigMap",
         "metadata": {"name": tunnel.CLIENT_TUNNEL_CONFIG, "namespace": ADDON_AGENT_NAMESPACE, "labels": _SUPERNODE_LABELS},
         "data": tunnel.tunnel_files(tunnel.client_config())},
        # The controller's ClientApps dial flower-supernode.flower-addon:9094 (its default
        # spec.client.supernode, federatedlearning_types.go); the chart ships this Service
        # (addon-template.yaml:104-122).
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": SUPERNODE, "namespace": ADDON_AGENT_NAMESPACE, "labels": _SUPERNODE_LABELS},
            "spec": {"type": "ClusterIP", "selector": _SUPERNODE_LABELS,
                     "ports": [{"name": "clientappio", "port": CLIENTAPPIO_PORT, "targetPort": CLIENTAPPIO_PORT,
                                "protocol": "TCP"}]},
        },
    ]


def tls_issuers() -> list[dict[str, Any]]:
    """cert-manager on the hub: a self-signed bootstrap Issuer signs the Flower CA, whose Secret
    backs the CA Issuer that signs each SuperLink's certificate (render/flower.py). Secret
    `flower-tls-ca` carries tls.crt, tls.key and ca.crt (cert-manager's keys); only ca.crt ever
    leaves the hub."""
    ns = SUPERLINK_NAMESPACE
    return [
        obj(API_CERT_MANAGER, "Issuer", meta(SELF_SIGNED_ISSUER, ns, wave=WAVE_BINDING), spec={"selfSigned": {}}),
        obj(API_CERT_MANAGER, "Certificate", meta(CA_ISSUER, ns, wave=WAVE_BINDING), spec={
            "isCA": True, "commonName": "fedfleet Flower CA", "secretName": TLS_CA_SECRET,
            "duration": "87600h", "renewBefore": "720h",
            "privateKey": {"algorithm": "ECDSA", "size": 256},
            "issuerRef": {"group": "cert-manager.io", "kind": "Issuer", "name": SELF_SIGNED_ISSUER}}),
        obj(API_CERT_MANAGER, "Issuer", meta(CA_ISSUER, ns, wave=WAVE_BINDING), spec={"ca": {"secretName": TLS_CA_SECRET}}),
        *tunnel.signing_ca(),
    ]


def registration() -> list[dict[str, Any]]:
    """AddOnTemplate spec.registration (api addon/v1alpha1 types_addontemplate.go RegistrationSpec,
    CustomSignerRegistrationConfig): the hub signs each cluster's CSR for FLOWER_SIGNER with the
    CA in Secret FLOWER_SIGNING_CA_NAMESPACE/FLOWER_SIGNING_CA (ocm pkg/addon/templateagent/
    registration.go TemplateCSRSignFunc -> CustomSignerWithExpiry). No subject: OCM's default names
    the cluster (CN system:open-cluster-management:cluster:<cluster>:addon:flower-addon:agent:...)."""
    return [{"type": "CustomSigner", "customSigner": {
        "signerName": FLOWER_SIGNER,
        "signingCA": {"name": FLOWER_SIGNING_CA, "namespace": FLOWER_SIGNING_CA_NAMESPACE}}}]


def base_objects() -> dict[str, Any]:
    """bases/flower-addon: identical on every hub (TLS on); a hub without TLS patches the SuperNode."""
    template = obj(
        API_ADDON, "AddOnTemplate", meta(ADDON_NAME, wave=WAVE_CONFIG),
        spec={"addonName": ADDON_NAME, "agentSpec": {"workload": {"manifests": _supernode_manifests()}},
              "registration": registration()},
    )
    return {
        "namespace.yaml": namespace(SUPERLINK_NAMESPACE),
        "addon-template.yaml": template,
        "tls-issuers.yaml": tls_issuers(),
        # Only a cluster's own klusterlet may ask for its registration credential (render/tunnel.py).
        "registration-admission.yaml": tunnel.csr_admission(),
    }


def install_placement_name(job_name: str) -> str:
    return f"flower-addon-{job_name}"


def cluster_management_addon(fleet: Fleet, hub: Hub) -> dict[str, Any]:
    """One install placement per Flower job of the hub, each with the job's AddOnDeploymentConfig
    (SuperLink address and port, image, partitions): the add-on manager installs the SuperNode
    exactly where the job's placement selects and points it at the job's SuperLink."""
    flower = [j for j in fleet.jobs_on(hub.name) if j.framework == "flower"]
    placements = [
        {"name": install_placement_name(j.name), "namespace": ADDON_NAMESPACE,
         "configs": [{"group": "addon.open-cluster-management.io", "resource": "addondeploymentconfigs",
                      "name": install_placement_name(j.name), "namespace": ADDON_NAMESPACE}]}
        for j in flower
    ]
    return obj(
        API_ADDON, "ClusterManagementAddOn", meta(ADDON_NAME, wave=WAVE_CONFIG),
        spec={
            "addOnMeta": {
                "displayName": "Flower Federated Learning",
                "description": "Flower SuperNodes on each Flower job's clusters, connected to the job's SuperLink over TLS.",
            },
            # No default AddOnDeploymentConfig: every install comes from a job's placement with its own.
            "supportedConfigs": [
                {"group": "addon.open-cluster-management.io", "resource": "addontemplates",
                 "defaultConfig": {"name": ADDON_NAME}},
                {"group": "addon.open-cluster-management.io", "resource": "addondeploymentconfigs"},
            ],
            "installStrategy": {"type": "Placements", "placements": placements},
        },
    )


def hub_patches(fleet: Fleet, hub: Hub) -> list[dict[str, Any]]:
    """JSON patches that turn the shared base into this hub's add-on (TLS off: --insecure SuperNodes)."""
    if hub.tls_enabled:
        return []
    # A hub without TLS (allowed only where the fleet says so, e.g. a dev sandbox) runs the chart's
    # insecure SuperNode; the tls governance plugin reports it.
    # Without TLS there is no SuperLink certificate for the tunnel either: the SuperNode dials the
    # SuperLink directly, as upstream's chart does (the registration credential is still issued).
    containers = "/spec/agentSpec/workload/manifests/1/spec/template/spec/containers"
    assert _supernode_manifests()[1]["spec"]["template"]["spec"]["containers"][1]["name"] == TUNNEL_CONTAINER
    return [{
        "target": {"kind": "AddOnTemplate", "name": ADDON_NAME},
        "patch": _json_patch([{"op": "replace", "path": f"{containers}/0/args", "value": supernode_args(False)},
                              {"op": "remove", "path": f"{containers}/1"}]),
    }]


def _json_patch(ops: list[dict[str, Any]]) -> str:
    # Inline JSON 6902 patches are YAML text inside kustomization.yaml; JSON is valid YAML and
    # serialises deterministically.
    return json.dumps(ops, sort_keys=True)
