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
import itertools
from collections import defaultdict
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from functools import cached_property
from typing import Any, Callable, Iterable, Mapping, overload

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

EXAMPLES = 3  # example clusters per exclusion group


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
class ExclusionGroup:
    """Excluded clusters of one job with the same stage and reason: how many, the first few by name."""

    stage: str
    reason: str
    count: int
    examples: tuple[str, ...]


class Exclusions(Sequence[Exclusion]):
    """A job's candidates that are not selected, one Exclusion per cluster in name order.

    At 10,000 clusters a job excludes thousands of candidates, nearly all at the predicate stage;
    `len`, `groups` (by stage and reason) and `reason_of` come from the cluster index without a row
    per cluster (_PredicateStage), so the plan grows with the fleet, not with jobs x clusters. The
    rows themselves are made when iterated: `plan --all-exclusions`, `--explain`'s neighbours, tests."""

    def __init__(self, predicate: _PredicateStage, rows: list[Exclusion]) -> None:
        self._predicate = predicate
        self._rows = rows  # taint and numberOfClusters: among the matched clusters, few
        self._by_name = {e.cluster: e for e in rows}
        self._every: tuple[Exclusion, ...] | None = None
        self._groups: tuple[ExclusionGroup, ...] | None = None

    def __len__(self) -> int:
        return self._predicate.count + len(self._rows)

    def _all(self) -> tuple[Exclusion, ...]:
        if self._every is None:
            self._every = tuple(sorted([*self._predicate.rows(), *self._rows], key=lambda e: e.cluster))
        return self._every

    @overload
    def __getitem__(self, i: int) -> Exclusion: ...

    @overload
    def __getitem__(self, i: slice) -> tuple[Exclusion, ...]: ...

    def __getitem__(self, i: int | slice) -> Exclusion | tuple[Exclusion, ...]:
        return self._all()[i]

    def __iter__(self) -> Iterator[Exclusion]:
        return iter(self._all())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Exclusions):
            return self._all() == other._all()
        if isinstance(other, tuple):
            return self._all() == other
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._all())

    def __repr__(self) -> str:
        return f"Exclusions({len(self)} clusters)"

    def reason_of(self, cluster: str) -> str | None:
        """Why this candidate is out; None when it is not an excluded candidate."""
        row = self._by_name.get(cluster)
        return row.reason if row is not None else self._predicate.reason_of(cluster)

    @property
    def groups(self) -> tuple[ExclusionGroup, ...]:
        """The rows grouped by (stage, reason), largest group first, then by stage and reason;
        examples: the first EXAMPLES cluster names of the group."""
        if self._groups is None:
            found = self._predicate.groups()
            for e in self._rows:
                _add(found, (e.stage, e.reason), 1, [e.cluster])
            self._groups = tuple(ExclusionGroup(stage, reason, count, tuple(examples))
                                 for (stage, reason), (count, examples) in sorted(
                                     found.items(), key=lambda kv: (-kv[1][0], kv[0])))
        return self._groups


def _add(groups: dict[tuple[str, str], tuple[int, list[str]]], key: tuple[str, str], count: int,
         examples: list[str]) -> None:
    if key in groups:
        had, shown = groups[key]
        groups[key] = (had + count, sorted(shown + examples)[:EXAMPLES])
    else:
        groups[key] = (count, sorted(examples)[:EXAMPLES])


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
    excluded: Exclusions  # candidates (clusters of eligible sets) that were not selected
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
        found = self.excluded.reason_of(cluster)
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
        return self._by_name[name]

    @cached_property
    def _by_name(self) -> dict[str, JobPlan]:
        return {j.job: j for j in self.jobs}

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


def _holds(values: Mapping[str, str], expr: Mapping[str, Any]) -> bool:
    """_requirement_failure(...) is None, without the sentence (the schema allows these four operators)."""
    key, op = expr["key"], expr["operator"]
    if op == "Exists":
        return key in values
    if op == "In":
        return key in values and values[key] in (expr.get("values") or ())
    if op == "NotIn":
        return not (key in values and values[key] in (expr.get("values") or ()))
    return key not in values  # DoesNotExist


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

    @property
    def has_cel(self) -> bool:
        return self.cel is not None or bool(self.cel_errors)

    def cel_failure(self, cluster: Cluster, labels: Mapping[str, str]) -> str | None:
        if self.cel_errors:  # OCM: Misconfigured, the predicate selects nothing
            return self.cel_errors[0]
        if self.cel is None:
            return None
        return self.cel.failure(managed_cluster(cluster, labels), cluster.scores)

    def holds(self, labels: Mapping[str, str], cluster: Cluster) -> bool:
        """The cluster matches: labelSelector AND claimSelector AND celSelector (helpers/clusters.go,
        ClusterSelector.Matches)."""
        claims = cluster.claims
        return (all(_holds(labels, e) for e in self.label_exprs) and all(_holds(claims, e) for e in self.claim_exprs)
                and (not self.has_cel or self.cel_failure(cluster, labels) is None))

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


