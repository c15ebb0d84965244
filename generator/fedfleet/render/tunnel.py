"""Only registered clusters join a Flower federation (issue 17): the add-on's registration
credential, and the mutual-TLS tunnel pair that demands it.

The flower-addon AddOnTemplate asks OCM for a `CustomSigner` registration (render/addon.py): the
addon manager signs each cluster's CSR with the signing CA made here (a cert-manager chain on the
hub: the self-signed bootstrap Issuer -> an isCA Certificate whose Secret is the signing CA; no key
material in Git), and the klusterlet puts the 24-hour credential into the agent namespace, mounted
into every container of the SuperNode pod (upstream.py: the OCM code behind each fact).

Flower 1.26.1's Fleet API does not ask for client certificates, and its own SuperNode
authentication needs every SuperNode's public key registered through the Control API at run time
(`flower-superlink --enable-supernode-auth`; `--auth-list-public-keys` "is no longer supported",
flwr/server/app.py), which a GitOps bundle cannot do. So an stunnel pair carries the SuperNode's
connection:

    SuperNode --gRPC/TLS--> 127.0.0.1:9092 [tunnel, SuperNode pod] ==mTLS==> exposed Fleet port
      [tunnel, SuperLink pod: requires a client certificate of the signing CA] --> 127.0.0.1:9095 SuperLink

The outer TLS (stunnel) authenticates both ends: the hub tunnel presents the SuperLink's own
certificate and the cluster tunnel verifies it against the Flower CA and the exposed name (server
authentication as before); the hub tunnel accepts only certificates issued by the signing CA. The
inner TLS is Flower's own gRPC TLS from the SuperNode to the SuperLink (stunnel speaks no ALPN, and
gRPC refuses TLS without `h2`, so stunnel cannot terminate gRPC's TLS itself: tried here, the
SuperLink closed the connection); the SuperLink's certificate names 127.0.0.1 for that hop.

stunnel reads certificates at start and on SIGHUP only; the klusterlet replaces the credential
after 18-19 of its 24 hours, so the tunnel's wrapper sends SIGHUP every RELOAD_SECONDS (an
established connection keeps its session; new ones use the new files).
"""

from __future__ import annotations

from typing import Any

from ..upstream import (  # NO_CLUSTER, TUNNEL_COMMAND, hub_config, hub_config_map: re-exported
    ADDON_MANAGER_NAMESPACE, ADDON_MANAGER_SA, ADDON_NAME, API_CERT_MANAGER, FLOWER_SIGNER,
    FLOWER_SIGNING_CA, FLOWER_SIGNING_CA_NAMESPACE, NO_CLUSTER, SUPERLINK_PORTS, TLS_MOUNT, TUNNEL_COMMAND,
    TUNNEL_CONTAINER, TUNNEL_MOUNT, hub_config, hub_config_map, registration_mount,
)
from ..versions import TUNNEL_IMAGE
from .common import WAVE_BINDING, meta, obj

RELOAD_SECONDS = 600
SIGNER_ROLE = "fedfleet-flower-addon-signer"
CLIENT_TUNNEL_CONFIG = "flower-fleet-tunnel"  # ConfigMap in the AddOnTemplate (agent namespace)
# ADC variables (render/flower.py) that say how the cluster tunnel checks the exposed name:
# `checkHost` for a DNS name (and SNI, which a passthrough Route routes on), `checkIP` and no SNI
# for a NodePort's address (OpenSSL X509_check_host matches DNS names only).
CHECK_VARIABLE = "SUPERLINK_CHECK"
SNI_VARIABLE = "SUPERLINK_SNI"

