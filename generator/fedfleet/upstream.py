"""Names as they exist on the hub and the managed clusters: one module for renderers and plugins.

API versions, object names, namespaces, Secret names, ports and command-line arguments of the
upstream components fedfleet ships or checks, plus the annotations fedfleet itself puts on the
objects it ships. The renderers build objects with these names and the governance plugins
(built-in and third-party alike) write policies that look for them, so both read them here;
nothing in this module depends on the rest of fedfleet. Facts, with the upstream files they come
from: ../shared/upstream/fl-controller-and-flower-addon.md.
"""

from __future__ import annotations

# --- Kubernetes and ACM vocabularies --------------------------------------------------------------
DNS1123_LABEL = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"  # apimachinery validation.IsDNS1123Label (<= 63)
REMEDIATION_ACTIONS = ("inform", "enforce")  # ACM Policy spec.remediationAction
POLICY_SEVERITIES = ("low", "medium", "high", "critical")  # ConfigurationPolicy spec.severity
COMPLIANCE_TYPES = ("musthave", "mustonlyhave", "mustnothave")  # object-templates[].complianceType
LISTENER_TYPES = ("NodePort", "LoadBalancer", "Route")  # FederatedLearning spec.server.listeners[].type

# OCM's own set-membership label (clusterv1beta2.ClusterSetLabel), what an ExclusiveClusterSetLabel
# set selects on.
OCM_CLUSTERSET_LABEL = "cluster.open-cluster-management.io/clusterset"

# --- API versions -----------------------------------------------------------------------------
API_FL = "federation-ai.open-cluster-management.io/v1alpha1"  # FederatedLearning
API_CLUSTER_V1 = "cluster.open-cluster-management.io/v1"  # ManagedCluster
API_CLUSTER_V1ALPHA1 = "cluster.open-cluster-management.io/v1alpha1"  # ClusterClaim
API_CLUSTER_V1BETA1 = "cluster.open-cluster-management.io/v1beta1"  # Placement
API_CLUSTER_V1BETA2 = "cluster.open-cluster-management.io/v1beta2"  # ManagedClusterSet(Binding)
API_ADDON = "addon.open-cluster-management.io/v1alpha1"
API_POLICY = "policy.open-cluster-management.io/v1"  # Policy, PlacementBinding, Configuration/CertificatePolicy
API_POLICYSET = "policy.open-cluster-management.io/v1beta1"
API_ARGO = "argoproj.io/v1alpha1"
# The OpenShift GitOps operator's ArgoCD API (argoproj-labs/argocd-operator api/v1beta1
# argocd_types.go: spec.resourceHealthChecks[] {group, kind, check}).
API_ARGOCD_OPERATOR = "argoproj.io/v1beta1"
API_KUSTOMIZE = "kustomize.config.k8s.io/v1beta1"

# --- The Flower add-on (addon-contrib flower-addon/charts/flower-addon/, values.yaml and templates/)
ADDON_NAME = "flower-addon"  # ClusterManagementAddOn and AddOnTemplate
ADDON_NAMESPACE = "open-cluster-management"  # where the chart keeps its AddOnDeploymentConfigs and placements
ADDON_AGENT_NAMESPACE = "flower-addon"  # agentInstallNamespace on managed clusters
SUPERNODE = "flower-supernode"  # the agent's Deployment and Service (templates/addon-template.yaml:23,108)
SUPERLINK_NAMESPACE = "flower-system"
TLS_CA_SECRET = "flower-tls-ca"  # values.yaml tls.ca.secretName; SuperNodes mount it (addon-template.yaml:85)
TLS_MOUNT = "/etc/flower/tls"
# The Secret key CertificatePolicy reads the certificate from, unless the Secret's
# `certificate_key_name` label names another (cert-policy-controller
# controllers/certificatepolicy_controller.go parseCertificate); cert-manager writes it, and
# Secrets of type kubernetes.io/tls must have it (Kubernetes core validation).
TLS_CERT_KEY = "tls.crt"
SECRET_TYPE_TLS = "kubernetes.io/tls"
# SuperLink ports of the chart (templates/superlink.yaml:41-49, where 9091 is named "exec"):
# ServerAppIo (the controller's ServerApp), Fleet (SuperNodes), Control (flwr CLI).
SUPERLINK_PORTS = {"serverappio": 9091, "fleet": 9092, "control": 9093}
CLIENTAPPIO_PORT = 9094  # the SuperNode's ClientAppIo API (addon-template.yaml:58,120)
# The FederatedLearning CRD's defaults for the endpoints the controller's ServerApp and ClientApps
# dial (api/v1alpha1/federatedlearning_types.go).
DEFAULT_SUPERLINK_ENDPOINT = "superlink.flower-system:9091"
DEFAULT_SUPERNODE_ENDPOINT = f"{SUPERNODE}.{ADDON_AGENT_NAMESPACE}:{CLIENTAPPIO_PORT}"

