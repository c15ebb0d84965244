"""Argo CD bootstrap: per hub, an AppProject, the Application that syncs its overlay, and the
health checks (render/health/) installed the way the hub's Argo CD flavour takes them."""

from __future__ import annotations

import dataclasses
import json
from typing import Any, Iterable

from ..spec.model import ApplicationSet, Fleet, Hub
from ..upstream import API_ARGO, API_ARGOCD_OPERATOR, CERT_MANAGER_CHART_REPO, FL_CONTROLLER_REPO
from . import health
from .common import meta, obj

# Bootstrap waves (render/bootstrap.py holds the rest): the project with the RBAC, the overlay last.
WAVE_RBAC = -5
WAVE_OVERLAY = 0

PROJECT = "fedfleet"



def app_name(hub: Hub) -> str:
    return f"fedfleet-{hub.name}"


def project_name(hub: Hub) -> str:
    return hub.argocd_project or PROJECT


def generates_project(hub: Hub) -> bool:
    """An existing project named in the spec is the platform team's: fedfleet renders none."""
    return not hub.argocd_project


def project(fleet: Fleet, hub: Hub, cluster_kinds: list[tuple[str, str]],
            also: Iterable[Hub] = ()) -> dict[str, Any]:
    """The project allows the cluster-scoped kinds Argo CD syncs for this hub (render/bootstrap.py
    cluster_kinds, derived from the overlay) and nothing else, so a stray object in Git cannot be
    synced to a hub by accident; the sources are the fleet repository and the pinned upstreams.
    `also`: the hubs whose overlay Applications this hub's Argo CD holds under this project (the
    ApplicationSet form); their destinations are allowed too, and `cluster_kinds` covers their
    overlays. The hub's own destination only when its own Applications use the project."""
    users = [*([hub] if generates_project(hub) else []), *sorted((h for h in also if h.name != hub.name),
                                                                 key=lambda h: h.name)]
    servers = list(dict.fromkeys(h.destination_server for h in users))
    return obj(
        API_ARGO, "AppProject", meta(PROJECT, hub.argocd_namespace, wave=WAVE_RBAC),
        spec={
            "description": f"fedfleet-managed federated learning on {', '.join(h.name for h in users)}",
            "sourceRepos": sorted({fleet.repo_url, *bootstrap_sources(hub)}),
            "destinations": [{"server": server, "namespace": "*"} for server in servers],
            "clusterResourceWhitelist": [{"group": g, "kind": k} for g, k in cluster_kinds],
            "namespaceResourceWhitelist": [{"group": "*", "kind": "*"}],
        },
    )


def bootstrap_sources(hub: Hub) -> list[str]:
    """The upstream sources of the bootstrap's Applications (render/bootstrap.py)."""
    return [FL_CONTROLLER_REPO] + ([CERT_MANAGER_CHART_REPO] if hub.argocd_flavour == "argocd" else [])


def application(fleet: Fleet, hub: Hub) -> dict[str, Any]:
    return obj(
        API_ARGO, "Application",
        meta(app_name(hub), hub.argocd_namespace, wave=WAVE_OVERLAY, labels={"fedfleet.io/hub": hub.name,
                                                          "fedfleet.io/environment": hub.environment}),
        spec={
            "project": project_name(hub),
            "source": {"repoURL": fleet.repo_url, "targetRevision": hub.argocd_target_revision or fleet.revision,
                       "path": f"overlays/{hub.name}"},
            "destination": {"server": hub.destination_server},
            "syncPolicy": sync_policy(hub),
        },
    )


