"""The readiness steps, in the order a hub becomes ready, each a verdict and the fix.

Every step reads the hub through HubApi (GET, one POST kind: SubjectAccessReview) and compares it
with the bundle in Git: the built overlay and bootstrap of the hub (kustomize output), and the
fleet's inventory. A step whose call is refused (401/403/timeout) fails with that reason and the
permission the kubeconfig user lacks; the next steps still run, except after `api`.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Any, Callable

from ..inventory.observed import memberships
from ..render.bootstrap import argocd_service_account, plural, synced_kinds
from ..spec.model import Fleet, Hub
from ..upstream import (
    ADDON_NAME, CERT_MANAGER_DEPLOYMENT, CERT_MANAGER_NAMESPACE, CLUSTER_MANAGER, FL_CONTROLLER,
    SUPERLINK_NAMESPACE, TLS_CA_SECRET, WORK_GATE,
)
from .hub import HubApi, HubError
from .model import SKIP, Step
from .tls import probe

# Groups every Kubernetes API server serves; the bundle's other groups come from CRDs.
CORE_GROUPS = {"", "apps", "batch", "rbac.authorization.k8s.io", "apiextensions.k8s.io",
               "admissionregistration.k8s.io", "storage.k8s.io", "networking.k8s.io", "coordination.k8s.io"}
ARGOCD_VERBS = ("get", "list", "watch", "create", "update", "patch", "delete")
# Who serves a group, for the fix of a missing one.
INSTALLED_BY = {
    "federation-ai.open-cluster-management.io": "the FL controller: sync the bootstrap Application fedfleet-{hub}-fl-controller (wave -3)",
    "policy.open-cluster-management.io": "ACM governance (the governance policy framework of the MultiClusterHub)",
    "cluster.open-cluster-management.io": "OCM's cluster manager (clusteradm init, or ACM's MultiClusterHub)",
    "addon.open-cluster-management.io": "OCM's cluster manager (clusteradm init, or ACM's MultiClusterHub)",
    "work.open-cluster-management.io": "OCM's cluster manager (clusteradm init, or ACM's MultiClusterHub)",
    "operator.open-cluster-management.io": "OCM's registration operator (clusteradm init, or ACM's MultiClusterHub)",
    "argoproj.io": "Argo CD (the OpenShift GitOps operator, or upstream Argo CD)",
    "cert-manager.io": "cert-manager: the bootstrap's wave -4 (OperatorPolicy fedfleet-cert-manager or Application fedfleet-{hub}-cert-manager)",
    "route.openshift.io": "OpenShift (Routes exist only there)",
}
FIX_APPLY = "kubectl apply --server-side --field-manager=fedfleet -k bootstrap/{hub}"


def group_version(api_version: str) -> tuple[str, str]:
    return (api_version.rsplit("/", 1)[0], api_version.rsplit("/", 1)[1]) if "/" in api_version else ("", api_version)


def condition(obj: dict[str, Any] | None, kind: str) -> dict[str, Any] | None:
    for c in ((obj or {}).get("status") or {}).get("conditions") or []:
        if isinstance(c, dict) and c.get("type") == kind:
            return c
    return None


@dataclass
class Context:
    fleet: Fleet
    hub: Hub
    api: HubApi
    overlay: list[dict[str, Any]]
    bootstrap: list[dict[str, Any]]
    connect_timeout: float
    connect_to: dict[tuple[str, int], tuple[str, int]] = field(default_factory=dict)  # --connect-to
    # (group, kind) -> resource name, as the API server's discovery says (filled by `crds`)
    resources: dict[tuple[str, str], str] = field(default_factory=dict)
    discovery: dict[tuple[str, str], dict[str, Any] | None] = field(default_factory=dict)

    def fix(self, text: str) -> str:
        return text.format(hub=self.hub.name)

    def api_resources(self, group: str, version: str) -> dict[str, Any] | None:
        key = (group, version)
        if key not in self.discovery:
            self.discovery[key] = self.api.get(f"/apis/{group}/{version}")
        return self.discovery[key]

    def served_kinds(self, group: str, version: str) -> set[str]:
        body = self.api_resources(group, version) or {}
        return {r.get("kind", "") for r in body.get("resources") or [] if "/" not in r.get("name", "")}


def _refused(step: Step, exc: HubError, need: str) -> Step:
    hint = f"; the kubeconfig user needs {need}" if exc.status == 403 else ""
    return step.fail(f"could not read the hub: {exc}", f"fix access and run again{hint}")


def step_api(ctx: Context) -> Step:
    step = Step("api", "The hub's API server answers")
    try:
        groups = ctx.api.get("/apis")
    except HubError as exc:
        return step.fail(str(exc), "check the kubeconfig (server, credentials) and the network path to the hub")
    if groups is None:
        return step.fail(f"{ctx.api.server} answers 404 on /apis: not a Kubernetes API server", "point the kubeconfig at the hub")
    return step.ok(f"{ctx.api.server} answers ({len(groups.get('groups') or [])} API groups)")


def step_crds(ctx: Context) -> Step:
    step = Step("crds", "Every kind of the bundle is served at the version the bundle targets")
    wanted: dict[tuple[str, str], set[str]] = {}
    for o in [*ctx.overlay, *ctx.bootstrap]:
        group, version = group_version(o["apiVersion"])
        if group not in CORE_GROUPS:
            wanted.setdefault((group, version), set()).add(o["kind"])
    problems: list[str] = []
    fixes: list[str] = []
    served = 0
    try:
        for (group, version), kinds in sorted(wanted.items()):
            body = ctx.api_resources(group, version)
            if body is None:
                versions = ctx.api.get(f"/apis/{group}")
                have = sorted(v.get("version", "") for v in (versions or {}).get("versions") or [])
                problems.append(f"{group}/{version} is not served ({', '.join(sorted(kinds))}): "
                                + (f"the hub serves {group} at {', '.join(have)} only" if have else "no CRD of that group"))
                fixes.append(ctx.fix(INSTALLED_BY.get(group, f"install the component that serves {group}")))
                continue
            names = {r.get("kind"): r.get("name") for r in body.get("resources") or [] if "/" not in r.get("name", "")}
            for kind in sorted(kinds):
                if kind in names:
                    ctx.resources[(group, kind)] = str(names[kind])
                    served += 1
                else:
                    problems.append(f"{group}/{version} does not serve {kind}")
                    fixes.append(ctx.fix(INSTALLED_BY.get(group, f"install the component that serves {group}")))
    except HubError as exc:
        return _refused(step, exc, "get on the discovery paths /apis/* (system:discovery)")
    if problems:
        return step.fail(f"{len(problems)} API group version(s) or kind(s) missing", "; ".join(dict.fromkeys(fixes)), problems)
    return step.ok(f"{served} kinds in {len(wanted)} group versions served")


def step_argocd_rbac(ctx: Context) -> Step:
    """SubjectAccessReview, not SelfSubjectAccessReview: an SSAR answers for the caller (the admin
    running doctor), never for Argo CD. A SAR asks the authorizer about any user; the doctor asks
    about the application controller's ServiceAccount with the groups the API server gives every
    ServiceAccount token, so no impersonation right is needed, only create on subjectaccessreviews."""
    step = Step("argocd-rbac", "Argo CD's application controller may manage every kind it syncs for the hub")
    ns, sa = ctx.hub.argocd_namespace, argocd_service_account(ctx.hub)
    user = f"system:serviceaccount:{ns}:{sa}"
    # the overlay's kinds and those of the bootstrap's Applications (the FL controller's install,
    # the cert-manager chart on plain Argo CD), as render/bootstrap.py grants them
    overlay_kinds = {(group_version(o["apiVersion"])[0], o["kind"]) for o in ctx.overlay}
    kinds = sorted(f"{g}/{k}" for g, k in synced_kinds(ctx.hub, overlay_kinds))
    denied: dict[str, list[str]] = {}  # resource -> verbs refused
    checks = 0
    try:
        for gk in kinds:
            group, kind = gk.split("/", 1)
            resource = ctx.resources.get((group, kind)) or plural(kind)
            for verb in ARGOCD_VERBS:
                review = ctx.api.request("POST", "/apis/authorization.k8s.io/v1/subjectaccessreviews", body={
                    "apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview",
                    "spec": {"user": user, "groups": ["system:serviceaccounts", f"system:serviceaccounts:{ns}",
                                                      "system:authenticated"],
                             "resourceAttributes": {"group": group, "resource": resource, "verb": verb}}})
                checks += 1
                if not ((review or {}).get("status") or {}).get("allowed"):
                    denied.setdefault(f"{resource}.{group}" if group else resource, []).append(verb)
        # creating upstream's ClusterRoles and binding them (Kubernetes RBAC escalation prevention)
        for resource in ("clusterroles", "roles"):
            for verb in ("bind", "escalate"):
                review = ctx.api.request("POST", "/apis/authorization.k8s.io/v1/subjectaccessreviews", body={
                    "apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview",
                    "spec": {"user": user, "groups": ["system:serviceaccounts", f"system:serviceaccounts:{ns}",
                                                      "system:authenticated"],
                             "resourceAttributes": {"group": "rbac.authorization.k8s.io", "resource": resource,
                                                    "verb": verb}}})
                checks += 1
                if not ((review or {}).get("status") or {}).get("allowed"):
                    denied.setdefault(f"{resource}.rbac.authorization.k8s.io", []).append(verb)
    except HubError as exc:
        return _refused(step, exc, "create on subjectaccessreviews.authorization.k8s.io")
    if denied:
        refused = sum(len(v) for v in denied.values())
        return step.fail(f"{user} may not manage {', '.join(denied)} ({refused} of {checks} checks refused)",
                         ctx.fix(f"apply the bootstrap's argocd-rbac.yaml (wave -5): {FIX_APPLY}"),
                         [f"{r}: {', '.join(v)}" for r, v in denied.items()])
    return step.ok(f"{user} may get/list/watch/create/update/patch/delete all {len(kinds)} kinds ({checks} SubjectAccessReviews)")


def _deployment(ctx: Context, step: Step, ns: str, name: str, fix: str) -> Step | None:
    """None when the Deployment is Available; otherwise the failed step."""
    try:
        d = ctx.api.get(f"/apis/apps/v1/namespaces/{ns}/deployments/{name}")
    except HubError as exc:
        return _refused(step, exc, f"get on deployments.apps in {ns}")
    if d is None:
        return step.fail(f"Deployment {ns}/{name} does not exist", fix)
    available = condition(d, "Available")
    if not available or available.get("status") != "True":
        why = f"{available.get('reason')}: {available.get('message')}" if available else "no Available condition yet"
        status = d.get("status") or {}
        return step.fail(f"Deployment {ns}/{name} is not Available ({why}; "
                         f"{status.get('availableReplicas', 0)}/{(d.get('spec') or {}).get('replicas', 1)} replicas)",
                         f"kubectl -n {ns} describe deployment {name}; kubectl -n {ns} logs deployment/{name}")
    return None


def step_controller(ctx: Context) -> Step:
    step = Step("controller", "The FL controller Deployment is Available")
    ns = ctx.hub.controller_namespace
    failed = _deployment(ctx, step, ns, FL_CONTROLLER, ctx.fix(
        f"sync the bootstrap Application fedfleet-{{hub}}-fl-controller (wave -3), which installs it in {ns}: "
        f"{FIX_APPLY}, then argocd app sync fedfleet-{{hub}}-fl-controller"))
    return failed or step.ok(f"Deployment {ns}/{FL_CONTROLLER} Available")


def step_feature_gate(ctx: Context) -> Step:
    step = Step("feature-gate", "The ClusterManager enables ManifestWorkReplicaSet and the hub serves it")
    fix = ctx.fix("the bootstrap's enforced policy fedfleet-work-feature-gate (wave -4) sets it; check it is "
                  "Compliant: kubectl -n fedfleet-bootstrap get policy fedfleet-work-feature-gate")
    try:
        cm = ctx.api.get(f"/apis/operator.open-cluster-management.io/v1/clustermanagers/{CLUSTER_MANAGER}")
        if cm is None:
            return step.fail(f"no ClusterManager {CLUSTER_MANAGER}: this is not an OCM hub, or the registration operator is missing",
                             "install OCM's cluster manager (clusteradm init) or ACM")
        gates = ((cm.get("spec") or {}).get("workConfiguration") or {}).get("featureGates") or []
        if not any(g.get("feature") == WORK_GATE["feature"] and g.get("mode") == WORK_GATE["mode"] for g in gates):
            return step.fail(f"ClusterManager {CLUSTER_MANAGER} does not enable {WORK_GATE['feature']} "
                             f"(spec.workConfiguration.featureGates: {gates or 'none'})", fix)
        if "ManifestWorkReplicaSet" not in ctx.served_kinds("work.open-cluster-management.io", "v1alpha1"):
            return step.fail("the gate is set but work.open-cluster-management.io/v1alpha1 does not serve "
                             "ManifestWorkReplicaSet yet", "wait for the cluster-manager operator to roll out the work "
                                                          "controller, then run again")
    except HubError as exc:
        return _refused(step, exc, "get on clustermanagers.operator.open-cluster-management.io")
    return step.ok(f"{WORK_GATE['feature']} enabled and served")


def step_cert_manager(ctx: Context) -> Step:
    step = Step("cert-manager", "cert-manager serves Certificates and its controller and webhook are Available")
    ns = str(ctx.fleet.plugin_params.get("prerequisites", {}).get("certManagerNamespace", CERT_MANAGER_NAMESPACE))
    fix = ctx.fix("cert-manager comes with the bootstrap's wave -4: " + (
        "the enforced policy fedfleet-cert-manager (OperatorPolicy); check it is Compliant: "
        "kubectl -n fedfleet-bootstrap get policy fedfleet-cert-manager" if ctx.hub.argocd_flavour == "openshift-gitops"
        else "the Application fedfleet-{hub}-cert-manager; argocd app sync fedfleet-{hub}-cert-manager"))
    try:
        if "Certificate" not in ctx.served_kinds("cert-manager.io", "v1"):
            return step.fail("cert-manager.io/v1 Certificate is not served (no cert-manager CRDs)", fix)
    except HubError as exc:
        return _refused(step, exc, "get on /apis/cert-manager.io/v1")
    for name in (CERT_MANAGER_DEPLOYMENT, f"{CERT_MANAGER_DEPLOYMENT}-webhook"):
        failed = _deployment(ctx, step, ns, name, fix)
        if failed:
            return failed
    return step.ok(f"Certificate served; {ns}/{CERT_MANAGER_DEPLOYMENT} and -webhook Available")


def superlink_exposures(overlay: list[dict[str, Any]]) -> list[tuple[str, str, int]]:
    """Where the add-on tells SuperNodes to dial, per add-on config (one per Flower job):
    (config name, SUPERLINK_ADDRESS, SUPERLINK_PORT)."""
    out = []
    for o in overlay:
        if o["kind"] == "AddOnDeploymentConfig":
            values = {v["name"]: v["value"] for v in (o.get("spec") or {}).get("customizedVariables") or []}
            if "SUPERLINK_ADDRESS" in values and "SUPERLINK_PORT" in values:
                out.append((o["metadata"]["name"], values["SUPERLINK_ADDRESS"], int(values["SUPERLINK_PORT"])))
    return sorted(out)


def _tls(ctx: Context, config: str) -> bool:
    """Whether the SuperNodes of this add-on config check a certificate: its job's TLS setting."""
    prefix = f"{ADDON_NAME}-"
    job = next((j for j in ctx.fleet.jobs_on(ctx.hub.name) if config == prefix + j.name), None)
    return job.tls_enabled if job else ctx.hub.tls_enabled