# fedfleet's Flower objects (render/flower.py), named here so plugins can look for them.
NODE_CONFIG_MAP = "flower-node-config"  # on each job cluster: partition-id, num-partitions
API_CERT_MANAGER = "cert-manager.io/v1"  # Issuer, Certificate (Secrets with tls.crt, tls.key, ca.crt)
API_ROUTE = "route.openshift.io/v1"


def superlink_name(job: str) -> str:
    """A Flower job's own SuperLink: Deployment, Service, Route and Certificate in flower-system;
    its certificate's Secret is `<name>-tls`."""
    return f"superlink-{job}"


def superlink_host(job: str, exposure: str, domain: str, node_address: str) -> str:
    """The name a Flower job's SuperNodes dial (a hub's `superlink` exposure, spec/exposure.py):
    `superlink-<job>.<domain>` behind a Route or LoadBalancer, the hub node address for NodePort."""
    return node_address if exposure == "NodePort" else f"{superlink_name(job)}.{domain}"


def superlink_args(tls: bool) -> list[str]:
    """flower-superlink 1.26.1 arguments, each checked against `flower-superlink --help` of 1.26.1.

    Every API on all interfaces with the chart's ports: ServerAppIo 9091 (plaintext in 1.26: the
    controller's ServerApp dials it with --insecure), Fleet 9092 and Control 9093 (TLS, from
    cert-manager's tls.crt/tls.key, not the chart's server.pem/server.key). `--isolation=process`:
    the controller runs the ServerApp in its own Deployment. No `--database`: 1.26.1's file-backed
    state initialises lazily without a lock (flwr/server/superlink/linkstate/linkstate_factory.py
    `state()`) and concurrent first calls failed here with "table ... already exists"; the
    in-memory state does not race (a restarted SuperLink forgets past runs).
    """
    tls_args = [f"--ssl-ca-certfile={TLS_MOUNT}/ca.crt", f"--ssl-certfile={TLS_MOUNT}/tls.crt",
                f"--ssl-keyfile={TLS_MOUNT}/tls.key"] if tls else ["--insecure"]
    return [
        *tls_args,
        "--isolation=process",
        f"--serverappio-api-address=0.0.0.0:{SUPERLINK_PORTS['serverappio']}",
        # With TLS the Fleet API listens on the pod's loopback: the registration tunnel beside it
        # owns the Fleet port and lets through only clients with a registration credential.
        f"--fleet-api-address=127.0.0.1:{FLEET_INTERNAL_PORT}" if tls else f"--fleet-api-address=0.0.0.0:{SUPERLINK_PORTS['fleet']}",
        f"--control-api-address=0.0.0.0:{SUPERLINK_PORTS['control']}",
    ]


def supernode_args(tls: bool) -> list[str]:
    """flower-supernode 1.26.1 arguments as templates/addon-template.yaml:49-58 renders them, plus a
    stable partition id: {{...}} are the add-on framework's variables (substituted per cluster),
    $(PARTITION_ID) is expanded by Kubernetes from the container's env."""
    return [
        f"--root-certificates={TLS_MOUNT}/ca.crt" if tls else "--insecure",
        # With TLS the SuperNode dials the registration tunnel in its own pod, which carries its
        # gRPC TLS session to the SuperLink inside mutual TLS (the SuperLink's certificate
        # names 127.0.0.1 for this hop; the tunnel checks the exposed name).
        f"--superlink=127.0.0.1:{SUPERLINK_PORTS['fleet']}" if tls else "--superlink={{SUPERLINK_ADDRESS}}:{{SUPERLINK_PORT}}",
        "--node-config",
        'cluster-name="{{CLUSTER_NAME}}" partition-id=$(PARTITION_ID) num-partitions={{NUM_PARTITIONS}}',
        "--isolation=process",
        f"--clientappio-api-address=0.0.0.0:{CLIENTAPPIO_PORT}",
    ]


