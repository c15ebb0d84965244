"""tls: on a hub with TLS on, the SuperLink runs with TLS and never --insecure, its certificates are
valid for the name SuperNodes dial, jobs do not turn TLS off; listener types follow the environment.

The Flower add-on's TLS form (addon-contrib flower-addon chart, tls.enabled): SuperLink reads
Secret `flower-superlink-tls` in `flower-system`, SuperNodes trust Secret `flower-tls-ca`.

Every check follows the hub's own `tls.enabled`: a hub with TLS off runs the chart's `--insecure`
SuperLink on purpose (render/addon.py patches it so), so the TLS checks would be NonCompliant there
forever, or, enforced, would merge `--ssl-*` into an `--insecure` SuperLink that mounts no
certificate. On such a hub only the listener-type rule remains.

How ACM compares, read from config-policy-controller (controllers/configurationpolicy_controller.go
at ecf24b40), decides the shape of each rule:
- a `musthave` list is a subset test (mergeArrays keeps the existing items the template lacks), so
  "has the --ssl-* arguments" is expressible but "has no --insecure" is not;
- a NAMED `mustnothave` only tests existence (handleObjects: "named object, so checking just for the
  existence of the specific object"; handleSingleObj: exists && !shouldExist), so a named
  Deployment with `args: [--insecure]` would flag every SuperLink;
- an UNNAMED `mustnothave` lists the kind in the namespace and flags the objects that match the
  template's fields with the same subset merge (getMatchingNames -> buildNameList ->
  handleSingleKey -> mergeArrays), so `containers: [{name: superlink, args: [--insecure]}]` flags
  exactly a SuperLink whose arguments include `--insecure`, whatever else they include. Unnamed
  templates are always evaluated as inform ("we do not support enforce on unnamed templates").
"""

from __future__ import annotations

from typing import Any, Mapping

from fedfleet.governance import Concern, GovernanceContext, PolicyContent, Target, Template, hookimpl
from fedfleet.upstream import (
    ADDON_AGENT_NAMESPACE, API_FL, LISTENER_TYPES, SECRET_TYPE_TLS, SUPERLINK, SUPERLINK_NAMESPACE, TLS_ANNOTATION,
    TLS_CA_SECRET, TLS_SERVER_SECRET, superlink_args,
)

from . import rego_module

DEFAULT_FORBIDDEN = {"prod": ["NodePort"], "staging": ["NodePort"], "dev": []}
DEFAULT_MIN_DURATION = "720h"  # 30 days before expiry
OBSERVES = "it only observes: enforcing it would create an empty Secret or delete a training job"


@hookimpl
def fedfleet_concern() -> Concern:
    return Concern(
        name="tls",
        title="Federated-learning traffic is encrypted and certificates are valid",
        description="On every hub with TLS on: the SuperLink runs with TLS and never --insecure, its CA and server "
                    "certificates exist, are not close to expiry and name only the SuperLink, and jobs do not turn "
                    "TLS off. Everywhere: listener types are allowed for the environment.",
        standards=("NIST SP 800-53",),
        categories=("SC System and Communications Protection",),
        controls=("SC-8 Transmission Confidentiality and Integrity", "SC-12 Cryptographic Key Establishment and Management"),
        severity="high",
    )


@hookimpl
def fedfleet_parameters_schema() -> Mapping[str, Any]:
    return {
        "forbiddenListenerTypes": {"type": "object", "additionalProperties": {
            "type": "array", "items": {"enum": list(LISTENER_TYPES)}}},
        # cert-policy-controller parses it with time.ParseDuration (api/v1 certificatepolicy_types.go).
        "minimumDuration": {"type": "string", "pattern": "^[0-9]+h$"},
    }


def superlink_names(superlink_address: str) -> list[str]:
    """Every DNS name the SuperLink's server certificate may carry: the name SuperNodes dial and
    the in-hub Service names."""
    host = superlink_address.rsplit(":", 1)[0] if superlink_address.count(":") == 1 else superlink_address
    service = f"{SUPERLINK}.{SUPERLINK_NAMESPACE}.svc"
    return sorted({host, service, f"{service}.cluster.local"})


def san_pattern(names: list[str]) -> str:
    """An RE2 pattern (cert-policy-controller compiles it with Go's regexp and needs every DNS SAN
    of every certificate in the namespace to match it: isCertificateSANPatternMismatch) that
    matches exactly these names. DNS names hold only [a-z0-9.-]; the dot is the one metacharacter."""
    return "^(" + "|".join(n.replace(".", "\\.") for n in names) + ")$"


def _secret(name: str, namespace: str) -> dict[str, Any]:
    """The Secret exists and is of type kubernetes.io/tls: it then holds `tls.crt`, the key the
    CertificatePolicy reads (an Opaque Secret with `server.pem` would be skipped, never checked)."""
    return {"complianceType": "musthave", "objectDefinition": {
        "apiVersion": "v1", "kind": "Secret", "metadata": {"name": name, "namespace": namespace}, "type": SECRET_TYPE_TLS}}


def _listener_templates(forbidden: list[str]) -> list[dict[str, Any]]:
    return [{"complianceType": "mustnothave", "objectDefinition": {
        "apiVersion": API_FL, "kind": "FederatedLearning", "spec": {"server": {"listeners": [{"type": t}]}}}}
        for t in forbidden]


