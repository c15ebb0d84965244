"""The build cache can never return a stale result: every input byte, kustomize's version and the
CRDs are part of the key, and exactly the affected kustomizations are built again.

All builds here are real `kubectl kustomize` runs; the one stand-in is a wrapper script that
execs the real kubectl and only answers `version` differently (to change the version string
without installing a second kustomize).
"""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

import pytest

from conftest import need_crd
from fedfleet import pipeline
from fedfleet.checks import cache
from fedfleet.checks.built import build_and_check
from fedfleet.checks.crds import SchemaSource
from fedfleet.checks.kustomize import find_kustomize


@pytest.fixture
def rendered(fleet_repo: Path) -> pipeline.Rendered:
    return pipeline.render(pipeline.Paths(specs=fleet_repo / "specs", out=fleet_repo))


def _source(rendered: pipeline.Rendered, crd_dir: Path) -> SchemaSource:
    """The CRDs of one folder (no store), with the example fleet's allowed kinds."""
    return SchemaSource.resolve([crd_dir], rendered.fleet.allow_unvalidated_kinds, store=False)


def _edit(files: dict[str, bytes], path: str, old: bytes, new: bytes) -> dict[str, bytes]:
    assert old in files[path], f"{old!r} not in {path}"
    changed = dict(files)
    changed[path] = files[path].replace(old, new, 1)
    assert len(changed[path]) == len(files[path]) or old != new
    return changed


def test_second_run_reuses_every_build_with_identical_results(rendered: pipeline.Rendered, tmp_path: Path, crds: Path) -> None:
    store = tmp_path / "cache"
    cold = build_and_check(rendered.build_inputs, rendered.roots, _source(rendered, crds), store)
    assert cold.cached == set() and cold.validated_from_cache == set()
    warm = build_and_check(rendered.build_inputs, rendered.roots, _source(rendered, crds), store)
    assert warm.cached == set(rendered.roots) and warm.validated_from_cache == set(rendered.roots)
    assert warm.objects == cold.objects
    assert warm.checked == cold.checked
    assert [f.render() for f in warm.crd_findings] == [f.render() for f in cold.crd_findings]
    uncached = build_and_check(rendered.build_inputs, rendered.roots, _source(rendered, crds), None)
    assert uncached.objects == cold.objects and uncached.cached == set()


def test_one_byte_of_a_job_file_rebuilds_only_its_overlay(rendered: pipeline.Rendered, tmp_path: Path, crds: Path) -> None:
    store = tmp_path / "cache"
    build_and_check(rendered.build_inputs, rendered.roots, _source(rendered, crds), store)
    job_file = next(p for p in sorted(rendered.build_inputs) if p.startswith("overlays/") and "/jobs/" in p)
    overlay = "/".join(job_file.split("/")[:2])
    # one byte: the job's rounds digit in its FederatedLearning
    text = rendered.build_inputs[job_file]
    marker = b"    rounds: "
    at = text.index(marker) + len(marker)
    digit = text[at:at + 1]
    changed = dict(rendered.build_inputs)
    changed[job_file] = text[:at] + (b"7" if digit != b"7" else b"8") + text[at + 1:]
    again = build_and_check(changed, rendered.roots, _source(rendered, crds), store)
    assert set(rendered.roots) - again.cached == {overlay}
    assert set(rendered.roots) - again.validated_from_cache == {overlay}
    fl = [o for o in again.objects[overlay] if o["kind"] == "FederatedLearning"
          and o["metadata"]["name"] == Path(job_file).stem]
    assert fl and str(fl[0]["spec"]["server"]["rounds"]) != digit.decode()


