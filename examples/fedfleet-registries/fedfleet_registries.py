"""A third-party fedfleet governance plugin: FL images come only from allowed registries.

It touches nothing of fedfleet's internals: it implements the declared hooks and is found through
the `fedfleet.governance` entry point in its own pyproject.toml. Parameters, in the Fleet spec:

    spec:
      governance:
        plugins:
          registries:
            allowed: [quay.io/acme-health]

PR time (Rego twin): every job image must start with an allowed registry prefix.
Run time (ACM policy): each job's FederatedLearning on the hub still carries the images that passed
review, so an image swapped on the hub by hand shows as NonCompliant.
"""

from __future__ import annotations

import json
from typing import Any, Mapping

from fedfleet.governance import Concern, GovernanceContext, PolicyContent, Target, Template, hookimpl

DEFAULT_ALLOWED = ["quay.io/"]


@hookimpl
def fedfleet_concern() -> Concern:
    return Concern(
        name="registries",
        title="Federated-learning images come from allowed registries",
        description="Server and client images of every job are pulled from an allowed registry.",
        standards=("NIST SP 800-53",),
        categories=("CM Configuration Management", "SR Supply Chain Risk Management"),
        controls=("CM-7 Least Functionality", "SR-3 Supply Chain Controls and Processes"),
        severity="medium",
    )


@hookimpl
def fedfleet_parameters_schema() -> Mapping[str, Any]:
    return {"allowed": {"type": "array", "minItems": 1, "items": {"type": "string", "minLength": 1}}}


@hookimpl
def fedfleet_policies(context: GovernanceContext) -> list[PolicyContent]:
    return [
        PolicyContent(
            name=job.name, rule="registries.allowed", remediation="inform", target=Target("hub"),
            description=f"Job {job.name} runs the reviewed images",
            templates=(Template("ConfigurationPolicy", {"object-templates": [{
                "complianceType": "musthave",
                "objectDefinition": {
                    "apiVersion": "federation-ai.open-cluster-management.io/v1alpha1", "kind": "FederatedLearning",
                    "metadata": {"name": job.name, "namespace": job.namespace},
                    "spec": {"server": {"image": job.server["image"]}, "client": {"image": job.client_image}},
                }}]}),),
        )
        for job in context.jobs
    ]


REGO = """
package fedfleet.registries

import rego.v1

allowed := object.get(input.parameters, ["registries", "allowed"], %s)

deny contains result if {
	some job in input.jobs
	some image in job.images
	not any_prefix(image)
	result := {
		"rule": "registries.allowed",
		"msg": sprintf("job %%s uses image %%s from a registry outside %%v", [job.name, image, allowed]),
		"job": job.name, "field": "spec.server.image",
	}
}

any_prefix(image) if {
	some prefix in allowed
	startswith(image, prefix)
}
"""


@hookimpl
def fedfleet_rego_modules() -> Mapping[str, str]:
    return {"registries.rego": REGO % json.dumps(DEFAULT_ALLOWED)}
