"""Governance agreement: the Rego twin (pull-request time) and ACM (config-policy-controller on the
cluster) give the same verdict for the same fleet and cluster state.

A case is a directory `governance/<rule>/<case>/` holding `case.yaml`:

    description: a prod job turns TLS off
    hub: hub-prod                  # the hub whose overlay is judged
    verdict: NonCompliant          # what both sides must say for the rule on that hub
    edits:                         # text edits, first occurrence: specs/ files before generating,
                                   # generated files (a hand edit of the overlay) after
    - {file: specs/jobs/mnist-eu.yaml, old: "tls: {enabled: true}", new: "tls: {enabled: false}"}
    absent: [...]                  # optional: baseline objects that are not running, {cluster, kind, name}

and optionally `hub.yaml` / `clusters.yaml`: more objects on the hub / on every managed cluster.
`twin: none` marks a rule without a Rego twin (only ACM is held to the verdict); a case with
`acm:` other than `dryrun` is judged elsewhere (tests/oracles/governance/README.md).

The cluster state a case describes:
- the hub (ACM's `local-cluster`): every object of the hub's overlay as kustomize builds it (what
  Argo CD applies), the hub's ManagedClusters with the inventory's labels (as the membership policy
  leaves them), `governance/baseline/hub.yaml` (what the platform runs: the FL controller,
  Available) and the case's `hub.yaml`;
- each managed cluster: a ClusterClaim per inventory claim (the claims the plan selected on),
  `governance/baseline/clusters.yaml` (the add-on agent and the metrics collector, Available) and
  the case's `clusters.yaml`.

Rego verdict: NonCompliant when the twin denies with the rule for the hub (a result naming the hub,
or a job of the hub). Besides the bundle, the twin sees `recorded.addons` (the hub state's
ManagedClusterAddOns, what the live audit reads), which registration.rego judges.
ACM verdict: every Policy of the hub's overlay annotated with the rule is replicated to each
cluster its target selects (hub templates resolved as the propagator would) and evaluated there by
`dryrun`; NonCompliant when any evaluation is.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from fedfleet import pipeline
from fedfleet.checks import rego
from fedfleet.checks.kustomize import build as kustomize_build
from fedfleet.governance.wrap import ANN_RULE, ANN_TARGET
from fedfleet.upstream import CLUSTER_SET_LABEL as CLUSTERSET_LABEL

from oracles.oracle_acm import dryrun, resolve_hub_templates
from oracles.oracle_tools import REPO

CASES = Path(__file__).parent / "governance"
BASELINE = CASES / "baseline"
HUB_CLUSTER = "local-cluster"  # ACM's name for the hub as a managed cluster
CLAIM_API = "cluster.open-cluster-management.io/v1alpha1"


@dataclass(frozen=True)
class Case:
    rule: str
    name: str
    path: Path
    hub: str
    verdict: str
    description: str
    edits: tuple[dict[str, str], ...]
    absent: tuple[dict[str, str], ...]
    twin: bool = True  # `twin: none`: the rule has no Rego twin; only ACM is held to the verdict

    @property
    def id(self) -> str:
        return f"{self.rule}/{self.name}"


def discover() -> list[Case]:
    """Every case directory: new fixtures only need to be dropped in."""
    out = []
    for case_yaml in sorted(CASES.glob("*/*/case.yaml")):
        if case_yaml.parent.parent == BASELINE:
            continue
        data = yaml.safe_load(case_yaml.read_text())
        if data.get("acm", "dryrun") != "dryrun":
            continue  # judged elsewhere (tls.certificates: tests/test_certificate_policy.py)
        out.append(Case(rule=case_yaml.parent.parent.name, name=case_yaml.parent.name, path=case_yaml.parent,
                        hub=data["hub"], verdict=data["verdict"], description=data["description"],
                        edits=tuple(data.get("edits", [])), absent=tuple(data.get("absent", [])),
                        twin=data.get("twin") != "none"))
    return out


@dataclass
class Evaluation:
    policy: str
    cluster: str
    compliant: bool
    messages: str


@dataclass
class Outcome:
    rego: str
    rego_results: list[str]
    acm: str
    acm_evaluations: list[Evaluation] = field(default_factory=list)


def _objects(path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d] if path.exists() else []


def _present(objects: list[dict[str, Any]], cluster: str, absent: tuple[dict[str, str], ...]) -> list[dict[str, Any]]:
    """The cluster's objects: a later object replaces an earlier one of the same identity (a
    case's object replaces the baseline's), and the case's absent ones are gone."""
    gone = {(a["kind"], a["name"]) for a in absent if a["cluster"] in (cluster, "*")}
    by_id = {(o["kind"], o["metadata"].get("namespace", ""), o["metadata"]["name"]): o for o in objects}
    return [o for (kind, _, name), o in by_id.items() if (kind, name) not in gone]