# The ApplicationSet form (issue 14.4). One ApplicationSet, held by one hub's Argo CD, generates
# exactly the Applications `application()` renders per hub. Read in argo-cd v3.5.1:
# - applicationset/generators/list.go ListGenerator.GenerateParams: with goTemplate each element
#   is the parameter map as written (nested values kept), no "values." flattening;
# - applicationset/controllers/template/template.go GenerateApplications: per element,
#   utils.Render.RenderTemplateParams over the template, then templatePatch, then
#   `app.Namespace = applicationSetInfo.Namespace` (every Application in the ApplicationSet's
#   namespace, spec/semantic.py requires the members to share it);
# - applicationset/utils/utils.go RenderTemplateParams: each string of the template is a Go
#   text/template (sprig functions, goTemplateOptions as template Options); and unless the
#   ApplicationSet's syncPolicy.preserveResourcesOnDeletion is true it adds the
#   resources-finalizer.argocd.argoproj.io finalizer, which today's Applications do not carry
#   (deleting one leaves the hub's objects): hence preserveResourcesOnDeletion: true;
# - applicationset/controllers/template/patch.go applyTemplatePatch: the rendered templatePatch
#   is a strategic merge patch on the Application, and `project` is reset to the template's
#   afterwards: so the project is a per-element value in the template, never patched.
# Per-hub strings (name, labels, path, project, targetRevision, destination) are per-element values
# in the template; the syncPolicy, a structure whose keys a hub may drop, comes whole from its
# element through templatePatch (the template has none). missingkey=error makes a missing element
# key a render error instead of an empty string.
APPLICATION_SET_FILE = "applicationset.yaml"
_ELEMENT = {"name": "{{.hub}}", "environment": "{{.environment}}", "argocd_project": "{{.project}}",
            "argocd_target_revision": "{{.targetRevision}}", "destination_server": "{{.destinationServer}}"}
TEMPLATE_PATCH = "spec:\n  syncPolicy: {{ toJson .syncPolicy }}\n"


def _literal(text: str) -> str:
    """A fixed string inside a Go template: "{{" would open an action, so it is printed by one."""
    return text.replace("{{", '{{ "{{" }}')


def element(fleet: Fleet, hub: Hub) -> dict[str, Any]:
    """The list generator's element for a hub: what differs between the hubs' Applications."""
    app = application(fleet, hub)
    return {"hub": hub.name, "environment": hub.environment, "project": app["spec"]["project"],
            "targetRevision": app["spec"]["source"]["targetRevision"],
            "destinationServer": hub.destination_server, "syncPolicy": app["spec"]["syncPolicy"]}


def application_set(fleet: Fleet, appset: ApplicationSet) -> dict[str, Any]:
    holder = fleet.hub(appset.holder)
    # The template is application() itself, for a hub whose per-hub fields are the element's keys:
    # whatever the per-hub Application gains later, the template gains too.
    symbolic = dataclasses.replace(holder, **_ELEMENT, argocd_sync_policy={})
    template = application(dataclasses.replace(fleet, repo_url=_literal(fleet.repo_url)), symbolic)
    del template["metadata"]["namespace"], template["spec"]["syncPolicy"]
    return obj(
        API_ARGO, "ApplicationSet", meta(appset.name, holder.argocd_namespace, wave=WAVE_OVERLAY),
        spec={
            "goTemplate": True,
            "goTemplateOptions": ["missingkey=error"],
            "generators": [{"list": {"elements": [element(fleet, fleet.hub(name)) for name in sorted(appset.hubs)]}}],
            "template": {"metadata": template["metadata"], "spec": template["spec"]},
            "templatePatch": TEMPLATE_PATCH,
            "syncPolicy": {"preserveResourcesOnDeletion": True},
        },
    )


def sync_policy(hub: Hub) -> dict[str, Any]:
    policy: dict[str, Any] = {
        "automated": {"prune": True, "selfHeal": True},
        # SkipDryRunOnMissingResource is set per kind where a CRD may be missing at the
        # first sync (SYNC_OPTIONS), so a hub without OCM still fails the dry run.
        "syncOptions": ["PruneLast=true"],
        "retry": {"limit": 5, "backoff": {"duration": "10s", "factor": 2, "maxDuration": "5m"}},
    }
    # The spec's keys replace ours whole (Argo CD reads each as one unit); null drops a key.
    for key, value in hub.argocd_sync_policy.items():
        if value is None:
            policy.pop(key, None)
        else:
            policy[key] = value
    return policy


HEALTH_CHECKS_FILE = "health-checks.yaml"


