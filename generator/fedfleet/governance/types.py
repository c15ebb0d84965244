"""What plugins hand to the core, and what the core hands to plugins. Frozen, typed, no behaviour."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, Mapping

from ..placement import Plan, Planner
from ..spec.model import Fleet, Hub, Job

TargetKind = Literal["hub", "job-clients", "job-cluster-sets", "cluster-set"]
Severity = Literal["low", "medium", "high", "critical"]
Remediation = Literal["inform", "enforce"]


@dataclass(frozen=True)
class Concern:
    """One governance concern: a plugin's identity on the ACM dashboard."""

    name: str  # DNS-1123 label; also the Rego package suffix (fedfleet.<name with _>)
    title: str
    description: str
    standards: tuple[str, ...]  # e.g. ("NIST SP 800-53",)
    categories: tuple[str, ...]  # e.g. ("SC System and Communications Protection",)
    controls: tuple[str, ...]  # e.g. ("SC-8 Transmission Confidentiality and Integrity",)
    severity: Severity = "medium"


@dataclass(frozen=True)
class Target:
    """Where a policy applies. The core turns it into a Placement (and the bindings it needs).

    - hub: the hub itself (its self-managed cluster, label local-cluster=true);
    - job-clients: the clusters the job runs on (the job's client placement, as the plan previews it);
    - job-cluster-sets: every cluster of the job's cluster sets;
    - cluster-set: every cluster of one set.
    """

    kind: TargetKind
    job: str = ""
    cluster_set: str = ""


@dataclass(frozen=True)
class Template:
    """One policy template. `kind` ConfigurationPolicy: `spec` holds object-templates (or
    object-templates-raw) and optionally namespaceSelector; CertificatePolicy: its spec. The core
    adds apiVersion, metadata, remediationAction and severity."""

    kind: Literal["ConfigurationPolicy", "CertificatePolicy"]
    spec: Mapping[str, Any]


@dataclass(frozen=True)
class PolicyContent:
    """A plugin's policy, before the core wraps it into Policy + Placement + PlacementBinding."""

    name: str  # short DNS-1123 name; the core prefixes the concern and fits ACM's length limit
    description: str
    target: Target
    templates: tuple[Template, ...]
    severity: Severity | None = None  # default: the concern's
    # Forces one mode whatever the fleet's parameters say, e.g. inform for a check that only
    # observes (status, "a Secret exists", "no job does X"); a parameter asking for the other mode
    # is an input error that names the policy and `forced_because`.
    remediation: Remediation | None = None
    forced_because: str = ""
    controls: tuple[str, ...] = ()  # extra controls for this policy only
    rule: str = ""  # the rule id, shared with its Rego twin (fedfleet policy list shows both)
    # False when no Rego rule can judge what this policy checks (cluster state: Secrets, status,
    # feature gates), even if a Rego rule of the same id checks something about the bundle: the
    # audit then reports the policy as having no twin, never as passing.
    twin: bool = True


@dataclass(frozen=True)
class GovernanceContext:
    """Everything a plugin may read for one hub. Read-only: plugins return data, never write."""

    fleet: Fleet
    plan: Plan | Planner  # placement.Planner: a job's plan is worked out when a plugin asks
    hub: Hub
    params: Mapping[str, Any] = field(default_factory=dict)  # this plugin's validated parameters

    @property
    def jobs(self) -> tuple[Job, ...]:
        return self.fleet.jobs_on(self.hub.name)

    @property
    def environment(self) -> str:
        return self.hub.environment
