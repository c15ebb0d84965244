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
import yaml

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


def test_a_kustomization_covers_its_whole_tree_and_what_it_references() -> None:
    files = {
        "a/kustomization.yaml": b"resources:\n- cm.yaml\n",
        "a/cm.yaml": b"kind: ConfigMap\n",
        "a/sub/kustomization.yaml": b"resources:\n- x.yaml\n",
        "a/sub/x.yaml": b"kind: ConfigMap\n",
        "a/loose/patch.yaml": b"[]\n",
        "lib/kustomization.yaml": b"resources:\n- y.yaml\n",
        "lib/y.yaml": b"kind: ConfigMap\n",
        "other/z.yaml": b"kind: ConfigMap\n",
    }
    assert cache.input_closure("a", files) == {p for p in files if p.startswith("a/")}
    files["a/kustomization.yaml"] = b"resources:\n- cm.yaml\n- ../lib\n"
    assert cache.input_closure("a", files) == {p for p in files if not p.startswith("other/")}
    files["a/kustomization.yaml"] = b"resources:\n- https://github.com/x/y//config\n"
    assert cache.input_closure("a", files) is None
    files["a/kustomization.yaml"] = b"resources: [\n"  # unreadable: unknown, never cached
    assert cache.input_closure("a", files) is None


@pytest.mark.parametrize("field", [
    "generators:\n- gen.yaml\n", "transformers:\n- t.yaml\n", "validators:\n- v.yaml\n",
    "helmCharts:\n- name: c\n", "helmGlobals:\n  chartHome: charts\n", "openapi:\n  path: s.json\n",
    "crds:\n- crd.yaml\n", "configurations:\n- c.yaml\n", "replacements:\n- path: r.yaml\n",
    "someFutureField: x\n",
])
def test_a_field_that_can_read_unfollowed_files_makes_the_closure_every_file(field: str) -> None:
    files = {"a/kustomization.yaml": b"resources:\n- ../lib\n", "a/cm.yaml": b"kind: ConfigMap\n",
             "lib/kustomization.yaml": b"resources:\n- y.yaml\n" + field.encode(), "lib/y.yaml": b"{}\n",
             "other/z.yaml": b"kind: ConfigMap\n"}
    assert cache.input_closure("a", files) == set(files)
    files["lib/kustomization.yaml"] = b"resources:\n- y.yaml\nreplacements:\n- source: {kind: X}\n  targets: []\n"
    assert cache.input_closure("a", files) == set(files) - {"other/z.yaml"}  # an inline replacement reads nothing


_CM = b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: %s\ndata:\n  v: %s\n"


def _changed_file_rebuilds(tmp_path: Path, files: dict[str, bytes], root: str, path: str, value: str) -> None:
    """Check builds `root` (cached, scratch tree of its closure) without failing; changing `path`
    changes the key and the next check builds the new value, again without failing."""
    store = tmp_path / "cache"
    first = build_and_check(files, {root: "hub"}, None, store)
    assert not first.build_findings, [f.render() for f in first.build_findings]
    assert first.cached == set()
    changed = dict(files)
    changed[path] = files[path].replace(b"one", b"two")
    assert changed[path] != files[path]
    assert cache.build_key(root, changed, "k") != cache.build_key(root, files, "k")
    again = build_and_check(changed, {root: "hub"}, None, store)
    assert not again.build_findings, [f.render() for f in again.build_findings]
    assert again.cached == set()
    assert [o["data"][value] for o in again.objects[root] if value in o.get("data", {})] == ["two"]


@pytest.mark.parametrize("generator", ["files:\n  - k=extra/sub/data.txt", "envs:\n  - extra/sub/data.txt"])
def test_a_generator_file_inside_a_nested_kustomization_directory(tmp_path: Path, generator: str) -> None:
    """`files: [key=path]` names path (kustomize api/internal/generators/utils.go ParseFileSource):
    a file in a nested kustomization's directory is read by the build, so it is in its key and in
    the scratch tree."""
    data = b"one" if generator.startswith("files") else b"k=one\n"
    files = {"app/kustomization.yaml": f"configMapGenerator:\n- name: g\n  {generator}\n".encode(),
             "app/extra/sub/kustomization.yaml": b"resources: []\n", "app/extra/sub/data.txt": data}
    _changed_file_rebuilds(tmp_path, files, "app", "app/extra/sub/data.txt", "k")