def step_superlink(ctx: Context) -> Step:
    step = Step("superlink", "Each SuperLink resolves where SuperNodes dial it and serves the hub CA's certificate")
    exposures = superlink_exposures(ctx.overlay)
    if not exposures:
        return step.skip("the overlay configures no SuperLink address")
    ca: str | None = None
    if any(_tls(ctx, name) for name, _, _ in exposures):
        try:
            secret = ctx.api.get(f"/api/v1/namespaces/{SUPERLINK_NAMESPACE}/secrets/{TLS_CA_SECRET}")
        except HubError as exc:
            return _refused(step, exc, f"get on secrets in {SUPERLINK_NAMESPACE}")
        data = (secret or {}).get("data") or {}
        if "ca.crt" not in data:
            return step.fail(f"Secret {SUPERLINK_NAMESPACE}/{TLS_CA_SECRET} with ca.crt does not exist",
                             "cert-manager issues it from the overlay's Certificate flower-ca: check the cert-manager "
                             f"step, then kubectl -n {SUPERLINK_NAMESPACE} describe certificate flower-ca")
        ca = base64.b64decode(data["ca.crt"]).decode()
    results = [probe(host, port, ca if _tls(ctx, name) else None, ctx.connect_timeout, ctx.connect_to.get((host, port)))
               for name, host, port in exposures]
    bad = [r for r in results if not r.ok]
    if bad:
        fixes = {"resolve": "publish a DNS record for the address the hub's superlink exposure gives",
                 "connect": "expose the SuperLink's fleet port there (the overlay's Route/NodePort/LoadBalancer) "
                            "and open the firewall",
                 "handshake": "the SuperLink must serve the certificate cert-manager issued from the hub's CA for that "
                              "name (its Certificate superlink-<job>, dnsNames)"}
        return step.fail("; ".join(r.message for r in bad), "; ".join(dict.fromkeys(fixes[r.stage] for r in bad)),
                         [f"{name}: {r.message}" for (name, _, _), r in zip(exposures, results)])
    return step.ok("; ".join(r.message for r in results))


