"""Semantic checks the schema cannot express: uniqueness, references, Kubernetes limits.

Every check appends findings; nothing stops at the first problem.
"""

from __future__ import annotations

import posixpath
from collections import Counter
from typing import Any, Callable, Mapping

from ..findings import Finding, Subject
from .exposure import unreachable_reason
from .model import ApplicationSet, Cluster, Fleet, Hub, Job, Origin
from .paths import inside_repo
from .yamlsource import dotted

# Names fedfleet derives from a hub and job name must stay DNS-1123 labels (<= 63 characters):
# "fedfleet-<hub>" for the Argo CD Application, "<job>" for the FederatedLearning, its Placement
# and ManifestWorks (the controller reuses the job's name for them).
HUB_NAME_LIMIT = 63 - len("fedfleet-")


def check(fleet: Fleet) -> list[Finding]:
    out: list[Finding] = []

    def err(origin: Origin, fields: tuple[str | int, ...], message: str, subject: Subject | None = None) -> None:
        path = origin.path + fields
        out.append(Finding("semantic", message, location=origin.doc.locate(path), field=dotted(path), subject=subject))

    _unique(fleet.hubs, "hub", lambda h: h.name, err)
    _unique(fleet.cluster_sets, "cluster set", lambda s: s.name, err)
    _unique(fleet.clusters, "cluster", lambda c: c.name, err)
    # Job names are global: the data claim "<job>.client-data" lives on clusters shared by all hubs.
    _unique(fleet.jobs, "job", lambda j: j.name, err, fields=("metadata", "name"))

    hubs = {h.name: h for h in fleet.hubs}
    sets = {s.name: s for s in fleet.cluster_sets}
    clusters = {c.name: c for c in fleet.clusters}

    for hub in fleet.hubs:
        if len(hub.name) > HUB_NAME_LIMIT:
            err(hub.origin, ("name",), f"hub name is {len(hub.name)} characters; at most {HUB_NAME_LIMIT} "
                "so that the Argo CD Application 'fedfleet-<hub>' stays a valid name")
        _argocd_flavour(hub, err)
        _kustomize_paths(hub.origin, hub.kustomize, f"overlays/{hub.name}", err)
    for base, content in fleet.base_kustomize.items():
        _kustomize_paths(Origin(fleet.origin.doc, ("spec", "bases", base)), content, f"bases/{base}", err)
    for cs in fleet.cluster_sets:
        if cs.hub not in hubs:
            err(cs.origin, ("hub",), f"cluster set {cs.name!r} names hub {cs.hub!r}, which the fleet does not declare")
    for c in fleet.clusters:
        if c.cluster_set not in sets:
            err(c.origin, ("clusterSet",), f"cluster {c.name!r} names cluster set {c.cluster_set!r}, which the fleet "
                f"does not declare; the declared sets are: {', '.join(sorted(sets)) or 'none'}")
        for kind in ("cpu", "memory"):
            alloc = getattr(c, f"allocatable_{kind}")
            cap = getattr(c, f"capacity_{kind}")
            if alloc is not None and cap is not None and alloc > cap:
                err(c.origin, ("allocatable", kind), f"allocatable {kind} exceeds capacity on cluster {c.name!r}")

    for job in fleet.jobs:
        o = job.origin
        subject = Subject.job(job.name, job.hub)
        if job.hub not in hubs:
            err(o, ("spec", "hub"), f"job names hub {job.hub!r}, which the fleet does not declare", subject)
            continue
        hub = hubs[job.hub]
        for i, set_name in enumerate(job.placement.get("clusterSets", [])):
            if set_name not in sets:
                own = sorted(cs.name for cs in fleet.cluster_sets if cs.hub == job.hub)
                err(o, ("spec", "placement", "clusterSets", i), f"cluster set {set_name!r} is not declared; the sets "
                    f"of hub {job.hub} are: {', '.join(own) or 'none'}", subject)
            elif sets[set_name].hub != job.hub:
                err(o, ("spec", "placement", "clusterSets", i),
                    f"cluster set {set_name!r} belongs to hub {sets[set_name].hub!r}, not to the job's hub {job.hub!r}", subject)
        job_sets = set(fleet.job_cluster_sets(job))
        for cluster_name in job.holders:
            if cluster_name not in clusters:
                err(o, ("spec", "data", "holders", cluster_name), f"data holder {cluster_name!r} is not a declared cluster", subject)
            elif clusters[cluster_name].cluster_set not in job_sets:
                err(o, ("spec", "data", "holders", cluster_name),
                    f"data holder {cluster_name!r} is in cluster set {clusters[cluster_name].cluster_set!r}, "
                    f"outside the job's cluster sets ({', '.join(sorted(job_sets))})", subject)
            else:
                _one_data_path(job, clusters[cluster_name], err)
        _cel_expressions(job, err, subject)
        n = job.placement.get("numberOfClusters")
        if n is not None and n < job.min_clients:
            err(o, ("spec", "placement", "numberOfClusters"),
                f"numberOfClusters={n} can never reach minAvailableClients={job.min_clients}", subject)
        if job.tls_enabled and not hub.tls_enabled:
            err(o, ("spec", "tls", "enabled"), f"job asks for TLS but hub {hub.name!r} runs the Flower add-on without TLS", subject)
        app = job.simulation.get("app")
        if app and inside_repo(fleet.spec_dir or ".", app) is None:
            err(o, ("spec", "simulation", "app"), f"the simulation app {app!r} leaves the repository; name a "
                "directory inside it, relative to the repository root", subject)
        _validation(job, err, subject)
        # Storage and listener rules are the FL controller's, per framework: spec/contract.py.
        seen: Counter[str] = Counter(li["name"] for li in job.server.get("listeners", []))
        for li_name, count in seen.items():
            if count > 1:
                err(o, ("spec", "server", "listeners"), f"listener name {li_name!r} is used {count} times", subject)
    _superlink_exposure(fleet, err)
    if fleet.application_set is not None:
        _application_set(fleet, fleet.application_set, hubs, err)
    return out


