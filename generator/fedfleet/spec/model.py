"""Frozen typed models of a validated fleet. Every entity keeps where it was declared."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Mapping

from ..findings import Location
from .yamlsource import Document, PathKey


@dataclass(frozen=True)
class Origin:
    """A node inside a spec document; `locate` finds a field below it."""

    doc: Document = field(repr=False, compare=False)
    path: PathKey = ()

    def locate(self, *sub: str | int) -> Location:
        return self.doc.locate(self.path + tuple(sub))

    @property
    def file(self) -> str:
        return self.doc.file

    @property
    def location(self) -> Location:
        return self.doc.locate(self.path)


@dataclass(frozen=True)
class Taint:
    key: str
    value: str
    effect: str  # NoSelect | PreferNoSelect | NoSelectIfNew
    time_added: str = ""


@dataclass(frozen=True)
class Cluster:
    name: str
    cluster_set: str
    labels: Mapping[str, str]
    claims: Mapping[str, str]
    # None when the inventory does not say: OCM's resource prioritizers then give no score
    # (pkg/placement/plugins/resource/resource.go skips clusters without allocatable/capacity).
    allocatable_cpu: float | None  # cores
    allocatable_memory: float | None  # bytes
    capacity_cpu: float | None
    capacity_memory: float | None
    taints: tuple[Taint, ...]
    origin: Origin = field(repr=False, compare=False)
    # AddOnPlacementScore name -> [{name, value}] (what OCM's CEL scores() returns)
    scores: Mapping[str, tuple[Mapping[str, Any], ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class Hub:
    name: str
    environment: str  # dev | staging | prod
    server: str
    tls_enabled: bool
    argocd_namespace: str
    argocd_project: str
    destination_server: str
    argocd_flavour: str  # openshift-gitops | argocd
    argocd_instance: str  # the ArgoCD CR's name (openshift-gitops flavour)
    origin: Origin = field(repr=False, compare=False)
    # Argo CD options: the revision the Application tracks ("" = the fleet's), syncPolicy key
    # overrides (None value = drop the key)
    argocd_target_revision: str = ""
    argocd_sync_policy: Mapping[str, Any] = field(default_factory=dict)
    # User kustomize content for the hub's overlay (resources, components, patches), verbatim
    kustomize: Mapping[str, Any] = field(default_factory=dict)
    # The FL controller's install namespace (fleet setting controller.namespace; the loader
    # defaults it to upstream.FL_CONTROLLER_NAMESPACE, where upstream `make deploy` installs it).
    controller_namespace: str = "open-cluster-management"
    # The FL controller image the bootstrap installs (controller.image; default
    # versions.FL_CONTROLLER_IMAGE) and where the spec set it: "hub", "defaults" or "" (not set).
    controller_image: str = ""
    controller_image_from: str = ""
    # How managed clusters reach this hub's SuperLinks: Route | LoadBalancer | NodePort ("" = unset).
    superlink_exposure: str = ""
    superlink_domain: str = ""  # Route / LoadBalancer: hosts superlink-<job>.<domain>
    superlink_node_address: str = ""  # NodePort: a hub node address managed clusters can reach
    superlink_node_ports: Mapping[str, int] = field(default_factory=dict)  # NodePort: job -> node port


@dataclass(frozen=True)
class ClusterSet:
    name: str
    hub: str
    origin: Origin = field(repr=False, compare=False)


@dataclass(frozen=True)
class Job:
    name: str
    hub: str
    namespace: str
    framework: str
    server: Mapping[str, Any]  # image, rounds, minAvailableClients, listeners, storage
    client_image: str
    data_claim: str
    holders: Mapping[str, str]  # cluster name -> local data path
    placement: Mapping[str, Any]  # the user's OCM PlacementSpec, before fedfleet adds the claim
    tls_enabled: bool
    simulation: Mapping[str, Any]
    origin: Origin = field(repr=False, compare=False)
    run: int = 1  # bumped in Git to re-run the job under a new object name

    @property
    def object_name(self) -> str:
        """The FederatedLearning's name: the job's for run 1, "<job>-run<N>" after. A finished or
        Failed FederatedLearning is never started again by the controller (Failed is terminal,
        Completed is not reconciled), so a re-run is a new object; Argo CD prunes the old one and
        the controller's finalizer removes what it made."""
        return self.name if self.run == 1 else f"{self.name}-run{self.run}"
    run_config: Mapping[str, Any] = field(default_factory=dict)
    validation: Mapping[str, Any] = field(default_factory=dict)  # the model quality gate; {} = none

    @property
    def gate(self) -> dict[str, Any]:
        """The validation with its defaults: metrics default to both (per-class recall is what
        shows a class the model never predicts)."""
        if not self.validation:
            return {}
        return {"metrics": ["accuracy", "perClassRecall"], **self.validation}

    @property
    def rounds(self) -> int:
        return int(self.server["rounds"])

    @property
    def min_clients(self) -> int:
        return int(self.server["minAvailableClients"])

    @property
    def effective_placement(self) -> dict[str, Any]:
        """The client PlacementSpec the FL controller receives (`shared_placement`), a fresh copy on
        every call, for callers to own."""
        return _copy_json(self.shared_placement)

    @cached_property
    def shared_placement(self) -> Mapping[str, Any]:
        """The client PlacementSpec the FL controller receives: the user's placement with the data
        claim's `Exists` ANDed into every predicate. Worked out once and shared: read it, never
        change it (`effective_placement` gives a copy to change).

        The FL controller takes the data path from the claimSelector expression with operator Exists
        (addon-contrib federated-learning-controller/internal/controller/federatedlearning_client.go,
        generateWorkload: the last such expression wins), so fedfleet's expression goes last in each
        predicate, and a job without predicates gets one that selects on the claim alone. The plan,
        the renderer, governance and Rego all read this one value.
        """
        placement = _copy_json(dict(self.placement))
        claim_expr = {"key": self.data_claim, "operator": "Exists"}
        predicates = placement.get("predicates") or [{"requiredClusterSelector": {}}]
        for predicate in predicates:
            selector = predicate.setdefault("requiredClusterSelector", {})
            claim_selector = selector.setdefault("claimSelector", {})
            exprs = [e for e in claim_selector.get("matchExpressions", []) if e != claim_expr]
            claim_selector["matchExpressions"] = exprs + [claim_expr]
        placement["predicates"] = predicates
        # OCM's API defaults scoreCoordinate.type to BuiltIn, but the FederatedLearning CRD embeds the
        # schema with `type` required, so fedfleet spells it out.
        for config in placement.get("prioritizerPolicy", {}).get("configurations", []):
            coordinate = config["scoreCoordinate"]
            coordinate.setdefault("type", "AddOn" if "addOn" in coordinate else "BuiltIn")
        return placement


