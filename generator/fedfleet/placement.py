"""plan: preview OCM Placement decisions for every job, offline, with a reason for every exclusion.

The rules follow OCM's scheduler (open-cluster-management-io/ocm):
- candidates: clusters of the cluster sets bound to the placement's namespace, narrowed by
  `spec.clusterSets` when given (pkg/placement/controllers/scheduling/scheduling_controller.go);
- filters in order: predicates, then taints/tolerations (schedule.go, NewPluginScheduler);
- predicates are ORed; inside one, labelSelector AND claimSelector AND celSelector
  (plugins/predicate/predicate.go; helpers/clusters.go, ClusterSelector.Matches); CEL is
  evaluated by fedfleet/cel.py against the ManagedCluster the inventory describes;
- taints: PreferNoSelect never filters, NoSelectIfNew only filters clusters not already decided,
  a toleration matches on effect (empty: any), key (empty: any) and Equal/Exists
  (plugins/tainttoleration/taint_toleration.go);
- weights: Exact mode uses the configurations alone; Additive (the default) adds them to the
  defaults Balance=1 and Steady=1; a weight of 0 drops a prioritizer (schedule.go, getWeights,
  getPrioritizers);
- scores: ResourceAllocatableCPU/Memory = int((ratio - 0.5) * 200) with
  ratio = (alloc - min) / (max - min) over the feasible clusters, 100 when all are equal, no score
  for a cluster that does not report the resource (plugins/resource/resource.go);
  Balance = 100 for a cluster no other placement decided (plugins/balance/balance.go);
  Steady = 100 for a cluster this placement already decided, else 0 (plugins/steady/steady.go);
- order: total = sum(score * weight), highest first, ties by cluster name ascending; then the first
  `numberOfClusters` are selected (schedule.go, Schedule and selectClusters).

The preview assumes a fresh hub: no PlacementDecision exists yet, so Balance gives every cluster
100, Steady gives 0, and NoSelectIfNew taints act like NoSelect. Those assumptions are part of the
plan's output.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Iterable, Mapping

from .cel import CompiledSelector, compile_selector
from .findings import Finding, Severity, Subject
from .spec.model import Cluster, Fleet, Job
from .upstream import CLUSTER_SET_LABEL

MAX_SCORE = 100  # plugins.MaxClusterScore
DEFAULT_WEIGHTS = {"Balance": 1, "Steady": 1}
ASSUMPTIONS = (
    "fresh hub: no PlacementDecision exists yet, so Balance scores every cluster 100 and Steady 0",
    "NoSelectIfNew taints exclude every cluster, as none is in an existing decision",
    "cluster labels and claims are those of the inventory in specs/ (`fedfleet inventory diff` checks "
    "them against the hub)",
)


# --- result model -----------------------------------------------------------------------------

@dataclass(frozen=True)
class ScoredCluster:
    name: str
    total: int
    scores: Mapping[str, int]  # prioritizer -> score before weighting


class Exclusion:
    """A candidate that is not selected, and why. A predicate's reason is worked out when first
    read: generate and check need who is out, `plan` also why (245,000 sentences at 10,000
    clusters, half of the plan's time)."""

    __slots__ = ("cluster", "stage", "_reason")

    def __init__(self, cluster: str, stage: str, reason: str | Callable[[], str]) -> None:
        self.cluster = cluster
        self.stage = stage  # clusterSet | predicate | taint | numberOfClusters
        self._reason = reason

    @property
    def reason(self) -> str:
        if callable(self._reason):
            self._reason = self._reason()
        return self._reason

    def _key(self) -> tuple[str, str, str]:
        return (self.cluster, self.stage, self.reason)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Exclusion) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        return f"Exclusion(cluster={self.cluster!r}, stage={self.stage!r}, reason={self.reason!r})"


@dataclass(frozen=True)
class SetExclusion:
    """Every cluster of a set is out for the same reason: kept per set, not per cluster, so the
    plan of a 10,000-cluster hub does not repeat the same sentence for each of them."""

    cluster_set: str
    clusters: int
    reason: str


@dataclass(frozen=True)
class Decision:
    """One cluster in one job's plan: selected with its scores, or the reason it is out."""

    job: str
    hub: str
    selected: ScoredCluster | None
    weights: Mapping[str, int]
    reason: str  # empty when selected