def _application_set(fleet: Fleet, appset: ApplicationSet, hubs: Mapping[str, Hub], err) -> None:  # type: ignore[no-untyped-def]
    """The ApplicationSet form must give the same Applications as the per-hub form. The
    applicationset-controller creates every Application in the ApplicationSet's own namespace
    (argo-cd applicationset/controllers/template/template.go GenerateApplications:
    `app.Namespace = applicationSetInfo.Namespace`), so every member hub must name the holder's
    Argo CD namespace; and one Argo CD deploying two overlays to one destination would make them
    fight over the same cluster, so each member needs a destination of its own (the hub's API
    server as the holder's Argo CD knows it, argocd.destinationServer)."""
    o = appset.origin
    for i, name in enumerate(appset.hubs):
        if name not in hubs:
            err(o, ("hubs", i), f"applicationSet names hub {name!r}, which the fleet does not declare")
    if appset.holder not in hubs:
        err(o, ("hub",), f"applicationSet is held by hub {appset.holder!r}, which the fleet does not declare")
        return
    if appset.holder not in appset.hubs:
        err(o, ("hub",), f"the holder {appset.holder!r} is not one of the applicationSet's hubs "
            f"({', '.join(appset.hubs)}); its own Application would have nowhere to come from")
    holder = hubs[appset.holder]
    destinations: dict[str, str] = {}
    for name in appset.hubs:
        hub = hubs.get(name)
        if hub is None:
            continue
        if hub.argocd_namespace != holder.argocd_namespace:
            err(hub.origin, ("argocd", "namespace"),
                f"hub {name!r} is in applicationSet {appset.name!r}, whose Applications live in the namespace of "
                f"{holder.name!r}'s Argo CD ({holder.argocd_namespace!r}), not {hub.argocd_namespace!r}")
        if hub.destination_server in destinations:
            err(hub.origin, ("argocd", "destinationServer"),
                f"hubs {destinations[hub.destination_server]!r} and {name!r} of applicationSet {appset.name!r} both "
                f"deploy to {hub.destination_server}; set argocd.destinationServer to each hub's API server as "
                f"{holder.name!r}'s Argo CD knows it")
        destinations.setdefault(hub.destination_server, name)