STEP_SECONDS = 2
PID_FILE = "${TMPDIR:-/tmp}/fedfleet-tunnel.pid"  # for the cluster tunnel's exec liveness probe
# The wrapper (review finding 3): stunnel in the background, SIGHUP every RELOAD_SECONDS so rotated
# certificates are read. TERM/INT (the kubelet stops the container) stop stunnel and end the
# wrapper at once (the old loop only killed stunnel and waited out a 600 s sleep until the
# grace period's SIGKILL). It sleeps in STEP_SECONDS steps, so a stunnel that died is noticed
# within seconds and the container exits non-zero: the kubelet restarts it (restartPolicy Always)
# and the restart count shows it. `$1` is the configuration file.
RUN_SH = f"""#!/bin/sh
# fedfleet registration tunnel: stunnel re-reads its certificates on SIGHUP only.
stunnel "$1" & pid=$!
echo $pid 2>/dev/null > "{PID_FILE}"
trap 'kill -TERM $pid 2>/dev/null; wait $pid; exit 0' TERM INT
n=0
while kill -0 $pid 2>/dev/null; do
  sleep {STEP_SECONDS} & wait $!
  n=$((n + {STEP_SECONDS}))
  if [ $n -ge {RELOAD_SECONDS} ]; then n=0; kill -HUP $pid 2>/dev/null; fi
done
wait $pid; rc=$?
echo "fedfleet tunnel: stunnel exited with status $rc" >&2
[ $rc -eq 0 ] && rc=1
exit $rc
"""


def signing_ca() -> list[dict[str, Any]]:
    """The registration signing CA on the hub and the addon manager's right to read it.

    cert-manager writes Secret `flower-addon-signer` of type kubernetes.io/tls with tls.crt/tls.key,
    what the addon manager reads (ocm pkg/addon/templateagent/registration.go CustomSignerWithExpiry:
    corev1.TLSCertKey, corev1.TLSPrivateKeyKey). RSA, because addon-framework pkg/utils/csr_helpers.go
    DefaultSignerWithExpiry parses the key with x509.ParsePKCS1PrivateKey. A CA of its own, not the
    Flower CA: a Flower server certificate must never pass as a registration credential.

    privateKey.rotationPolicy Never, explicitly (review finding 4): cert-manager's default became
    Always in v1.18.0 (the Certificate CRD's own description, CRD store
    cert-manager.io_certificates.yaml). A renewal with a new key would make every hub tunnel refuse
    every credential the old key signed once it reloads, locking every cluster out until the
    klusterlet's next renewal (up to ~19 h); with Never the renewed CA keeps its key and old
    credentials still chain to it."""
    ns = FLOWER_SIGNING_CA_NAMESPACE
    return [
        obj(API_CERT_MANAGER, "Certificate", meta(FLOWER_SIGNING_CA, ns, wave=WAVE_BINDING), spec={
            "isCA": True, "commonName": "fedfleet Flower add-on registration CA", "secretName": FLOWER_SIGNING_CA,
            "duration": "87600h", "renewBefore": "720h",
            "privateKey": {"algorithm": "RSA", "size": 3072, "encoding": "PKCS1", "rotationPolicy": "Never"},
            "issuerRef": {"group": "cert-manager.io", "kind": "Issuer", "name": "flower-selfsigned"}}),
        obj("rbac.authorization.k8s.io/v1", "Role", meta(SIGNER_ROLE, ns, wave=WAVE_BINDING), rules=[
            {"apiGroups": [""], "resources": ["secrets"], "resourceNames": [FLOWER_SIGNING_CA],
             "verbs": ["get", "list", "watch"]}]),
        obj("rbac.authorization.k8s.io/v1", "RoleBinding", meta(SIGNER_ROLE, ns, wave=WAVE_BINDING),
            roleRef={"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": SIGNER_ROLE},
            subjects=[{"kind": "ServiceAccount", "name": ADDON_MANAGER_SA, "namespace": ADDON_MANAGER_NAMESPACE}]),
    ]


