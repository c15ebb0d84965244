"""The otel add-on: the collector the FL controller's metrics sidecar dials.

Follows upstream addon-contrib federated-learning-controller/deploy/obs/otel-addon/ (f5844b98):
ClusterManagementAddOn `otel` installed by Placement `otel-addon`, AddOnTemplate `otel-addon` with
the CustomSigner registration (signer `open-cluster-management.io/otel-addon`, signing CA Secret
`otel-signer` in open-cluster-management-hub, issued here by cert-manager, readable by the add-on manager through Role and
RoleBinding `otel-addon-manager`), AddOnDeploymentConfig `otel-config` with the remote-write
endpoint. The agent workload is upstream's OpenTelemetry collector: OTLP gRPC 4317 and HTTP 4318
receivers, Prometheus remote write with the registration's client certificate.

Differences, and why:
- agentInstallNamespace is written out as `open-cluster-management-agent-addon` (the CRD default):
  ocm's template agent moves every namespaced manifest there (pkg/addon/templateagent/decorator.go),
  and it is the namespace in the address the sidecar dials, hard-coded in the controller's OpenFL
  manifests (internal/controller/manifests/openfl/server/server-job.yaml:53,
  openfl/client/manifestwork.yaml:77). The manifests say so too, rather than upstream's
  `open-cluster-management-addon`, so what is read is what runs.
- Kepler (upstream's energy exporter, a privileged DaemonSet with host mounts) is left out: the
  FL metrics need only the collector.
- The install Placement selects the hub (local-cluster: OpenFL server Jobs run there) and the
  clusters of the hub's OpenFL jobs' sets, not all of `global`; it tolerates unreachable and
  unavailable clusters as upstream's does.
- The AddOnTemplate's addonName is `otel`, the ClusterManagementAddOn's name (upstream writes
  `otel-addon`, which names no add-on).
- The Prometheus root CA (upstream inlines it with a script) is not rendered: the collector
  verifies the endpoint with the system roots.
Only OpenFL jobs export metrics (the sidecar exists only on the OpenFL path), so a hub without
OpenFL jobs gets no add-on.
"""

from __future__ import annotations

from typing import Any

import yaml

from ..spec.model import Fleet, Hub
from ..upstream import (
    API_ADDON, API_CERT_MANAGER, API_CLUSTER_V1BETA1, API_CLUSTER_V1BETA2, CLUSTER_SET_LABEL, OTEL_ADDON, OTEL_AGENT_NAMESPACE,
    OTEL_COLLECTOR, OTEL_CONFIG, OTEL_GRPC_PORT, OTEL_HUB_NAMESPACE, OTEL_NAMESPACE, OTEL_SERVICE, OTEL_SIGNER,
    OTEL_SIGNING_CA, OTEL_TEMPLATE,
)
from .common import WAVE_BINDING, WAVE_CONFIG, meta, namespace, obj

SELF_SIGNED_ISSUER = "otel-selfsigned"  # bootstraps the otel signing CA in OTEL_HUB_NAMESPACE
COLLECTOR_IMAGE = "otel/opentelemetry-collector-contrib:0.128.0"  # upstream's pin
DEFAULT_REMOTE_WRITE = "https://hub-control-plane:30090/api/v1/write"  # upstream's default
GLOBAL_SET = "global"
_LABELS = {"app.kubernetes.io/name": OTEL_COLLECTOR, "component": "standalone-collector"}
# The registration's client certificate, as the agent mounts it (upstream relay config).
_CERT_DIR = "/managed/open-cluster-management.io-otel-addon"


def openfl_jobs(fleet: Fleet, hub: Hub) -> list[Any]:
    return [j for j in fleet.jobs_on(hub.name) if j.framework == "openfl"]


def enabled(fleet: Fleet, hub: Hub) -> bool:
    return fleet.plugin_params.get("observability", {}).get("enabled", True) and bool(openfl_jobs(fleet, hub))


