"""Governance: plugins contribute policy content through hooks; the core wraps it (wrap.py).

Public surface for plugin authors: `hookimpl`, the types below and the fleet model they carry
(`Fleet`, `Hub`, `Job`, `Cluster`), plus `fedfleet.upstream` for the names of upstream objects.
Nothing else is stable: the built-in plugins import only these, as a third-party plugin would.
"""

from __future__ import annotations

from ..findings import Finding, InputError
from ..placement import Plan, Planner
from ..spec.model import Cluster, Fleet, Hub, Job
from .hookspecs import hookimpl
from .registry import ENTRY_POINT_GROUP, Registry, load_registry
from .types import Concern, GovernanceContext, PolicyContent, Target, Template
from .wrap import HubGovernance, WrappedPolicy, render_hub, wrap_hub

__all__ = [
    "ENTRY_POINT_GROUP", "Cluster", "Concern", "Fleet", "GovernanceContext", "Hub", "Job", "PolicyContent", "Registry",
    "Target", "Template", "hookimpl", "load_registry", "Governance", "HubGovernance", "WrappedPolicy", "govern",
    "render_hub",
]


Governance = dict[str, HubGovernance]  # hub name -> what governance puts on it


def govern(fleet: Fleet, plan: Plan | Planner, registry: Registry) -> Governance:
    """Every hub's governance, typed: the plugins' policies wrapped with names, remediation and
    placements. `render_hub` turns one hub's into the objects of its overlay."""
    params = fleet.plugin_params
    out: Governance = {}
    errors: dict[str, Finding] = {}  # a fleet-wide parameter errs once, not once per hub
    for hub in fleet.hubs:
        contributions = registry.policies(
            lambda name, hub=hub: GovernanceContext(fleet, plan, hub, params.get(name, {})), params)
        wrapped = {name: (registry.plugins[name].concern, contents) for name, contents in contributions.items()}
        try:
            out[hub.name] = wrap_hub(fleet, hub, wrapped, params)
        except InputError as exc:
            errors.update((f.render(), f) for f in exc.findings)
    if errors:
        raise InputError(list(errors.values()))
    return out
