"""What OCM adds to a registered add-on agent, and the registration tunnels, in the preview.

On a hub, the addon manager signs each cluster's CSR for the AddOnTemplate's CustomSigner with the
signing CA Secret, the klusterlet writes the credential Secret into the agent namespace, and the
template agent mounts it into every container of the template's Deployments (upstream.py names
each piece of OCM code). The preview does the same from the bundle: the signing CA is issued by
the throwaway chain from the bundle's own Certificate (certs.py), each simulated cluster gets a
credential signed by it, and the Secret and mounts are added as the template agent would.

Intruders (`intruders=`): a SuperNode built from the same template with a registered cluster's
CA and node config, but with no credential (its tunnel presents none) or with one from another CA
(an impersonation of a registered cluster's name). They must be refused by the hub tunnel and
receive no model.
"""

from __future__ import annotations

import base64
import re
from pathlib import Path
from typing import Any

from ..upstream import ADDON_MANAGER_NAMESPACE, REGISTRATION_HOURS, registration_common_name, registration_groups, \
    registration_mount, \
    registration_secret, registration_volume
from .certs import issue_client, throwaway_ca
from .shipped import Materialiser, Objects, Process, ShippedError, pod_spec, resolve_exposure

# none: no credential; foreign: one of another CA; other-job: a valid one (the bundle's signing CA)
# of a registered cluster that is not one of this job's.
INTRUDER_KINDS = ("none", "foreign", "other-job")
_CONNECT = re.compile(r"^([ \t]*connect[ \t]*=[ \t]*)(\S+)[ \t]*$", re.M)
_CHECK = re.compile(r"^[ \t]*(checkHost|checkIP)[ \t]*=[ \t]*(\S+)[ \t]*$", re.M)
_CREDENTIAL_LINE = re.compile(r"^[ \t]*(cert|key)[ \t]*=.*\n", re.M)


def custom_signer(template: dict[str, Any]) -> dict[str, Any] | None:
    """The template's CustomSigner registration, if any (api addon/v1alpha1 RegistrationSpec)."""
    for reg in template["spec"].get("registration") or []:
        if reg.get("type") == "CustomSigner" and reg.get("customSigner"):
            return dict(reg["customSigner"])
    return None


def decorate(manifests: list[dict[str, Any]], signer: str) -> None:
    """ocm pkg/addon/templateagent/decorator.go volumeDecorator: the credential Secret as a volume of
    every Deployment, mounted into every container at /managed/<signer>."""
    volume = registration_volume(signer)
    for m in manifests:
        if m.get("kind") not in ("Deployment", "DaemonSet"):
            continue
        spec = pod_spec(m)
        for c in spec.get("containers", []):
            c.setdefault("volumeMounts", []).append({"name": volume, "mountPath": registration_mount(signer)})
        spec.setdefault("volumes", []).append({"name": volume, "secret": {"secretName": registration_secret(signer)}})


def credential(hub: Objects, m: Materialiser, reg: dict[str, Any], cluster: str, namespace: str,
               foreign: bool = False) -> dict[str, Any]:
    """The Secret the klusterlet writes for `cluster`: signed by the signing CA the template names
    (read from signingCA.namespace, else the addon manager's namespace: registration.go
    CustomSignerWithExpiry), or, for an intruder, by a CA of its own."""
    ref = reg["signingCA"]
    ca_ns = ref.get("namespace") or ADDON_MANAGER_NAMESPACE
    ca = throwaway_ca("another fleet's CA") if foreign else \
        m.secret(hub, ca_ns, ref["name"], f"the addon manager signing for {reg['signerName']}")
    if not foreign and ("tls.crt" not in ca or "tls.key" not in ca):
        raise ShippedError(f"signing CA Secret {ca_ns}/{ref['name']} lacks tls.crt/tls.key, which the addon manager reads")
    # The subject OCM's agent asks for by default, which the signer copies (csr_helpers.go signCSR).
    data = issue_client(ca, registration_common_name(cluster), REGISTRATION_HOURS, tuple(registration_groups(cluster)))
    return {"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/tls",
            "metadata": {"name": registration_secret(reg["signerName"]), "namespace": namespace},
            "data": {k: base64.b64encode(v).decode() for k, v in data.items()}}


def strip_credential(manifests: list[dict[str, Any]]) -> None:
    """An intruder without a credential: its tunnel configuration presents no certificate."""
    for m in manifests:
        if m.get("kind") == "ConfigMap":
            for key, value in list((m.get("data") or {}).items()):
                if "client = yes" in str(value):
                    m["data"][key] = _CREDENTIAL_LINE.sub("", str(value))


def config_files(proc: Process) -> list[Path]:
    """The stunnel configuration files a tunnel process was given (its arguments that are files
    holding a `connect =` line)."""
    out = []
    for arg in proc.argv[1:]:
        path = Path(arg)
        if path.is_file() and path.suffix == ".conf" and _CONNECT.search(path.read_text()):
            out.append(path)
    return out


def point_client_tunnel(proc: Process, hub: Objects, superlink: dict[str, Any], who: str,
                        hub_port: Any, check_names: Any) -> None:
    """A cluster tunnel dials the exposed SuperLink: follow host:port through the hub's Route,
    LoadBalancer or NodePort to the SuperLink pod, check the name it verifies against the
    SuperLink certificate's SANs, and dial that pod's loopback port instead."""
    files = config_files(proc)
    if not files:
        raise ShippedError(f"{who}: the tunnel has no stunnel configuration with a connect line")
    for path in files:
        text = path.read_text()
        for match in _CONNECT.finditer(text):
            host, _, port = match.group(2).rpartition(":")
            if host == "127.0.0.1":
                continue  # already a loopback port of its own pod
            w, _c, number, how = resolve_exposure(hub, host, int(port), who)
            if w is not superlink:
                raise ShippedError(f"{who} reaches {w['metadata']['name']} through {how}, not the job's SuperLink "
                                   f"{superlink['metadata']['name']}")
            check = _CHECK.search(text)
            if check is None:
                raise ShippedError(f"{who}: the tunnel does not check the SuperLink's name (no checkHost/checkIP): "
                                   "any certificate of the Flower CA would do")
            check_names(check.group(2))
            text = text.replace(match.group(0), f"{match.group(1)}127.0.0.1:{hub_port(number)}")
        path.write_text(text)


def loopback_backends(proc: Process) -> list[str]:
    """The pod-local addresses a tunnel forwards to (`connect = 127.0.0.1:P`, P already the
    preview's loopback port): the SuperLink must listen there."""
    out = []
    for path in config_files(proc):
        out += [m.group(2) for m in _CONNECT.finditer(path.read_text()) if m.group(2).startswith("127.0.0.1:")]
    return out
