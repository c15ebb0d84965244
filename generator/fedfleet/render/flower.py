"""Per Flower job, on its hub: the job's own SuperLink, how managed clusters reach it, its TLS
certificate, the add-on install that puts SuperNodes on exactly the job's clusters, the policy
that hands those SuperNodes the CA and their partition, and the Job that starts the run.

Why one SuperLink per job: Flower 1.26.1's federation manager is a no-op that puts every connected
SuperNode into every run (flwr/superlink/federation/noop_federation_manager.py), so a shared
SuperLink would mix the clusters of all jobs of a hub. The FL controller lets each job name its
SuperLink (`spec.server.superlink`, default "superlink.flower-system:9091",
federated-learning-controller/api/v1alpha1/federatedlearning_types.go) and writes it verbatim into
its ServerApp's `--appio-api-address` (internal/controller/manifests/flower/serverapp/
serverapp-deployment.yaml:27).
"""

from __future__ import annotations

import hashlib
import ipaddress
from typing import Any

from ..placement import Plan, Planner
from ..spec.exposure import Endpoint, endpoint, superlink_name
from ..spec.model import Fleet, Hub, Job
from ..upstream import (
    ADDON_AGENT_NAMESPACE, ADDON_NAMESPACE, API_ADDON, API_CERT_MANAGER, API_CLUSTER_V1BETA1, API_POLICY, API_ROUTE,
    FLOWER_SIGNING_CA, FLOWER_SIGNING_CA_NAMESPACE, NODE_CONFIG_MAP, REGISTRATION_CA_MOUNT, SUPERLINK_NAMESPACE,
    SUPERLINK_PORTS, TLS_CA_SECRET, TLS_MOUNT, superlink_args,
)
from . import tunnel
from ..versions import SUPERLINK_IMAGE, SUPERNODE_IMAGE
from .addon import CA_ISSUER, install_placement_name
from .validation import gate_files, gate_rbac, wrap_run
from .common import WAVE_BINDING, WAVE_CONFIG, WAVE_POLICY, WAVE_RUN, meta, obj

# The app image carries the Flower app at /app: the controller's example image is built that way
# (federated-learning-controller/examples/flower/app-torch/Dockerfile: WORKDIR /app, pip install -e .).
APP_DIR = "/app"
FLWR_HOME = "/var/run/flwr"
JOB_LABEL = "fedfleet.io/job"
RUN_ANNOTATION = "fedfleet.io/flower-run"  # marks the Job whose completion is the run's completion


def superlink_service_host(job: Job) -> str:
    return f"{superlink_name(job)}.{SUPERLINK_NAMESPACE}"


def controller_superlink(job: Job) -> str:
    """What the FederatedLearning's spec.server.superlink says: the job's ServerAppIo endpoint."""
    return f"{superlink_service_host(job)}:{SUPERLINK_PORTS['serverappio']}"


def _labels(job: Job) -> dict[str, str]:
    return {"app.kubernetes.io/name": "flower-superlink", "app.kubernetes.io/instance": superlink_name(job)}