# --- The FL controller (addon-contrib federated-learning-controller/) ---------------------------
# config/default/kustomization.yaml: namePrefix; config/manager/manager.yaml: `controller`.
FL_CONTROLLER = "federated-learning-controller"
# Where upstream installs it: `make deploy` sets the kustomization's namespace from
# NAMESPACE ?= open-cluster-management (Makefile; config/default alone says federated-learning).
# The default of the fleet setting `controller.namespace`.
FL_CONTROLLER_NAMESPACE = "open-cluster-management"
# What the bootstrap's controller Application syncs: upstream's kustomize install at a pinned
# commit (versions.FL_CONTROLLER_COMMIT), the path `make deploy` builds.
FL_CONTROLLER_REPO = "https://github.com/open-cluster-management-io/addon-contrib.git"
FL_CONTROLLER_PATH = "federated-learning-controller/config/default"
# api/v1alpha1: the annotation that adds the metrics sidecar to a job's clients.
SIDECAR_ANNOTATION = "federated-learning.io/sidecar-image"

# --- OCM's ClusterManager (ocm api operator/v1/types_clustermanager.go) ---------------------------
CLUSTER_MANAGER = "cluster-manager"  # the one ClusterManager of a hub (ocm deploy/cluster-manager chart)
# The work feature gate the FL controller's Flower path needs (ManifestWorkReplicaSet; off by
# default, api feature/feature.go).
WORK_GATE = {"feature": "ManifestWorkReplicaSet", "mode": "Enable"}

# --- cert-manager --------------------------------------------------------------------------------
CERT_MANAGER_NAMESPACE = "cert-manager"  # the chart's and the Red Hat operator's operand namespace
CERT_MANAGER_DEPLOYMENT = "cert-manager"
CERT_MANAGER_CHART_REPO = "https://charts.jetstack.io"
CERT_MANAGER_CHART = "cert-manager"
# cert-manager Operator for Red Hat OpenShift, as OLM installs it from redhat-operators.
CERT_MANAGER_OPERATOR = {"name": "openshift-cert-manager-operator", "namespace": "cert-manager-operator",
                         "channel": "stable-v1", "source": "redhat-operators",
                         "sourceNamespace": "openshift-marketplace"}

# --- Observability (federated-learning-controller/deploy/obs/otel-addon/) ----------------------
OTEL_ADDON = "otel"  # ClusterManagementAddOn (resources/cluster-management-addon.yaml)
OTEL_TEMPLATE = "otel-addon"  # AddOnTemplate, and its install Placement (resources/placement.yaml)
OTEL_CONFIG = "otel-config"  # AddOnDeploymentConfig (resources/addon-deployment-config.yaml)
OTEL_HUB_NAMESPACE = "open-cluster-management-hub"  # where upstream keeps otel-config and the signer
OTEL_SIGNER = "open-cluster-management.io/otel-addon"  # the CustomSigner registration's signerName
OTEL_SIGNING_CA = "otel-signer"  # its signingCA Secret, in OTEL_HUB_NAMESPACE
OTEL_COLLECTOR = "opentelemetry-collector"  # the collector Deployment (resources/addon-template.yaml)
OTEL_SERVICE = "otel-collector"  # the collector Service, OTLP gRPC 4317 and HTTP 4318
OTEL_GRPC_PORT = 4317
# The placement namespace upstream installs from (resources/placement.yaml).
OTEL_NAMESPACE = "open-cluster-management-addon"
# Where the agent runs on managed clusters: the AddOnDeploymentConfig's agentInstallNamespace
# (CRD default), which ocm's template agent writes into every namespaced manifest
# (pkg/addon/templateagent/decorator.go, namespaceDecorator). The sidecar dials the collector
# there: internal/controller/manifests/openfl/*: OTEL_ENDPOINT
# otel-collector.open-cluster-management-agent-addon.svc.cluster.local:4317.
OTEL_AGENT_NAMESPACE = "open-cluster-management-agent-addon"
OTEL_ENDPOINT = f"{OTEL_SERVICE}.{OTEL_AGENT_NAMESPACE}.svc.cluster.local:{OTEL_GRPC_PORT}"