def _addon_clusters(ctx: Context) -> list[str]:
    """Where the add-on installs: one install Placement per Flower job, with the job's client
    placement (render/addon.py), so the planned selection of each Flower job of the hub."""
    from ..placement import plan

    jobs = [j.name for j in ctx.fleet.jobs_on(ctx.hub.name) if j.framework == "flower"]
    if not jobs:
        return []
    planned = plan(ctx.fleet, jobs)
    return sorted({c for job in jobs for c in planned.clusters_of(job)})


def step_addons(ctx: Context) -> Step:
    step = Step("addons", f"The {ADDON_NAME} add-on is Available on every cluster the Flower jobs select")
    expected = _addon_clusters(ctx)
    if not expected:
        return step.skip("no Flower job on this hub, so no add-on install")
    try:
        addons = ctx.api.list_all("/apis/addon.open-cluster-management.io/v1alpha1/managedclusteraddons")
    except HubError as exc:
        return _refused(step, exc, "list on managedclusteraddons.addon.open-cluster-management.io")
    by_cluster = {a["metadata"].get("namespace"): a for a in addons or [] if a["metadata"].get("name") == ADDON_NAME}
    details, bad = [], []
    for cluster in expected:
        addon = by_cluster.get(cluster)
        available = condition(addon, "Available")
        if addon is None:
            line = (f"{cluster}: no ManagedClusterAddOn {ADDON_NAME} (the install Placement did not select it: "
                    "compare its PlacementDecisions with fedfleet plan)")
        elif available and available.get("status") == "True":
            details.append(f"{cluster}: Available")
            continue
        else:
            line = f"{cluster}: not Available ({available.get('reason')}: {available.get('message')})" if available \
                else f"{cluster}: no Available condition yet"
        details.append(line)
        bad.append(cluster)
    if bad:
        return step.fail(f"{ADDON_NAME} not Available on {len(bad)} of {len(expected)} clusters: {', '.join(bad)}",
                         f"kubectl -n <cluster> get managedclusteraddon {ADDON_NAME} -o yaml; on the cluster, "
                         f"kubectl -n flower-addon get pods (a cluster that is offline shows Unknown)", details)
    return step.ok(f"Available on all {len(expected)} clusters", details)