def _relay() -> str:
    """The collector configuration (upstream's relay, without the kepler and cadvisor scrapes)."""
    config = {
        "receivers": {"otlp": {"protocols": {"grpc": {"endpoint": f"0.0.0.0:{OTEL_GRPC_PORT}"},
                                             "http": {"endpoint": "0.0.0.0:4318"}}}},
        "processors": {"batch": {}},
        "exporters": {"prometheusremotewrite": {
            "endpoint": "{{PROM_REMOTE_WRITE_ENDPOINT}}",
            "resource_to_telemetry_conversion": {"enabled": True},
            "tls": {"insecure": False, "cert_file": f"{_CERT_DIR}/tls.crt", "key_file": f"{_CERT_DIR}/tls.key"},
            "external_labels": {"cluster_name": "{{CLUSTER_NAME}}"},
        }},
        "extensions": {"health_check": {"endpoint": "${env:MY_POD_IP}:13133"}},
        "service": {"extensions": ["health_check"], "pipelines": {"metrics": {
            "receivers": ["otlp"], "processors": ["batch"], "exporters": ["prometheusremotewrite"]}}},
    }
    return yaml.safe_dump(config, sort_keys=True)


def _manifests() -> list[dict[str, Any]]:
    ns = OTEL_AGENT_NAMESPACE
    probe = {"httpGet": {"path": "/", "port": 13133, "scheme": "HTTP"}, "periodSeconds": 10}
    return [
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "opentelemetry-collector-sa", "namespace": ns}},
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": OTEL_COLLECTOR, "namespace": ns},
         "data": {"relay": _relay()}},
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": OTEL_COLLECTOR, "namespace": ns}, "spec": {
            "replicas": 1, "selector": {"matchLabels": _LABELS},
            "template": {"metadata": {"labels": _LABELS}, "spec": {
                "serviceAccountName": "opentelemetry-collector-sa",
                "containers": [{
                    "name": OTEL_COLLECTOR, "image": COLLECTOR_IMAGE, "command": ["/otelcol-contrib"],
                    "args": ["--config=/conf/relay.yaml"],
                    "env": [{"name": "MY_POD_IP", "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": "status.podIP"}}}],
                    "ports": [{"name": "otlp", "containerPort": OTEL_GRPC_PORT, "protocol": "TCP"},
                              {"name": "otlp-http", "containerPort": 4318, "protocol": "TCP"}],
                    "livenessProbe": probe, "readinessProbe": probe,
                    "volumeMounts": [{"name": "relay", "mountPath": "/conf"}],
                }],
                "volumes": [{"name": "relay", "configMap": {"name": OTEL_COLLECTOR,
                                                            "items": [{"key": "relay", "path": "relay.yaml"}]}}],
            }},
        }},
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": OTEL_SERVICE, "namespace": ns}, "spec": {
            "selector": {"component": "standalone-collector"},
            "ports": [{"name": "otlp-grpc", "port": OTEL_GRPC_PORT, "protocol": "TCP", "targetPort": OTEL_GRPC_PORT},
                      {"name": "otlp-http", "port": 4318, "protocol": "TCP", "targetPort": 4318}]}},
    ]


