"""A large hub overlay is written as small kustomizations (render/layout.py): each is built and
cached on its own, and the overlay Argo CD syncs builds to exactly their objects together.

The example fleet is small, so these tests lower the split threshold; every build is a real
`kubectl kustomize` run.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from fedfleet import pipeline
from fedfleet.checks import kustomize
from fedfleet.checks.built import build_and_check, composed_units
from fedfleet.render import layout


@pytest.fixture
def split(fleet_repo: Path, monkeypatch: pytest.MonkeyPatch) -> pipeline.Rendered:
    monkeypatch.setattr(layout, "SPLIT_ABOVE", 10)
    monkeypatch.setattr(layout, "PART_OBJECTS", 8)
    return pipeline.render(pipeline.Paths(specs=fleet_repo / "specs", out=fleet_repo))


def _overlays(rendered: pipeline.Rendered) -> list[str]:
    return sorted(r for r in rendered.roots if r.startswith("overlays/"))


def _units(rendered: pipeline.Rendered, root: str) -> list[str]:
    units = composed_units(root, rendered.build_inputs)
    assert units, root
    return units


def _canonical(objects: list[dict]) -> list[str]:
    return sorted(json.dumps(o, sort_keys=True) for o in objects)


def test_a_large_overlay_is_a_composition_of_units_with_the_hubs_labels(split: pipeline.Rendered) -> None:
    for root in _overlays(split):
        top = yaml.safe_load(split.files[f"{root}/kustomization.yaml"].decode())
        assert set(top) == {"apiVersion", "kind", "resources"}
        units = _units(split, root)
        assert units[0] == f"{root}/{layout.CORE}" and len(units) > 2
        for unit in units:
            k = yaml.safe_load(split.files[f"{unit}/kustomization.yaml"].decode())
            assert k["labels"][0]["pairs"]["fedfleet.io/hub"] == root.split("/")[1]
            # the sync options are in the objects themselves (tests/test_sync_options.py)
            assert not any(p["target"]["kind"] == "FederatedLearning" for p in k.get("patches", []))
            bases = [r for r in k["resources"] if r.startswith("../")]
            assert bases == (["../../../bases/flower-addon", "../../../bases/governance"] if unit == units[0] else [])
        # a job's objects stay in one part
        jobs = [p for p in split.files if p.startswith(root + "/part-") and "/jobs/" in p]
        flower = [p for p in split.files if p.startswith(root + "/part-") and "/flower/" in p]
        for f in flower:
            job = Path(f).name
            assert [j for j in jobs if Path(j).name == job and Path(j).parent.parent == Path(f).parent.parent]


def test_the_overlay_argo_cd_builds_is_exactly_its_units_built_one_by_one(split: pipeline.Rendered, tmp_path: Path) -> None:
    for rel, content in split.build_inputs.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes(content)
    built = build_and_check(split.build_inputs, split.roots, None)
    assert not built.build_findings
    for root in _overlays(split):
        whole = kustomize.build(tmp_path / root)  # what Argo CD's repo server runs on the path
        assert _canonical(built.objects[root]) == _canonical(whole)
        assert all(o["metadata"]["labels"]["fedfleet.io/hub"] == root.split("/")[1] for o in whole)


def test_one_byte_of_a_job_rebuilds_only_its_unit(split: pipeline.Rendered, tmp_path: Path) -> None:
    store = tmp_path / "cache"
    cold = build_and_check(split.build_inputs, split.roots, None, store)
    every = cold.units
    assert cold.cached == set() and len(every) > len(split.roots)
    job_file = next(p for p in sorted(split.build_inputs) if p.startswith("overlays/") and "/jobs/" in p)
    unit = "/".join(job_file.split("/")[:3])
    text = split.build_inputs[job_file]
    at = text.index(b"    rounds: ") + len(b"    rounds: ")
    changed = dict(split.build_inputs)
    changed[job_file] = text[:at] + (b"7" if text[at:at + 1] != b"7" else b"8") + text[at + 1:]
    again = build_and_check(changed, split.roots, None, store)
    assert every - again.cached == {unit}
    overlay = "/".join(unit.split("/")[:2])
    fl = [o for o in again.objects[overlay] if o["kind"] == "FederatedLearning" and o["metadata"]["name"] == Path(job_file).stem]
    assert str(fl[0]["spec"]["server"]["rounds"]) in "78"
    # the shared bases are read by every core unit, and only by those
    base = next(p for p in sorted(split.build_inputs) if p.startswith("bases/flower-addon/") and not p.endswith("kustomization.yaml"))
    changed = dict(split.build_inputs)
    changed[base] = split.build_inputs[base] + b"#"
    again = build_and_check(changed, split.roots, None, store)
    assert every - again.cached == {f"{r}/{layout.CORE}" for r in _overlays(split)}


def test_an_object_in_two_units_fails_as_kustomize_fails_on_the_overlay(split: pipeline.Rendered, tmp_path: Path) -> None:
    root = _overlays(split)[0]
    units = _units(split, root)
    files = dict(split.build_inputs)
    stray = next(p for p in files if p.startswith(units[1] + "/") and not p.endswith("kustomization.yaml"))
    copy = f"{units[2]}/stray.yaml"
    files[copy] = files[stray]
    k = yaml.safe_load(files[f"{units[2]}/kustomization.yaml"].decode())
    k["resources"].append("stray.yaml")
    files[f"{units[2]}/kustomization.yaml"] = yaml.safe_dump(k).encode()
    built = build_and_check(files, {root: "x"}, None)
    assert root not in built.objects
    assert any("already registered id" in f.message for f in built.build_findings)
    for rel, content in files.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes(content)
    with pytest.raises(Exception, match="already registered id"):
        kustomize.build(tmp_path / root)


def test_a_root_with_fields_of_its_own_is_built_whole(split: pipeline.Rendered) -> None:
    root = _overlays(split)[0]
    files = dict(split.build_inputs)
    k = yaml.safe_load(files[f"{root}/kustomization.yaml"].decode())
    files[f"{root}/kustomization.yaml"] = yaml.safe_dump({**k, "namePrefix": "x-"}).encode()
    assert composed_units(root, files) is None
    unit = _units(split, root)[1]
    files = dict(split.build_inputs)
    k = yaml.safe_load(files[f"{unit}/kustomization.yaml"].decode())
    files[f"{unit}/kustomization.yaml"] = yaml.safe_dump({**k, "nameSuffix": "-x"}).encode()
    assert composed_units(root, files) is None
    built = build_and_check(files, {root: "x"}, None)
    assert built.units == {root} and any(o["metadata"]["name"].endswith("-x") for o in built.objects[root])


def test_the_split_changes_nothing_argo_cd_is_told(fleet_repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The Application still syncs overlays/<hub>; its project and RBAC (derived from the kinds
    the overlay holds) are the same bytes: the whole bootstrap is unchanged."""
    paths = pipeline.Paths(specs=fleet_repo / "specs", out=fleet_repo)
    flat = pipeline.render(paths)
    monkeypatch.setattr(layout, "SPLIT_ABOVE", 10)
    monkeypatch.setattr(layout, "PART_OBJECTS", 8)
    split = pipeline.render(paths)
    assert any("/part-" in p for p in split.files)
    boot = {p: c for p, c in flat.files.items() if p.startswith(("bootstrap/", "bases/"))}
    assert boot == {p: c for p, c in split.files.items() if p.startswith(("bootstrap/", "bases/"))}
    for root in _overlays(split):
        app = yaml.safe_load(split.files[f"bootstrap/{root.split('/')[1]}/application.yaml"].decode())
        assert app["spec"]["source"]["path"] == root
    # the same objects, only in other files
    objects = lambda r: _canonical([o for p, docs in r.bundle.items() if p.startswith("overlays/")  # noqa: E731
                                    and not p.endswith("kustomization.yaml") for o in docs])
    assert objects(flat) == objects(split)


def test_a_small_overlay_stays_one_kustomization(fleet_repo: Path) -> None:
    rendered = pipeline.render(pipeline.Paths(specs=fleet_repo / "specs", out=fleet_repo))
    for root in _overlays(rendered):
        assert composed_units(root, rendered.build_inputs) is None
        assert not any(p.startswith(root + "/part-") for p in rendered.files)