@dataclass(frozen=True)
class JobPlan:
    job: str
    hub: str
    namespace: str
    bound_sets: tuple[str, ...]
    eligible_sets: tuple[str, ...]
    min_clients: int
    number_of_clusters: int | None
    weights: Mapping[str, int]
    selected: tuple[ScoredCluster, ...]
    excluded: tuple[Exclusion, ...]  # candidates (clusters of eligible sets) that were not selected
    excluded_sets: tuple[SetExclusion, ...]  # the hub's cluster sets that are not candidates at all
    feasible: int  # clusters left after the filters
    findings: tuple[Finding, ...]
    origin: Any = field(repr=False, compare=False, default=None)

    @property
    def enough(self) -> bool:
        return len(self.selected) >= self.min_clients

    @property
    def cluster_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.selected)

    def reason_for(self, cluster: str, cluster_set: str, cluster_hub: str) -> str:
        """Why a cluster is not selected: its own exclusion, its set's, or that another hub manages it."""
        found = next((e.reason for e in self.excluded if e.cluster == cluster), None)
        found = found or next((e.reason for e in self.excluded_sets if e.cluster_set == cluster_set), None)
        # A cluster of another hub's set is neither a candidate nor in one of this hub's sets.
        return found or f"managed by hub {cluster_hub}, the job runs on hub {self.hub}"

    def decision(self, cluster: str, cluster_set: str, cluster_hub: str) -> Decision:
        chosen = next((s for s in self.selected if s.name == cluster), None)
        if chosen:
            return Decision(self.job, self.hub, chosen, self.weights, "")
        return Decision(self.job, self.hub, None, self.weights, self.reason_for(cluster, cluster_set, cluster_hub))


@dataclass(frozen=True)
class Plan:
    jobs: tuple[JobPlan, ...]
    assumptions: tuple[str, ...] = ASSUMPTIONS

    def job(self, name: str) -> JobPlan:
        return next(j for j in self.jobs if j.job == name)

    def explain(self, cluster: str, cluster_set: str, cluster_hub: str) -> list[Decision]:
        """One cluster across every planned job."""
        return [j.decision(cluster, cluster_set, cluster_hub) for j in self.jobs]

    def clusters_of(self, job: str) -> tuple[str, ...]:
        """The clusters a job runs on: what governance targets and the Flower preview simulates."""
        return self.job(job).cluster_names

    @property
    def findings(self) -> list[Finding]:
        return [f for j in self.jobs for f in j.findings]

    @property
    def ok(self) -> bool:
        return all(j.enough for j in self.jobs) and not any(f.severity is Severity.ERROR for f in self.findings)


# --- selectors --------------------------------------------------------------------------------

def _requirement_failure(values: Mapping[str, str], expr: Mapping[str, Any], what: str) -> str | None:
    """None when the requirement holds, else why not (k8s.io/apimachinery labels.Requirement)."""
    key, op = expr["key"], expr["operator"]
    allowed = list(expr.get("values") or [])
    present = key in values
    wanted = f"{key}={allowed[0]}" if expr.get("matchLabels") else f"{key} In [{', '.join(allowed)}]"
    if op == "In":
        if not present:
            return f"no {what} {key} (needs {wanted})"
        if values[key] not in allowed:
            return f"{what} {key}={values[key]} does not match {wanted}"
    elif op == "NotIn":
        if present and values[key] in allowed:
            return f"{what} {key}={values[key]} matches {key} NotIn [{', '.join(allowed)}]"
    elif op == "Exists":
        if not present:
            return f"no {what} {key}"
    elif op == "DoesNotExist":
        if present:
            return f"{what} {key} exists (needs DoesNotExist)"
    return None