# --- Who may ask for a registration credential (review finding 1) ------------------------------
# OCM approves every CSR for a CustomSigner unconditionally (ocm 00f84c3
# pkg/addon/templateagent/registration.go: TemplateCSRApproveCheckFunc -> CustomerSignerCSRApprover
# returns true); addon-framework v1.3.0 pkg/addonmanager/controllers/certificate/csrapprove.go and
# csrsign.go only check the name prefix "addon", the requester-written labels
# open-cluster-management.io/addon-name and /cluster-name, and that the ManagedClusterAddOn exists;
# pkg/utils/csr_helpers.go signCSR copies the requested subject. Every accepted cluster may create
# CSRs (ocm pkg/registration/hub/manifests/rbac/managedcluster-clusterrole.yaml). So without this
# policy cluster A's agent could label a CSR with cluster B and get a credential for B.
CSR_POLICY = "fedfleet-flower-registration-csr"
CLUSTER_LABEL = "open-cluster-management.io/cluster-name"  # api cluster/v1 ClusterNameLabelKey
ADDON_LABEL = "open-cluster-management.io/addon-name"  # api addon/v1beta1 AddonLabelKey
# addon-framework v1.3.0 pkg/utils/csr_helpers.go DefaultCSRApprover: a CSR that came through the
# gRPC registration driver is created by this ServiceAccount, and the agent it acts for is in the
# annotation (api operator/v1 types_clustermanager.go CSRUsernameAnnotation), written by the gRPC server.
GRPC_SERVER_USER = "system:serviceaccount:open-cluster-management-hub:grpc-server-sa"
CSR_USER_ANNOTATION = "open-cluster-management.io/csr-user"


def csr_admission() -> list[dict[str, Any]]:
    """A ValidatingAdmissionPolicy (admissionregistration.k8s.io/v1) and its binding: a CSR for
    FLOWER_SIGNER must be requested by the klusterlet of the cluster its cluster-name label names.

    The klusterlet's registration agent talks to the hub as `system:open-cluster-management:<cluster>:
    <agent id>` (ocm pkg/registration/register/csr/approve_reconciler.go: "Expected format:
    system:open-cluster-management:clusterName:agentName"); addon-framework's DefaultCSRApprover
    checks the same prefix (without the trailing colon, which here keeps cluster `a` from passing
    as `ab`). `object.spec.username` is the API server's record of the creator (kubernetes
    pkg/registry/certificates/certificates/strategy.go PrepareForCreate overwrites it from the
    request's user, and it is immutable), so the rule holds on UPDATE too, where labels could
    otherwise be rewritten after creation (the approver and signer read them later).

    Not enforced here: the subject inside `spec.request`. Kubernetes' CEL has no x509/PEM library
    (k8s.io/apiserver pkg/cel/library: lists, regex, urls, quantity, ip, cidr, format, semver,
    authz), so a cluster's own agent can still ask for a certificate whose CN names another
    cluster; README "Security" states that residual risk."""
    label = f"object.metadata.labels[{CLUSTER_LABEL!r}]"
    requester = (f"object.spec.username == {GRPC_SERVER_USER!r} ? "
                 f"(has(object.metadata.annotations) && {CSR_USER_ANNOTATION!r} in object.metadata.annotations ? "
                 f"object.metadata.annotations[{CSR_USER_ANNOTATION!r}] : '') : object.spec.username")
    policy = obj("admissionregistration.k8s.io/v1", "ValidatingAdmissionPolicy", meta(CSR_POLICY, wave=WAVE_BINDING), spec={
        "failurePolicy": "Fail",
        "matchConstraints": {"resourceRules": [{
            "apiGroups": ["certificates.k8s.io"], "apiVersions": ["v1"], "operations": ["CREATE", "UPDATE"],
            "resources": ["certificatesigningrequests"]}]},
        # Only this fleet's signer: every other CSR (kubelets, other add-ons) is untouched.
        "matchConditions": [{"name": "flower-registration-signer", "expression": f"object.spec.signerName == {FLOWER_SIGNER!r}"}],
        "variables": [
            {"name": "requester", "expression": requester},
            {"name": "cluster", "expression": f"has(object.metadata.labels) && {CLUSTER_LABEL!r} in object.metadata.labels ? {label} : ''"},
        ],
        "validations": [
            {"expression": "variables.cluster != '' && variables.requester.startsWith("
                           "'system:open-cluster-management:' + variables.cluster + ':')",
             "messageExpression": f"'a CSR for {FLOWER_SIGNER} must come from the klusterlet of cluster ' + variables.cluster "
                                  "+ ' (system:open-cluster-management:<cluster>:...), not ' + variables.requester",
             "reason": "Forbidden"},
            {"expression": f"has(object.metadata.labels) && {ADDON_LABEL!r} in object.metadata.labels && "
                           f"object.metadata.labels[{ADDON_LABEL!r}] == {ADDON_NAME!r}",
             "message": f"a CSR for {FLOWER_SIGNER} must carry label {ADDON_LABEL}={ADDON_NAME}", "reason": "Forbidden"},
        ],
    })
    binding = obj("admissionregistration.k8s.io/v1", "ValidatingAdmissionPolicyBinding", meta(CSR_POLICY, wave=WAVE_BINDING),
                  spec={"policyName": CSR_POLICY, "validationActions": ["Deny"]})
    return [policy, binding]


