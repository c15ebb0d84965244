"""The core's wrapping of plugin content into ACM governance objects, as the Policy Generator does.

Per hub overlay, in the governance namespace:
- one `Policy` per PolicyContent, annotated with standards / categories / controls;
- one `Placement` per distinct target, shared by every policy that targets it, and one
  `PlacementBinding` per Placement listing those policies;
- one `PolicySet` per concern;
- the `ManagedClusterSetBinding`s the governance Placements need in that namespace.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any, Mapping

from ..findings import Finding, InputError
from ..render.common import WAVE_BINDING, WAVE_POLICY, meta, obj
from ..spec.model import Fleet, Hub
from ..upstream import API_CLUSTER_V1BETA1, API_CLUSTER_V1BETA2, API_POLICY, API_POLICYSET
from .types import Concern, PolicyContent, Target

ANN_STANDARDS = "policy.open-cluster-management.io/standards"
ANN_CATEGORIES = "policy.open-cluster-management.io/categories"
ANN_CONTROLS = "policy.open-cluster-management.io/controls"
# The console shows it; the Policy Generator always writes it (internal/plugin.go createPolicy).
ANN_DESCRIPTION = "policy.open-cluster-management.io/description"
ANN_CONCERN = "fedfleet.io/concern"
ANN_RULE = "fedfleet.io/rule"
ANN_TARGET = "fedfleet.io/target"  # hub | job-clients:<job> | job-cluster-sets:<job> | cluster-set:<set>
# ACM's propagator names replicated policies "<namespace>.<name>", which must stay a valid label
# value: namespace + name <= 62 characters.
ACM_POLICY_NAME_LIMIT = 62
K8S_NAME_LIMIT = 63
# The hub's own ManagedCluster ("local-cluster" in ACM) carries local-cluster=true and sits in the
# `global` set every OCM hub has (DefaultClusterSet feature).
HUB_SELECTOR = {"matchLabels": {"local-cluster": "true"}}
GLOBAL_SET = "global"
# The Policy Generator adds these to every Placement it makes (internal/plugin.go createPlacement),
# so a policy keeps reporting on a cluster that is briefly unavailable or unreachable.
PG_TOLERATIONS = (
    {"key": "cluster.open-cluster-management.io/unavailable", "operator": "Exists"},
    {"key": "cluster.open-cluster-management.io/unreachable", "operator": "Exists"},
)
# "Every cluster of a set" means every one, tainted or not: an empty key with Exists tolerates
# every taint (ocm pkg/placement/plugins/tainttoleration/taint_toleration.go, isTaintTolerated),
# so, say, a data holder under maintenance=true:NoSelect still gets its claim.
TOLERATE_ALL = ({"operator": "Exists"},)
# An enforced object of a job's policy goes with the job: when the policy is deleted (the job
# left the specs), config-policy-controller deletes what it created
# (controllers/configurationpolicy_controller.go cleanUpChildObjects, DeleteIfCreated).
PRUNE_WITH_JOB = "DeleteIfCreated"


def fit_name(name: str, limit: int) -> str:
    """Shorten deterministically: a prefix plus 8 hex digits of the full name's SHA-256."""
    if len(name) <= limit:
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:8]
    return f"{name[: limit - 9].rstrip('-')}-{digest}"


@dataclass(frozen=True)
class WrappedPolicy:
    """One plugin policy as the core wraps it: its ACM name, remediation and Placement."""

    hub: str
    plugin: str
    concern: Concern
    content: PolicyContent
    name: str
    remediation: str
    placement: str  # the name of the governance Placement it is bound to

    @property
    def target(self) -> Target:
        return self.content.target

    @property
    def rule(self) -> str:
        return self.content.rule

    @property
    def controls(self) -> tuple[str, ...]:
        return (*self.concern.controls, *self.content.controls)


@dataclass(frozen=True)
class GovernancePlacement:
    name: str
    spec: Mapping[str, Any]
    annotations: Mapping[str, str] | None = None


@dataclass(frozen=True)
class HubGovernance:
    """Everything governance puts on one hub, typed; `render_hub` is the one place it becomes dicts."""

    hub: str
    namespace: str
    policy_limit: int  # characters left for a policy name in this namespace (ACM's limit)
    bound_sets: tuple[str, ...]  # the cluster sets the governance Placements need bound
    policies: tuple[WrappedPolicy, ...]  # in plugin order, then each plugin's own order
    placements: tuple[GovernancePlacement, ...]  # by name

    def policies_of(self, concern: str) -> tuple[WrappedPolicy, ...]:
        return tuple(w for w in self.policies if w.concern.name == concern)


