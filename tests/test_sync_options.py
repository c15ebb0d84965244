"""Argo CD's per-kind sync options are written into fedfleet's own objects, not patched in by
kustomize (render/argocd.py with_sync_options); a kustomization that also builds the spec's own
kustomize content keeps the patches, so those objects get them too.

The proof is built for real: every kustomization of the bundle (each hub overlay as Argo CD's
repo server builds it, each unit `check` builds, each bootstrap) is built with kubectl's kustomize
as written now and as the layout was before (the annotation absent from the files, one JSON 6902
patch per kind in every hub kustomization), and the outputs must be the same bytes.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from fedfleet import pipeline
from fedfleet.checks import kustomize
from fedfleet.render import argocd, layout

SYNC_PATCHES = argocd.sync_option_patches()
OPTION = argocd.SYNC_OPTIONS_ANNOTATION


def _kustomizations(files: dict[str, bytes]) -> list[str]:
    return sorted(p.rpartition("/")[0] for p in files
                  if p.endswith("/kustomization.yaml") and p.startswith(("overlays/", "bootstrap/")))


def _hub_kustomization(k: dict) -> bool:
    """A hub overlay or unit (what carried the patches before): it has the hub's labels."""
    return any("fedfleet.io/hub" in entry.get("pairs", {}) for entry in k.get("labels", []))


def _old_layout(files: dict[str, bytes]) -> dict[str, bytes]:
    """The bundle as fedfleet wrote it before: no sync-options annotation in the overlay's
    files, the five patches (after the hub's add-on patches) in every hub kustomization."""
    old = dict(files)
    for rel, content in files.items():
        if not rel.startswith("overlays/") or not rel.endswith(".yaml"):
            continue
        docs = list(yaml.load_all(content, Loader=yaml.CSafeLoader))
        if rel.endswith("/kustomization.yaml"):
            k = docs[0]
            if _hub_kustomization(k) and not any(p in SYNC_PATCHES for p in k.get("patches", [])):
                k["patches"] = [*k.get("patches", []), *SYNC_PATCHES]  # no user patches here: they keep them
            old[rel] = yaml.safe_dump(k).encode()
            continue
        for doc in docs:
            annotations = (doc or {}).get("metadata", {}).get("annotations", {})
            annotations.pop(OPTION, None)
        old[rel] = yaml.safe_dump_all(docs).encode()
    return old


def _write(files: dict[str, bytes], root: Path) -> Path:
    for rel, content in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(content)
    return root


def _same_builds(rendered: pipeline.Rendered, tmp_path: Path) -> list[dict]:
    """Builds every kustomization both ways; asserts the same bytes; returns the objects built
    from the current layout's overlays."""
    files = rendered.build_inputs
    new = _write(files, tmp_path / "new")
    before = _old_layout(files)
    assert before != files
    old = _write(before, tmp_path / "old")
    objects: list[dict] = []
    dirs = _kustomizations(files)
    assert dirs
    for rel in dirs:
        now = kustomize.build_text(new / rel)
        assert kustomize.build_text(old / rel) == now, rel
        if rel.count("/") == 1 and rel.startswith("overlays/"):
            objects += [o for o in yaml.load_all(now, Loader=yaml.CSafeLoader) if o]
    return objects


def _options(objects: list[dict]) -> dict[tuple[str, str], set[str | None]]:
    out: dict[tuple[str, str], set[str | None]] = {}
    for o in objects:
        key = (o["apiVersion"].rpartition("/")[0], o["kind"])
        out.setdefault(key, set()).add((o["metadata"].get("annotations") or {}).get(OPTION))
    return out


def _kustomization(rendered: pipeline.Rendered, rel: str) -> dict:
    return yaml.safe_load(rendered.files[f"{rel}/kustomization.yaml"].decode())


def _has_sync_patches(k: dict) -> bool:
    return any(p in SYNC_PATCHES for p in k.get("patches", []))


def test_the_example_bundle_builds_the_same_without_the_patches(fleet_repo: Path, tmp_path: Path) -> None:
    rendered = pipeline.render(pipeline.Paths(specs=fleet_repo / "specs", out=fleet_repo))
    objects = _same_builds(rendered, tmp_path)
    options = _options(objects)
    for key, value in argocd.SYNC_OPTIONS.items():
        assert options[key] == {value}, key
    assert options[("cluster.open-cluster-management.io", "Placement")] == {None}
    for rel in _kustomizations(rendered.files):
        assert not _has_sync_patches(_kustomization(rendered, rel)), rel
    # the annotation is in the files fedfleet writes, on exactly the kinds that take it
    for rel, docs in rendered.bundle.items():
        for o in docs:
            has = OPTION in (o.get("metadata", {}).get("annotations") or {})
            key = (str(o.get("apiVersion", "")).rpartition("/")[0], o.get("kind"))
            assert has == (rel.startswith("overlays/") and key in argocd.SYNC_OPTIONS), (rel, key)