def _copy_json(value: Any) -> Any:
    """A deep copy of YAML/JSON data (dicts, lists, scalars): several times faster than
    copy.deepcopy, which the renderer paid per job and per object; nesting is bounded by the
    spec reader's depth limit."""
    if type(value) is dict:
        return {k: _copy_json(v) for k, v in value.items()}
    if type(value) is list:
        return [_copy_json(v) for v in value]
    return value


@dataclass(frozen=True)
class ApplicationSet:
    """One Argo CD ApplicationSet, held by `holder`'s Argo CD, in place of the per-hub Applications
    of `hubs` (the holder among them)."""

    name: str
    holder: str
    hubs: tuple[str, ...]
    origin: Origin = field(repr=False, compare=False)


@dataclass(frozen=True)
class Fleet:
    name: str
    repo_url: str
    revision: str
    governance_namespace: str
    remediation: Mapping[str, str]  # environment -> inform | enforce
    hubs: tuple[Hub, ...]
    cluster_sets: tuple[ClusterSet, ...]
    clusters: tuple[Cluster, ...]
    jobs: tuple[Job, ...]
    plugin_params: Mapping[str, Any]
    origin: Origin = field(repr=False, compare=False)
    spec_dir: str = ""
    # base name (flower-addon, governance) -> user kustomize content for that base, verbatim
    base_kustomize: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    # spec.example: a template fleet whose hosts and images are placeholders on purpose; the
    # placeholder check reports them as warnings in every environment (checks/placeholders.py).
    example: bool = False
    allow_unvalidated_kinds: frozenset[str] = frozenset()  # "<apiVersion>/<kind>", validate/check
    application_set: ApplicationSet | None = None  # None: one Application per hub

    # Lookups by name; KeyError for an unknown name (validation guarantees every reference
    # between specs resolves, so only user input from the command line can miss).
    def hub(self, name: str) -> Hub:
        return self._hubs[name]

    def job(self, name: str) -> Job:
        return self._jobs[name]

    def cluster(self, name: str) -> Cluster:
        return self._clusters[name]

    def cluster_set(self, name: str) -> ClusterSet:
        return self._cluster_sets[name]

    # Indexes built on first use (the model is frozen; cached_property writes the instance dict).
    @cached_property
    def _hubs(self) -> dict[str, Hub]:
        return {h.name: h for h in self.hubs}

    @cached_property
    def _jobs(self) -> dict[str, Job]:
        return {j.name: j for j in self.jobs}

    @cached_property
    def _clusters(self) -> dict[str, Cluster]:
        return {c.name: c for c in self.clusters}

    @cached_property
    def _cluster_sets(self) -> dict[str, ClusterSet]:
        return {s.name: s for s in self.cluster_sets}

    def jobs_on(self, hub: str) -> tuple[Job, ...]:
        return tuple(j for j in self.jobs if j.hub == hub)

    def sets_of(self, hub: str) -> tuple[ClusterSet, ...]:
        return tuple(s for s in self.cluster_sets if s.hub == hub)

    def job_cluster_sets(self, job: Job) -> list[str]:
        """The sets a job may draw clients from: its placement's clusterSets, else every set of its hub."""
        return list(job.placement.get("clusterSets") or [s.name for s in self.sets_of(job.hub)])
