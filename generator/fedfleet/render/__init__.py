"""render: pure functions from the validated fleet to Kubernetes objects at their bundle paths.

The bundle maps a path relative to the output root to the YAML documents of that file. Nothing
here touches the disk.
"""

from __future__ import annotations

from typing import Any, Callable, Mapping

from ..findings import Finding, InputError
from ..placement import Plan, Planner
from ..spec.model import Fleet, Job, Origin
from . import addon, argocd, bootstrap, flower, jobs, layout, otel
from .common import kustomization, namespace

Bundle = dict[str, list[dict[str, Any]]]

# The roots fedfleet owns. Only files with fedfleet's header inside them are ever pruned.
OUTPUT_ROOTS = ("bases", "overlays", "bootstrap")

# Extra files per hub overlay from later stages (governance): hub name -> {relative path: docs}.
OverlayExtras = Callable[[Fleet, str], dict[str, list[dict[str, Any]]]]
# Extra annotations for a job's FederatedLearning (from governance plugins).
JobAnnotations = Callable[[Job], dict[str, str]]


def overlay_root(hub: str) -> str:
    return f"overlays/{hub}"


def bootstrap_root(hub: str) -> str:
    return f"bootstrap/{hub}"


def hub_roots(fleet: Fleet) -> dict[str, str]:
    """Every kustomization Argo CD or the bootstrap step builds (a root), and the hub it is for."""
    return {root: h.name for h in fleet.hubs for root in (overlay_root(h.name), bootstrap_root(h.name))}


def _user(content: Mapping[str, Any], generated: set[str], origin: Origin,
          fields: tuple[str, ...]) -> Mapping[str, Any]:
    """The spec's kustomize content for one kustomization; a resource that names a file the
    generator writes there would be listed twice (kustomize refuses duplicates): bad input."""
    clashes = [Finding("kustomize", f"resource {path!r} is a file fedfleet generates in this directory; "
                       "name your own file, or patch the generated objects with `patches`",
                       location=origin.locate(*fields, "resources", i), field=".".join((*fields, "resources")))
               for i, path in enumerate(content.get("resources", [])) if path.removeprefix("./") in generated]
    if clashes:
        raise InputError(clashes)
    return content