def _kustomize_paths(origin: Origin, content: Mapping[str, Any], directory: str, err) -> None:  # type: ignore[no-untyped-def]
    """User kustomize paths stay in the repository and on this disk: relative to the
    kustomization's directory, not absolute, not remote (builds here and in CI are offline)."""
    entries = [("resources", i, p) for i, p in enumerate(content.get("resources", []))]
    entries += [("components", i, p) for i, p in enumerate(content.get("components", []))]
    entries += [("patches", i, p["path"]) for i, p in enumerate(content.get("patches", [])) if "path" in p]
    for key, i, path in entries:
        fields = ("kustomize", key, i) + (("path",) if key == "patches" else ())
        if "://" in path or path.startswith(("github.com/", "git@")):
            err(origin, fields, f"{path!r} is a remote kustomize target: vendor it into the repository (builds "
                "are offline and reproducible)")
        elif path.startswith("/"):
            err(origin, fields, f"{path!r} is absolute: name it relative to {directory}/, as kustomize does")
        elif posixpath.normpath(posixpath.join(directory, path)).startswith(".."):
            err(origin, fields, f"{path!r} leaves the repository (relative to {directory}/)")


def _cel_expressions(job: Job, err, subject: Subject) -> None:  # type: ignore[no-untyped-def]
    """A celSelector expression that does not compile makes OCM's Placement Misconfigured and
    select nothing (ocm pkg/placement/helpers/cel.go, Compile): refuse it here, at its line."""
    from ..cel import compile_selector

    for i, predicate in enumerate(job.placement.get("predicates") or []):
        expressions = ((predicate.get("requiredClusterSelector") or {}).get("celSelector") or {}).get("celExpressions")
        if not expressions:
            continue
        _, errors = compile_selector(expressions)
        for j, message in errors:
            err(job.origin, ("spec", "placement", "predicates", i, "requiredClusterSelector", "celSelector",
                             "celExpressions", j), f"CEL expression does not compile: {message}", subject)


def _argocd_flavour(hub: Hub, err) -> None:  # type: ignore[no-untyped-def]
    """The flavour decides where the health checks go; two settings would silently lose them."""
    spec = hub.origin.doc.data["spec"]
    i = hub.origin.path[-1]

    def where(key: str) -> Origin:
        """The hub's own argocd block when it sets `key`, else the fleet defaults."""
        if key in spec["hubs"][i].get("argocd", {}):
            return Origin(hub.origin.doc, ("spec", "hubs", i, "argocd"))
        return Origin(hub.origin.doc, ("spec", "defaults", "argocd"))

    has_instance = "instance" in spec["hubs"][i].get("argocd", {}) or "instance" in spec.get("defaults", {}).get("argocd", {})
    if hub.argocd_flavour == "argocd" and has_instance:
        err(where("instance"), ("instance",), f"hub {hub.name!r} uses flavour 'argocd', which has no ArgoCD resource: "
            "'instance' names the OpenShift GitOps ArgoCD resource and would be ignored")
    if hub.argocd_flavour == "argocd" and hub.argocd_namespace == "openshift-gitops":
        # The operator rebuilds argocd-cm from its ArgoCD CR (argocd-operator
        # controllers/argocd/configmap.go reconcileArgoConfigMap) and would drop fedfleet's keys.
        err(where("flavour"), ("flavour",), f"hub {hub.name!r} uses flavour 'argocd' in namespace 'openshift-gitops', "
            "where the OpenShift GitOps operator owns argocd-cm and would remove the health checks; "
            "use flavour 'openshift-gitops', or the namespace of the upstream Argo CD")


def _one_data_path(job: Job, cluster: Cluster, err) -> None:  # type: ignore[no-untyped-def]
    """The holder entry is the one source of a cluster's data path: it is what the data-locality
    policy writes into the cluster's ClusterClaim, and the claim's value is what the FL controller
    passes to the client as its data path (addon-contrib federated-learning-controller/internal/
    controller/federatedlearning_client.go:197-206). The inventory's claim is the hub as observed
    (`fedfleet inventory pull`); when it says another path, one of the two is wrong."""
    observed = cluster.claims.get(job.data_claim)
    wanted = job.holders[cluster.name]
    if observed is not None and observed != wanted:
        err(job.origin, ("spec", "data", "holders", cluster.name),
            f"data holder {cluster.name!r} has path {wanted!r} here, but its claim {job.data_claim} says "
            f"{observed!r} at {cluster.origin.locate('claims', job.data_claim)}; the controller would read the "
            "claim: make them agree (the holder entry is the source, the claim is the hub as pulled)",
            f"FederatedLearningJob {job.name}")


# Namespaces every hub has or the bundle creates: "<svc>.<one of these>" is a hub Service name.
_HUB_NAMESPACES = {"default", "kube-system", "flower-system", "flower-addon", "open-cluster-management",
                   "open-cluster-management-hub", "openshift-gitops"}


