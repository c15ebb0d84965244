"""Shared vocabulary of the renderers: labels, sync waves, object helpers (upstream names: upstream.py)."""

from __future__ import annotations

from typing import Any, Mapping

from ..upstream import API_KUSTOMIZE

MANAGED_BY = {"app.kubernetes.io/managed-by": "fedfleet"}
SYNC_WAVE = "argocd.argoproj.io/sync-wave"

# Argo CD applies lower waves first and waits until every object of a wave is Healthy (or fails
# the sync when one is Degraded) before the next (gitops-engine/pkg/sync/sync_context.go): so
# namespaces and cluster sets, then bindings, then the placements and config the jobs need, then
# the policies that put the jobs' prerequisites in place (data claims, the CA on the clients),
# and the jobs last: a job Waiting for its clients is Progressing (render/health/), and nothing
# it waits for may sit in a later wave.
WAVE_NAMESPACE = -2
WAVE_BINDING = -1
WAVE_CONFIG = 0
WAVE_POLICY = 1
WAVE_JOB = 2
# The Flower run (`flwr run` Job) goes with the jobs: a later wave would wait for every OpenFL job
# of the hub to finish training (a Running OpenFL job is Progressing, health/federatedlearning.lua).
# A run submitted before the controller's ServerApp or the SuperNodes are up waits in the SuperLink.
WAVE_RUN = WAVE_JOB


def meta(name: str, namespace: str | None = None, wave: int | None = None,
         labels: dict[str, str] | None = None, annotations: dict[str, str] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"name": name}
    if namespace:
        out["namespace"] = namespace
    out["labels"] = {**MANAGED_BY, **(labels or {})}
    notes = dict(annotations or {})
    if wave is not None:
        notes[SYNC_WAVE] = str(wave)
    if notes:
        out["annotations"] = notes
    return out


def obj(api_version: str, kind: str, metadata: dict[str, Any], **body: Any) -> dict[str, Any]:
    return {"apiVersion": api_version, "kind": kind, "metadata": metadata, **body}


def namespace(name: str, labels: dict[str, str] | None = None) -> dict[str, Any]:
    return obj("v1", "Namespace", meta(name, wave=WAVE_NAMESPACE, labels=labels))


def kustomization(resources: list[str], user: Mapping[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    """A kustomization of the generated resources, plus the user's own content from the spec
    (hubs[].kustomize, bases.<name>.kustomize) verbatim: their resources after the generated
    ones, their components, their patches after the generated patches (kustomize applies
    patches in order, so the user's win). Regenerating keeps them: they come from the spec."""
    user = user or {}
    out: dict[str, Any] = {"apiVersion": API_KUSTOMIZE, "kind": "Kustomization",
                           "resources": [*resources, *user.get("resources", [])], **extra}
    if user.get("components"):
        out["components"] = list(user["components"])
    if user.get("patches"):
        out["patches"] = [*out.get("patches", []), *(dict(p) for p in user["patches"])]
    if not out.get("patches", True):  # no patch at all: no `patches: []` line
        del out["patches"]
    return out
