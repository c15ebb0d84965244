"""observability: OpenFL jobs export their training metrics to a collector that is really there.

What upstream measures (addon-contrib federated-learning-controller at f5844b98):
- the FL controller injects its metrics sidecar (`--mode=sidecar`, OTLP gRPC) only into the OpenFL
  server Job and client Jobs, and only when the FederatedLearning carries the annotation
  `federated-learning.io/sidecar-image` (internal/controller/manifests/openfl/server/server-job.yaml,
  openfl/client/manifestwork.yaml); the sidecar dials the hard-coded
  `otel-collector.open-cluster-management-agent-addon.svc.cluster.local:4317`;
- the Flower path (serverapp Deployment, clientapp ManifestWork) has no sidecar: a Flower job
  cannot export metrics yet, whatever the bundle says. The plugin therefore annotates OpenFL jobs
  only, and says so (audit, Rego warning) for Flower jobs;
- the collector is the otel add-on (deploy/obs/otel-addon/), which the bundle installs
  (render/otel.py) on the hub and the clusters of the hub's OpenFL jobs.

The policies check what the sidecar needs, where it runs: the otel add-on on the hub, the collector
Deployment Available and its Service with the OTLP gRPC port in the agent namespace on the hub
(server Job) and on every cluster an OpenFL job runs on (client Jobs), and the annotation on the
job. All inform: they check status, or objects the bundle and the add-on manager own.
"""

from __future__ import annotations

from typing import Any, Mapping

from fedfleet.governance import Concern, GovernanceContext, Job, PolicyContent, Target, Template, hookimpl
from fedfleet.upstream import (
    API_ADDON, API_FL, OTEL_ADDON, OTEL_AGENT_NAMESPACE, OTEL_COLLECTOR, OTEL_GRPC_PORT, OTEL_SERVICE, SIDECAR_ANNOTATION,
)

from . import rego_module

# No default sidecar image. Upstream's documented one (docs/configure-environment-observability.md:
# quay.io/open-cluster-management/federated-learning-sidecar:latest) is a moving tag of an image the
# repository no longer builds: since "Unify controller and sidecar into single image (#96)" the
# Makefile builds only federated-learning-controller (image-controller "includes sidecar mode"),
# published as :latest only, and cmd/main.go picks the mode from --mode (default controller), which
# the OpenFL templates' sidecar args (manifests/openfl/server/server-job.yaml obs-sidecar) do not
# pass. So the image must be the team's own pinned build: `sidecarImage`. Without it OpenFL jobs
# carry no annotation and the Rego rule observability.sidecar says so at PR time.
AVAILABLE = {"conditions": [{"type": "Available", "status": "True"}]}
OBSERVES = ("it checks status or objects that the bundle and the add-on manager own; enforcing would create "
            "empty ones")


def exports_metrics(job: Job) -> bool:
    """Whether upstream can export this job's metrics at all (only OpenFL has the sidecar)."""
    return job.framework == "openfl"


@hookimpl
def fedfleet_concern() -> Concern:
    return Concern(
        name="observability",
        title="Training progress of OpenFL jobs is exported to a collector that is there",
        description="The otel add-on is installed on the hub; its collector is Available and listens for OTLP on "
                    f"{OTEL_SERVICE}.{OTEL_AGENT_NAMESPACE}:{OTEL_GRPC_PORT} on the hub and wherever an OpenFL job "
                    "runs; OpenFL jobs carry the metrics-sidecar annotation. Flower jobs cannot export metrics yet "
                    "(upstream has no sidecar for them).",
        standards=("NIST SP 800-53",),
        categories=("AU Audit and Accountability", "SI System and Information Integrity"),
        controls=("AU-12 Audit Record Generation", "SI-4 System Monitoring"),
        severity="medium",
    )


@hookimpl
def fedfleet_parameters_schema() -> Mapping[str, Any]:
    return {
        "sidecarImage": {"type": "string", "minLength": 1},
        # Where the collector sends metrics (upstream: Prometheus remote write on the hub,
        # resources/addon-deployment-config.yaml PROM_REMOTE_WRITE_ENDPOINT).
        "remoteWriteEndpoint": {"type": "string", "pattern": "^https://[^\\s]+$"},
    }


@hookimpl
def fedfleet_job_annotations(job: Job, params: Mapping[str, Any]) -> Mapping[str, str]:
    # Only OpenFL Jobs get the sidecar; on a Flower job the annotation would promise metrics that
    # never come.
    image = params.get("sidecarImage")
    return {SIDECAR_ANNOTATION: image} if image and exports_metrics(job) else {}


def collector_templates() -> list[dict[str, Any]]:
    return [
        {"complianceType": "musthave", "objectDefinition": {
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": OTEL_COLLECTOR, "namespace": OTEL_AGENT_NAMESPACE}, "status": AVAILABLE}},
        # musthave lists are subsets: the Service has at least a port 4317 (config-policy-controller
        # configurationpolicy_controller.go mergeArrays).
        {"complianceType": "musthave", "objectDefinition": {
            "apiVersion": "v1", "kind": "Service", "metadata": {"name": OTEL_SERVICE, "namespace": OTEL_AGENT_NAMESPACE},
            "spec": {"ports": [{"port": OTEL_GRPC_PORT}]}}},
    ]


@hookimpl
def fedfleet_policies(context: GovernanceContext) -> list[PolicyContent]:
    openfl = [j for j in context.jobs if exports_metrics(j)]
    if not openfl:
        return []
    image = context.params.get("sidecarImage")
    policies = [
        PolicyContent(
            name="hub", rule="observability.addon", remediation="inform", forced_because=OBSERVES, target=Target("hub"),
            description=f"The otel add-on is installed and its collector listens on {OTEL_SERVICE}.{OTEL_AGENT_NAMESPACE}:"
                        f"{OTEL_GRPC_PORT} on the hub, where OpenFL server Jobs run",
            templates=(Template("ConfigurationPolicy", {"object-templates": [
                {"complianceType": "musthave", "objectDefinition": {
                    "apiVersion": API_ADDON, "kind": "ClusterManagementAddOn", "metadata": {"name": OTEL_ADDON}}},
                *collector_templates()]}),),
        ),
    ]
    if image:  # without one, Rego's observability.sidecar denies the pull request (no annotation)
        policies.append(
            PolicyContent(
                name="sidecars", rule="observability.sidecar", remediation="inform", forced_because=OBSERVES,
                target=Target("hub"),
                description=f"Every OpenFL job ({', '.join(j.name for j in openfl)}) carries {SIDECAR_ANNOTATION}, so the "
                            "controller adds the metrics sidecar to its server and client Jobs",
                templates=(Template("ConfigurationPolicy", {"object-templates": [
                    {"complianceType": "musthave", "objectDefinition": {
                        "apiVersion": API_FL, "kind": "FederatedLearning",
                        "metadata": {"name": j.name, "namespace": j.namespace, "annotations": {SIDECAR_ANNOTATION: image}}}}
                    for j in openfl]}),),
            ))
    for job in openfl:
        policies.append(PolicyContent(
            name=f"collector-{job.name}", rule="observability.collector", remediation="inform", forced_because=OBSERVES,
            target=Target("job-clients", job=job.name),
            description=f"The metrics collector is Available at {OTEL_SERVICE}.{OTEL_AGENT_NAMESPACE}:{OTEL_GRPC_PORT} on "
                        f"every cluster job {job.name} runs on",
            templates=(Template("ConfigurationPolicy", {"object-templates": collector_templates()}),),
        ))
    return policies


@hookimpl
def fedfleet_rego_modules() -> Mapping[str, str]:
    return rego_module("observability")
