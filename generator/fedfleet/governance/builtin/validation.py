"""validation: a job whose last run's model failed its quality gate is flagged (inform).

The gate (spec.validation, run by the Flower run Job) records each run's verdict in the ConfigMap
`fedfleet-validation-<job>` of the job namespace (data.verdict: passed | failed). The policy says
that ConfigMap must not carry `verdict: failed`: config-policy-controller reports a `mustnothave`
object template NonCompliant when an object with that name and those fields exists. Always inform:
it observes a result; nothing could remediate a trained model. Its Rego twin (rego/validation.rego)
decides the same over recorded results (`input.validations`, the ConfigMaps' data as read from a
hub); at pull-request time nothing is recorded, so it denies nothing.
"""

from __future__ import annotations

from typing import Any, Mapping

from fedfleet.governance import Concern, GovernanceContext, PolicyContent, Target, Template, hookimpl

from . import rego_module

OBSERVES = "it observes a recorded verdict; nothing on a cluster can remediate a trained model"


def result_configmap(job: str) -> str:
    """The gate's ConfigMap (fedfleet/render/validation.py result_configmap; a plugin names it
    itself, as a third-party plugin would)."""
    return f"fedfleet-validation-{job}"


@hookimpl
def fedfleet_concern() -> Concern:
    return Concern(
        name="validation",
        title="Trained models meet their quality gate",
        description="The last run of every job with a validation gate produced a model that met its thresholds "
                    "(accuracy, per-class recall, regression against the last passed run).",
        standards=("NIST SP 800-53",),
        categories=("SA System and Services Acquisition",),
        controls=("SA-11 Developer Testing and Evaluation",),
        severity="medium",
    )


@hookimpl
def fedfleet_parameters_schema() -> Mapping[str, Any]:
    return {}


@hookimpl
def fedfleet_policies(context: GovernanceContext) -> list[PolicyContent]:
    return [
        PolicyContent(
            name=f"last-run-{job.name}", rule="validation.last-run", remediation="inform", forced_because=OBSERVES,
            description=f"The last run of job {job.name} met its model quality gate",
            target=Target("hub"),
            templates=(Template("ConfigurationPolicy", {"object-templates": [
                {"complianceType": "mustnothave", "objectDefinition": {
                    "apiVersion": "v1", "kind": "ConfigMap",
                    "metadata": {"name": result_configmap(job.name), "namespace": job.namespace},
                    "data": {"verdict": "failed"}}},
            ]}),),
        )
        for job in context.jobs if job.validation
    ]


@hookimpl
def fedfleet_rego_modules() -> Mapping[str, str]:
    return rego_module("validation")
