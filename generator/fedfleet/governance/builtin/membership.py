"""membership: the hub's ManagedClusters carry what the inventory says the plan relies on.

The bundle's ManagedClusterSets select `fedfleet.io/cluster-set=<set>` (render/jobs.py); nothing in
OCM puts that label, or the labels job placements select on (gpu, region, ...), on a
ManagedCluster. This plugin does, with one enforced ConfigurationPolicy on the hub per cluster set
(split in chunks so one Policy stays far below etcd's object size limit): `musthave`
ManagedCluster <name> with those labels. `musthave` merges: labels ACM or people put on the
cluster stay. Each object template is guarded by a managed-cluster `lookup` of the ManagedCluster
(resolved on the hub's own local-cluster), so a cluster the inventory lists but the hub does not
have is never created by the policy, only reported by `fedfleet inventory diff`.

Which labels: `fedfleet.io/cluster-set`, and every label key a job of the hub selects on
(matchLabels and matchExpressions keys of its predicates), with the inventory's value where the
inventory gives the cluster one. Labels nobody selects on are not touched, so ACM's own labels
(openshiftVersion, ...) never fight the policy.
"""

from __future__ import annotations

from typing import Any, Mapping

from fedfleet.governance import Cluster, Concern, GovernanceContext, Job, PolicyContent, Target, Template, hookimpl
from fedfleet.upstream import API_CLUSTER_V1, CLUSTER_SET_LABEL

from . import rego_module

CHUNK = 400  # clusters per Policy: ~300 bytes each keeps a Policy near 120 KiB


@hookimpl
def fedfleet_concern() -> Concern:
    return Concern(
        name="membership",
        title="Cluster-set membership and the labels placements select on are those of the inventory",
        description="Every ManagedCluster of the fleet's cluster sets carries fedfleet.io/cluster-set=<set> and the "
                    "labels job placements select on, as declared in specs/clusters, so the sets and the job "
                    "placements select on the hub what the plan previewed.",
        standards=("NIST SP 800-53",),
        categories=("CM Configuration Management",),
        controls=("CM-8 System Component Inventory", "CM-2 Baseline Configuration"),
        severity="high",
    )


@hookimpl
def fedfleet_parameters_schema() -> Mapping[str, Any]:
    return {}


def selected_label_keys(jobs: tuple[Job, ...]) -> set[str]:
    """Every label key a job's client placement selects on."""
    keys: set[str] = set()
    for job in jobs:
        for predicate in job.placement.get("predicates") or []:
            selector = (predicate.get("requiredClusterSelector") or {}).get("labelSelector") or {}
            keys |= set(selector.get("matchLabels") or {})
            keys |= {e["key"] for e in selector.get("matchExpressions") or []}
    return keys


def membership_labels(cluster: Cluster, keys: set[str]) -> dict[str, str]:
    labels = {k: cluster.labels[k] for k in sorted(keys) if k in cluster.labels and k != CLUSTER_SET_LABEL}
    return {CLUSTER_SET_LABEL: cluster.cluster_set, **labels}


def _quote(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"  # YAML single-quoted: every label value stays a string


def labels_templates_raw(clusters: list[Cluster], keys: set[str]) -> str:
    """object-templates-raw: per cluster, `musthave` its labels if the ManagedCluster exists."""
    out = []
    for c in clusters:
        labels = "".join(f"        {_quote(k)}: {_quote(v)}\n" for k, v in membership_labels(c, keys).items())
        out.append(
            f'{{{{- if (lookup "{API_CLUSTER_V1}" "ManagedCluster" "" "{c.name}") }}}}\n'
            f"- complianceType: musthave\n"
            f"  objectDefinition:\n"
            f"    apiVersion: {API_CLUSTER_V1}\n"
            f"    kind: ManagedCluster\n"
            f"    metadata:\n"
            f"      name: {c.name}\n"
            f"      labels:\n"
            f"{labels}"
            f"{{{{- end }}}}\n"
        )
    return "".join(out)


@hookimpl
def fedfleet_policies(context: GovernanceContext) -> list[PolicyContent]:
    keys = selected_label_keys(context.jobs)
    by_set: dict[str, list[Cluster]] = {}  # one pass over the fleet, not one per set
    for c in context.fleet.clusters:
        by_set.setdefault(c.cluster_set, []).append(c)
    out = []
    for cs in sorted(context.fleet.sets_of(context.hub.name), key=lambda s: s.name):
        members = sorted(by_set.get(cs.name, []), key=lambda c: c.name)
        chunks = [members[i:i + CHUNK] for i in range(0, len(members), CHUNK)]
        for n, chunk in enumerate(chunks):
            name = cs.name if len(chunks) == 1 else f"{cs.name}-{n + 1}"
            out.append(PolicyContent(
                name=name, rule="membership.labels", remediation="enforce",
                forced_because="an informing membership policy labels no ManagedCluster, so every fleet set would stay "
                               "empty and every job Waiting",
                description=f"{len(chunk)} ManagedCluster(s) of cluster set {cs.name} carry {CLUSTER_SET_LABEL}="
                            f"{cs.name} and the labels job placements select on ({', '.join(sorted(keys)) or 'none'})",
                target=Target("hub"),
                templates=(Template("ConfigurationPolicy", {"object-templates-raw": labels_templates_raw(chunk, keys)}),),
            ))
    return out


@hookimpl
def fedfleet_rego_modules() -> Mapping[str, str]:
    return rego_module("membership")