def _superlink_exposure(fleet: Fleet, err) -> None:  # type: ignore[no-untyped-def]
    """Every hub with Flower jobs says how managed clusters reach its SuperLinks, with an address
    they can resolve (spec/exposure.py)."""
    namespaces = _HUB_NAMESPACES | {fleet.governance_namespace} | {j.namespace for j in fleet.jobs}
    for hub in fleet.hubs:
        flower = [j for j in fleet.jobs_on(hub.name) if j.framework == "flower"]
        subject = Subject.of_hub(hub.name)
        if not flower:
            continue
        if not hub.superlink_exposure:
            err(hub.origin, ("name",), f"hub {hub.name!r} runs Flower jobs ({', '.join(j.name for j in flower)}) but "
                "does not say how managed clusters reach its SuperLinks: set superlink.exposure "
                "(Route, LoadBalancer or NodePort)", subject)
            continue
        if hub.superlink_exposure in ("Route", "LoadBalancer"):
            if not hub.superlink_domain:
                err(hub.origin, ("superlink", "exposure"), f"superlink.exposure {hub.superlink_exposure} needs "
                    "superlink.domain (hosts are superlink-<job>.<domain>)", subject)
            else:
                reason = unreachable_reason(f"superlink-x.{hub.superlink_domain}", namespaces)
                if reason:
                    err(hub.origin, ("superlink", "domain"), f"managed clusters cannot reach SuperLinks under "
                        f"domain {hub.superlink_domain!r}: {reason.replace('superlink-x.', '')}", subject)
            continue
        if not hub.superlink_node_address:
            err(hub.origin, ("superlink", "exposure"), "superlink.exposure NodePort needs superlink.address "
                "(a hub node address managed clusters can reach)", subject)
        else:
            reason = unreachable_reason(hub.superlink_node_address, namespaces)
            if reason:
                err(hub.origin, ("superlink", "address"), f"managed clusters cannot reach the SuperLink: {reason}", subject)
        ports = hub.superlink_node_ports
        for job in flower:
            if job.name not in ports:
                err(hub.origin, ("superlink", "nodePorts"), f"Flower job {job.name!r} has no node port in "
                    "superlink.nodePorts", subject)
        seen: dict[int, str] = {}
        for job_name, port in sorted(ports.items()):
            if job_name not in {j.name for j in flower}:
                err(hub.origin, ("superlink", "nodePorts", job_name), f"{job_name!r} is not a Flower job of hub "
                    f"{hub.name!r}", subject)
            if port in seen:
                err(hub.origin, ("superlink", "nodePorts", job_name), f"node port {port} is also given to job "
                    f"{seen[port]!r}", subject)
            seen[port] = job_name


def _unique(items, what: str, key: Callable, err, fields: tuple[str | int, ...] = ("name",)) -> None:  # type: ignore[no-untyped-def]
    first: dict[str, object] = {}
    for item in items:
        k = key(item)
        if k in first:
            other = first[k].origin.location  # type: ignore[attr-defined]
            err(item.origin, fields, f"duplicate {what} name {k!r} (first declared at {other})")
        else:
            first[k] = item


def _validation(job: Job, err, subject: Subject) -> None:  # type: ignore[no-untyped-def]
    """The quality gate must be able to decide: a threshold needs its metric, and the data must be
    reachable where the gate runs (the run Job's pod on the hub, render/validation.py)."""
    gate = job.gate
    if not gate:
        return
    o, at = job.origin, ("spec", "validation")
    metrics = gate["metrics"]
    needs = {"minAccuracy": "accuracy", "maxRegression": "accuracy", "minPerClassRecall": "perClassRecall"}
    for key, metric in needs.items():
        if key in gate and metric not in metrics:
            err(o, at + (key,), f"{key} needs metric {metric!r}, which validation.metrics leaves out", subject)
    if not any(k in gate for k in needs):
        err(o, at, "validation sets no threshold (minAccuracy, minPerClassRecall or maxRegression): the gate "
            "could never fail", subject)
    if job.framework != "flower":
        err(o, at, "the hub-side quality gate runs in the Flower run Job; for an OpenFL job run the app's evaluator "
            "on the model directory by hand (README: Model quality gate)", subject)
    elif gate["data"] != "heldout":
        err(o, at + ("data",), f"data {gate['data']!r}: the gate runs in the run Job's pod in flower-system, which "
            "cannot mount the job namespace's model storage (a PersistentVolumeClaim is namespaced); use "
            "'heldout' (the app's held-out split)", subject)
