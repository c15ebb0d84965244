"""The spec read cache (spec/readcache.py) never returns stale data: an entry is keyed by the file's
exact bytes and the reader's identity; one changed byte or another reader reads the file again; a
damaged or misfiled entry is a miss; what the fast reader refuses (every error with its file:line)
is never stored; data JSON would change is never stored; with or without it the fleet is the same.
A document's schema pass is kept too (spec-valid/), keyed by its file's bytes, the reader, its index
and the schema's identity: a change of any of them checks it again; a failure is never kept.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest

from fedfleet import pipeline
from fedfleet.findings import InputError
from fedfleet.spec import readcache, yamlsource
from fedfleet.spec import load
from fedfleet.spec.load import read_spec_documents


def _counting(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The texts the fast reader reads for real (cache misses)."""
    read: list[str] = []
    real = yamlsource._fast_read

    def counted(text: str) -> Any:
        read.append(text)
        return real(text)

    monkeypatch.setattr(yamlsource, "_fast_read", counted)
    return read


def _docs(repo: Path, cache: bool) -> list[tuple[str, int, Any]]:
    docs = read_spec_documents(repo / "specs", readcache.ReadCache(repo / pipeline.CACHE_DIR) if cache else None)
    return [(d.file, d.index, d.data) for d in docs]


def _entries(repo: Path) -> list[Path]:
    return sorted(p for p in (repo / pipeline.CACHE_DIR / readcache.KIND).rglob("*") if p.is_file())


def _files(repo: Path) -> list[Path]:
    return sorted((repo / "specs").rglob("*.yaml"))