def test_a_base_file_rebuilds_every_overlay_that_reads_it(rendered: pipeline.Rendered, tmp_path: Path) -> None:
    store = tmp_path / "cache"
    build_and_check(rendered.build_inputs, rendered.roots, None, store)
    base = next(p for p in sorted(rendered.build_inputs) if p.startswith("bases/governance/") and not p.endswith("kustomization.yaml"))
    changed = dict(rendered.build_inputs)
    changed[base] = rendered.build_inputs[base] + b"#"  # one byte, a comment: kustomize's output is the same
    again = build_and_check(changed, rendered.roots, None, store)
    overlays = {r for r in rendered.roots if r.startswith("overlays/")}
    assert set(rendered.roots) - again.cached == overlays
    assert again.cached == {r for r in rendered.roots if r.startswith("bootstrap/")}


def test_every_input_file_is_in_exactly_the_keys_of_the_roots_that_read_it(rendered: pipeline.Rendered) -> None:
    identity = "kustomize-x"
    before = {r: cache.build_key(r, rendered.build_inputs, identity) for r in rendered.roots}
    for path in sorted(rendered.build_inputs):
        changed = dict(rendered.build_inputs)
        changed[path] = rendered.build_inputs[path] + b" "
        after = {r: cache.build_key(r, changed, identity) for r in rendered.roots}
        affected = {r for r in rendered.roots if after[r] != before[r]}
        readers = {r for r in rendered.roots if path.startswith(r + "/") or path.startswith("bases/") and r.startswith("overlays/")}
        assert affected == readers, path


def test_a_nested_kustomization_is_read_only_when_referenced() -> None:
    files = {
        "a/kustomization.yaml": b"resources:\n- cm.yaml\n",
        "a/cm.yaml": b"kind: ConfigMap\n",
        "a/sub/kustomization.yaml": b"resources:\n- x.yaml\n",
        "a/sub/x.yaml": b"kind: ConfigMap\n",
        "a/loose/patch.yaml": b"[]\n",
    }
    assert cache.input_closure("a", files) == {"a/kustomization.yaml", "a/cm.yaml", "a/loose/patch.yaml"}
    files["a/kustomization.yaml"] = b"resources:\n- cm.yaml\n- sub\n"
    assert cache.input_closure("a", files) == set(files)
    files["a/kustomization.yaml"] = b"resources:\n- https://github.com/x/y//config\n"
    assert cache.input_closure("a", files) is None


def _wrapper(tmp_path: Path, version_file: Path) -> Path:
    kubectl = find_kustomize().argv[0]
    script = tmp_path / "kubectl-wrapper"
    script.write_text(
        "#!/bin/sh\n"
        f'if [ "$1" = version ]; then cat "{version_file}"; exit 0; fi\n'
        f'exec "{kubectl}" "$@"\n'
    )
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return script


def test_another_kustomize_version_rebuilds_and_revalidates_everything(rendered: pipeline.Rendered, tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch, crds: Path) -> None:
    if find_kustomize().argv[1:] != ("kustomize",):
        pytest.skip("the wrapper stands in for kubectl kustomize")
    version = tmp_path / "version.txt"
    version.write_text("Client Version: v1.37.1\nKustomize Version: v5.8.1\n")
    monkeypatch.setenv("FEDFLEET_KUSTOMIZE", f"{_wrapper(tmp_path, version)} kustomize")
    store = tmp_path / "cache"
    source = _source(rendered, crds)
    build_and_check(rendered.build_inputs, rendered.roots, source, store)
    warm = build_and_check(rendered.build_inputs, rendered.roots, source, store)
    assert warm.cached == warm.validated_from_cache == set(rendered.roots)
    version.write_text("Client Version: v1.37.1\nKustomize Version: v5.8.2\n")  # one byte
    again = build_and_check(rendered.build_inputs, rendered.roots, source, store)
    assert again.cached == set() and again.validated_from_cache == set()
    assert build_and_check(rendered.build_inputs, rendered.roots, source, store).cached == set(rendered.roots)


