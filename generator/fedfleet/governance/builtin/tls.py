"""tls: no job or add-on without TLS, certificates present and not near expiry, safe listeners.

The Flower add-on's TLS form (addon-contrib flower-addon chart, tls.enabled): SuperLink reads
Secret `flower-superlink-tls` in `flower-system`, SuperNodes trust Secret `flower-tls-ca`.
"""

from __future__ import annotations

from typing import Any, Mapping

from fedfleet.governance import Concern, GovernanceContext, PolicyContent, Target, Template, hookimpl
from fedfleet.upstream import (
    ADDON_AGENT_NAMESPACE, API_FL, LISTENER_TYPES, SUPERLINK, SUPERLINK_NAMESPACE, TLS_ANNOTATION, TLS_CA_SECRET, TLS_SERVER_SECRET,
    superlink_args,
)

from . import rego_module

DEFAULT_FORBIDDEN = {"prod": ["NodePort"], "staging": ["NodePort"], "dev": []}
DEFAULT_MIN_DURATION = "720h"  # 30 days before expiry


@hookimpl
def fedfleet_concern() -> Concern:
    return Concern(
        name="tls",
        title="Federated-learning traffic is encrypted and certificates are valid",
        description="SuperLink and SuperNodes run with TLS, their CA and server certificates exist and are not close "
                    "to expiry, jobs do not turn TLS off, and listener types are allowed for the environment.",
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
        "minimumDuration": {"type": "string", "pattern": "^[0-9]+h$"},
    }


def _secret(name: str, namespace: str) -> dict[str, Any]:
    return {"complianceType": "musthave",
            "objectDefinition": {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name, "namespace": namespace}}}


@hookimpl
def fedfleet_policies(context: GovernanceContext) -> list[PolicyContent]:
    if not context.jobs:
        return []
    forbidden = {**DEFAULT_FORBIDDEN, **context.params.get("forbiddenListenerTypes", {})}.get(context.environment, [])
    namespaces = sorted({j.namespace for j in context.jobs})
    superlink = {
        "complianceType": "musthave",
        "objectDefinition": {"apiVersion": "apps/v1", "kind": "Deployment",
                             "metadata": {"name": SUPERLINK, "namespace": SUPERLINK_NAMESPACE},
                             "spec": {"template": {"spec": {"containers": [
                                 {"name": SUPERLINK, "args": superlink_args(True)}]}}}},
    }
    no_insecure_job = {
        "complianceType": "mustnothave",
        "objectDefinition": {"apiVersion": API_FL, "kind": "FederatedLearning",
                             "metadata": {"annotations": {TLS_ANNOTATION: "disabled"}}},
    }
    job_spec: dict[str, Any] = {"namespaceSelector": {"include": namespaces}, "object-templates": [no_insecure_job]}
    for listener_type in forbidden:
        job_spec["object-templates"].append({"complianceType": "mustnothave", "objectDefinition": {
            "apiVersion": API_FL, "kind": "FederatedLearning", "spec": {"server": {"listeners": [{"type": listener_type}]}}}})
    # Only the SuperLink's arguments follow the hub's remediation: enforcing "a Secret exists" would
    # create an empty Secret, and enforcing mustnothave on jobs would delete training jobs. Those
    # checks always inform; the pull-request check (the Rego twin) is what stops them.
    policies = [
        PolicyContent(
            name="superlink", rule="tls.superlink", target=Target("hub"),
            description="SuperLink runs with TLS (--ssl-ca-certfile, --ssl-certfile, --ssl-keyfile), never --insecure",
            templates=(Template("ConfigurationPolicy", {"object-templates": [superlink]}),),
        ),
        PolicyContent(
            name="secrets", rule="tls.secrets", remediation="inform", target=Target("hub"),
            description="The Flower CA and SuperLink certificate secrets exist on the hub",
            templates=(Template("ConfigurationPolicy", {"object-templates": [
                _secret(TLS_CA_SECRET, SUPERLINK_NAMESPACE), _secret(TLS_SERVER_SECRET, SUPERLINK_NAMESPACE)]}),),
        ),
        PolicyContent(
            name="certificates", rule="tls.certificates", remediation="inform", target=Target("hub"),
            description="Flower TLS certificates on the hub are not close to expiry",
            templates=(Template("CertificatePolicy", {
                "namespaceSelector": {"include": [SUPERLINK_NAMESPACE]},
                "minimumDuration": context.params.get("minimumDuration", DEFAULT_MIN_DURATION)}),),
        ),
        PolicyContent(
            name="jobs", rule="tls.jobs", remediation="inform", target=Target("hub"),
            description=f"No job turns TLS off; listener types {', '.join(forbidden) or '(none)'} "
                        f"are not used in {context.environment}",
            templates=(Template("ConfigurationPolicy", job_spec),),
        ),
    ]
    for job in context.jobs:
        if job.framework == "flower":
            policies.append(PolicyContent(
                name=f"ca-{job.name}", rule="tls.client-ca", remediation="inform",
                target=Target("job-clients", job=job.name),
                description=f"The Flower CA secret is present where job {job.name} runs",
                templates=(Template("ConfigurationPolicy", {"object-templates": [
                    _secret(TLS_CA_SECRET, ADDON_AGENT_NAMESPACE)]}),),
            ))
    return policies


@hookimpl
def fedfleet_rego_modules() -> Mapping[str, str]:
    return rego_module("tls")