_NONE: frozenset[str] = frozenset()


@dataclass(frozen=True)
class _Grouping:
    """A cluster set's clusters grouped by their values of some label and claim keys: per group the
    labels and claims among those keys and the member names in order; and each member's group."""

    groups: tuple[tuple[dict[str, str], dict[str, str], list[str]], ...]
    group_of: dict[str, int]


class ClusterIndex:
    """Clusters indexed by set, label and claim, built once per plan: a job's selector is checked on
    the clusters its most selective requirement names, never on the whole fleet."""

    def __init__(self, fleet: Fleet) -> None:
        self.clusters: dict[str, Cluster] = {c.name: c for c in fleet.clusters}
        self.labels: dict[str, dict[str, str]] = {
            # Set membership is the label the bundle's ManagedClusterSets select on and its
            # `membership` policy writes (render/jobs.py cluster_set_objects); the preview sees it
            # as the hub will.
            c.name: {**c.labels, CLUSTER_SET_LABEL: c.cluster_set} for c in fleet.clusters
        }
        self.set_of: dict[str, str] = {c.name: c.cluster_set for c in fleet.clusters}
        by_set: dict[str, list[str]] = defaultdict(list)
        self.by_label: dict[tuple[str, str], set[str]] = defaultdict(set)
        self.by_label_key: dict[str, set[str]] = defaultdict(set)
        self.by_claim: dict[tuple[str, str], set[str]] = defaultdict(set)
        self.by_claim_key: dict[str, set[str]] = defaultdict(set)
        for c in fleet.clusters:
            by_set[c.cluster_set].append(c.name)
            for k, v in self.labels[c.name].items():
                self.by_label[(k, v)].add(c.name)
                self.by_label_key[k].add(c.name)
            for k, v in c.claims.items():
                self.by_claim[(k, v)].add(c.name)
                self.by_claim_key[k].add(c.name)
        self._members = {s: sorted(names) for s, names in by_set.items()}
        self._groupings: dict[tuple[str, tuple[str, ...], tuple[str, ...]], _Grouping] = {}
        self._kept = 0  # clusters in the groupings kept

    def members(self, cluster_set: str) -> list[str]:
        """The clusters of a set, by name."""
        return self._members.get(cluster_set, [])

    def _smallest(self, predicate: _Predicate) -> Collection[str] | None:
        """The clusters named by the predicate's most selective In or Exists requirement (a superset
        of what it matches), or None when it has none (NotIn and DoesNotExist only)."""
        best: tuple[int, Callable[[], Collection[str]]] | None = None
        for exprs, by_value, by_key in ((predicate.label_exprs, self.by_label, self.by_label_key),
                                        (predicate.claim_exprs, self.by_claim, self.by_claim_key)):
            for e in exprs:
                key, op = e["key"], e["operator"]
                if op == "Exists":
                    hit = by_key.get(key, _NONE)
                    option = (len(hit), lambda hit=hit: hit)
                elif op == "In":
                    hits = [by_value.get((key, v), _NONE) for v in dict.fromkeys(e.get("values") or ())]
                    option = (sum(len(h) for h in hits), lambda hits=hits: set().union(*hits))
                else:
                    continue
                if best is None or option[0] < best[0]:
                    best = option
        return best[1]() if best is not None else None

    def matching(self, predicates: list[_Predicate], sets: tuple[str, ...]) -> set[str]:
        """The clusters of `sets` that some predicate selects (predicates are ORed,
        plugins/predicate/predicate.go). Each predicate is checked on the clusters of its most
        selective positive requirement, or of the sets when that is fewer: fedfleet ANDs the job's
        data claim into every predicate, so that is the handful of clusters carrying the claim."""
        eligible = frozenset(sets)
        pool_size = sum(len(self.members(s)) for s in sets)
        out: set[str] = set()
        for predicate in predicates:
            named = self._smallest(predicate)
            candidates: Iterable[str] = (named if named is not None and len(named) < pool_size else
                                         (n for s in sets for n in self.members(s)))
            for name in candidates:
                if name not in out and self.set_of[name] in eligible and predicate.holds(self.labels[name],
                                                                                          self.clusters[name]):
                    out.add(name)
        return out

    def grouping(self, cluster_set: str, label_keys: tuple[str, ...], claim_keys: tuple[str, ...]) -> _Grouping:
        """The set's clusters grouped by their values of these keys; made once per plan for each
        (set, keys): the jobs of a fleet select on a few label keys each, so a few groupings serve all."""
        key = (cluster_set, label_keys, claim_keys)
        found = self._groupings.get(key)
        if found is None:
            slots: dict[tuple[tuple[str | None, ...], tuple[str | None, ...]], int] = {}
            groups: list[tuple[dict[str, str], dict[str, str], list[str]]] = []
            group_of: dict[str, int] = {}
            for name in self.members(cluster_set):
                labels, claims = self.labels[name], self.clusters[name].claims
                values = (tuple(labels.get(k) for k in label_keys), tuple(claims.get(k) for k in claim_keys))
                slot = slots.get(values)
                if slot is None:
                    slot = slots[values] = len(groups)
                    groups.append(({k: labels[k] for k in label_keys if k in labels},
                                   {k: claims[k] for k in claim_keys if k in claims}, []))
                groups[slot][2].append(name)
                group_of[name] = slot
            found = _Grouping(tuple(groups), group_of)
            # Kept for the next job with these keys, up to a few times the fleet in all: jobs that
            # each select on other keys must not keep a grouping each (jobs x clusters again).
            if self._kept + len(group_of) <= 4 * len(self.clusters):
                self._groupings[key] = found
                self._kept += len(group_of)
        return found