@pytest.mark.parametrize("kustomization, path", [
    # PyYAML's YAML 1.1 would read a date, skip it and miss the nested directory
    (b"resources:\n- 2024-01-01\n", "app/2024-01-01/cm.yaml"),
    # ConstructorError under PyYAML's SafeLoader: the closure stopped before ../lib (in the
    # kustomization's own metadata, which kustomize does not print: its output is read as before)
    (b"metadata:\n  annotations:\n    a: =\nresources:\n- ../lib\n", "lib/cm.yaml"),
    # ValueError (no such date) under PyYAML's SafeLoader: check crashed
    (b"metadata:\n  annotations:\n    a: 2024-13-45\nresources:\n- ../lib\n", "lib/cm.yaml"),
])
def test_a_kustomization_is_read_with_every_scalar_a_string(tmp_path: Path, kustomization: bytes, path: str) -> None:
    files = {"app/kustomization.yaml": kustomization,
             "app/2024-01-01/kustomization.yaml": b"resources:\n- cm.yaml\n",
             "app/2024-01-01/cm.yaml": _CM % (b"dated", b"one"),
             "lib/kustomization.yaml": b"resources:\n- cm.yaml\n", "lib/cm.yaml": _CM % (b"lib", b"one")}
    _changed_file_rebuilds(tmp_path, files, "app", path, "v")


def test_a_file_named_in_a_generator_config_is_read(tmp_path: Path) -> None:
    """A builtin generator's config names its own files: not followed, so the key covers every file
    and the scratch tree is whole."""
    files = {"app/kustomization.yaml": b"resources:\n- ../lib\n",
             "lib/kustomization.yaml": b"generators:\n- gen.yaml\n",
             "lib/gen.yaml": b"apiVersion: builtin\nkind: ConfigMapGenerator\nmetadata:\n  name: g\n"
                             b"files:\n- k=data/sub/v.txt\n",
             "lib/data/sub/kustomization.yaml": b"resources: []\n", "lib/data/sub/v.txt": b"one",
             "elsewhere/x.txt": b"x"}
    assert cache.input_closure("app", files) == set(files)
    _changed_file_rebuilds(tmp_path, files, "app", "lib/data/sub/v.txt", "k")


# Kustomizations the closure reads: the reviewer's cases above, YAML corners, and texts with a tab
# (where libyaml and PyYAML's Python parser differ: libyaml takes a tab as a separator).
_KUSTOMIZATION_CORNERS = [
    b"resources:\n- 2024-01-01\n", b"metadata:\n  annotations:\n    a: =\n", b"a: 2024-13-45\n", b"a: 1\na: 2\n",
    b"resources: [\n", b"%YAML 1.2\n---\na: b\n", b"%YAML 2.0\n---\na: b\n", b"a: !!int x\n", b"a: !foo x\n",
    b"a: &x [1]\nb: *x\n", b"a: *x\n", b"<<: {a: 1}\nb: 2\n", b"\xef\xbb\xbfa: b\n", b"\xff\xfea\x00:\x00 \x00b\x00\n\x00",
    b"a: \x07\n", b"a: \xff\n", b"a: b\x85c\n", b"a: 'b\xe2\x80\xa8c'\n", b"[a:b, c]\n", b"{a: b}: c\n", b"", b"---\n...\n",
    b"a: b\n---\nc: d\n", b"a: b: c\n", b"a: ~\nb: null\nc: yes\n", b"x" * 1100 + b": v\n", b"a: b\rc: d\r",
    b"a:\tb\n", b"a: b\t# c\n", b"a: [b,\tc]\n", b"a: b\t\n", b"\ta: b\n", b"a: 'x\ty'\n", b"a: |\n  x\ty\n",
]


def _python_reading(text: bytes) -> object:
    try:
        return yaml.load(text, Loader=yaml.BaseLoader)
    except yaml.YAMLError as exc:
        return type(exc)


def _fast_reading(text: bytes) -> object:
    try:
        return cache.read_kustomization(text)
    except yaml.YAMLError as exc:
        return type(exc)


@pytest.mark.parametrize("text", _KUSTOMIZATION_CORNERS)
def test_a_kustomization_reads_as_pythons_base_loader_reads_it(text: bytes) -> None:
    """read_kustomization (libyaml where it agrees) gives yaml.BaseLoader's value or error."""
    assert _fast_reading(text) == _python_reading(text)


def test_every_kustomization_of_a_fleet_reads_as_pythons_base_loader_reads_it(rendered: pipeline.Rendered) -> None:
    texts = [b for p, b in rendered.build_inputs.items() if p.rsplit("/", 1)[-1] in cache.KUSTOMIZATION_NAMES]
    assert len(texts) > 5
    for text in texts:
        assert _fast_reading(text) == _python_reading(text)


def test_libyaml_reads_a_tab_separator_python_refuses() -> None:
    """Why a text with a tab goes to the Python parser: libyaml alone would read it."""
    assert yaml.load(b"a:\tb\n", Loader=yaml.CBaseLoader) == {"a": "b"}
    assert _python_reading(b"a:\tb\n") is yaml.scanner.ScannerError


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