# --- Per-cluster identity for Flower (issue 17): the flower-addon AddOnTemplate's CustomSigner
# registration. OCM's addon manager signs each cluster's agent CSR for this signer with the CA in
# the signingCA Secret; the agent receives a hub-signed client certificate, rotated by OCM.
# The values are fedfleet's own names (upstream's flower-addon has no registration section).
FLOWER_SIGNER = "fedfleet.io/flower-addon"  # registration[].customSigner.signerName
FLOWER_SIGNING_CA = "flower-addon-signer"  # registration[].customSigner.signingCA.name (hub Secret)
# Where that Secret lives: signingCA.namespace, set explicitly (without it the addon manager reads
# its own namespace: ocm pkg/addon/templateagent/registration.go CustomSignerWithExpiry,
# AddonManagerNamespace() = $POD_NAMESPACE or "open-cluster-management-hub"). fedfleet keeps it
# beside the SuperLinks, whose registration tunnels trust its ca.crt.
FLOWER_SIGNING_CA_NAMESPACE = SUPERLINK_NAMESPACE
# The addon manager's ServiceAccount, which must be granted `get` on the signing CA Secret
# (api addon/v1alpha1 types_addontemplate.go, SigningCARef: "the user must grant the permission
# to the addon manager ... addon-manager-controller-sa"); it runs in the hub namespace of the
# ClusterManager (ocm deploy/cluster-manager: open-cluster-management-hub).
ADDON_MANAGER_SA = "addon-manager-controller-sa"
ADDON_MANAGER_NAMESPACE = "open-cluster-management-hub"
# What OCM does with the credential, each from its code:
# - the klusterlet writes it into the agent namespace as Secret
#   "<addon>-<signerName with / -> ->-client-cert" with keys tls.crt and tls.key
#   (ocm pkg/registration/spoke/addon/configuration.go; register/csr/csr.go TLSCertFile/TLSKeyFile),
#   and deletes it when the ManagedClusterAddOn goes (registration_controller.go cleanup ->
#   stopRegistration);
# - the template agent mounts that Secret into EVERY container of the template's Deployments and
#   DaemonSets at /managed/<signerName with / -> -> (pkg/addon/templateagent/decorator.go
#   volumeDecorator, customSignedSecretMountPath, CustomSignedSecretName);
# - the hub signs for 24 hours (registration.go TemplateCSRSignFunc: CustomSignerWithExpiry(...,
#   24*time.Hour)), capped at the CA's own expiry (addon-framework pkg/utils/csr_helpers.go
#   signCSR), with ExtKeyUsage server+client auth; the klusterlet asks again when 20-25% of the
#   lifetime is left (register/csr/csr.go shouldCreateCSR, jitter(0.2, 0.25)), i.e. after 18-19 h;
# - the CA key must be RSA: addon-framework DefaultSignerWithExpiry parses it with
#   x509.ParsePKCS1PrivateKey ("For now only PKCS#1 is supported").
# The subject OCM puts in the CSR by default (register/csr/csr.go addonX509Subject, DefaultCommonName).
REGISTRATION_HOURS = 24


def registration_secret(signer: str = FLOWER_SIGNER, addon: str = ADDON_NAME) -> str:
    """The credential Secret the klusterlet writes in the agent namespace (CustomSignedSecretName)."""
    return f"{addon}-{signer.replace('/', '-')}-client-cert"


def registration_mount(signer: str = FLOWER_SIGNER) -> str:
    """Where the template agent mounts it in every container (customSignedSecretMountPath)."""
    return f"/managed/{signer.replace('/', '-')}"


def registration_volume(signer: str = FLOWER_SIGNER) -> str:
    """The volume name the template agent gives it (volumeDecorator: cert-<signer, / and . -> ->)."""
    return "cert-" + signer.replace("/", "-").replace(".", "-")


def registration_common_name(cluster: str, addon: str = ADDON_NAME) -> str:
    """The CN of the default subject (addon-framework pkg/agent/interface.go DefaultUser; the template
    agent's agentName is the addon name, ocm pkg/addon/templateagent/template_agent.go)."""
    return f"system:open-cluster-management:cluster:{cluster}:addon:{addon}:agent:{addon}"


def registration_groups(cluster: str, addon: str = ADDON_NAME) -> list[str]:
    """The organizations of the default subject (addon-framework pkg/agent/interface.go DefaultGroups)."""
    return [f"system:open-cluster-management:cluster:{cluster}:addon:{addon}", f"system:open-cluster-management:addon:{addon}"]