def _superlink(job: Job, tls: bool, clusters: list[str]) -> list[dict[str, Any]]:
    name, ns, labels = superlink_name(job), SUPERLINK_NAMESPACE, _labels(job)
    ports = [{"name": n, "containerPort": p, "protocol": "TCP"} for n, p in SUPERLINK_PORTS.items()]
    # superlink.yaml:58-67 probes the Fleet API; with TLS the registration tunnel owns that port
    # and the SuperLink's Fleet API is on the pod's loopback, so the SuperLink is probed on Control.
    probe = {"tcpSocket": {"port": "control" if tls else "fleet"}}
    container: dict[str, Any] = {
        "name": "superlink",
        "image": SUPERLINK_IMAGE,
        "args": superlink_args(tls),
        "ports": [p for p in ports if not tls or p["name"] != "fleet"],
        "livenessProbe": {**probe, "initialDelaySeconds": 30, "periodSeconds": 10},
        "readinessProbe": {**probe, "initialDelaySeconds": 5, "periodSeconds": 5},
    }
    pod: dict[str, Any] = {"containers": [container]}
    job_labels = {JOB_LABEL: job.name}
    extra: list[dict[str, Any]] = []
    if tls:
        tls_mount = {"name": "tls", "mountPath": TLS_MOUNT, "readOnly": True}
        container["volumeMounts"] = [tls_mount]
        # Our bundle owns the SuperLink Deployment (the FL controller creates only the ServerApp,
        # internal/controller/manifests/flower/serverapp/; the upstream chart's is
        # flower-addon/charts/flower-addon/templates/superlink.yaml), so the tunnel is a container
        # of this pod: it alone listens on the Fleet port the Services and the exposure target.
        pod["containers"].append(tunnel.tunnel_container("fleet-tunnel", [
            tls_mount, {"name": "registration-ca", "mountPath": REGISTRATION_CA_MOUNT, "readOnly": True}],
            next(p for p in ports if p["name"] == "fleet")))
        pod["volumes"] = [
            {"name": "tls", "secret": {"secretName": f"{name}-tls"}},
            # Only the signing CA's certificate; its key stays with the addon manager. The Secret is
            # in flower-system (FLOWER_SIGNING_CA_NAMESPACE), the pod's own namespace.
            {"name": "registration-ca", "secret": {"secretName": FLOWER_SIGNING_CA,
                                                    "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
            {"name": "fleet-tunnel", "configMap": {"name": tunnel.hub_config_map(name)}}]
        assert FLOWER_SIGNING_CA_NAMESPACE == ns
        extra.append(obj("v1", "ConfigMap", meta(tunnel.hub_config_map(name), ns, wave=WAVE_CONFIG, labels={**labels, **job_labels}),
                         data=tunnel.tunnel_files(tunnel.hub_config(clusters))))
    return [
        *extra,
        obj("apps/v1", "Deployment", meta(name, ns, wave=WAVE_CONFIG, labels={**labels, **job_labels}), spec={
            "replicas": 1, "selector": {"matchLabels": labels},
            "template": {"metadata": {"labels": labels}, "spec": pod}}),
        obj("v1", "Service", meta(name, ns, wave=WAVE_CONFIG, labels={**labels, **job_labels}), spec={
            "type": "ClusterIP", "selector": labels,
            "ports": [{"name": n, "port": p, "targetPort": n, "protocol": "TCP"} for n, p in SUPERLINK_PORTS.items()]}),
    ]


def _exposure(job: Job, ep: Endpoint) -> dict[str, Any]:
    name, ns = superlink_name(job), SUPERLINK_NAMESPACE
    labels = {**_labels(job), JOB_LABEL: job.name}
    if ep.exposure == "Route":
        # TLS passthrough: the router forwards the TLS stream by SNI, the SuperLink terminates it
        # with the certificate whose SAN is this host; gRPC keeps HTTP/2 end to end.
        return obj(API_ROUTE, "Route", meta(name, ns, wave=WAVE_CONFIG, labels=labels), spec={
            "host": ep.host, "port": {"targetPort": "fleet"},
            "tls": {"termination": "passthrough", "insecureEdgeTerminationPolicy": "None"},
            "to": {"kind": "Service", "name": name, "weight": 100}})
    port: dict[str, Any] = {"name": "fleet", "port": ep.port if ep.exposure == "LoadBalancer" else SUPERLINK_PORTS["fleet"],
                            "targetPort": "fleet", "protocol": "TCP"}
    annotations = {}
    if ep.exposure == "NodePort":
        port["nodePort"] = ep.port
    else:
        # external-dns publishes the load balancer's address under the host the SuperNodes dial.
        annotations["external-dns.alpha.kubernetes.io/hostname"] = ep.host
    # Service names are DNS-1035 labels (<= 63 characters).
    return obj("v1", "Service", meta(_fit(f"{name}-fleet", 63), ns, wave=WAVE_CONFIG, labels=labels, annotations=annotations),
               spec={"type": ep.exposure, "selector": _labels(job), "ports": [port]})


def _certificate(job: Job, ep: Endpoint) -> dict[str, Any]:
    """The SuperLink's server certificate: SANs are the exposed name (what SuperNodes verify) and
    the in-hub Service names (what the run Job dials for the Control API)."""
    name, ns = superlink_name(job), SUPERLINK_NAMESPACE
    dns = [f"{name}.{ns}.svc", f"{name}.{ns}.svc.cluster.local"]
    ips: list[str] = []
    try:
        ipaddress.ip_address(ep.host)
        ips.append(ep.host)
    except ValueError:
        dns.insert(0, ep.host)
    spec: dict[str, Any] = {
        "secretName": f"{name}-tls", "commonName": dns[0] if not ips else name, "dnsNames": dns,
        "duration": "2160h", "renewBefore": "720h", "privateKey": {"algorithm": "ECDSA", "size": 256},
        "usages": ["server auth", "digital signature", "key encipherment"],
        "issuerRef": {"group": "cert-manager.io", "kind": "Issuer", "name": CA_ISSUER},
    }
    # 127.0.0.1: the SuperNode's own gRPC TLS dials the registration tunnel in its pod
    # (upstream.supernode_args); the tunnel itself checks the exposed name above.
    spec["ipAddresses"] = [*ips, "127.0.0.1"]
    return obj(API_CERT_MANAGER, "Certificate", meta(name, ns, wave=WAVE_BINDING, labels={JOB_LABEL: job.name}), spec=spec)


def partitions(plan: Plan | Planner, job: Job) -> dict[str, int]:
    """Stable partition ids: the planned clients in name order, 0..n-1."""
    return {cluster: i for i, cluster in enumerate(sorted(plan.job(job.name).cluster_names))}


def _addon_install(job: Job, ep: Endpoint, n_partitions: int) -> list[dict[str, Any]]:
    """The add-on install Placement (the job's own PlacementSpec, so the add-on manager picks the
    clusters the FL controller's Placement picks) and its AddOnDeploymentConfig."""
    name = install_placement_name(job.name)
    labels = {JOB_LABEL: job.name}
    return [
        obj(API_CLUSTER_V1BETA1, "Placement", meta(name, ADDON_NAMESPACE, wave=WAVE_CONFIG, labels=labels),
            spec=job.effective_placement),
        obj(API_ADDON, "AddOnDeploymentConfig", meta(name, ADDON_NAMESPACE, wave=WAVE_CONFIG, labels=labels), spec={
            "agentInstallNamespace": ADDON_AGENT_NAMESPACE,
            # The chart's variables (addon-deployment-config.yaml:11-19), per job.
            "customizedVariables": [
                {"name": "SUPERLINK_ADDRESS", "value": ep.host},
                {"name": "SUPERLINK_PORT", "value": str(ep.port)},
                {"name": "IMAGE", "value": SUPERNODE_IMAGE},
                {"name": "NUM_PARTITIONS", "value": str(max(n_partitions, 1))},
                # How the registration tunnel checks the SuperLink's name (render/tunnel.py).
                *tunnel.client_variables(ep.host),
            ]}),
    ]


def partition_map_name(job: Job) -> str:
    return f"{job.name}-partitions"


def _node_policy(fleet: Fleet, job: Job, ids: dict[str, int]) -> list[dict[str, Any]]:
    """An enforced policy in flower-system (the CA's namespace: hub templates read only the
    policy's own namespace) that gives each of the job's clusters the CA (ca.crt only; the CA's
    tls.key never leaves the hub, hence fromSecret rather than copySecretData) and its partition id
    from the job's partition map, keyed by cluster name. The namespace is created here too, so
    the policy does not wait for the add-on."""
    ns = SUPERLINK_NAMESPACE
    # ACM's replicated policy name "<namespace>.<name>" must stay <= 62 characters; shortened as
    # the governance core shortens (a prefix and 8 hex digits of the full name's SHA-256).
    name = _fit(f"flower-{job.name}", ACM_POLICY_NAME_LIMIT - len(ns))
    labels = {JOB_LABEL: job.name}
    templates = [
        {"complianceType": "musthave", "objectDefinition": {
            "apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ADDON_AGENT_NAMESPACE}}},
        {"complianceType": "musthave", "objectDefinition": {
            "apiVersion": "v1", "kind": "Secret", "type": "Opaque",
            "metadata": {"name": TLS_CA_SECRET, "namespace": ADDON_AGENT_NAMESPACE},
            "data": {"ca.crt": f'{{{{hub fromSecret "" "{TLS_CA_SECRET}" "ca.crt" hub}}}}'}}},
        {"complianceType": "musthave", "objectDefinition": {
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": NODE_CONFIG_MAP, "namespace": ADDON_AGENT_NAMESPACE},
            "data": {"partition-id": f'{{{{hub fromConfigMap "" "{partition_map_name(job)}" .ManagedClusterName hub}}}}',
                     "num-partitions": str(max(len(ids), 1))}}},
    ]
    placement = job.effective_placement
    return [
        obj("v1", "ConfigMap", meta(partition_map_name(job), ns, wave=WAVE_CONFIG, labels=labels),
            data={cluster: str(i) for cluster, i in sorted(ids.items())}),
        obj(API_POLICY, "Policy", meta(name, ns, wave=WAVE_POLICY, labels={**labels, "fedfleet.io/concern": "tls"}, annotations={
            # Shown with the tls concern (SC-12) on the dashboard and in the audit, bound to the job's clients.
            "fedfleet.io/concern": "tls", "fedfleet.io/rule": "tls.client-ca-delivery",
            "fedfleet.io/target": f"job-clients:{job.name}",
            "policy.open-cluster-management.io/standards": "NIST SP 800-53",
            "policy.open-cluster-management.io/categories": "SC System and Communications Protection",
            "policy.open-cluster-management.io/controls": "SC-12 Cryptographic Key Establishment and Management",
            "policy.open-cluster-management.io/description":
                f"The Flower CA and each cluster's partition for job {job.name}, where its SuperNodes run",
            "argocd.argoproj.io/compare-options": "IgnoreExtraneous"}), spec={
            "remediationAction": "enforce", "disabled": False,
            "policy-templates": [{"objectDefinition": {
                "apiVersion": API_POLICY, "kind": "ConfigurationPolicy", "metadata": {"name": name},
                "spec": {"remediationAction": "enforce", "severity": "high", "object-templates": templates}}}]}),
        obj(API_CLUSTER_V1BETA1, "Placement", meta(name, ns, wave=WAVE_POLICY, labels=labels), spec=placement),
        {"apiVersion": API_POLICY, "kind": "PlacementBinding", "metadata": meta(name, ns, wave=WAVE_POLICY, labels=labels),
         "placementRef": {"apiGroup": "cluster.open-cluster-management.io", "kind": "Placement", "name": name},
         "subjects": [{"apiGroup": "policy.open-cluster-management.io", "kind": "Policy", "name": name}]},
    ]


ACM_POLICY_NAME_LIMIT = 62


def run_job_name(job: Job) -> str:
    """The hub batch Job that runs a Flower job's `flwr run`; the audit reads its status."""
    return _fit(f"flwr-run-{job.object_name}", 63)


def _fit(name: str, limit: int) -> str:
    if len(name) <= limit:
        return name
    return f"{name[: limit - 9].rstrip('-')}-{hashlib.sha256(name.encode()).hexdigest()[:8]}"


def run_connection(job: Job) -> str:
    return superlink_name(job)


def _run_config(job: Job) -> str:
    values: dict[str, Any] = {"num-server-rounds": job.rounds, **job.run_config}
    parts = []
    for key, value in values.items():
        if isinstance(value, bool):
            parts.append(f"{key}={'true' if value else 'false'}")
        elif isinstance(value, (int, float)):
            parts.append(f"{key}={value}")
        else:
            parts.append(f'{key}="{value}"')
    return " ".join(parts)


def _run(job: Job, tls: bool) -> list[dict[str, Any]]:
    """The Job that starts the job's run: `flwr run --stream` against the SuperLink's Control API
    with the job's rounds, from the app image. Its completion is the run's completion; the FL
    controller leaves a Flower job Running for ever (federatedlearning_controller.go moves only
    non-Flower jobs to Completed)."""
    # Named after the FederatedLearning (`<job>-run<N>` once spec.run is bumped): a Job is immutable,
    # so a re-run is a new Job, as it is a new FederatedLearning.
    # The Job controller labels its pods job-name=<name>: a label value, <= 63 characters.
    name, ns, conn = run_job_name(job), SUPERLINK_NAMESPACE, run_connection(job)
    control = f"{superlink_service_host(job)}.svc:{SUPERLINK_PORTS['control']}"
    toml = ["[superlink]", f'default = "{conn}"', "", f"[superlink.{conn}]", f'address = "{control}"']
    toml.append(f'root-certificates = "{TLS_MOUNT}/ca.crt"' if tls else "insecure = true")
    labels = {JOB_LABEL: job.name}
    mounts = [{"name": "flwr-home", "mountPath": FLWR_HOME},
              {"name": "connection", "mountPath": f"{FLWR_HOME}/config.toml", "subPath": "config.toml", "readOnly": True}]
    volumes: list[dict[str, Any]] = [{"name": "flwr-home", "emptyDir": {}},
                                     {"name": "connection", "configMap": {"name": name}}]
    if tls:
        mounts.append({"name": "tls-ca", "mountPath": TLS_MOUNT, "readOnly": True})
        volumes.append({"name": "tls-ca", "secret": {"secretName": TLS_CA_SECRET, "items": [{"key": "ca.crt", "path": "ca.crt"}]}})
    container: dict[str, Any] = {
        "name": "flwr-run", "image": job.server["image"],
        "command": ["flwr"],
        "args": ["run", APP_DIR, conn, "--stream", "--run-config", _run_config(job)],
        "env": [{"name": "FLWR_HOME", "value": FLWR_HOME}],
        "volumeMounts": mounts}
    pod: dict[str, Any] = {"restartPolicy": "Never", "containers": [container], "volumes": volumes}
    data = {"config.toml": "\n".join(toml) + "\n"}
    extra: list[dict[str, Any]] = []
    if job.gate:
        # The quality gate wraps `flwr run` in the same container (render/validation.py).
        data.update(gate_files(job, APP_DIR, f"{FLWR_HOME}/gate"))
        wrap_run(job, name, pod, container)
        extra = gate_rbac(job, labels)
    return [
        obj("v1", "ConfigMap", meta(name, ns, wave=WAVE_CONFIG, labels=labels), data=data),
        *extra,
        obj("batch/v1", "Job", meta(name, ns, wave=WAVE_RUN, labels=labels, annotations={RUN_ANNOTATION: job.name}), spec={
            # A run that fails (SuperLink or SuperNodes not ready yet) is submitted again.
            "backoffLimit": 4,
            "template": {"metadata": {"labels": labels}, "spec": pod}}),
    ]


def job_objects(fleet: Fleet, hub: Hub, plan: Plan | Planner, job: Job) -> list[dict[str, Any]]:
    """Everything the bundle adds on the hub for one Flower job."""
    ep = endpoint(hub, job)
    ids = partitions(plan, job)
    out: list[dict[str, Any]] = []
    if hub.tls_enabled:
        out.append(_certificate(job, ep))
    out += _superlink(job, hub.tls_enabled, sorted(ids))
    out.append(_exposure(job, ep))
    out += _addon_install(job, ep, len(ids))
    out += _node_policy(fleet, job, ids)
    out += _run(job, hub.tls_enabled)
    return out