class _PredicateStage:
    """The candidates of one job that no predicate selects: counted, grouped by reason and explained
    one at a time from the index, without a row per cluster.

    A cluster's reason depends only on its values of the keys the predicates name (without CEL).
    Keys few clusters carry ("sparse": the job's data claim) are looked at cluster by cluster; the
    others split each set into a few groups of equal values (ClusterIndex.grouping), one reason per
    group. So a job costs its groups plus the clusters carrying its sparse keys, not its candidates."""

    def __init__(self, index: ClusterIndex, predicates: list[_Predicate], sets: tuple[str, ...],
                 matched: set[str]) -> None:
        self.index = index
        self.predicates = predicates
        self.sets = sets
        self.eligible = frozenset(sets)
        self.matched = matched
        self.candidates = sum(len(index.members(s)) for s in sets)
        self.count = self.candidates - len(matched)

    def _explain(self, labels: Mapping[str, str], claims: Mapping[str, str], cluster: Cluster | None) -> str:
        whys = [p.failure(labels, claims, cluster) or "?" for p in self.predicates]
        return whys[0] if len(whys) == 1 else "matches no predicate: " + "; ".join(
            f"#{i + 1} {w}" for i, w in enumerate(whys))

    def reason(self, name: str) -> str:
        cluster = self.index.clusters[name]
        return self._explain(self.index.labels[name], cluster.claims, cluster)

    def reason_of(self, name: str) -> str | None:
        out = self.index.set_of.get(name) in self.eligible and name not in self.matched
        return self.reason(name) if out else None

    def rows(self) -> Iterator[Exclusion]:
        for s in self.sets:
            for name in self.index.members(s):
                if name not in self.matched:
                    yield Exclusion(name, "predicate", functools.partial(self.reason, name))

    def groups(self) -> dict[tuple[str, str], tuple[int, list[str]]]:
        found: dict[tuple[str, str], tuple[int, list[str]]] = {}
        if any(p.has_cel for p in self.predicates):
            # CEL reads the whole ManagedCluster: no key projection stands for it.
            for e in self.rows():
                _add(found, ("predicate", e.reason), 1, [e.cluster])
            return found
        index = self.index
        limit = self.candidates // 8
        label_keys = sorted({e["key"] for p in self.predicates for e in p.label_exprs})
        claim_keys = sorted({e["key"] for p in self.predicates for e in p.claim_exprs})
        sparse_labels = [k for k in label_keys if len(index.by_label_key.get(k, _NONE)) <= limit]
        sparse_claims = [k for k in claim_keys if len(index.by_claim_key.get(k, _NONE)) <= limit]
        dense_labels = tuple(k for k in label_keys if k not in sparse_labels)
        dense_claims = tuple(k for k in claim_keys if k not in sparse_claims)
        # Explained one by one: the matched (not excluded here) and the carriers of a sparse key.
        special = set(self.matched)
        for k in sparse_labels:
            special.update(n for n in index.by_label_key.get(k, _NONE) if index.set_of[n] in self.eligible)
        for k in sparse_claims:
            special.update(n for n in index.by_claim_key.get(k, _NONE) if index.set_of[n] in self.eligible)
        by_set: dict[str, list[str]] = defaultdict(list)
        for name in special:
            by_set[index.set_of[name]].append(name)
        for s in self.sets:
            grouping = index.grouping(s, dense_labels, dense_claims)
            taken: dict[int, set[str]] = defaultdict(set)
            for name in by_set.get(s, ()):
                taken[grouping.group_of[name]].add(name)
            for slot, (labels, claims, names) in enumerate(grouping.groups):
                gone = taken.get(slot, _NONE)
                count = len(names) - len(gone)
                if count:
                    # none of the group carries a sparse key: the group's values are all there is
                    examples = list(itertools.islice((n for n in names if n not in gone), EXAMPLES))
                    _add(found, ("predicate", self._explain(labels, claims, None)), count, examples)
        for name in special - self.matched:
            _add(found, ("predicate", self.reason(name)), 1, [name])
        return found


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
    placement = job.shared_placement  # exactly what the controller will receive (read, never changed)
    subject = Subject.job(job.name, job.hub)
    findings: list[Finding] = []
    bound = sorted(bindings.get((job.hub, job.namespace), set()))
    eligible_sets = tuple(s for s in bound if not placement.get("clusterSets") or s in placement["clusterSets"])
    hub_sets = {s.name for s in fleet.sets_of(job.hub)}
    excluded_sets = [
        SetExclusion(set_name, len(index.members(set_name)), "not in a bound cluster set (" + (
            f"cluster set {set_name} is not bound to namespace {job.namespace})" if set_name not in bound
            else f"cluster set {set_name} is not in the placement's clusterSets)"))
        for set_name in sorted(hub_sets - set(eligible_sets))
    ]

    predicates = [_Predicate.from_spec(p) for p in placement.get("predicates", [])]
    for i, predicate in enumerate(predicates):
        if predicate.has_cel:
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
    matched = index.matching(predicates, eligible_sets)
    rows: list[Exclusion] = []  # the taint and numberOfClusters exclusions; the predicate's stay counted

    tolerations = list(placement.get("tolerations", []))
    feasible: list[Cluster] = []
    for name in sorted(matched):
        c = index.clusters[name]
        why = _taint_failure(c, tolerations, now)
        if why:
            rows.append(Exclusion(name, "taint", why))
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
            rows.append(Exclusion(s.name, "numberOfClusters", f"cut by numberOfClusters={n} ({comparison})"))

    if len(selected) < job.min_clients:
        findings.append(Finding(
            "plan", f"only {len(selected)} cluster(s) can be selected ({len(feasible)} feasible), fewer than "
            f"minAvailableClients={job.min_clients}: the job would stay Waiting",
            Severity.ERROR, job.origin.locate("spec", "server", "minAvailableClients"), "spec.server.minAvailableClients", subject))
    chosen = {s.name for s in selected}
    excluded = Exclusions(_PredicateStage(index, predicates, eligible_sets, matched), rows)
    set_reasons = {e.cluster_set: e.reason for e in excluded_sets}
    for holder in sorted(set(job.holders) - chosen):
        why = excluded.reason_of(holder) or set_reasons.get(index.set_of.get(holder, "")) or "not a candidate"
        findings.append(Finding("data-locality", f"{holder} holds the job's data but is not selected: {why}",
                                Severity.WARNING, job.origin.locate("spec", "data", "holders", holder),
                                f"spec.data.holders.{holder}", subject))
    for name in sorted(chosen - set(job.holders)):
        findings.append(Finding("data-locality", f"{name} is selected (it carries claim {job.data_claim}) but is not a "
                                "declared data holder of the job", Severity.WARNING,
                                job.origin.locate("spec", "data", "holders"), "spec.data.holders", subject))
    return JobPlan(
        job=job.name, hub=job.hub, namespace=job.namespace, bound_sets=tuple(bound),
        eligible_sets=eligible_sets, min_clients=job.min_clients, number_of_clusters=n,
        weights=weights, selected=tuple(selected), excluded=excluded,
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
