"""observability: metrics are collected where jobs run and the FL metrics are exported.

Upstream (addon-contrib federated-learning-controller/docs/configure-environment-observability.md,
deploy/obs/otel-addon/): ClusterManagementAddOn `otel` installs an OpenTelemetry collector
Deployment `opentelemetry-collector` in `open-cluster-management-addon` on managed clusters; the
controller injects a metrics sidecar into clients when the FederatedLearning carries the
annotation `federated-learning.io/sidecar-image`. ACM's own collector (`observability-controller`)
is the alternative: set `collector` to use it.
"""

from __future__ import annotations

from typing import Any, Mapping

from fedfleet.governance import Concern, GovernanceContext, Job, PolicyContent, Target, Template, hookimpl
from fedfleet.upstream import API_ADDON, DNS1123_LABEL, OTEL_ADDON, OTEL_COLLECTOR, OTEL_NAMESPACE, SIDECAR_ANNOTATION

from . import rego_module

DEFAULT_SIDECAR = "quay.io/open-cluster-management/federated-learning-sidecar:latest"
DEFAULT_COLLECTOR = {"name": OTEL_COLLECTOR, "namespace": OTEL_NAMESPACE}


@hookimpl
def fedfleet_concern() -> Concern:
    return Concern(
        name="observability",
        title="Training progress and cluster health are observable",
        description="A metrics collector is Available on every cluster a job runs on, the otel add-on is installed on "
                    "the hub, and every job exports its metrics through the sidecar.",
        standards=("NIST SP 800-53",),
        categories=("AU Audit and Accountability", "SI System and Information Integrity"),
        controls=("AU-12 Audit Record Generation", "SI-4 System Monitoring"),
        severity="medium",
    )


@hookimpl
def fedfleet_parameters_schema() -> Mapping[str, Any]:
    name = {"type": "string", "pattern": DNS1123_LABEL}
    return {
        "sidecarImage": {"type": "string", "minLength": 1},
        "collector": {"type": "object", "additionalProperties": False, "required": ["name", "namespace"],
                      "properties": {"name": name, "namespace": name}},
    }


@hookimpl
def fedfleet_job_annotations(job: Job, params: Mapping[str, Any]) -> Mapping[str, str]:
    return {SIDECAR_ANNOTATION: params.get("sidecarImage", DEFAULT_SIDECAR)}


@hookimpl
def fedfleet_policies(context: GovernanceContext) -> list[PolicyContent]:
    if not context.jobs:
        return []
    collector = context.params.get("collector", DEFAULT_COLLECTOR)
    available = {"conditions": [{"type": "Available", "status": "True"}]}
    policies = [PolicyContent(
        name="hub", rule="observability.addon", remediation="inform", target=Target("hub"),
        description="The otel add-on that collects FL metrics is installed on the hub",
        templates=(Template("ConfigurationPolicy", {"object-templates": [{"complianceType": "musthave", "objectDefinition": {
            "apiVersion": API_ADDON, "kind": "ClusterManagementAddOn",
            "metadata": {"name": OTEL_ADDON}}}]}),),
    )]
    for job in context.jobs:
        policies.append(PolicyContent(
            name=f"collector-{job.name}", rule="observability.collector", remediation="inform",
            target=Target("job-clients", job=job.name),
            description=f"A metrics collector is Available on every cluster job {job.name} runs on",
            templates=(Template("ConfigurationPolicy", {"object-templates": [{"complianceType": "musthave", "objectDefinition": {
                "apiVersion": "apps/v1", "kind": "Deployment",
                "metadata": {"name": collector["name"], "namespace": collector["namespace"]}, "status": available}}]}),),
        ))
    return policies


@hookimpl
def fedfleet_rego_modules() -> Mapping[str, str]:
    return rego_module("observability")