def test_split_overlays_build_the_same_unit_by_unit_and_whole(fleet_repo: Path, tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(layout, "SPLIT_ABOVE", 10)
    monkeypatch.setattr(layout, "PART_OBJECTS", 8)
    rendered = pipeline.render(pipeline.Paths(specs=fleet_repo / "specs", out=fleet_repo))
    assert any("/part-" in rel for rel in _kustomizations(rendered.files))
    _same_builds(rendered, tmp_path)


USER_POLICY = {
    "apiVersion": "policy.open-cluster-management.io/v1", "kind": "Policy",
    "metadata": {"name": "team-quota", "namespace": "fl-mnist", "annotations": {"team.acme.io/owner": "ml"}},
    "spec": {"disabled": False, "policy-templates": []},
}
USER_BINDING = {
    "apiVersion": "policy.open-cluster-management.io/v1", "kind": "PlacementBinding",
    "metadata": {"name": "team-binding", "namespace": "fl-governance", "annotations": {"team.acme.io/owner": "ml"}},
    "placementRef": {"apiGroup": "cluster.open-cluster-management.io", "kind": "Placement", "name": "team"},
    "subjects": [{"apiGroup": "policy.open-cluster-management.io", "kind": "Policy", "name": "team-quota"}],
}


def test_objects_of_the_specs_kustomize_content_still_get_the_options(fleet_repo: Path, tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """hub-prod names its own Policy (one kustomization, the patches kept); the governance base
    names a PlacementBinding, which every hub's core unit builds (the patches kept there only)."""
    fleet = fleet_repo / "specs/fleet.yaml"
    text = fleet.read_text()
    hub = "    superlink: {exposure: Route, domain: apps.hub-prod.example.com}"
    line = next(ln for ln in text.splitlines(keepends=True) if ln.startswith(hub))
    text = text.replace(line, line + "    kustomize: {resources: [team/policy.yaml]}\n", 1)
    text = text.replace("  clusterSets:\n", "  bases:\n    governance:\n      kustomize:\n"
                        "        resources: [team-binding.yaml]\n  clusterSets:\n", 1)
    fleet.write_text(text)
    (fleet_repo / "overlays/hub-prod/team").mkdir(parents=True, exist_ok=True)
    (fleet_repo / "overlays/hub-prod/team/policy.yaml").write_text(json.dumps(USER_POLICY))
    (fleet_repo / "bases/governance").mkdir(parents=True, exist_ok=True)
    (fleet_repo / "bases/governance/team-binding.yaml").write_text(json.dumps(USER_BINDING))
    monkeypatch.setattr(layout, "SPLIT_ABOVE", 10)  # hub-dev split, hub-prod kept whole by its content
    monkeypatch.setattr(layout, "PART_OBJECTS", 8)
    rendered = pipeline.render(pipeline.Paths(specs=fleet_repo / "specs", out=fleet_repo))
    assert "overlays/hub-dev/core" in _kustomizations(rendered.files)
    assert "overlays/hub-prod/core" not in _kustomizations(rendered.files)
    objects = _same_builds(rendered, tmp_path)
    assert _has_sync_patches(_kustomization(rendered, "overlays/hub-prod"))
    assert _has_sync_patches(_kustomization(rendered, "overlays/hub-dev/core"))
    parts = [rel for rel in _kustomizations(rendered.files) if "/part-" in rel]
    assert parts and not any(_has_sync_patches(_kustomization(rendered, rel)) for rel in parts)
    mine = [o for o in objects if o["metadata"]["name"] in ("team-quota", "team-binding")]
    assert len(mine) == 3  # the Policy on hub-prod, the binding on both hubs
    for o in mine:
        assert o["metadata"]["annotations"][OPTION] == "SkipDryRunOnMissingResource=true"
        assert o["metadata"]["annotations"]["team.acme.io/owner"] == "ml"


AUDIT_COMPONENT = """apiVersion: kustomize.config.k8s.io/v1alpha1
kind: Component
patches:
- target: {annotationSelector: argocd.argoproj.io/sync-options}
  patch: '[{"op": "add", "path": "/metadata/labels/acme.io~1custom-sync", "value": "true"}]'
"""


def test_the_specs_components_see_fedfleets_objects_as_before(fleet_repo: Path, tmp_path: Path) -> None:
    """kustomize runs a kustomization's components on the objects it accumulated before its own
    patches (api/internal/target/kusttarget.go accumulateTarget), so a hub's component saw
    fedfleet's objects without the sync-options annotation: a component patch that selects by it
    labels only the objects that came with one (none here), as before."""
    fleet = fleet_repo / "specs/fleet.yaml"
    text = fleet.read_text()
    hub = "    superlink: {exposure: Route, domain: apps.hub-prod.example.com}"
    line = next(ln for ln in text.splitlines(keepends=True) if ln.startswith(hub))
    fleet.write_text(text.replace(line, line + "    kustomize: {components: [audit]}\n", 1))
    (fleet_repo / "overlays/hub-prod/audit").mkdir(parents=True, exist_ok=True)
    (fleet_repo / "overlays/hub-prod/audit/kustomization.yaml").write_text(AUDIT_COMPONENT)
    rendered = pipeline.render(pipeline.Paths(specs=fleet_repo / "specs", out=fleet_repo))
    assert "overlays/hub-prod/audit/kustomization.yaml" in rendered.build_inputs
    objects = _same_builds(rendered, tmp_path)
    prod = [o for o in objects if (o["metadata"].get("labels") or {}).get("fedfleet.io/hub") == "hub-prod"]
    assert any((o["metadata"].get("annotations") or {}).get(OPTION) for o in prod)  # the patches still add them
    assert not [o for o in prod if "acme.io/custom-sync" in (o["metadata"].get("labels") or {})]