def render_bundle(fleet: Fleet, plan: Plan | Planner, extras: OverlayExtras | None = None,
                  job_annotations: JobAnnotations | None = None) -> Bundle:
    bundle: Bundle = {}
    base = addon.base_objects()
    for name, content in base.items():
        bundle[f"bases/flower-addon/{name}"] = content if isinstance(content, list) else [content]
    bundle["bases/flower-addon/kustomization.yaml"] = [kustomization(
        sorted(base), _user(fleet.base_kustomize.get("flower-addon", {}), set(base),
                            fleet.origin, ("spec", "bases", "flower-addon", "kustomize")))]
    bundle["bases/governance/namespace.yaml"] = [namespace(fleet.governance_namespace)]
    bundle["bases/governance/kustomization.yaml"] = [kustomization(
        ["namespace.yaml"], _user(fleet.base_kustomize.get("governance", {}), {"namespace.yaml"},
                                  fleet.origin, ("spec", "bases", "governance", "kustomize")))]

    overlay_kinds: dict[str, set[tuple[str, str]]] = {}
    for hub in sorted(fleet.hubs, key=lambda h: h.name):
        root = overlay_root(hub.name)
        files: dict[str, list[dict[str, Any]]] = {
            "cluster-sets.yaml": jobs.cluster_set_objects(fleet, hub),
            "addon.yaml": [addon.cluster_management_addon(fleet, hub)],
        }
        namespaces = jobs.job_namespaces(fleet, hub)
        if namespaces:
            files["namespaces.yaml"] = namespaces
        telemetry = otel.hub_objects(fleet, hub)
        if telemetry:
            files["otel-addon.yaml"] = telemetry
        for job in fleet.jobs_on(hub.name):
            extra = job_annotations(job) if job_annotations else {}
            files[f"jobs/{job.name}.yaml"] = [jobs.federated_learning(job, extra), jobs.data_locality_map(fleet, job)]
            if job.framework == "flower":
                files[f"flower/{job.name}.yaml"] = flower.job_objects(fleet, hub, plan, job)
        if extras:
            files.update(extras(fleet, hub.name))
        # The kinds Argo CD will sync from this overlay: the bases' and the overlay's own files
        # (kustomize patches and labels add no kind), for the bootstrap's RBAC and project.
        overlay_kinds[hub.name] = bootstrap.kinds_of(o for docs in files.values() for o in docs)
        # Argo CD's per-kind sync options, in fedfleet's own objects (render/argocd.py
        # with_sync_options: cheaper for kustomize than a patch, built the same). Not where the
        # hub has its own kustomize content: that overlay keeps the patches, and the spec's
        # components run on fedfleet's objects before the overlay's patches (kustomize
        # api/internal/target/kusttarget.go accumulateTarget: resources, generators, components, then
        # this kustomization's transformers), so they must see them as before, without the
        # annotation (a component patch selecting by it, or reading it, builds as before).
        if not any(hub.kustomize.values()):
            files = {rel: [argocd.with_sync_options(o) for o in docs] for rel, docs in files.items()}
        hub_labels = [{"pairs": {"fedfleet.io/hub": hub.name, "fedfleet.io/environment": hub.environment},
                       "includeSelectors": False}]
        bases = ["flower-addon", "governance"]
        # The sync options stay kustomize patches only where a kustomization also builds objects
        # that fedfleet did not render (the spec's kustomize content, in the hub or a base).
        user_bases = any(any(fleet.base_kustomize.get(b, {}).values()) for b in bases)
        units = None if any(hub.kustomize.values()) else layout.split(files)
        if units is None:
            user_here = user_bases or any(hub.kustomize.values())
            files["kustomization.yaml"] = [kustomization(
                [*(f"../../bases/{b}" for b in bases), *sorted(files)],
                _user(hub.kustomize, set(files), hub.origin, ("kustomize",)),
                labels=hub_labels,
                patches=[*addon.hub_patches(fleet, hub), *(argocd.sync_option_patches() if user_here else [])],
            )]
        else:
            # render/layout.py: small kustomizations, each with the hub's labels (the core: patches), and
            # an overlay that only lists them (so it builds to exactly their objects together).
            files = {}
            for unit, unit_files in sorted(units.items(), key=lambda u: (u[0] != layout.CORE, len(u[0]), u[0])):
                core = unit == layout.CORE
                unit_files = {**unit_files, "kustomization.yaml": [kustomization(
                    [*(f"../../../bases/{b}" for b in bases if core), *sorted(unit_files)], labels=hub_labels,
                    patches=[*(addon.hub_patches(fleet, hub) if core else []),
                             *(argocd.sync_option_patches() if core and user_bases else [])])]}
                files.update({f"{unit}/{rel}": docs for rel, docs in unit_files.items()})
            files["kustomization.yaml"] = [kustomization(
                sorted(units, key=lambda u: (u != layout.CORE, len(u), u)))]
        for rel, docs in files.items():
            bundle[f"{root}/{rel}"] = docs

        overlay_kinds[hub.name] |= bootstrap.kinds_of(o for rel, docs in bundle.items() if rel.startswith("bases/")
                                                      and not rel.endswith("kustomization.yaml") for o in docs)

    appset = fleet.application_set
    for hub in sorted(fleet.hubs, key=lambda h: h.name):
        boot = bootstrap_root(hub.name)
        boot_files: dict[str, list[dict[str, Any]]] = {
            "argocd-rbac.yaml": bootstrap.rbac(hub, overlay_kinds[hub.name]),
            argocd.HEALTH_CHECKS_FILE: [argocd.health_checks(hub)],
            **bootstrap.prerequisites(fleet, hub, argocd.project_name(hub)),
        }
        # The hubs whose overlay Application this hub's Argo CD holds: its own, or with the
        # ApplicationSet form the members' (for the holder) and none (for another member).
        held = [hub]
        if appset is not None and hub.name in appset.hubs:
            held = [fleet.hub(name) for name in appset.hubs] if hub.name == appset.holder else []
        if appset is not None and hub.name == appset.holder:
            boot_files[argocd.APPLICATION_SET_FILE] = [argocd.application_set(fleet, appset)]
        elif held:
            boot_files["application.yaml"] = [argocd.application(fleet, hub)]
        # The generated project, where this hub's own bootstrap Applications or a held overlay
        # Application uses it: every such destination and cluster-scoped kind allowed.
        on_project = [h for h in held if argocd.generates_project(h)]
        if argocd.generates_project(hub) or on_project:
            kinds = set().union(*(overlay_kinds[h.name] for h in [hub, *on_project]))
            boot_files["appproject.yaml"] = [argocd.project(fleet, hub, bootstrap.cluster_kinds(hub, kinds), on_project)]
        for rel, docs in boot_files.items():
            bundle[f"{boot}/{rel}"] = docs
        bundle[f"{boot}/kustomization.yaml"] = [kustomization(sorted(boot_files))]
    return bundle