def test_another_reader_of_kustomize_output_rebuilds_everything(rendered: pipeline.Rendered, tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """The build entries hold parsed objects: another yaml-rs or PyYAML (or builtyaml.py) is a miss."""
    store = tmp_path / "cache"
    build_and_check(rendered.build_inputs, rendered.roots, None, store)
    assert build_and_check(rendered.build_inputs, rendered.roots, None, store).cached == set(rendered.roots)
    real = cache.reader_identity()
    monkeypatch.setattr(cache, "reader_identity", lambda: real.replace("reader\0", "reader\0x", 1))
    assert build_and_check(rendered.build_inputs, rendered.roots, None, store).cached == set()


def test_one_byte_of_a_crd_revalidates_without_rebuilding(rendered: pipeline.Rendered, tmp_path: Path, crds: Path) -> None:
    mine = tmp_path / "crds"
    shutil.copytree(crds, mine)
    store = tmp_path / "cache"
    need_crd(mine, "federation-ai.open-cluster-management.io_federatedlearnings.yaml")
    cold = build_and_check(rendered.build_inputs, rendered.roots, _source(rendered, mine), store)
    assert not [f for f in cold.crd_findings if f.severity.value == "error"]
    # FederatedLearning's CRD: spec.server.rounds becomes a string, one byte ("integer" -> "intege"
    # would be invalid YAML schema); change the type the FL objects are checked against
    crd = next(p for p in sorted(mine.rglob("*.yaml")) if b"kind: FederatedLearning\n" in p.read_bytes()
               or b"kind: FederatedLearning\r\n" in p.read_bytes())
    text = crd.read_bytes()
    needle = b"rounds:\n"
    at = text.index(needle)
    typed = text.index(b"type: integer", at)
    crd.write_bytes(text[:typed] + b"type: string " + text[typed + len(b"type: integer"):])
    again = build_and_check(rendered.build_inputs, rendered.roots, _source(rendered, mine), store)
    assert again.cached == set(rendered.roots)  # the builds did not change
    assert again.validated_from_cache == set()  # every validation ran again
    bad = {f.location.file for f in again.crd_findings if f.severity.value == "error" and "rounds" in f.field}
    assert bad == {r for r in rendered.roots if r.startswith("overlays/")}


def test_a_damaged_entry_is_a_miss(rendered: pipeline.Rendered, tmp_path: Path) -> None:
    store = tmp_path / "cache"
    cold = build_and_check(rendered.build_inputs, rendered.roots, None, store)
    entries = sorted((store / "build").rglob("*.json"))
    assert len(entries) == len(rendered.roots)
    entries[0].write_bytes(entries[0].read_bytes()[:-2])
    # an entry copied under another key is not taken either
    shutil.copy(entries[2], entries[1])
    again = build_and_check(rendered.build_inputs, rendered.roots, None, store)
    assert len(set(rendered.roots) - again.cached) == 2
    assert again.objects == cold.objects


def test_check_writes_the_cache_and_no_cache_leaves_it_alone(fleet_repo: Path, run, crds: Path) -> None:  # type: ignore[no-untyped-def]
    assert run("generate").code == 0
    first = run("check", "--crds", str(crds), "--no-cache")
    assert first.code in (0, 1)
    assert not (fleet_repo / cache.CACHE_DIR).exists()
    assert run("check", "--crds", str(crds)).code == first.code
    assert (fleet_repo / cache.CACHE_DIR / ".gitignore").read_text() == "*\n"
    again = run("check", "--crds", str(crds))
    assert again.code == first.code and "unchanged, reused from" in again.out
    assert os.listdir(fleet_repo / cache.CACHE_DIR)


def test_a_value_json_would_change_is_never_stored(tmp_path: Path) -> None:
    import datetime

    store = cache.Cache(tmp_path / "cache")
    key = "ab" * 32
    store.put("build", key, [{"kind": "ConfigMap", "data": {"when": datetime.date(2026, 11, 25)}}])
    assert store.get("build", key) is None  # a date would come back as a string: not stored
    store.put("build", key, [{"kind": "ConfigMap", "data": {"n": 1, "ok": True, "f": 1.5, "none": None}}])
    assert store.get("build", key) == [{"kind": "ConfigMap", "data": {"n": 1, "ok": True, "f": 1.5, "none": None}}]