@dataclass(frozen=True)
class _Predicate:
    label_exprs: tuple[Mapping[str, Any], ...]
    claim_exprs: tuple[Mapping[str, Any], ...]
    cel: CompiledSelector | None = None
    cel_errors: tuple[str, ...] = ()  # validation refuses these; kept so a plan never crashes

    @classmethod
    def from_spec(cls, predicate: Mapping[str, Any]) -> "_Predicate":
        sel = predicate.get("requiredClusterSelector", {})
        labels = sel.get("labelSelector", {})
        exprs = [{"key": k, "operator": "In", "values": [v], "matchLabels": True}
                 for k, v in sorted(labels.get("matchLabels", {}).items())]
        exprs += list(labels.get("matchExpressions", []))
        claims = list(sel.get("claimSelector", {}).get("matchExpressions", []))
        expressions = (sel.get("celSelector") or {}).get("celExpressions") or []
        if not expressions:
            return cls(tuple(exprs), tuple(claims))
        compiled, errors = compile_selector(expressions)
        return cls(tuple(exprs), tuple(claims), compiled, tuple(f"CEL expression {expressions[i]!r} does not "
                                                                f"compile: {m}" for i, m in errors))

    def cel_failure(self, cluster: Cluster, labels: Mapping[str, str]) -> str | None:
        if self.cel_errors:  # OCM: Misconfigured, the predicate selects nothing
            return self.cel_errors[0]
        if self.cel is None:
            return None
        return self.cel.failure(managed_cluster(cluster, labels), cluster.scores)

    def failure(self, labels: Mapping[str, str], claims: Mapping[str, str],
                cluster: Cluster | None = None) -> str | None:
        """Every requirement the cluster fails, so a reviewer sees all that must change."""
        whys = [_requirement_failure(labels, e, "label") for e in self.label_exprs]
        whys += [_requirement_failure(claims, e, "claim") for e in self.claim_exprs]
        if cluster is not None:
            whys.append(self.cel_failure(cluster, labels))
        failed = [w for w in whys if w]
        return " and ".join(failed) if failed else None


def _cpu(cores: float) -> str:
    return str(int(cores)) if float(cores).is_integer() else f"{round(cores * 1000)}m"


def managed_cluster(cluster: Cluster, labels: Mapping[str, str]) -> dict[str, Any]:
    """The ManagedCluster as OCM's CEL sees it (unstructured JSON, cel.go Validate): the
    inventory's labels (with the set label), claims as status.clusterClaims, allocatable and
    capacity as quantity strings (the exact value; the spelling may differ from the hub's)."""
    status: dict[str, Any] = {"clusterClaims": [{"name": k, "value": v} for k, v in sorted(cluster.claims.items())]}
    for key, cpu, memory in (("allocatable", cluster.allocatable_cpu, cluster.allocatable_memory),
                             ("capacity", cluster.capacity_cpu, cluster.capacity_memory)):
        resources = {}
        if cpu is not None:
            resources["cpu"] = _cpu(cpu)
        if memory is not None:
            resources["memory"] = str(int(memory)) if float(memory).is_integer() else _cpu(memory)
        if resources:
            status[key] = resources
    return {"apiVersion": "cluster.open-cluster-management.io/v1", "kind": "ManagedCluster",
            "metadata": {"name": cluster.name, "labels": dict(labels)}, "status": status}


class ClusterIndex:
    """Clusters indexed by set, label and claim, so a selector narrows by set algebra."""

    def __init__(self, fleet: Fleet) -> None:
        self.clusters: dict[str, Cluster] = {c.name: c for c in fleet.clusters}
        self.labels: dict[str, dict[str, str]] = {
            # Set membership is the label the bundle's ManagedClusterSets select on and its
            # `membership` policy writes (render/jobs.py cluster_set_objects); the preview sees it
            # as the hub will.
            c.name: {**c.labels, CLUSTER_SET_LABEL: c.cluster_set} for c in fleet.clusters
        }
        self.by_set: dict[str, set[str]] = defaultdict(set)
        self.by_label: dict[tuple[str, str], set[str]] = defaultdict(set)
        self.by_label_key: dict[str, set[str]] = defaultdict(set)
        self.by_claim: dict[tuple[str, str], set[str]] = defaultdict(set)
        self.by_claim_key: dict[str, set[str]] = defaultdict(set)
        for c in fleet.clusters:
            self.by_set[c.cluster_set].add(c.name)
            for k, v in self.labels[c.name].items():
                self.by_label[(k, v)].add(c.name)
                self.by_label_key[k].add(c.name)
            for k, v in c.claims.items():
                self.by_claim[(k, v)].add(c.name)
                self.by_claim_key[k].add(c.name)

    def _match(self, expr: Mapping[str, Any], pool: set[str], claims: bool) -> set[str]:
        by_value = self.by_claim if claims else self.by_label
        by_key = self.by_claim_key if claims else self.by_label_key
        key, op, values = expr["key"], expr["operator"], expr.get("values") or []
        if op in ("In", "NotIn"):
            hit: set[str] = set().union(*(by_value.get((key, v), set()) for v in values))
            return pool & hit if op == "In" else pool - hit
        if op == "Exists":
            return pool & by_key.get(key, set())
        return pool - by_key.get(key, set())  # DoesNotExist

    def matching(self, predicate: _Predicate, pool: set[str]) -> set[str]:
        out = set(pool)
        for expr in predicate.label_exprs:
            out = self._match(expr, out, claims=False)
        for expr in predicate.claim_exprs:
            out = self._match(expr, out, claims=True)
        if predicate.cel is not None or predicate.cel_errors:
            # CEL cannot be indexed: evaluated per cluster left after the label and claim algebra.
            out = {n for n in out if predicate.cel_failure(self.clusters[n], self.labels[n]) is None}
        return out