def test_one_byte_of_the_code_that_packs_a_build_entry_is_another_key(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """A build entry holds what checks/built.py made of the objects: the packed array, where each
    object starts and each object's id (the duplicate check reads the ids, not the objects). Its
    source is in the key, as builtyaml.py's is: an entry packed by other code is never read."""
    from fedfleet.checks import built, builtyaml

    before = cache.reader_identity()
    for module in (built, builtyaml):
        copy = tmp_path / f"{module.__name__}.py"
        copy.write_bytes(Path(module.__file__).read_bytes() + b"#")
        with monkeypatch.context() as m:
            m.setattr(module, "__file__", str(copy))
            assert cache.reader_identity() != before, module.__name__
    assert cache.reader_identity() == before


def test_one_byte_of_the_reader_of_the_crd_files_revalidates(tmp_path: Path, crds: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """The CRD files are read by the spec reader (spec/yamlsource.py, through spec/readcache.py):
    what it makes of a schema is what validation judges, so its identity is in the validation key."""
    from fedfleet.spec import readcache, yamlsource

    source = SchemaSource.resolve([crds], store=False)
    monkeypatch.setattr(readcache, "_identity", None)
    before = cache.crd_identity(source)
    copy = tmp_path / "yamlsource.py"
    copy.write_bytes(Path(yamlsource.__file__).read_bytes() + b"#")
    with monkeypatch.context() as m:
        m.setattr(yamlsource, "__file__", str(copy))
        m.setattr(readcache, "_identity", None)
        assert cache.crd_identity(source) != before
    monkeypatch.setattr(readcache, "_identity", None)
    assert cache.crd_identity(source) == before


def test_an_edited_json_entry_is_a_miss(tmp_path: Path) -> None:
    """The JSON entries (CRD validation, unit facts, Rego answers) carry the SHA-256 of their
    content: one byte edited where the JSON still parses (a number, a letter of a string) is a
    miss, as a truncated or misfiled entry is, never another result."""
    store = cache.Cache(tmp_path / "cache")
    key, other = "cd" * 32, "ef" * 32
    store.put("facts", key, {"needs": 12, "kind": "Secret"})
    store.put("facts", other, {"needs": 3, "kind": "Secret"})
    assert store.get("facts", key) == {"needs": 12, "kind": "Secret"}
    [path] = [p for p in (tmp_path / "cache" / "facts").rglob("*") if p.is_file() and p.name.startswith(key)]
    good = path.read_bytes()
    for old, new in ((b"12", b"13"), (b"Secret", b"Secreu")):
        at = good.rindex(old)  # in the value (the entry ends with it)
        path.write_bytes(good[:at] + new + good[at + len(old):])
        assert store.get("facts", key) is None, new
    path.write_bytes(good[:-2])
    assert store.get("facts", key) is None
    [misfiled] = [p for p in (tmp_path / "cache" / "facts").rglob("*") if p.is_file() and p.name.startswith(other)]
    shutil.copy(misfiled, path)
    assert store.get("facts", key) is None
    path.write_bytes(good)
    assert store.get("facts", key) == {"needs": 12, "kind": "Secret"}


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


def test_crd_files_are_read_once_and_one_byte_of_one_rereads_it(tmp_path: Path, crds: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """What the reader made of each CRD file is kept (spec/readcache.py, keyed by the file's
    bytes): a second load parses nothing, and one byte more or less in one file parses that file
    again, giving what an uncached load gives."""
    from fedfleet.spec import yamlsource

    mine = tmp_path / "crds"
    shutil.copytree(crds, mine)
    store = tmp_path / "cache"
    parsed: list[int] = []
    real = yamlsource._fast_read
    monkeypatch.setattr(yamlsource, "_fast_read", lambda text: parsed.append(1) or real(text))
    source = SchemaSource.resolve([mine], store=False)
    uncached = source.load().schemas_as_read()
    parsed.clear()
    first = source.load(store).schemas_as_read()
    assert first == uncached and len(parsed) == len(source.files) > 1
    parsed.clear()
    assert source.load(store).schemas_as_read() == uncached and parsed == []  # every file from the cache
    crd = next(p for p, _label in source.files if b"description: " in p.read_bytes())
    text = crd.read_bytes()
    at = text.index(b"description: ") + len(b"description: ")
    crd.write_bytes(text[:at] + (b"X" if text[at:at + 1] != b"X" else b"Y") + text[at + 1:])  # one byte
    parsed.clear()
    changed = source.load(store).schemas_as_read()
    assert len(parsed) == 1  # that file only
    assert changed == SchemaSource.resolve([mine], store=False).load().schemas_as_read() != uncached


def test_a_damaged_entry_is_a_miss(rendered: pipeline.Rendered, tmp_path: Path) -> None:
    store = tmp_path / "cache"
    cold = build_and_check(rendered.build_inputs, rendered.roots, None, store)
    entries = sorted((store / "build").rglob("*.bin"))
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
