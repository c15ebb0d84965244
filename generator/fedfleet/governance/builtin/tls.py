"""tls: on a hub with TLS on, the SuperLink runs with TLS and never --insecure, its certificates are
valid for the name SuperNodes dial, jobs do not turn TLS off; listener types follow the environment.

The Flower add-on's TLS form: each Flower job's SuperLink `superlink-<job>` in `flower-system`
reads its cert-manager Secret `superlink-<job>-tls`; SuperNodes trust Secret `flower-tls-ca`.

Every check follows the hub's own `tls.enabled`: a hub with TLS off runs the chart's `--insecure`
SuperLink on purpose (render/flower.py renders it so), so the TLS checks would be NonCompliant there
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
    ADDON_AGENT_NAMESPACE, API_FL, LISTENER_TYPES, SECRET_TYPE_TLS, SUPERLINK_NAMESPACE, TLS_ANNOTATION, TLS_CA_SECRET,
    TUNNEL_COMMAND, TUNNEL_CONTAINER, hub_config, hub_config_map, superlink_args, superlink_host, superlink_name,
)

from . import rego_module

DEFAULT_FORBIDDEN = {"prod": ["NodePort"], "staging": ["NodePort"], "dev": []}
# Below cert-manager's renewBefore (720h for the SuperLink and CA Certificates, render/flower.py and
# render/addon.py): a healthy certificate is renewed with 720h left and never reaches 360h, so the
# policy flags a renewal that has failed for 15 days, not every renewal (at minimumDuration ==
# renewBefore, each renewal would pass through NonCompliant while the new certificate is issued).
DEFAULT_MIN_DURATION = "360h"
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


def superlink_names(hosts: dict[str, str]) -> list[str]:
    """Every DNS name the SuperLinks' server certificates may carry (job -> exposed host): the
    name SuperNodes dial (unless it is an IP address, an IP SAN) and the in-hub Service names."""
    names: set[str] = set()
    for job, host in hosts.items():
        service = f"{superlink_name(job)}.{SUPERLINK_NAMESPACE}.svc"
        names |= {service, f"{service}.cluster.local"}
        if not host.replace(".", "").isdigit():
            names.add(host)
    return sorted(names)


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
    flower = [j for j in context.jobs if j.framework == "flower"]
    # One SuperLink per Flower job (render/flower.py), each with its container named "superlink".
    # Review finding 6: the registration tunnel is what refuses unregistered clients, so the rule
    # also holds its container (running the wrapper on its configuration) and its configuration,
    # the ConfigMap superlink-<job>-tunnel, to what the bundle renders: requireCert, verifyChain,
    # CAfile of the signing CA and one checkHost per planned cluster (render/tunnel.py
    # hub_config). A musthave compares a ConfigMap's data value as a whole string, so the text is
    # held exactly; enforced, it puts it back.
    superlinks = []
    for j in flower:
        clusters = sorted(context.plan.job(j.name).cluster_names)
        superlinks += [{
            "complianceType": "musthave",
            "objectDefinition": {"apiVersion": "apps/v1", "kind": "Deployment",
                                 "metadata": {"name": superlink_name(j.name), "namespace": SUPERLINK_NAMESPACE},
                                 "spec": {"template": {"spec": {"containers": [
                                     {"name": "superlink", "args": superlink_args(True)},
                                     {"name": TUNNEL_CONTAINER, "command": TUNNEL_COMMAND}]}}}},
        }, {
            "complianceType": "musthave",
            "objectDefinition": {"apiVersion": "v1", "kind": "ConfigMap",
                                 "metadata": {"name": hub_config_map(superlink_name(j.name)), "namespace": SUPERLINK_NAMESPACE},
                                 "data": {"stunnel.conf": hub_config(clusters)}},
        }]
    insecure_superlink = {
        "complianceType": "mustnothave",
        "objectDefinition": {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"namespace": SUPERLINK_NAMESPACE},
                             "spec": {"template": {"spec": {"containers": [{"name": "superlink", "args": ["--insecure"]}]}}}},
    }
    no_insecure_job = {
        "complianceType": "mustnothave",
        "objectDefinition": {"apiVersion": API_FL, "kind": "FederatedLearning",
                             "metadata": {"annotations": {TLS_ANNOTATION: "disabled"}}},
    }
    names = superlink_names({j.name: superlink_host(j.name, hub.superlink_exposure, hub.superlink_domain,
                                                    hub.superlink_node_address) for j in flower})
    policies = [] if not flower else [
        # The one TLS check that can enforce: musthave merges the --ssl-* arguments in.
        PolicyContent(
            name="superlink", rule="tls.superlink", target=Target("hub"),
            description="Every Flower job's SuperLink runs with TLS (--ssl-ca-certfile, --ssl-certfile, --ssl-keyfile) "
                        "behind its registration tunnel, whose configuration requires a credential of the signing CA "
                        "naming one of the job's clusters",
            templates=(Template("ConfigurationPolicy", {"object-templates": superlinks}),),
        ),
    ]
    policies += [
        PolicyContent(
            name="no-insecure", rule="tls.no-insecure", remediation="inform", target=Target("hub"),
            forced_because="an unnamed mustnothave only reports; config-policy-controller never enforces it",
            description="No SuperLink container in flower-system has --insecure among its arguments",
            templates=(Template("ConfigurationPolicy", {"object-templates": [insecure_superlink]}),),
        ),
        PolicyContent(
            name="secrets", rule="tls.secrets", remediation="inform", forced_because=OBSERVES, twin=False, target=Target("hub"),
            description="The Flower CA and SuperLink certificate Secrets exist on the hub as kubernetes.io/tls "
                        "Secrets (so they hold tls.crt, the key the certificate policy reads)",
            templates=(Template("ConfigurationPolicy", {"object-templates": [
                _secret(TLS_CA_SECRET, SUPERLINK_NAMESPACE),
                *(_secret(f"{superlink_name(j.name)}-tls", SUPERLINK_NAMESPACE) for j in flower)]}),),
        ),
        PolicyContent(
            name="certificates", rule="tls.certificates", remediation="inform", twin=False, target=Target("hub"),
            forced_because="cert-policy-controller only reports",
            description=f"Every certificate in {SUPERLINK_NAMESPACE} is valid for at least the minimum duration and "
                        f"names only the SuperLinks ({', '.join(names)})",
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
                name=f"ca-{job.name}", rule="tls.client-ca", remediation="inform", forced_because=OBSERVES, twin=False,
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