# The registration tunnel (issue 17, README "Security"): an stunnel pair pinned to the signing CA.
# On the hub, in each SuperLink pod, it owns the Fleet API port (9092) and forwards to the
# SuperLink's Fleet API, which listens on the pod's loopback only; on each cluster, in the SuperNode
# pod, it listens on the pod's loopback where the SuperNode dials and presents the credential.
FLEET_INTERNAL_PORT = 9095  # the SuperLink's own Fleet API, 127.0.0.1 inside its pod
TUNNEL_CONTAINER = "fleet-tunnel"
TUNNEL_MOUNT = "/etc/fedfleet/tunnel"  # stunnel.conf and run.sh, from a ConfigMap
REGISTRATION_CA_MOUNT = "/etc/fedfleet/registration"  # ca.crt of the signing CA (hub tunnel)

# The hub end of the tunnel as fedfleet renders it (render/tunnel.py builds the pod around it); here,
# beside superlink_args, because the `tls` governance plugin holds the SuperLink to the same text.
TUNNEL_COMMAND = ["/bin/sh", f"{TUNNEL_MOUNT}/run.sh", f"{TUNNEL_MOUNT}/stunnel.conf"]


def hub_config_map(superlink: str) -> str:
    """The ConfigMap with the hub tunnel's stunnel.conf and run.sh, beside SuperLink `superlink`."""
    return f"{superlink}-tunnel"


# What the hub tunnel accepts when a job has no planned cluster: a name no credential carries
# (".invalid" is reserved, RFC 2606), so the tunnel still checks and refuses everyone.
NO_CLUSTER = "no-cluster-is-planned-for-this-job.invalid"


def hub_config(clusters: list[str]) -> str:
    """stunnel.conf of the tunnel in a SuperLink pod: TLS with the SuperLink's certificate on the
    Fleet port, a client certificate of the signing CA required, naming one of the job's clusters
    (review finding 2: every job's tunnel trusts the same CA, so without this a credential of any
    cluster opened every SuperLink), on to the SuperLink's loopback.

    One `checkHost` per planned cluster, the CN OCM's agent asks for by default (addon-framework
    v1.3.0 pkg/agent/interface.go DefaultUser; ocm pkg/addon/templateagent/registration.go
    TemplateCSRConfigurationsFunc), which addon-framework's signer copies into the certificate
    (pkg/utils/csr_helpers.go signCSR). stunnel passes each to OpenSSL X509_check_host, which,
    with no DNS SAN in the certificate (OCM's CSR has none), compares the subject CN; tried with
    stunnel 5.68 / OpenSSL 3.0 (tests/test_registration.py): that CN matches, another cluster's
    is "CERT: Subject checks failed". Clusters come from the plan at generate time: a cluster the
    placement adds later is refused until the bundle is regenerated."""
    checks = [f"checkHost = {registration_common_name(c)}" for c in sorted(clusters)] or [f"checkHost = {NO_CLUSTER}"]
    return "\n".join([
        "; fedfleet registration tunnel, hub side: only clients with a registration credential pass",
        "foreground = yes", "pid =", "",
        "[fleet]",
        f"accept = 0.0.0.0:{SUPERLINK_PORTS['fleet']}",
        f"connect = 127.0.0.1:{FLEET_INTERNAL_PORT}",
        f"cert = {TLS_MOUNT}/tls.crt",
        f"key = {TLS_MOUNT}/tls.key",
        f"CAfile = {REGISTRATION_CA_MOUNT}/ca.crt",
        "verifyChain = yes",
        "requireCert = yes",
        "; the job's clusters, by the CN of their registration credential",
        *checks,
        "sslVersionMin = TLSv1.2",
        "",
    ])



# --- What fedfleet writes on the objects it ships, for policies and people to match on -----------
DATA_CLAIM_ANNOTATION = "fedfleet.io/data-claim"  # on FederatedLearning and data-locality ConfigMaps
TLS_ANNOTATION = "fedfleet.io/tls"  # enabled | disabled, on FederatedLearning
RUN_LABEL = "fedfleet.io/run"  # the job's run counter (spec.run), on FederatedLearning
# The label that makes a ManagedCluster a member of a fleet cluster set: the bundle's
# ManagedClusterSets select on it (selectorType LabelSelector) and the `membership` governance
# plugin writes it, with the labels job placements select on, onto every ManagedCluster.
CLUSTER_SET_LABEL = "fedfleet.io/cluster-set"
