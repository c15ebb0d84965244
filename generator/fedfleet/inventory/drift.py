"""The inventory in specs/ against the hub's ManagedClusters: what differs, cluster by cluster.

Quantities compare by value ("128Gi" equals the hub's "134217728Ki"); labels, claims and taints
compare exactly. Only clusters of the fleet's sets of this hub that exist on the hub are compared.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..spec.load import parse_quantity
from ..spec.model import Cluster, Fleet
from .hub import HubClusters
from .observed import compared_sets, hub_entries


@dataclass(frozen=True)
class ClusterDrift:
    cluster: str
    change: str  # missing-on-hub | missing-in-inventory | changed
    where: str  # the inventory file:line, or "" for a cluster only the hub has
    details: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {"cluster": self.cluster, "change": self.change, "location": self.where, "details": list(self.details)}


@dataclass
class InventoryDrift:
    hub: str
    server: str
    compared: int = 0
    drift: list[ClusterDrift] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not self.drift

    def as_dict(self) -> dict[str, Any]:
        return {"hub": self.hub, "server": self.server, "clean": self.clean, "compared": self.compared,
                "drift": [d.as_dict() for d in self.drift], "notes": self.notes}


def _mapping_changes(what: str, ours: dict[str, str], theirs: dict[str, str]) -> list[str]:
    out = []
    for key in sorted(set(ours) | set(theirs)):
        if key not in theirs:
            out.append(f"{what} {key}={ours[key]!r} is not on the hub")
        elif key not in ours:
            out.append(f"{what} {key}={theirs[key]!r} on the hub is not in the inventory")
        elif ours[key] != theirs[key]:
            out.append(f"{what} {key}: inventory {ours[key]!r}, hub {theirs[key]!r}")
    return out


def _inventory_taints(c: Cluster) -> list[tuple[str, str, str]]:
    return sorted((t.key, t.value, t.effect) for t in c.taints)


def cluster_changes(c: Cluster, entry: dict[str, Any]) -> list[str]:
    out: list[str] = []
    if c.cluster_set != entry["clusterSet"]:
        out.append(f"cluster set: inventory {c.cluster_set}, hub {entry['clusterSet']}")
    out += _mapping_changes("label", dict(c.labels), entry["labels"])
    out += _mapping_changes("claim", dict(c.claims), entry["claims"])
    for field_name in ("allocatable", "capacity"):
        for kind in ("cpu", "memory"):
            ours = getattr(c, f"{field_name}_{kind}")
            raw = entry.get(field_name, {}).get(kind)
            theirs = parse_quantity(raw)
            if ours != theirs and not (ours is not None and theirs is not None and abs(ours - theirs) < 1e-9 * max(ours, 1)):
                out.append(f"{field_name} {kind}: inventory {_show(ours)}, hub {raw if raw is not None else 'not reported'}")
    hub_taints = sorted((t["key"], t.get("value", ""), t["effect"]) for t in entry.get("taints", []))
    if _inventory_taints(c) != hub_taints:
        fmt = lambda ts: ", ".join(f"{k}={v}:{e}" for k, v, e in ts) or "none"  # noqa: E731
        out.append(f"taints: inventory {fmt(_inventory_taints(c))}, hub {fmt(hub_taints)}")
    return out


def _show(value: float | None) -> str:
    return "not declared" if value is None else f"{value:g}"


def compare(fleet: Fleet, state: HubClusters) -> InventoryDrift:
    entries, notes = hub_entries(fleet, state.hub, state.clusters, state.cluster_sets)
    sets = compared_sets(fleet, state.hub, state.cluster_sets)
    report = InventoryDrift(state.hub, state.server, notes=notes)
    ours = {c.name: c for c in fleet.clusters if c.cluster_set in sets}
    report.compared = len(set(ours) | set(entries))
    for name in sorted(set(ours) | set(entries)):
        c, entry = ours.get(name), entries.get(name)
        if entry is None:
            assert c is not None
            report.drift.append(ClusterDrift(name, "missing-on-hub", str(c.origin.location),
                                             (f"in cluster set {c.cluster_set} in the inventory; on the hub no cluster of that name is a member of the fleet's sets",)))
        elif c is None:
            report.drift.append(ClusterDrift(name, "missing-in-inventory", "",
                                             (f"a member of {entry['clusterSet']} on the hub; not in the inventory",)))
        else:
            changes = cluster_changes(c, entry)
            if changes:
                report.drift.append(ClusterDrift(name, "changed", str(c.origin.location), tuple(changes)))
    return report