def client_config() -> str:
    """stunnel.conf of the tunnel in a SuperNode pod ({{...}}: the addon manager's variables)."""
    cred = registration_mount()
    return "\n".join([
        "; fedfleet registration tunnel, cluster side: presents this cluster's registration credential",
        "foreground = yes", "pid =", "",
        "[fleet]",
        "client = yes",
        f"accept = 127.0.0.1:{SUPERLINK_PORTS['fleet']}",
        "connect = {{SUPERLINK_ADDRESS}}:{{SUPERLINK_PORT}}",
        f"cert = {cred}/tls.crt",
        f"key = {cred}/tls.key",
        f"CAfile = {TLS_MOUNT}/ca.crt",
        "verifyChain = yes",
        f"{{{{{CHECK_VARIABLE}}}}} = {{{{SUPERLINK_ADDRESS}}}}",
        f"sni = {{{{{SNI_VARIABLE}}}}}",
        "sslVersionMin = TLSv1.2",
        "",
    ])


def tunnel_container(config_volume: str, mounts: list[dict[str, Any]], port: dict[str, Any] | None) -> dict[str, Any]:
    """The tunnel container. With a `port` (hub end) the kubelet probes it over TCP. The cluster
    end listens on the pod's loopback only (any pod of the cluster could otherwise borrow the
    cluster's credential), which a kubelet tcpSocket probe cannot reach (it dials the pod IP), so
    its liveness probe asks the shell whether the stunnel the wrapper started still runs (only
    /bin/sh builtins: the image's other tools are not known here); the wrapper itself exits
    within STEP_SECONDS when stunnel dies."""
    probe = {"tcpSocket": {"port": port["name"]}} if port else None
    container: dict[str, Any] = {
        "name": TUNNEL_CONTAINER,
        "image": TUNNEL_IMAGE,
        "command": TUNNEL_COMMAND,
        "volumeMounts": [{"name": config_volume, "mountPath": TUNNEL_MOUNT, "readOnly": True}, *mounts],
        "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}, "limits": {"memory": "64Mi"}},
    }
    if port:
        container["ports"] = [port]
        container["readinessProbe"] = {**probe, "initialDelaySeconds": 2, "periodSeconds": 5}
        container["livenessProbe"] = {**probe, "initialDelaySeconds": 10, "periodSeconds": 10}
    else:
        container["livenessProbe"] = {"exec": {"command": ["/bin/sh", "-c", f'read pid < "{PID_FILE}" && kill -0 "$pid"']},
                                      "initialDelaySeconds": 10, "periodSeconds": 10}
    return container


def tunnel_files(config: str) -> dict[str, str]:
    return {"stunnel.conf": config, "run.sh": RUN_SH}


def client_variables(host: str) -> list[dict[str, str]]:
    """The ADC variables the cluster tunnel's configuration reads for one job's exposed address."""
    is_ip = host.replace(".", "").isdigit() or ":" in host
    return [{"name": CHECK_VARIABLE, "value": "checkIP" if is_ip else "checkHost"},
            {"name": SNI_VARIABLE, "value": "" if is_ip else host}]