# --- taints -----------------------------------------------------------------------------------

def _taint_failure(cluster: Cluster, tolerations: list[Mapping[str, Any]], now: datetime) -> str | None:
    for taint in cluster.taints:
        if taint.effect == "PreferNoSelect":
            continue
        if not any(_tolerates(t, taint, now) for t in tolerations):
            value = f"={taint.value}" if taint.value else ""
            return f"taint {taint.key}{value}:{taint.effect} not tolerated"
    return None


def _tolerates(toleration: Mapping[str, Any], taint: Any, now: datetime) -> bool:
    if toleration.get("effect") and toleration["effect"] != taint.effect:
        return False
    if toleration.get("key") and toleration["key"] != taint.key:
        return False
    op = toleration.get("operator") or "Equal"
    if op == "Equal" and toleration.get("value", "") != taint.value:
        return False
    seconds = toleration.get("tolerationSeconds")
    if seconds is not None:
        if not taint.time_added:
            # OCM reads a missing timeAdded as Go's zero time (year 1), so the toleration has long
            # expired (plugins/tainttoleration/taint_toleration.go, isTolerationTimeExpired);
            # found by the OCM oracle, tests/oracles/test_oracle_placement.py.
            return False
        added = datetime.fromisoformat(taint.time_added.replace("Z", "+00:00"))
        return now < added + timedelta(seconds=seconds)
    return True


# --- prioritizers -----------------------------------------------------------------------------

def _weights(placement: Mapping[str, Any]) -> tuple[dict[str, int], list[str]]:
    policy = placement.get("prioritizerPolicy", {})
    weights: dict[str, int] = {} if policy.get("mode") == "Exact" else dict(DEFAULT_WEIGHTS)
    unsupported: list[str] = []
    for config in policy.get("configurations", []):
        coordinate = config["scoreCoordinate"]
        if coordinate.get("type", "BuiltIn") == "AddOn" or "addOn" in coordinate:
            addon = coordinate.get("addOn", {})
            unsupported.append(f"AddOn {addon.get('resourceName', '?')}/{addon.get('scoreName', '?')}")
            continue
        weights[coordinate["builtIn"]] = config.get("weight", 1)
    return {k: v for k, v in weights.items() if v != 0}, unsupported


def _resource_scores(clusters: list[Cluster], attr: str) -> dict[str, int]:
    reported = {c.name: getattr(c, f"allocatable_{attr}") for c in clusters
                if getattr(c, f"allocatable_{attr}") is not None and getattr(c, f"capacity_{attr}") is not None}
    if not reported:
        return {}
    low, high = min(reported.values()), max(reported.values())
    if high == low:
        return {name: MAX_SCORE for name in reported}
    # int() truncates toward zero, as Go's int64() conversion does.
    return {name: int(((v - low) / (high - low) - 0.5) * 2.0 * MAX_SCORE) for name, v in reported.items()}


def _scores(name: str, feasible: list[Cluster]) -> dict[str, int]:
    if name == "Balance":
        return {c.name: MAX_SCORE for c in feasible}
    if name == "Steady":
        return {c.name: 0 for c in feasible}
    if name == "ResourceAllocatableCPU":
        return _resource_scores(feasible, "cpu")
    return _resource_scores(feasible, "memory")


# --- planning ---------------------------------------------------------------------------------