@dataclass
class Prepared:
    rendered: pipeline.Rendered
    built: dict[str, list[dict[str, Any]]]  # kustomization root -> objects, as Argo CD applies them


def _apply(case: Case, root: Path, edit: dict[str, str]) -> None:
    target = root / edit["file"]
    text = target.read_text()
    if edit["old"] not in text:
        raise AssertionError(f"{case.id}: edit not applicable, {edit['old']!r} is not in {edit['file']}")
    target.write_text(text.replace(edit["old"], edit["new"], 1))


def prepare(case: Case, root: Path) -> Prepared:
    """A scratch fleet repo: the example specs with the case's spec edits, generated, then the
    case's edits of generated files (a hand edit of the overlay), then every root built."""
    shutil.copytree(REPO / "specs", root / "specs")
    for edit in case.edits:
        if edit["file"].startswith("specs/"):
            _apply(case, root, edit)
    paths = pipeline.Paths(root / "specs", root)
    pipeline.generate(paths)
    rendered = pipeline.render(paths)
    for edit in case.edits:
        if not edit["file"].startswith("specs/"):
            _apply(case, root, edit)
    built = {f"{kind}/{hub.name}": kustomize_build(root / kind / hub.name)
             for hub in rendered.fleet.hubs for kind in ("overlays", "bootstrap")}
    return Prepared(rendered, built)


def rego_verdict(case: Case, prepared: Prepared) -> tuple[str, list[str]]:
    """The twin over the built roots, as `fedfleet check` evaluates it (checks/built.py as_bundle)."""
    rendered = prepared.rendered
    bundle = {f"{root}/(built)": objs for root, objs in prepared.built.items()}
    modules = [m for m in rego.plugin_modules(rendered.registry.rego_modules()) if not m.name.endswith("_test.rego")]
    document = rego.build_input(rendered.fleet, rendered.plan, bundle)
    # What the live audit reads from the hub and a twin may judge (registration.rego): the
    # ManagedClusterAddOns of the case's hub state.
    document["recorded"] = {"addons": {case.hub: [o for o in _hub_objects(case) if o["kind"] == "ManagedClusterAddOn"]}}
    results = rego.EmbeddedEngine().evaluate(modules, document)
    jobs_of_hub = {j.name for j in rendered.fleet.jobs if j.hub == case.hub}
    denied = [item for sets in results.values() for item in sets.get("deny", [])
              if isinstance(item, dict) and item.get("rule") == case.rule
              and (item.get("hub") == case.hub or item.get("job") in jobs_of_hub)]
    return ("NonCompliant" if denied else "Compliant"), [str(d.get("msg")) for d in denied]


def _hub_objects(case: Case) -> list[dict[str, Any]]:
    """The objects the platform and the case put on the hub (what the overlay applies excluded)."""
    return _present(_objects(BASELINE / "hub.yaml") + _objects(case.path / "hub.yaml"), HUB_CLUSTER, case.absent)


def _targets(rendered: pipeline.Rendered, target: str) -> list[str]:
    """The clusters a governance Placement selects, by the target the core wrapped it for. Job
    clients are the plan's selection, which tests/oracles/test_oracle_placement.py holds to OCM's."""
    kind, _, arg = target.partition(":")
    fleet = rendered.fleet
    if kind == "hub":
        return [HUB_CLUSTER]
    if kind == "job-clients":
        return list(rendered.plan.clusters_of(arg))
    if kind == "job-cluster-sets":
        job = next(j for j in fleet.jobs if j.name == arg)
        sets = set(fleet.job_cluster_sets(job))
        return sorted(c.name for c in fleet.clusters if c.cluster_set in sets)
    if kind == "cluster-set":
        return sorted(c.name for c in fleet.clusters if c.cluster_set == arg)
    raise AssertionError(f"unknown governance target {target!r}")