def health_checks(hub: Hub) -> dict[str, Any]:
    """The health checks as the hub's Argo CD flavour takes them, for a server-side apply.

    - openshift-gitops: the operator owns argocd-cm and rebuilds its data from the ArgoCD
      resource (argocd-operator controllers/argocd/configmap.go reconcileArgoConfigMap), so the
      checks go in the ArgoCD resource's spec.resourceHealthChecks; the operator writes them as
      `resource.customizations.health.<group>_<kind>` (getResourceHealthChecks). Only that field
      is rendered: `kubectl apply --server-side` merges it into the existing instance.
    - argocd: the same keys straight in argocd-cm (argo-cd util/lua GetConfigMapKey). Only those
      keys are rendered: a server-side apply owns them and leaves the rest of argocd-cm alone.
    The argocd-cm keys replace Argo CD's built-in check for a kind (argo-cd util/lua/lua.go
    GetHealthScript reads the ConfigMap first), which is how the Policy rule takes effect.
    """
    if hub.argocd_flavour == "openshift-gitops":
        out = obj(API_ARGOCD_OPERATOR, "ArgoCD", meta(hub.argocd_instance, hub.argocd_namespace),
                  spec={"resourceHealthChecks": [{"group": c.group, "kind": c.kind, "check": c.source}
                                                 for c in health.CHECKS]})
    else:
        out = obj("v1", "ConfigMap", meta("argocd-cm", hub.argocd_namespace), data={c.key: c.source for c in health.CHECKS})
    # fedfleet owns these fields, not the object: no managed-by label on Argo CD's own resources.
    del out["metadata"]["labels"]
    return out


SYNC_OPTIONS_ANNOTATION = "argocd.argoproj.io/sync-options"

# Per-kind sync options. Argo CD reads them from the annotation on each object the repo server's
# kustomize build produced (argo-cd reposerver/repository/repository.go GenerateManifests ->
# kustomize Build gives the target objects; gitops-engine/pkg/sync/sync_context.go reads
# SkipDryRunOnMissingResource and ServerSideApply off the target object with
# resource.HasAnnotationOption, gitops-engine/pkg/sync/resource/annotations.go, a comma-separated
# list), so what matters is the built object, not where in the bundle the annotation comes from.
SYNC_OPTIONS = {
    # The FL controller adds its finalizer and writes status on the object Argo CD applies
    # (addon-contrib federated-learning-controller/internal/controller/
    # federatedlearning_controller.go Reconcile); server-side apply makes Argo CD own only the
    # fields in Git. Its CRD comes with the controller, which may be installed after the bundle.
    ("federation-ai.open-cluster-management.io", "FederatedLearning"): "ServerSideApply=true,SkipDryRunOnMissingResource=true",
    # The FL controller creates and updates the same bindings in the job namespace
    # (federatedlearning_client.go deployPlacement).
    ("cluster.open-cluster-management.io", "ManagedClusterSetBinding"): "ServerSideApply=true",
    # ACM's governance framework brings these CRDs; plain OCM hubs may install it later.
    ("policy.open-cluster-management.io", "Policy"): "SkipDryRunOnMissingResource=true",
    ("policy.open-cluster-management.io", "PlacementBinding"): "SkipDryRunOnMissingResource=true",
    ("policy.open-cluster-management.io", "PolicySet"): "SkipDryRunOnMissingResource=true",
}


def with_sync_options(doc: dict[str, Any]) -> dict[str, Any]:
    """The object with its kind's sync options in its annotations (a copy), or the object itself.

    The generator writes them into its own objects rather than patching them in with kustomize:
    a JSON 6902 patch makes kustomize turn every object it targets into JSON and parse the patched
    JSON back (api/filters/patchjson6902 Filter.run), a quarter of each unit build's CPU at 10,000
    clusters (README, Benchmarks). The built objects are byte for byte what the patches gave
    (tests/test_sync_options.py builds both)."""
    group = str(doc.get("apiVersion", "")).rpartition("/")[0]
    options = SYNC_OPTIONS.get((group, str(doc.get("kind", ""))))
    if options is None:
        return doc
    metadata = dict(doc.get("metadata") or {})
    metadata["annotations"] = {**(metadata.get("annotations") or {}), SYNC_OPTIONS_ANNOTATION: options}
    return {**doc, "metadata": metadata}


def sync_option_patches() -> list[dict[str, Any]]:
    """The same options as kustomize patches, for a kustomization that also builds objects fedfleet
    did not render (the spec's own kustomize content): those get them as before. A JSON 6902
    `add` of a key that exists replaces its value, so fedfleet's objects build the same."""
    return [{"target": {"group": group, "kind": kind},
             "patch": json.dumps([{"op": "add", "path": "/metadata/annotations/" + SYNC_OPTIONS_ANNOTATION.replace("/", "~1"),
                                   "value": options}])}
            for (group, kind), options in SYNC_OPTIONS.items()]