def test_a_second_read_takes_every_file_from_the_cache(fleet_repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fresh = _docs(fleet_repo, cache=False)
    assert not (fleet_repo / pipeline.CACHE_DIR).exists()
    read = _counting(monkeypatch)
    cold = _docs(fleet_repo, cache=True)
    assert len(read) == len(_files(fleet_repo)) == len(_entries(fleet_repo))
    warm = _docs(fleet_repo, cache=True)
    assert len(read) == len(_files(fleet_repo))  # nothing read again
    assert cold == warm == fresh
    rendered = pipeline.render(pipeline.Paths(fleet_repo / "specs", fleet_repo), cache=True)
    assert rendered.files == pipeline.render(pipeline.Paths(fleet_repo / "specs", fleet_repo)).files


def test_one_changed_byte_reads_that_file_again(fleet_repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _docs(fleet_repo, cache=True)
    job = next(p for p in _files(fleet_repo) if "rounds: " in p.read_text())
    text = job.read_text()
    at = text.index("rounds: ") + len("rounds: ")
    digit = "7" if text[at] != "7" else "8"
    job.write_text(text[:at] + digit + text[at + 1:])  # one byte
    read = _counting(monkeypatch)
    again = _docs(fleet_repo, cache=True)
    assert read == [job.read_text()]
    assert again == _docs(fleet_repo, cache=False)
    assert f"rounds: {digit}" not in text[at - 8:at + 1] and any(
        isinstance(d, dict) and f"'rounds': {digit}" in str(d) for _, _, d in again)


def test_another_reader_reads_every_file_again(fleet_repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The reader's identity is in the key: another yamlsource.py, PyYAML or libyaml is a miss."""
    _docs(fleet_repo, cache=True)
    monkeypatch.setattr(readcache, "_identity", b"another reader")
    read = _counting(monkeypatch)
    assert _docs(fleet_repo, cache=True) == _docs(fleet_repo, cache=False)
    assert len(read) == 2 * len(_files(fleet_repo))  # the cached read and the uncached one


def test_the_identity_covers_the_reader_source() -> None:
    ident = readcache.reader_identity()
    readcache._identity = None
    try:
        assert readcache.reader_identity() == ident
    finally:
        readcache._identity = ident
    assert readcache.key(b"a: 1\n") != readcache.key(b"a: 2\n")


def test_a_damaged_or_misfiled_entry_is_a_miss(fleet_repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fresh = _docs(fleet_repo, cache=True)
    entries = _entries(fleet_repo)
    assert len(entries) >= 3
    entries[0].write_bytes(entries[0].read_bytes()[:-2])  # truncated
    entries[1].write_bytes(entries[2].read_bytes())  # another file's entry under this key
    read = _counting(monkeypatch)
    assert _docs(fleet_repo, cache=True) == fresh
    assert len(read) == 2


def test_what_the_fast_reader_refuses_is_never_stored_and_reports_as_before(fleet_repo: Path) -> None:
    job = next(p for p in _files(fleet_repo) if "rounds: " in p.read_text())
    text = job.read_text()
    job.write_text(text.replace("rounds: ", "rounds: 1\n    rounds: ", 1))  # a duplicate key
    with pytest.raises(InputError) as uncached:
        _docs(fleet_repo, cache=False)
    for _ in range(2):
        with pytest.raises(InputError) as cached:
            _docs(fleet_repo, cache=True)
        assert [f.render() for f in cached.value.findings] == [f.render() for f in uncached.value.findings]
    assert "duplicate" in uncached.value.findings[0].message and uncached.value.findings[0].location.line > 0
    assert len(_entries(fleet_repo)) == len(_files(fleet_repo)) - 1


def test_a_schema_error_is_located_alike_from_a_cached_read(fleet_repo: Path) -> None:
    """Positions are not stored: worked out from the text when a finding needs one."""
    job = next(p for p in _files(fleet_repo) if "rounds: " in p.read_text())
    job.write_text(job.read_text().replace("rounds: ", "roundz: ", 1))
    paths = pipeline.Paths(fleet_repo / "specs", fleet_repo)
    found = []
    for cache in (False, True, True):
        with pytest.raises(InputError) as bad:
            pipeline.render(paths, cache=cache)
        found.append([f.render() for f in bad.value.findings])
    assert found[0] == found[1] == found[2] and "roundz" in found[0][0] and f"{job.name}:" in found[0][0]


@pytest.mark.parametrize("value, stored", [(".nan", False), (".inf", False), ("123456789012345678901234567890", False),
                                           ("1.5", True), ("true", True), ("~", True), ("'x'", True)])
def test_data_json_would_change_is_never_stored(tmp_path: Path, value: str, stored: bool) -> None:
    path = tmp_path / "x.yaml"
    path.write_bytes(f"a: {value}\nb: [1, 1.0, '1']\n".encode())
    cache = readcache.ReadCache(tmp_path / "cache")
    plain = yamlsource.read_documents(path)[0].data
    for _ in range(2):
        data = yamlsource.read_documents(path, cache=cache)[0].data
        assert repr(data) == repr(plain) or (isinstance(plain["a"], float) and math.isnan(plain["a"]) and math.isnan(data["a"]))
        assert [type(v) for v in data["b"]] == [int, float, str]
    assert bool(list((tmp_path / "cache").rglob("*"))) is stored


def _checked(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int]]:
    """The documents the schema check runs on for real (no verdict reused)."""
    checked: list[tuple[str, int]] = []
    real = load._schema_findings

    def counted(doc: Any, validator: Any, room: int) -> Any:
        checked.append((doc.file, doc.index))
        return real(doc, validator, room)

    monkeypatch.setattr(load, "_schema_findings", counted)
    return checked


def _load(repo: Path, cache: bool = True) -> Any:
    return pipeline.load(pipeline.Paths(repo / "specs", repo), cache=cache)


def test_a_documents_schema_pass_is_kept_and_one_changed_byte_checks_its_file_again(
        fleet_repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    checked = _checked(monkeypatch)
    fresh = _load(fleet_repo, cache=False)
    every = len(checked)
    assert every > 3
    _load(fleet_repo)
    assert len(checked) == 2 * every and len(_verdicts(fleet_repo)) == every
    assert _load(fleet_repo) == fresh and len(checked) == 2 * every  # nothing checked again
    job = next(p for p in _files(fleet_repo) if "rounds: " in p.read_text())
    text = job.read_text()
    at = text.index("rounds: ") + len("rounds: ")
    job.write_text(text[:at] + ("7" if text[at] != "7" else "8") + text[at + 1:])  # one byte
    del checked[:]
    warm = _load(fleet_repo)
    name = f"specs/{job.relative_to(fleet_repo / 'specs').as_posix()}"
    assert checked and all(file.endswith(name) for file, _ in checked)  # that file's documents alone
    assert warm == _load(fleet_repo, cache=False)


def _verdicts(repo: Path) -> list[Path]:
    return sorted(p for p in (repo / pipeline.CACHE_DIR / readcache.VERDICT_KIND).rglob("*") if p.is_file())


def test_another_schema_or_validator_checks_every_document_again(fleet_repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The schema's identity is in the key: a plugin's parameter schema, this module's source or
    fastjsonschema's version changed checks every document of that kind again."""
    _load(fleet_repo)
    checked = _checked(monkeypatch)
    real = load._Validators.identity
    monkeypatch.setattr(load._Validators, "identity", lambda self, kind: real(self, kind) + b"another schema")
    _load(fleet_repo)
    assert len(checked) == len(_verdicts(fleet_repo)) // 2 > 3


def test_a_failing_document_is_never_kept_and_reports_as_before(fleet_repo: Path) -> None:
    job = next(p for p in _files(fleet_repo) if "rounds: " in p.read_text())
    job.write_text(job.read_text().replace("rounds: ", "rounds: -", 1))
    found = []
    for cache in (False, True, True):
        with pytest.raises(InputError) as bad:
            _load(fleet_repo, cache=cache)
        found.append([f.render() for f in bad.value.findings])
    assert found[0] == found[1] == found[2] and "rounds" in found[0][0]


def _verdict_pack(repo: Path) -> Path:
    return repo / pipeline.CACHE_DIR / readcache.VERDICT_PACK_KIND / "00" / "last"


def test_a_damaged_verdict_is_a_miss(fleet_repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _load(fleet_repo)
    verdicts = _verdicts(fleet_repo)
    verdicts[0].write_bytes(verdicts[0].read_bytes()[:-1])
    verdicts[1].write_bytes(verdicts[2].read_bytes())  # misfiled
    # and the pack of the last run's passing verdicts: one key's character changed, its first
    # line left as it was, so it is not read at all
    pack = _verdict_pack(fleet_repo)
    raw = bytearray(pack.read_bytes())
    raw[-1] = ord("0") if raw[-1] != ord("0") else ord("1")
    pack.write_bytes(bytes(raw))
    checked = _checked(monkeypatch)
    _load(fleet_repo)
    assert len(checked) == 2


def test_the_verdict_pack_answers_alone_and_only_for_its_keys(fleet_repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The last run's passing verdicts in one file: without the verdicts' own files nothing is
    checked again; one changed byte of a job file checks that file's documents again."""
    fresh = _load(fleet_repo, cache=False)
    _load(fleet_repo)
    for verdict in _verdicts(fleet_repo):
        verdict.unlink()
    checked = _checked(monkeypatch)
    assert _load(fleet_repo) == fresh and not checked
    job = next(p for p in _files(fleet_repo) if "rounds: " in p.read_text())
    text = job.read_text()
    at = text.index("rounds: ") + len("rounds: ")
    job.write_text(text[:at] + ("7" if text[at] != "7" else "8") + text[at + 1:])  # one byte
    warm = _load(fleet_repo)
    name = f"specs/{job.relative_to(fleet_repo / 'specs').as_posix()}"
    assert checked and all(file.endswith(name) for file, _ in checked)
    assert warm == _load(fleet_repo, cache=False)
    del checked[:]
    for verdict in _verdicts(fleet_repo):
        verdict.unlink()
    assert _load(fleet_repo) == warm and not checked  # the new pack holds the new verdicts