def remediation_for(hub: Hub, fleet: Fleet, plugin: str, plugin_params: Mapping[str, Any],
                    content: PolicyContent) -> tuple[str, list[Finding]]:
    """The mode a policy runs in, and the input errors of a request it cannot honour.

    Precedence: the plugin's forced mode > per-policy override > plugin parameter > the hub
    environment's default. A forced mode is never overridden: a plugin parameter or per-policy
    override asking for the other mode is an input error naming the policy and why (it would turn
    a check that can only observe into one that creates empty Secrets or deletes jobs, or leave a
    policy that must write informing). The environment default is not a request; it never errs.
    """
    override = plugin_params.get("overrides", {}).get(content.name, {}).get("remediation")
    wide = plugin_params.get("remediation")
    if content.remediation is None:
        return override or wide or fleet.remediation[hub.environment], []
    errors = []
    why = content.forced_because or f"the {plugin} plugin forces it"
    for asked, path in ((override, ("overrides", content.name, "remediation")), (wide, ("remediation",))):
        if asked and asked != content.remediation:
            errors.append(Finding(
                "governance", f"policy {content.name!r} of plugin {plugin!r} can only {content.remediation}, "
                f"not {asked}: {why}", location=fleet.origin.locate("spec", "governance", "plugins", plugin, *path),
                field=".".join(("spec", "governance", "plugins", plugin, *path))))
    return content.remediation, errors


def placement_spec(fleet: Fleet, target: Target) -> tuple[str, dict[str, Any], list[str]]:
    """Name, Placement spec and the cluster sets it needs bound, for a target."""
    tolerations = [dict(t) for t in PG_TOLERATIONS]
    if target.kind == "hub":
        return "fedfleet-hub", {"clusterSets": [GLOBAL_SET], "predicates": [
            {"requiredClusterSelector": {"labelSelector": HUB_SELECTOR}}], "tolerations": tolerations}, [GLOBAL_SET]
    if target.kind == "cluster-set":
        return (f"fedfleet-set-{target.cluster_set}",
                {"clusterSets": [target.cluster_set], "tolerations": [dict(t) for t in TOLERATE_ALL]},
                [target.cluster_set])
    job = fleet.job(target.job)
    sets = sorted(fleet.job_cluster_sets(job))
    if target.kind == "job-cluster-sets":
        return f"fedfleet-sets-{job.name}", {"clusterSets": sets, "tolerations": [dict(t) for t in TOLERATE_ALL]}, sets
    # job-clients: the job's own client placement, so the policy follows what the job selects,
    # plus the Policy Generator's tolerations (a policy keeps reporting on an unreachable client).
    spec = job.effective_placement
    spec["clusterSets"] = sets
    own = list(spec.get("tolerations") or [])
    spec["tolerations"] = own + [t for t in tolerations if t not in own]
    return f"fedfleet-clients-{job.name}", spec, sets


def job_client_annotations(fleet: Fleet, job_name: str) -> dict[str, str]:
    """What Argo CD's Placement check (render/health/placement.lua) compares the selection with:
    a PlacementSpec has no minimum, the job's minAvailableClients is."""
    job = fleet.job(job_name)
    return {"fedfleet.io/job": job.name, "fedfleet.io/min-selected-clusters": str(job.min_clients)}


def wrap_hub(fleet: Fleet, hub: Hub, contributions: Mapping[str, tuple[Concern, list[PolicyContent]]],
             params: Mapping[str, Any]) -> HubGovernance:
    """All governance of one hub, deterministic in order and names."""
    ns = fleet.governance_namespace
    policy_limit = ACM_POLICY_NAME_LIMIT - len(ns)
    placements: dict[str, GovernancePlacement] = {}
    bound_sets: set[str] = set()
    wrapped: list[WrappedPolicy] = []
    seen: dict[str, str] = {}
    errors: list[Finding] = []
    for plugin, (concern, contents) in sorted(contributions.items()):
        plugin_params = params.get(plugin, {})
        for content in contents:
            if plugin_params.get("overrides", {}).get(content.name, {}).get("disabled"):
                continue
            full = f"{concern.name}-{content.name}"
            name = fit_name(full, policy_limit)
            if name in seen:
                raise InputError([Finding("governance", f"plugin {plugin!r}: policy {full!r} collides with "
                                          f"{seen[name]!r} as {name!r}")])
            seen[name] = full
            pl_name, pl_spec, sets = placement_spec(fleet, content.target)
            pl_name = fit_name(pl_name, K8S_NAME_LIMIT)
            notes = job_client_annotations(fleet, content.target.job) if content.target.kind == "job-clients" else None
            placements[pl_name] = GovernancePlacement(pl_name, pl_spec, notes)
            bound_sets.update(sets)
            remediation, asked_wrong = remediation_for(hub, fleet, plugin, plugin_params, content)
            errors += asked_wrong
            wrapped.append(WrappedPolicy(hub.name, plugin, concern, content, name, remediation, pl_name))
    if errors:
        raise InputError(errors)
    template_names(wrapped)
    return HubGovernance(hub.name, ns, policy_limit, tuple(sorted(bound_sets)), tuple(wrapped),
                         tuple(placements[n] for n in sorted(placements)))