def bound_sets(fleet: Fleet) -> dict[tuple[str, str], set[str]]:
    """(hub, namespace) -> cluster sets bound there by the bundle's ManagedClusterSetBindings."""
    out: dict[tuple[str, str], set[str]] = defaultdict(set)
    for job in fleet.jobs:
        out[(job.hub, job.namespace)].update(fleet.job_cluster_sets(job))
    return out


def plan_job(fleet: Fleet, job: Job, index: ClusterIndex, bindings: Mapping[tuple[str, str], set[str]],
             now: datetime) -> JobPlan:
    placement = job.effective_placement  # exactly what the controller will receive
    subject = Subject.job(job.name, job.hub)
    findings: list[Finding] = []
    bound = sorted(bindings.get((job.hub, job.namespace), set()))
    eligible_sets = [s for s in bound if not placement.get("clusterSets") or s in placement["clusterSets"]]
    hub_sets = {s.name for s in fleet.sets_of(job.hub)}
    excluded: list[Exclusion] = []
    excluded_sets = [
        SetExclusion(set_name, len(index.by_set.get(set_name, ())), "not in a bound cluster set (" + (
            f"cluster set {set_name} is not bound to namespace {job.namespace})" if set_name not in bound
            else f"cluster set {set_name} is not in the placement's clusterSets)"))
        for set_name in sorted(hub_sets - set(eligible_sets))
    ]

    pool: set[str] = set()
    for s in eligible_sets:
        pool |= index.by_set.get(s, set())
    predicates = [_Predicate.from_spec(p) for p in placement.get("predicates", [])]
    for i, predicate in enumerate(predicates):
        if predicate.cel is not None or predicate.cel_errors:
            # The FL controller copies spec.client.placement into its Placement, but its
            # FederatedLearning CRD (open-cluster-management.io/api v0.15.0 in its go.mod; the CRD's
            # requiredClusterSelector has labelSelector and claimSelector only) has no celSelector:
            # the API server prunes the unknown field and the hub would select WITHOUT it.
            fields = ("spec", "placement", "predicates", i, "requiredClusterSelector", "celSelector")
            findings.append(Finding(
                "plan", "celSelector is previewed as OCM evaluates it, but the FL controller's FederatedLearning "
                "CRD has no celSelector: the hub prunes it and selects without it (needs an FL controller "
                "built on an OCM API with celSelector)", Severity.ERROR, job.origin.locate(*fields),
                "spec.placement.predicates[].requiredClusterSelector.celSelector", subject))
    matched: set[str] = set()
    for predicate in predicates:
        matched |= index.matching(predicate, pool - matched)
    def predicate_reason(name: str) -> str:
        c = index.clusters[name]
        whys = [p.failure(index.labels[name], c.claims, c) or "?" for p in predicates]
        return whys[0] if len(whys) == 1 else "matches no predicate: " + "; ".join(
            f"#{i + 1} {w}" for i, w in enumerate(whys))

    for name in sorted(pool - matched):
        excluded.append(Exclusion(name, "predicate", functools.partial(predicate_reason, name)))

    tolerations = list(placement.get("tolerations", []))
    feasible: list[Cluster] = []
    for name in sorted(matched):
        c = index.clusters[name]
        why = _taint_failure(c, tolerations, now)
        if why:
            excluded.append(Exclusion(name, "taint", why))
        else:
            feasible.append(c)

    weights, unsupported = _weights(placement)
    for what in unsupported:
        findings.append(Finding("plan", f"prioritizer {what} reads AddOnPlacementScores from the live hub; "
                                "the preview cannot evaluate it and leaves it out of the scores",
                                Severity.WARNING, job.origin.locate("spec", "placement", "prioritizerPolicy"),
                                "spec.placement.prioritizerPolicy", subject))
    per_prioritizer = {name: _scores(name, feasible) for name in sorted(weights)}
    scored = [
        ScoredCluster(c.name, sum(per_prioritizer[p].get(c.name, 0) * w for p, w in weights.items()),
                      {p: per_prioritizer[p][c.name] for p in per_prioritizer if c.name in per_prioritizer[p]})
        for c in feasible
    ]
    scored.sort(key=lambda s: (-s.total, s.name))
    n = placement.get("numberOfClusters")
    selected = scored if n is None else scored[:n]
    if n is not None and len(scored) > n:
        floor = selected[-1].total if selected else 0
        for s in scored[n:]:
            comparison = f"score {s.total} < {floor}" if s.total < floor else f"score {s.total} = {floor}, name sorts after {selected[-1].name}"
            excluded.append(Exclusion(s.name, "numberOfClusters", f"cut by numberOfClusters={n} ({comparison})"))

    if len(selected) < job.min_clients:
        findings.append(Finding(
            "plan", f"only {len(selected)} cluster(s) can be selected ({len(feasible)} feasible), fewer than "
            f"minAvailableClients={job.min_clients}: the job would stay Waiting",
            Severity.ERROR, job.origin.locate("spec", "server", "minAvailableClients"), "spec.server.minAvailableClients", subject))
    chosen = {s.name for s in selected}
    out_of: dict[str, Exclusion | SetExclusion] = {e.cluster: e for e in excluded}
    out_of.update({h: e for e in excluded_sets for h in job.holders
                   if h in index.clusters and index.clusters[h].cluster_set == e.cluster_set})
    for holder in sorted(set(job.holders) - chosen):
        why = out_of[holder].reason if holder in out_of else "not a candidate"
        findings.append(Finding("data-locality", f"{holder} holds the job's data but is not selected: {why}",
                                Severity.WARNING, job.origin.locate("spec", "data", "holders", holder),
                                f"spec.data.holders.{holder}", subject))
    for name in sorted(chosen - set(job.holders)):
        findings.append(Finding("data-locality", f"{name} is selected (it carries claim {job.data_claim}) but is not a "
                                "declared data holder of the job", Severity.WARNING,
                                job.origin.locate("spec", "data", "holders"), "spec.data.holders", subject))
    return JobPlan(
        job=job.name, hub=job.hub, namespace=job.namespace, bound_sets=tuple(bound),
        eligible_sets=tuple(eligible_sets), min_clients=job.min_clients, number_of_clusters=n,
        weights=weights, selected=tuple(selected), excluded=tuple(sorted(excluded, key=lambda e: e.cluster)),
        excluded_sets=tuple(excluded_sets),
        feasible=len(feasible), findings=tuple(findings), origin=job.origin,
    )