def acm_verdict(case: Case, prepared: Prepared, scratch: Path) -> tuple[str, list[Evaluation]]:
    rendered = prepared.rendered
    fleet = rendered.fleet
    hub_sets = {s.name for s in fleet.sets_of(case.hub)}
    clusters = {c.name: c for c in fleet.clusters if c.cluster_set in hub_sets}
    managed = [{"apiVersion": "cluster.open-cluster-management.io/v1", "kind": "ManagedCluster",
                "metadata": {"name": c.name, "labels": {**c.labels, CLUSTERSET_LABEL: c.cluster_set}},
                "spec": {"hubAcceptsClient": True}} for c in clusters.values()]
    managed.append({"apiVersion": "cluster.open-cluster-management.io/v1", "kind": "ManagedCluster",
                    "metadata": {"name": HUB_CLUSTER, "labels": {"local-cluster": "true"}},
                    "spec": {"hubAcceptsClient": True}})
    overlay = prepared.built[f"overlays/{case.hub}"]
    hub_state = _present(overlay + managed + _objects(BASELINE / "hub.yaml") + _objects(case.path / "hub.yaml"),
                         HUB_CLUSTER, case.absent)
    on_clusters = _objects(BASELINE / "clusters.yaml") + _objects(case.path / "clusters.yaml")

    def state(cluster: str) -> list[dict[str, Any]]:
        if cluster == HUB_CLUSTER:
            return hub_state
        claims = [{"apiVersion": CLAIM_API, "kind": "ClusterClaim", "metadata": {"name": k}, "spec": {"value": v}}
                  for k, v in sorted(clusters[cluster].claims.items())]
        return _present(claims + on_clusters, cluster, case.absent)

    evaluations: list[Evaluation] = []
    policies = [o for o in overlay if o["kind"] == "Policy"
                and o["metadata"].get("annotations", {}).get(ANN_RULE) == case.rule]
    if not policies:
        raise AssertionError(f"{case.id}: the overlay of {case.hub} has no Policy for rule {case.rule}")
    labels = {**{n: {**c.labels, CLUSTERSET_LABEL: c.cluster_set} for n, c in clusters.items()},
              HUB_CLUSTER: {"local-cluster": "true"}}
    for policy in policies:
        targets = _targets(rendered, policy["metadata"]["annotations"][ANN_TARGET])
        replicated = resolve_hub_templates(policy, {t: labels[t] for t in targets}, hub_state, scratch)
        for cluster in targets:
            name = f"{policy['metadata']['name']}@{cluster}"
            v = dryrun(replicated[cluster], state(cluster), scratch, name)
            evaluations.append(Evaluation(policy["metadata"]["name"], cluster, v.compliant, v.messages))
    verdict = "Compliant" if all(e.compliant for e in evaluations) else "NonCompliant"
    return verdict, evaluations


def evaluate(case: Case, scratch: Path) -> Outcome:
    prepared = prepare(case, scratch / "repo")
    rego_word, rego_results = rego_verdict(case, prepared) if case.twin else ("(no twin)", [])
    acm_word, evaluations = acm_verdict(case, prepared, scratch)
    return Outcome(rego_word, rego_results, acm_word, evaluations)


def report(case: Case, outcome: Outcome) -> str:
    """Both verdicts and why, side by side."""
    lines = [f"{case.id} ({case.hub}): {case.description}",
             f"  expected {case.verdict:<13} Rego twin {outcome.rego:<13} ACM (dryrun) {outcome.acm}"]
    lines += [f"  rego deny: {m}" for m in outcome.rego_results]
    for e in outcome.acm_evaluations:
        if not e.compliant:
            lines.append(f"  acm {e.policy} on {e.cluster}: NonCompliant: {e.messages.splitlines()[0] if e.messages else ''}")
    return "\n".join(lines)