def render_hub(g: HubGovernance) -> dict[str, list[dict[str, Any]]]:
    """The governance files of one hub overlay, as objects: shared objects (cluster-set bindings,
    placements, bindings) in governance/placements.yaml, each concern's policies and its PolicySet
    in governance/<concern>.yaml, so a diff reads by concern."""
    ns = g.namespace
    shared: list[dict[str, Any]] = []
    subjects_of: dict[str, list[str]] = {}  # placement -> its policies, in one pass
    for w in g.policies:
        subjects_of.setdefault(w.placement, []).append(w.name)
    for set_name in g.bound_sets:
        shared.append(obj(API_CLUSTER_V1BETA2, "ManagedClusterSetBinding", meta(set_name, ns, wave=WAVE_BINDING),
                          spec={"clusterSet": set_name}))
    for pl in g.placements:
        shared.append(obj(API_CLUSTER_V1BETA1, "Placement",
                          meta(pl.name, ns, wave=WAVE_POLICY, annotations=dict(pl.annotations) if pl.annotations else None),
                          spec=pl.spec))
        subjects = sorted(subjects_of.get(pl.name, []))
        shared.append({
            "apiVersion": API_POLICY, "kind": "PlacementBinding", "metadata": meta(pl.name, ns, wave=WAVE_POLICY),
            "placementRef": {"apiGroup": "cluster.open-cluster-management.io", "kind": "Placement", "name": pl.name},
            "subjects": [{"apiGroup": "policy.open-cluster-management.io", "kind": "Policy", "name": s} for s in subjects],
        })
    files: dict[str, list[dict[str, Any]]] = {}
    of_concern: dict[str, list[WrappedPolicy]] = {}
    for w in g.policies:
        of_concern.setdefault(w.concern.name, []).append(w)
    for concern_name in sorted(of_concern):
        members = of_concern[concern_name]
        concern = members[0].concern
        files[f"governance/{concern_name}.yaml"] = [_policy(w, ns) for w in members] + [obj(
            API_POLICYSET, "PolicySet",
            meta(fit_name(f"fedfleet-{concern_name}", g.policy_limit), ns, wave=WAVE_POLICY,
                 annotations={ANN_CONCERN: concern_name}),
            spec={"description": concern.title, "policies": sorted(w.name for w in members)})]
    if shared:
        files["governance/placements.yaml"] = shared
    return files


def target_label(target: Target) -> str:
    if target.kind == "hub":
        return "hub"
    return f"{target.kind}:{target.cluster_set if target.kind == 'cluster-set' else target.job}"


def _template_names(wp: WrappedPolicy) -> list[str]:
    if len(wp.content.templates) == 1:
        return [wp.name]
    return [fit_name(f"{wp.name}-{i + 1}", K8S_NAME_LIMIT) for i in range(len(wp.content.templates))]


def template_names(wrapped: list[WrappedPolicy]) -> None:
    """Every policy template of a hub has its own name. The propagator replicates every Policy of a
    placement into the same cluster namespace, where its templates become ConfigurationPolicies /
    CertificatePolicies by that name (governance-policy-framework's template-sync); `<policy>-<i>`
    of one policy may equal another policy's name, and the second would overwrite the first."""
    owner: dict[str, str] = {}
    for wp in wrapped:
        for name in _template_names(wp):
            if name in owner:
                raise InputError([Finding("governance", f"plugin {wp.plugin!r}: policy template {name!r} of policy "
                                          f"{wp.name!r} has the name of a template of policy {owner[name]!r}; "
                                          "rename one of the policies")])
            owner[name] = wp.name


def _policy(wp: WrappedPolicy, ns: str) -> dict[str, Any]:
    c, content = wp.concern, wp.content
    severity = content.severity or c.severity
    templates = []
    prune = wp.remediation == "enforce" and content.target.job != ""
    for t, tname in zip(content.templates, _template_names(wp)):
        spec = {**t.spec, "remediationAction": wp.remediation, "severity": severity}
        if prune and t.kind == "ConfigurationPolicy":
            spec["pruneObjectBehavior"] = PRUNE_WITH_JOB
        templates.append({"objectDefinition": {
            "apiVersion": API_POLICY, "kind": t.kind, "metadata": {"name": tname}, "spec": spec,
        }})
    # The Policy Generator joins these with "," (internal/plugin.go createPolicy, strings.Join).
    annotations = {
        ANN_STANDARDS: ",".join(c.standards),
        ANN_CATEGORIES: ",".join(c.categories),
        ANN_CONTROLS: ",".join(wp.controls),
        ANN_DESCRIPTION: content.description,
        ANN_CONCERN: c.name,
        # Replicated policies in cluster namespaces are ACM's, not Argo CD's to prune.
        "argocd.argoproj.io/compare-options": "IgnoreExtraneous",
    }
    if content.rule:
        annotations[ANN_RULE] = content.rule
    annotations[ANN_TARGET] = target_label(content.target)
    return obj(API_POLICY, "Policy",
               meta(wp.name, ns, wave=WAVE_POLICY, labels={ANN_CONCERN: c.name}, annotations=annotations),
               spec={"remediationAction": wp.remediation, "disabled": False, "policy-templates": templates})