class Planner:
    """The plan worked out per job when first asked: rendering needs the Flower jobs' clusters
    only (render/flower.py, pipeline's one-SuperNode-per-cluster check), and no built-in
    governance plugin reads the plan; `check`, `plan` and the audit ask for all of it (`.plan`).
    Anything else a Plan has (jobs, findings, ok, explain) is the whole plan's."""

    def __init__(self, fleet: Fleet, now: datetime | None = None) -> None:
        self._fleet = fleet
        self._now = now or datetime.now(timezone.utc)
        self._index: ClusterIndex | None = None
        self._bindings: Mapping[tuple[str, str], set[str]] = {}
        self._jobs: dict[str, JobPlan] = {}
        self._plan: Plan | None = None

    def job(self, name: str) -> JobPlan:
        if name not in self._jobs:
            if self._index is None:
                self._index = ClusterIndex(self._fleet)
                self._bindings = bound_sets(self._fleet)
            self._jobs[name] = plan_job(self._fleet, self._fleet.job(name), self._index, self._bindings, self._now)
        return self._jobs[name]

    def clusters_of(self, job: str) -> tuple[str, ...]:
        return self.job(job).cluster_names

    @property
    def planned(self) -> tuple[str, ...]:
        """The jobs worked out so far."""
        return tuple(self._jobs)

    @property
    def plan(self) -> Plan:
        if self._plan is None:
            self._plan = Plan(tuple(self.job(j.name) for j in self._fleet.jobs))
        return self._plan

    def __getattr__(self, name: str) -> Any:
        return getattr(self.plan, name)


def plan(fleet: Fleet, jobs: Iterable[str] = (), now: datetime | None = None) -> Plan:
    """The placement preview for the named jobs (all when none are named)."""
    wanted = set(jobs)
    index = ClusterIndex(fleet)
    bindings = bound_sets(fleet)
    moment = now or datetime.now(timezone.utc)
    return Plan(tuple(plan_job(fleet, j, index, bindings, moment)
                      for j in fleet.jobs if not wanted or j.name in wanted))
