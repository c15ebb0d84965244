"""The governance plugin API. These docstrings are the plugin author's manual.

A plugin is a module (or object) whose functions carry the `hookimpl` marker, announced through
the `fedfleet.governance` entry-point group:

    [project.entry-points."fedfleet.governance"]
    registries = "fedfleet_registries"

The entry-point name is the plugin's name: its parameters live under
`Fleet.spec.governance.plugins.<name>` and findings are attributed to it. Implement any subset of
the hooks; the core calls every plugin's implementation separately, so an exception in one plugin
is reported against that plugin and stops nothing else silently.

The core, never the plugin, wraps policy content into `Policy`, `Placement`, `PlacementBinding`
and `PolicySet` objects, names them within ACM's limits, and chooses the remediation action from
the hub's environment (overridable per plugin and per policy in the fleet spec).
"""

from __future__ import annotations

from typing import Any, Mapping

import pluggy

from ..spec.model import Job
from .types import Concern, GovernanceContext, PolicyContent

PROJECT = "fedfleet"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def fedfleet_concern() -> Concern:
    """Return the plugin's concern: name, title, description, standards, categories, controls and
    default severity. Required: a plugin without it contributes nothing."""


@hookspec
def fedfleet_parameters_schema() -> Mapping[str, Any]:
    """Return a JSON Schema fragment (an object schema's `properties`) for the plugin's parameters.

    The core adds `enabled` (bool), `remediation` (inform|enforce, for every environment) and
    `overrides` (per policy name: remediation, disabled), closes the object
    (additionalProperties: false) and validates the fleet spec with it, reporting file:line.
    Defaults are the plugin's to apply when it reads `context.params`."""


@hookspec
def fedfleet_policies(context: GovernanceContext) -> list[PolicyContent]:
    """Return the policies of this concern for one hub (`context.hub`).

    Use `context.plan` for the clusters a job runs on and `context.fleet` for everything declared.
    Set `remediation` (with `forced_because`) when a policy must run in one mode whatever the fleet
    says: a parameter asking for the other mode is then an input error naming the policy and that
    reason. Content ACM can only report (an object template without a name, a `status` to match, a
    CertificatePolicy) must force `inform`, or the registry refuses the plugin.
    Target a job's clients with `Target("job-clients", job=...)`; the core renders a Placement with
    the job's own client placement, so the policy follows the clusters the job really selects.
    Keep the bundle O(jobs + clusters): per-cluster values belong in hub templates reading a
    ConfigMap in the policy namespace, not in one policy per (job, cluster)."""


@hookspec
def fedfleet_job_annotations(job: Job, params: Mapping[str, Any]) -> Mapping[str, str]:
    """Return annotations the core adds to the job's FederatedLearning resource (for example the
    metrics sidecar image). `params` are this plugin's validated parameters. Called only when the
    plugin is enabled; must not return keys another plugin returns."""


@hookspec
def fedfleet_rego_modules() -> Mapping[str, str]:
    """Return Rego v1 modules (file name -> source) that check the same rules at pull-request time.

    Each module is a package `fedfleet.<concern>` with `deny contains result if { ... }` (and
    optionally `warn`), where result is an object {"msg": str, "rule": str} plus, where it applies,
    "job", "hub", "cluster" and "field" (a dotted path in the job spec) so findings point at the
    spec file and line. Input: see fedfleet.checks.rego.build_input. Modules may include
    `test_` rules; `fedfleet policy test` runs them."""