@hookimpl
def fedfleet_policies(context: GovernanceContext) -> list[PolicyContent]:
    if not context.jobs:
        return []
    forbidden = {**DEFAULT_FORBIDDEN, **context.params.get("forbiddenListenerTypes", {})}.get(context.environment, [])
    namespaces = sorted({j.namespace for j in context.jobs})
    hub = context.hub
    if not hub.tls_enabled:
        if not forbidden:
            return []
        return [PolicyContent(
            name="jobs", rule="tls.jobs", remediation="inform", forced_because=OBSERVES, target=Target("hub"),
            description=f"Listener types {', '.join(forbidden)} are not used in {context.environment} "
                        f"(hub {hub.name} has TLS off: no TLS check applies)",
            templates=(Template("ConfigurationPolicy", {"namespaceSelector": {"include": namespaces},
                                                        "object-templates": _listener_templates(forbidden)}),),
        )]
    superlink = {
        "complianceType": "musthave",
        "objectDefinition": {"apiVersion": "apps/v1", "kind": "Deployment",
                             "metadata": {"name": SUPERLINK, "namespace": SUPERLINK_NAMESPACE},
                             "spec": {"template": {"spec": {"containers": [
                                 {"name": SUPERLINK, "args": superlink_args(True)}]}}}},
    }
    insecure_superlink = {
        "complianceType": "mustnothave",
        "objectDefinition": {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"namespace": SUPERLINK_NAMESPACE},
                             "spec": {"template": {"spec": {"containers": [{"name": SUPERLINK, "args": ["--insecure"]}]}}}},
    }
    no_insecure_job = {
        "complianceType": "mustnothave",
        "objectDefinition": {"apiVersion": API_FL, "kind": "FederatedLearning",
                             "metadata": {"annotations": {TLS_ANNOTATION: "disabled"}}},
    }
    names = superlink_names(hub.superlink_address)
    policies = [
        # The one TLS check that can enforce: musthave merges the --ssl-* arguments in.
        PolicyContent(
            name="superlink", rule="tls.superlink", target=Target("hub"),
            description="SuperLink runs with TLS (--ssl-ca-certfile, --ssl-certfile, --ssl-keyfile)",
            templates=(Template("ConfigurationPolicy", {"object-templates": [superlink]}),),
        ),
        PolicyContent(
            name="no-insecure", rule="tls.no-insecure", remediation="inform", target=Target("hub"),
            forced_because="an unnamed mustnothave only reports; config-policy-controller never enforces it",
            description="No SuperLink container in flower-system has --insecure among its arguments",
            templates=(Template("ConfigurationPolicy", {"object-templates": [insecure_superlink]}),),
        ),
        PolicyContent(
            name="secrets", rule="tls.secrets", remediation="inform", forced_because=OBSERVES, target=Target("hub"),
            description="The Flower CA and SuperLink certificate Secrets exist on the hub as kubernetes.io/tls "
                        "Secrets (so they hold tls.crt, the key the certificate policy reads)",
            templates=(Template("ConfigurationPolicy", {"object-templates": [
                _secret(TLS_CA_SECRET, SUPERLINK_NAMESPACE), _secret(TLS_SERVER_SECRET, SUPERLINK_NAMESPACE)]}),),
        ),
        PolicyContent(
            name="certificates", rule="tls.certificates", remediation="inform", target=Target("hub"),
            forced_because="cert-policy-controller only reports",
            description=f"Every certificate in {SUPERLINK_NAMESPACE} is valid for at least the minimum duration and "
                        f"names only the SuperLink ({', '.join(names)})",
            # Field names: cert-policy-controller api/v1 certificatepolicy_types.go (minimumDuration,
            # allowedSANPattern); an empty namespaceSelector selects no namespace (retrieveNamespaces).
            templates=(Template("CertificatePolicy", {
                "namespaceSelector": {"include": [SUPERLINK_NAMESPACE]},
                "minimumDuration": context.params.get("minimumDuration", DEFAULT_MIN_DURATION),
                "allowedSANPattern": san_pattern(names)}),),
        ),
        PolicyContent(
            name="jobs", rule="tls.jobs", remediation="inform", forced_because=OBSERVES, target=Target("hub"),
            description=f"No job turns TLS off; listener types {', '.join(forbidden) or '(none)'} "
                        f"are not used in {context.environment}",
            templates=(Template("ConfigurationPolicy", {"namespaceSelector": {"include": namespaces},
                                                        "object-templates": [no_insecure_job, *_listener_templates(forbidden)]}),),
        ),
    ]
    for job in context.jobs:
        if job.framework == "flower":
            policies.append(PolicyContent(
                name=f"ca-{job.name}", rule="tls.client-ca", remediation="inform", forced_because=OBSERVES,
                target=Target("job-clients", job=job.name),
                description=f"The Flower CA secret is present where job {job.name} runs",
                templates=(Template("ConfigurationPolicy", {"object-templates": [{
                    "complianceType": "musthave", "objectDefinition": {
                        "apiVersion": "v1", "kind": "Secret",
                        "metadata": {"name": TLS_CA_SECRET, "namespace": ADDON_AGENT_NAMESPACE}}}]}),),
            ))
    return policies


@hookimpl
def fedfleet_rego_modules() -> Mapping[str, str]:
    return rego_module("tls")
