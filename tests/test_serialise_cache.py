"""The serialisation cache (write.SerialiseCache) never returns stale bytes: a file's entry is keyed
by its objects (every type kept apart) and the serialiser's identity (write.py's and yamlemit's
source, PyYAML's and libyaml's versions); one changed spec byte recomputes exactly the files whose
objects changed; a damaged or misfiled entry is a miss; with or without it the bytes are the same.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from fedfleet import pipeline, write, yamlemit


def _render(repo: Path, cache: bool) -> pipeline.Rendered:
    return pipeline.render(pipeline.Paths(repo / "specs", repo), cache=cache)


def _entries(repo: Path) -> list[Path]:
    return sorted(p for p in (repo / pipeline.CACHE_DIR / write.CACHE_KIND).rglob("*") if p.is_file())


def _counting(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many files the next renders serialise for real (cache misses), as a list of one int."""
    count = [0]
    real = write.serialise

    def counted(docs: list[dict[str, Any]]) -> bytes:
        count[0] += 1
        return real(docs)

    monkeypatch.setattr(write, "serialise", counted)
    return count


def test_a_second_render_reuses_every_file_byte_for_byte(fleet_repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fresh = _render(fleet_repo, cache=False)
    assert not (fleet_repo / pipeline.CACHE_DIR).exists()  # without the cache nothing is written
    count = _counting(monkeypatch)
    cold = _render(fleet_repo, cache=True)
    assert count[0] == len(fresh.files) and 0 < len(_entries(fleet_repo)) <= len(fresh.files)
    assert (fleet_repo / pipeline.CACHE_DIR / ".gitignore").read_text() == "*\n"
    warm = _render(fleet_repo, cache=True)
    assert count[0] == len(fresh.files)  # nothing serialised again
    assert cold.files == warm.files == fresh.files


def test_one_changed_spec_byte_recomputes_exactly_the_files_whose_objects_changed(
        fleet_repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    before = _render(fleet_repo, cache=True)
    job = next(p for p in sorted((fleet_repo / "specs" / "jobs").glob("*.yaml")) if "rounds: " in p.read_text())
    text = job.read_text()
    at = text.index("rounds: ") + len("rounds: ")
    job.write_text(text[:at] + ("7" if text[at] != "7" else "8") + text[at + 1:])  # one byte
    count = _counting(monkeypatch)
    after = _render(fleet_repo, cache=True)
    fresh = _render(fleet_repo, cache=False)
    assert after.files == fresh.files
    changed = {p for p in after.files if after.bundle[p] != before.bundle.get(p)}
    assert changed and all(after.files[p] != before.files.get(p) for p in changed)
    assert count[0] == len(changed) + len(fresh.files)  # the changed ones, then the uncached render


def test_the_serialiser_identity_is_in_every_key(fleet_repo: Path, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    _render(fleet_repo, cache=True)
    count = _counting(monkeypatch)
    # one more byte in the emitter's source: every file is serialised again
    changed = tmp_path / "yamlemit.py"
    changed.write_bytes(Path(yamlemit.__file__).read_bytes() + b"\n")
    monkeypatch.setattr(yamlemit, "__file__", str(changed))
    monkeypatch.setattr(write, "_identity", None)
    again = _render(fleet_repo, cache=True)
    assert count[0] == len(again.files)
    # another PyYAML version: the same
    monkeypatch.setattr(yaml, "__version__", yaml.__version__ + ".1")
    monkeypatch.setattr(write, "_identity", None)
    _render(fleet_repo, cache=True)
    assert count[0] == 2 * len(again.files)
    assert again.files == _render(fleet_repo, cache=False).files


def test_a_damaged_or_misfiled_entry_is_a_miss_and_is_written_again(fleet_repo: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    fresh = _render(fleet_repo, cache=True)
    entries = _entries(fleet_repo)
    truncated, flipped, misfiled, source = entries[0], entries[1], entries[2], entries[3]
    truncated.write_bytes(truncated.read_bytes()[:-1])
    raw = bytearray(flipped.read_bytes())
    raw[-2] ^= 0x01  # one bit of the content, the header left as it was
    flipped.write_bytes(bytes(raw))
    shutil.copy(source, misfiled)  # a whole, valid entry under another key
    # the pack of the last run's entries: one bit of its content flipped, so it is not read at all
    pack = _pack(fleet_repo)
    raw = bytearray(pack.read_bytes())
    raw[-2] ^= 0x01
    pack.write_bytes(bytes(raw))
    count = _counting(monkeypatch)
    again = _render(fleet_repo, cache=True)
    assert count[0] == 3
    assert again.files == fresh.files
    _render(fleet_repo, cache=True)
    assert count[0] == 3  # rewritten whole: hits now


def _pack(repo: Path) -> Path:
    return repo / pipeline.CACHE_DIR / write.PACK_KIND / "00" / "last"


def test_the_pack_answers_alone_and_never_for_other_objects(fleet_repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The last run's entries in one file (write.SerialiseCache's pack): it answers without the
    entries' own files, only by each entry's key (one changed spec byte: the changed files are
    serialised again), and one whose index does not fit its content is not read."""
    fresh = _render(fleet_repo, cache=True)
    for entry in _entries(fleet_repo):
        entry.unlink()
    count = _counting(monkeypatch)
    assert _render(fleet_repo, cache=True).files == fresh.files and count[0] == 0
    job = next(p for p in sorted((fleet_repo / "specs" / "jobs").glob("*.yaml")) if "rounds: " in p.read_text())
    text = job.read_text()
    at = text.index("rounds: ") + len("rounds: ")
    job.write_text(text[:at] + ("7" if text[at] != "7" else "8") + text[at + 1:])  # one byte
    pack = _pack(fleet_repo)
    packed = pack.read_bytes()
    after = _render(fleet_repo, cache=True)
    changed = {p for p in after.files if after.bundle[p] != fresh.bundle.get(p)}
    assert changed and count[0] == len(changed) and after.files == _render(fleet_repo, cache=False).files
    # a few new entries: their own files answer them, the pack is not written again ...
    assert pack.read_bytes() == packed
    count[0] = 0
    assert _render(fleet_repo, cache=True).files == after.files and count[0] == 0
    for entry in _entries(fleet_repo):
        entry.unlink()
    assert _render(fleet_repo, cache=True).files == after.files and count[0] == len(changed)
    # ... until it lacks more than REPACK_AFTER of a run's entries
    monkeypatch.setattr(write, "REPACK_AFTER", 0)
    monkeypatch.setattr(write, "REPACK_SHARE", 10**9)
    _render(fleet_repo, cache=True)
    assert pack.read_bytes() != packed
    monkeypatch.undo()
    count = _counting(monkeypatch)
    for entry in _entries(fleet_repo):
        entry.unlink()
    assert _render(fleet_repo, cache=True).files == after.files and count[0] == 0  # the new pack alone
    # an index one byte longer than its entry, the first line's digest made to match
    head, _, rest = pack.read_bytes().partition(b"\n")
    index, _, data = rest.partition(b"\n")
    rows = json.loads(index)
    rows[0][1] += 1
    rest = json.dumps(rows).encode() + b"\n" + data
    pack.write_bytes(head.split(b" ")[0] + b" " + hashlib.sha256(rest).hexdigest().encode() + b"\n" + rest)
    for entry in _entries(fleet_repo):
        entry.unlink()
    assert _render(fleet_repo, cache=True).files == after.files and count[0] == len(after.files)
    # an index that claims far more than the file holds (the pack is read a piece at a time):
    # a miss, not a petabyte's allocation
    rows[0][1] = 10**15
    rest = json.dumps(rows).encode() + b"\n" + data
    pack.write_bytes(head.split(b" ")[0] + b" " + hashlib.sha256(rest).hexdigest().encode() + b"\n" + rest)
    for entry in _entries(fleet_repo):
        entry.unlink()
    count[0] = 0
    assert _render(fleet_repo, cache=True).files == after.files and count[0] == len(after.files)


@pytest.mark.parametrize("a, b", [
    (1, 1.0), (1, True), (0, False), (1, "1"), (None, float("nan")), ("x", ["x"]), ([1, 2], (1, 2)), ({"a": 1}, {"a": 1.0}),
    ("yes", True), (10**20, str(10**20)),
])
def test_objects_that_differ_in_type_never_share_a_key(a: Any, b: Any, tmp_path: Path) -> None:
    store = write.SerialiseCache(tmp_path)
    doc_a, doc_b = [{"apiVersion": "v1", "kind": "K", "data": a}], [{"apiVersion": "v1", "kind": "K", "data": b}]
    assert store.key(doc_a) != store.key(doc_b)
    # and equal objects built alike do share one
    assert store.key([json.loads(json.dumps({"kind": "K", "apiVersion": "v1", "data": {"x": 1, "y": 2}}))]) == \
        store.key([{"kind": "K", "apiVersion": "v1", "data": {"x": 1, "y": 2}}])


class Name(str):
    """A str subclass: PyYAML's safe representer refuses it."""


def test_what_does_not_serialise_is_not_stored(tmp_path: Path) -> None:
    store = write.SerialiseCache(tmp_path)
    with pytest.raises(yaml.representer.RepresenterError):
        store.serialise([{"apiVersion": "v1", "kind": "K", "data": Name("x")}])
    assert not any(p.is_file() for p in tmp_path.rglob("*"))
    # its plain twin is another key: serialised (and stored) on its own
    assert store.key([{"apiVersion": "v1", "kind": "K", "data": Name("x")}]) != \
        store.key([{"apiVersion": "v1", "kind": "K", "data": "x"}])


def _findings(out: str) -> dict[str, Any]:
    """Each check's status and findings from `check -o json` (seconds and summaries aside: a
    summary says what was reused)."""
    return {c["name"]: (c["status"], c["findings"]) for c in json.loads(out)["checks"]}


def test_check_finds_the_same_with_and_without_the_caches(fleet_repo: Path, run, crds: Path) -> None:  # type: ignore[no-untyped-def]
    assert run("generate").code == 0
    job = fleet_repo / "specs" / "jobs" / "mnist-eu.yaml"
    job.write_text(job.read_text().replace("tls: {enabled: true}", "tls: {enabled: false}", 1))  # findings to compare
    uncached = run("check", "--crds", str(crds), "--no-cache", "-o", "json")
    assert uncached.code == 1 and not (fleet_repo / pipeline.CACHE_DIR).exists()
    cold = run("check", "--crds", str(crds), "-o", "json")
    assert _entries(fleet_repo)
    warm = run("check", "--crds", str(crds), "-o", "json")
    assert cold.code == warm.code == uncached.code
    assert _findings(cold.out) == _findings(warm.out) == _findings(uncached.out)
    assert any(findings for _, findings in _findings(warm.out).values())


def test_the_key_depends_on_values_not_on_which_are_one_object(tmp_path: Path) -> None:
    """A spec read from the read cache shares its strings otherwise than one parsed afresh: the
    same values and types are the same key (and serialise alike); a cycle is not cached."""
    store = write.SerialiseCache(tmp_path)
    name = "".join(["job-", "0001"])  # one string object, used twice
    shared = [{"kind": "ConfigMap", "metadata": {"name": name}, "data": {"a": name}}]
    apart = [{"kind": "ConfigMap", "metadata": {"name": "job-0001"}, "data": {"a": "".join(["job-", "0001"])}}]
    assert shared[0]["metadata"]["name"] is shared[0]["data"]["a"]
    assert apart[0]["metadata"]["name"] is not apart[0]["data"]["a"]
    assert store.key(shared) == store.key(apart) and write.serialise(shared) == write.serialise(apart)
    assert store.key([{"kind": "ConfigMap", "data": {"a": 1}}]) != store.key([{"kind": "ConfigMap", "data": {"a": 1.0}}])
    cyclic: dict[str, Any] = {"kind": "ConfigMap"}
    cyclic["data"] = [cyclic]
    assert store.key([cyclic]) is None
