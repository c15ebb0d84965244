"""Governance: plugins contribute policy content through hooks; the core wraps it (wrap.py).

Public surface for plugin authors: `hookimpl`, the types below and the fleet model they carry
(`Fleet`, `Hub`, `Job`, `Cluster`), plus `fedfleet.upstream` for the names of upstream objects.
Nothing else is stable: the built-in plugins import only these, as a third-party plugin would.
"""

from __future__ import annotations

from typing import Any

from ..placement import Plan
from ..spec.model import Cluster, Fleet, Hub, Job
from .hookspecs import hookimpl
from .registry import ENTRY_POINT_GROUP, Registry, load_registry
from .types import Concern, GovernanceContext, PolicyContent, Target, Template
from .wrap import wrap_hub

__all__ = [
    "ENTRY_POINT_GROUP", "Cluster", "Concern", "Fleet", "GovernanceContext", "Hub", "Job", "PolicyContent", "Registry",
    "Target", "Template", "hookimpl", "load_registry", "governance_objects", "overlay_files",
]


def governance_objects(fleet: Fleet, plan: Plan, registry: Registry) -> dict[str, list[dict[str, Any]]]:
    """hub -> its governance objects (Policies, Placements, PlacementBindings, PolicySets)."""
    params = fleet.plugin_params
    out: dict[str, list[dict[str, Any]]] = {}
    for hub in fleet.hubs:
        contributions = registry.policies(
            lambda name, hub=hub: GovernanceContext(fleet, plan, hub, params.get(name, {})), params)
        wrapped = {name: (registry.plugins[name].concern, contents) for name, contents in contributions.items()}
        out[hub.name] = wrap_hub(fleet, hub, wrapped, params)
    return out


def overlay_files(fleet: Fleet, plan: Plan, registry: Registry):  # type: ignore[no-untyped-def]
    """The render stage's extension point: governance files for one hub's overlay.

    Shared objects (cluster-set bindings, placements, bindings) go to governance/placements.yaml;
    each concern's policies and PolicySet to governance/<concern>.yaml, so a diff reads by concern.
    """
    by_hub = governance_objects(fleet, plan, registry)

    def files(_fleet: Fleet, hub: str) -> dict[str, list[dict[str, Any]]]:
        result: dict[str, list[dict[str, Any]]] = {}
        for o in by_hub.get(hub, []):
            concern = o["metadata"].get("labels", {}).get("fedfleet.io/concern") or \
                o["metadata"].get("annotations", {}).get("fedfleet.io/concern")
            name = f"governance/{concern}.yaml" if concern else "governance/placements.yaml"
            result.setdefault(name, []).append(o)
        return result

    return files
