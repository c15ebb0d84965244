"""A hub's ManagedCluster as the inventory entry the plan reads.

Set membership is evaluated the way OCM evaluates it, not read from one label:
`BuildClusterSelector` (ocm vendor/open-cluster-management.io/sdk-go/pkg/apis/cluster/v1beta2/
managedclusterset.go:77-93) makes an ExclusiveClusterSetLabel set select
`cluster.open-cluster-management.io/clusterset=<set>` and a LabelSelector set its
`spec.clusterSelector.labelSelector`; a cluster belongs to every set whose selector matches its
labels (`GetClusterSetsOfCluster`, same file :50-75).
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping

from ..spec.model import Fleet
from ..upstream import CLUSTER_SET_LABEL, OCM_CLUSTERSET_LABEL

# Labels the inventory does not record: set membership (recorded as `clusterSet`) and the add-on
# framework's availability labels, which flip with add-on health rather than describe the cluster.
MEMBERSHIP_LABELS = (OCM_CLUSTERSET_LABEL, CLUSTER_SET_LABEL)
VOLATILE_LABEL_PREFIXES = ("feature.open-cluster-management.io/",)


def recorded_label(key: str) -> bool:
    return key not in MEMBERSHIP_LABELS and not key.startswith(VOLATILE_LABEL_PREFIXES)


def selector_matches(selector: Mapping[str, Any] | None, labels: Mapping[str, str]) -> bool:
    """metav1.LabelSelectorAsSelector semantics: an empty selector matches everything."""
    selector = selector or {}
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr["key"], expr["operator"], expr.get("values") or []
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and key in labels and labels[key] in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True


def set_selects(cluster_set: Mapping[str, Any], labels: Mapping[str, str]) -> bool:
    selector = (cluster_set.get("spec") or {}).get("clusterSelector") or {}
    kind = selector.get("selectorType") or "ExclusiveClusterSetLabel"
    if kind == "ExclusiveClusterSetLabel":
        return labels.get(OCM_CLUSTERSET_LABEL) == cluster_set["metadata"]["name"]
    if kind == "LabelSelector":
        return selector_matches(selector.get("labelSelector"), labels)
    return False  # BuildClusterSelector errors on any other type: the set selects nothing


def memberships(cluster: Mapping[str, Any], cluster_sets: Iterable[Mapping[str, Any]]) -> list[str]:
    labels = (cluster.get("metadata") or {}).get("labels") or {}
    return sorted(s["metadata"]["name"] for s in cluster_sets if set_selects(s, labels))


def inventory_entry(cluster: Mapping[str, Any], cluster_set: str) -> dict[str, Any]:
    """The inventory fields of one ManagedCluster, in the inventory's key order, sorted inside."""
    meta, spec, status = cluster.get("metadata") or {}, cluster.get("spec") or {}, cluster.get("status") or {}
    entry: dict[str, Any] = {"name": meta["name"], "clusterSet": cluster_set}
    entry["labels"] = {k: v for k, v in sorted((meta.get("labels") or {}).items()) if recorded_label(k)}
    entry["claims"] = {c["name"]: c["value"] for c in sorted(status.get("clusterClaims") or [], key=lambda c: c["name"])}
    for field in ("allocatable", "capacity"):
        resources = status.get(field) or {}
        picked = {k: str(resources[k]) for k in ("cpu", "memory") if k in resources}
        if picked:
            entry[field] = picked
    taints = []
    for t in sorted(spec.get("taints") or [], key=lambda t: (t["key"], t["effect"])):
        taint = {"key": t["key"], "value": t.get("value", ""), "effect": t["effect"]}
        if t.get("timeAdded"):
            taint["timeAdded"] = t["timeAdded"]
        taints.append(taint)
    if taints:
        entry["taints"] = taints
    return entry


def compared_sets(fleet: Fleet, hub: str, cluster_sets: list[dict[str, Any]]) -> set[str]:
    """The fleet's sets of this hub that exist on the hub: only their clusters are compared."""
    on_hub = {s["metadata"]["name"] for s in cluster_sets}
    return {s.name for s in fleet.sets_of(hub)} & on_hub


def hub_entries(fleet: Fleet, hub: str, clusters: list[dict[str, Any]],
                cluster_sets: list[dict[str, Any]]) -> tuple[dict[str, dict[str, Any]], list[str]]:
    """Inventory entries of every hub cluster that is a member of one of the fleet's sets of this
    hub, and notes on the rest (in no fleet set, or in several)."""
    on_hub = {s["metadata"]["name"] for s in cluster_sets}
    fleet_sets = {s.name for s in fleet.sets_of(hub)}
    entries: dict[str, dict[str, Any]] = {}
    notes = [f"cluster set {s} is not on the hub (not synced yet?): its clusters are not compared"
             for s in sorted(fleet_sets - on_hub)]
    for cluster in sorted(clusters, key=lambda c: c["metadata"]["name"]):
        name = cluster["metadata"]["name"]
        mine = [s for s in memberships(cluster, cluster_sets) if s in fleet_sets]
        if not mine:
            continue
        if len(mine) > 1:
            notes.append(f"cluster {name} is a member of several fleet sets ({', '.join(mine)}); recorded in {mine[0]}")
        entries[name] = inventory_entry(cluster, mine[0])
    return entries, notes
