"""addon: the FL controller runs on the hub; the Flower add-on runs where jobs train.

Names follow upstream: the controller Deployment `federated-learning-controller` (addon-contrib
federated-learning-controller/config/default namePrefix `federated-learning-` + config/manager
Deployment `controller`) in the hub's controller namespace (fleet setting `controller.namespace`,
default open-cluster-management, where upstream `make deploy` installs it), the add-on agent
`flower-supernode` in `flower-addon` (flower-addon chart).
"""

from __future__ import annotations

from typing import Any, Mapping

from fedfleet.governance import Concern, GovernanceContext, PolicyContent, Target, Template, hookimpl
from fedfleet.upstream import (
    ADDON_AGENT_NAMESPACE, ADDON_NAME, API_ADDON, FL_CONTROLLER, SUPERNODE,
)

from . import rego_module

AVAILABLE = {"conditions": [{"type": "Available", "status": "True"}]}
OBSERVES = "it checks status conditions, which only the Deployment controller sets; enforcing would create an empty Deployment"


@hookimpl
def fedfleet_concern() -> Concern:
    return Concern(
        name="addon",
        title="Federated-learning controller and Flower add-on are installed and available",
        description="The FL controller is Available on the hub and the flower-addon agent is Available on every "
                    "cluster a job runs on.",
        standards=("NIST SP 800-53",),
        categories=("CM Configuration Management",),
        controls=("CM-2 Baseline Configuration",),
        severity="high",
    )


@hookimpl
def fedfleet_parameters_schema() -> Mapping[str, Any]:
    return {}  # the controller's namespace is a fleet setting (defaults.controller / hubs[].controller)


def _deployment(name: str, namespace: str) -> dict[str, Any]:
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": namespace},
            "status": AVAILABLE}


@hookimpl
def fedfleet_policies(context: GovernanceContext) -> list[PolicyContent]:
    if not context.jobs:
        return []
    ns = context.hub.controller_namespace
    # Status can only be observed, never enforced: these policies always inform.
    hub = PolicyContent(
        name="controller", rule="addon.controller-available", remediation="inform", forced_because=OBSERVES,
        description="The federated-learning controller and the flower-addon ClusterManagementAddOn exist on the hub",
        target=Target("hub"),
        templates=(Template("ConfigurationPolicy", {"object-templates": [
            {"complianceType": "musthave", "objectDefinition": _deployment(FL_CONTROLLER, ns)},
            {"complianceType": "musthave", "objectDefinition": {
                "apiVersion": API_ADDON, "kind": "ClusterManagementAddOn",
                "metadata": {"name": ADDON_NAME}}},
        ]}),),
    )
    clients = [
        PolicyContent(
            name=f"agent-{job.name}", rule="addon.agent-available", remediation="inform", forced_because=OBSERVES,
            description=f"The flower-addon agent is Available on every cluster job {job.name} runs on",
            target=Target("job-clients", job=job.name),
            templates=(Template("ConfigurationPolicy", {"object-templates": [
                {"complianceType": "musthave", "objectDefinition": _deployment(SUPERNODE, ADDON_AGENT_NAMESPACE)},
            ]}),),
        )
        for job in context.jobs if job.framework == "flower"
    ]
    return [hub, *clients]


@hookimpl
def fedfleet_rego_modules() -> Mapping[str, str]:
    return rego_module("addon")