def step_membership(ctx: Context) -> Step:
    step = Step("membership", "Every inventory cluster of the hub is on the hub, a member of its fleet set, and no other")
    fleet_sets = {s.name for s in ctx.fleet.sets_of(ctx.hub.name)}
    inventory = {c.name: c.cluster_set for c in ctx.fleet.clusters if c.cluster_set in fleet_sets}
    try:
        clusters = ctx.api.list_all("/apis/cluster.open-cluster-management.io/v1/managedclusters") or []
        sets = ctx.api.list_all("/apis/cluster.open-cluster-management.io/v1beta2/managedclustersets") or []
    except HubError as exc:
        return _refused(step, exc, "list on managedclusters and managedclustersets.cluster.open-cluster-management.io")
    on_hub = {s["metadata"]["name"] for s in sets}
    problems = [f"ManagedClusterSet {s} is not on the hub (the overlay has not synced)" for s in sorted(fleet_sets - on_hub)]
    by_name = {c["metadata"]["name"]: c for c in clusters}
    for name, cluster_set in sorted(inventory.items()):
        cluster = by_name.get(name)
        if cluster is None:
            problems.append(f"{name} ({cluster_set}): no ManagedCluster {name} on the hub")
        elif cluster_set in on_hub and cluster_set not in memberships(cluster, sets):
            problems.append(f"{name}: not a member of {cluster_set} on the hub (the membership policy labels it)")
    for cluster in clusters:
        name = cluster["metadata"]["name"]
        extra = [s for s in memberships(cluster, sets) if s in fleet_sets and inventory.get(name) != s]
        if extra:
            problems.append(f"{name}: a member of {', '.join(extra)} on the hub, not in the inventory there")
    if problems:
        return step.fail(f"{len(problems)} membership difference(s) against the inventory",
                         "clusters missing on the hub: import them; not members: check the membership policies "
                         "(ACM governance); members not in the inventory: fedfleet inventory pull", problems)
    return step.ok(f"{len(inventory)} inventory clusters are members of their sets ({len(fleet_sets)} sets)")


STEPS: list[Callable[[Context], Step]] = [
    step_api, step_crds, step_argocd_rbac, step_controller, step_feature_gate, step_cert_manager,
    step_superlink, step_addons, step_membership,
]
STEP_NAMES = ["api", "crds", "argocd-rbac", "controller", "feature-gate", "cert-manager", "superlink", "addons", "membership"]


def run_steps(ctx: Context) -> list[Step]:
    steps: list[Step] = []
    for fn, name in zip(STEPS, STEP_NAMES):
        if steps and steps[0].status == "fail":  # the API server does not answer: nothing else can be read
            steps.append(Step(name, "", SKIP, "skipped: the hub's API server does not answer"))
            continue
        steps.append(fn(ctx))
    return steps