def hub_objects(fleet: Fleet, hub: Hub) -> list[dict[str, Any]]:
    """The otel add-on install of one hub (empty when it has no OpenFL job or the plugin is off)."""
    if not enabled(fleet, hub):
        return []
    params = fleet.plugin_params.get("observability", {})
    sets = sorted({s for j in openfl_jobs(fleet, hub) for s in fleet.job_cluster_sets(j)})
    tolerations = [{"key": "cluster.open-cluster-management.io/unreachable", "operator": "Exists"},
                   {"key": "cluster.open-cluster-management.io/unavailable", "operator": "Exists"}]
    predicates = [
        {"requiredClusterSelector": {"labelSelector": {"matchLabels": {"local-cluster": "true"}}}},
        {"requiredClusterSelector": {"labelSelector": {"matchExpressions": [
            {"key": CLUSTER_SET_LABEL, "operator": "In", "values": sets}]}}},
    ]
    return [
        namespace(OTEL_NAMESPACE),
        obj(API_CLUSTER_V1BETA2, "ManagedClusterSetBinding", meta(GLOBAL_SET, OTEL_NAMESPACE, wave=WAVE_BINDING),
            spec={"clusterSet": GLOBAL_SET}),
        obj(API_CLUSTER_V1BETA1, "Placement", meta(OTEL_TEMPLATE, OTEL_NAMESPACE, wave=WAVE_CONFIG),
            spec={"clusterSets": [GLOBAL_SET], "predicates": predicates, "tolerations": tolerations}),
        obj(API_ADDON, "AddOnTemplate", meta(OTEL_TEMPLATE, wave=WAVE_CONFIG), spec={
            "addonName": OTEL_ADDON,
            "agentSpec": {"workload": {"manifests": _manifests()}},
            "registration": [{"type": "CustomSigner", "customSigner": {
                "signerName": OTEL_SIGNER, "signingCA": {"name": OTEL_SIGNING_CA, "namespace": OTEL_HUB_NAMESPACE}}}],
        }),
        obj(API_ADDON, "AddOnDeploymentConfig", meta(OTEL_CONFIG, OTEL_HUB_NAMESPACE, wave=WAVE_CONFIG), spec={
            "agentInstallNamespace": OTEL_AGENT_NAMESPACE,
            "customizedVariables": [{"name": "PROM_REMOTE_WRITE_ENDPOINT",
                                     "value": params.get("remoteWriteEndpoint", DEFAULT_REMOTE_WRITE)}],
        }),
        obj(API_ADDON, "ClusterManagementAddOn", meta(OTEL_ADDON, wave=WAVE_CONFIG,
                                                       annotations={"addon.open-cluster-management.io/lifecycle": "addon-manager"}),
            spec={
                "addOnMeta": {"displayName": "OpenTelemetry collector",
                              "description": "Receives the FL metrics sidecar's OTLP export"},
                "supportedConfigs": [
                    {"group": "addon.open-cluster-management.io", "resource": "addontemplates",
                     "defaultConfig": {"name": OTEL_TEMPLATE}},
                    {"group": "addon.open-cluster-management.io", "resource": "addondeploymentconfigs",
                     "defaultConfig": {"name": OTEL_CONFIG, "namespace": OTEL_HUB_NAMESPACE}},
                ],
                "installStrategy": {"type": "Placements", "placements": [{
                    "name": OTEL_TEMPLATE, "namespace": OTEL_NAMESPACE,
                    "configs": [{"group": "addon.open-cluster-management.io", "resource": "addontemplates",
                                 "name": OTEL_TEMPLATE}]}]},
            }),
        # The signing CA itself (review finding 7): upstream's deploy/obs makes Secret otel-signer
        # with a script; without it the addon manager cannot sign any otel CSR
        # (ocm pkg/addon/templateagent/registration.go CustomSignerWithExpiry: "failed to get
        # custom signer ca"). A cert-manager self-signed CA as for the Flower add-on
        # (render/tunnel.py signing_ca: RSA PKCS#1, the key kept on renewal), no key in Git.
        obj(API_CERT_MANAGER, "Issuer", meta(SELF_SIGNED_ISSUER, OTEL_HUB_NAMESPACE, wave=WAVE_BINDING), spec={"selfSigned": {}}),
        obj(API_CERT_MANAGER, "Certificate", meta(OTEL_SIGNING_CA, OTEL_HUB_NAMESPACE, wave=WAVE_BINDING), spec={
            "isCA": True, "commonName": "fedfleet otel add-on registration CA", "secretName": OTEL_SIGNING_CA,
            "duration": "87600h", "renewBefore": "720h",
            "privateKey": {"algorithm": "RSA", "size": 3072, "encoding": "PKCS1", "rotationPolicy": "Never"},
            "issuerRef": {"group": "cert-manager.io", "kind": "Issuer", "name": SELF_SIGNED_ISSUER}}),
        # The add-on manager reads the signing CA (upstream addonmanager.role/rolebinding.yaml).
        obj("rbac.authorization.k8s.io/v1", "Role", meta("otel-addon-manager", OTEL_HUB_NAMESPACE, wave=WAVE_CONFIG),
            rules=[{"apiGroups": [""], "resources": ["secrets"], "resourceNames": [OTEL_SIGNING_CA],
                    "verbs": ["get", "list", "watch"]}]),
        obj("rbac.authorization.k8s.io/v1", "RoleBinding", meta("otel-addon-manager", OTEL_HUB_NAMESPACE, wave=WAVE_CONFIG),
            roleRef={"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "otel-addon-manager"},
            subjects=[{"kind": "ServiceAccount", "name": "addon-manager-controller-sa",
                       "namespace": "open-cluster-management-hub"}]),
    ]
