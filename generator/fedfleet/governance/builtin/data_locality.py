"""data-locality: each job's data claim exists, with the right path, exactly on its data holders.

One policy per job targets every cluster of the job's cluster sets. Its object template is a hub
template that looks the cluster up in the job's data-locality ConfigMap (rendered beside the job,
in the policy namespace, where hub templates may read): a holder gets `musthave` ClusterClaim
`<claim>` with its path as value, every other cluster `mustnothave`. The bundle therefore grows
with jobs + holders, never with jobs x clusters. The FL controller reads the data path from that
claim (addon-contrib federated-learning-controller/internal/controller/federatedlearning_client.go).
"""

from __future__ import annotations

from typing import Any, Mapping

from fedfleet.governance import Concern, GovernanceContext, PolicyContent, Target, Template, hookimpl
from fedfleet.upstream import API_CLUSTER_V1ALPHA1

from . import rego_module


@hookimpl
def fedfleet_concern() -> Concern:
    return Concern(
        name="data-locality",
        title="Training data stays where it is declared: data claims match the data holders",
        description="The job's ClusterClaim exists with the local data path on every cluster that holds the data and "
                    "nowhere else in the job's cluster sets, so the controller schedules clients only where the data is.",
        standards=("NIST SP 800-53",),
        categories=("CM Configuration Management", "AC Access Control"),
        controls=("CM-8 System Component Inventory", "AC-4 Information Flow Enforcement"),
        severity="high",
    )


def claim_templates_raw(config_map: str, claim: str) -> str:
    """object-templates-raw with hub templates: one ConfigMap lookup per cluster, per job.

    The path reaches the ClusterClaim through two template passes: the propagator resolves
    `{{hub ... hub}}` on the hub (governance-policy-propagator controllers/propagator/propagation.go,
    processTemplates), then config-policy-controller resolves `{{ ... }}` in the raw text on the
    managed cluster and parses the result as YAML (controllers/configurationpolicy_controller.go,
    resolveObjectTemplatesRaw). A path may hold any character a ClusterClaim value may (`'`, `"`,
    `{{`, newlines, unicode), so neither pass may see it as text: the hub pass writes it as a JSON
    string (sprig toJson, which is also a Go string literal: json.Marshal never escapes a slash), the
    managed pass reads that literal inside an action, where `{{` and `}}` are only characters
    (text/template lexQuote), and writes it with toJson again, a YAML double-quoted scalar.
    """
    return (
        f'{{{{hub $path := fromConfigMap "" "{config_map}" .ManagedClusterName hub}}}}\n'
        f"{{{{hub if $path hub}}}}\n"
        f"- complianceType: musthave\n"
        f"  objectDefinition:\n"
        f"    apiVersion: {API_CLUSTER_V1ALPHA1}\n"
        f"    kind: ClusterClaim\n"
        f"    metadata:\n"
        f"      name: {claim}\n"
        f"    spec:\n"
        f"      value: {{{{ {{{{hub $path | toJson hub}}}} | toJson }}}}\n"
        f"{{{{hub else hub}}}}\n"
        f"- complianceType: mustnothave\n"
        f"  objectDefinition:\n"
        f"    apiVersion: {API_CLUSTER_V1ALPHA1}\n"
        f"    kind: ClusterClaim\n"
        f"    metadata:\n"
        f"      name: {claim}\n"
        f"{{{{hub end hub}}}}\n"
    )


@hookimpl
def fedfleet_parameters_schema() -> Mapping[str, Any]:
    return {}


@hookimpl
def fedfleet_policies(context: GovernanceContext) -> list[PolicyContent]:
    return [
        PolicyContent(
            name=job.name, rule="data-locality.claim",
            description=f"Claim {job.data_claim} holds the data path on the {len(job.holders)} data holder(s) of job "
                        f"{job.name} and is absent from the other clusters of its sets",
            target=Target("job-cluster-sets", job=job.name),
            templates=(Template("ConfigurationPolicy", {
                "object-templates-raw": claim_templates_raw(f"{job.name}-data-locality", job.data_claim)}),),
        )
        for job in context.jobs
    ]


@hookimpl
def fedfleet_rego_modules() -> Mapping[str, str]:
    return rego_module("data_locality")
