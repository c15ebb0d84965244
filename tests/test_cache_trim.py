"""The cache directory stays bounded: an entry a run uses is kept, one no run used for
cachedir.TRIM_AFTER is removed, at most once per cachedir.TRIM_EVERY (Go's build cache policy).
The end-to-end test runs the real `fedfleet check` (real kustomize builds) twice."""

from __future__ import annotations

import os
import time
from pathlib import Path

from fedfleet import cachedir

DAY = 24 * 3600.0


def _entry(directory: Path, kind: str, name: str, age: float, now: float, shard: str = "") -> Path:
    path = directory / kind / (shard or name[:2]) / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x")
    os.utime(path, (now - age, now - age))
    return path


def test_trim_removes_only_entries_unused_for_five_days(tmp_path: Path) -> None:
    now = time.time()
    (tmp_path / ".gitignore").write_text("*\n")
    old = _entry(tmp_path, "build", "aa-old.json", 6 * DAY, now)
    recent = _entry(tmp_path, "build", "ab-recent.json", 4 * DAY, now)
    alone = _entry(tmp_path, "yaml", "cc-alone", 30 * DAY, now)  # its shard folder empties
    fresh_tmp = _entry(tmp_path, "spec", ".tmp-1-x", 60, now, "dd")
    stale_tmp = _entry(tmp_path, "spec", ".tmp-2-y", 2 * 3600, now, "dd")

    assert cachedir.trim(tmp_path, now) == 3
    assert not old.exists() and not alone.exists() and not stale_tmp.exists()
    assert recent.exists() and fresh_tmp.exists()
    assert not alone.parent.exists() and (tmp_path / "yaml").is_dir()
    assert (tmp_path / ".gitignore").read_text() == "*\n"
    assert (tmp_path / cachedir.TRIM_STAMP).read_text() == f"{int(now)}\n"


def test_trim_runs_at_most_once_a_day(tmp_path: Path) -> None:
    now = time.time()
    assert cachedir.trim(tmp_path, now) == 0  # an empty directory: stamped
    old = _entry(tmp_path, "build", "aa.json", 10 * DAY, now)
    assert cachedir.trim(tmp_path, now + DAY - 60) == 0 and old.exists()  # within the day: not trimmed
    assert cachedir.trim(tmp_path, now + DAY + 60) == 1 and not old.exists()
    (tmp_path / cachedir.TRIM_STAMP).write_text("not a time\n")  # an unreadable stamp: trimmed now
    _entry(tmp_path, "build", "ab.json", 10 * DAY, now)
    assert cachedir.trim(tmp_path, now + DAY + 120) == 1


def test_a_missing_directory_is_left_alone(tmp_path: Path) -> None:
    assert cachedir.trim(tmp_path / "absent") == 0
    assert not (tmp_path / "absent").exists()


def test_used_refreshes_an_old_entry_and_leaves_a_recent_one(tmp_path: Path) -> None:
    now = time.time()
    old = _entry(tmp_path, "build", "aa.json", 2 * DAY, now)
    recent = _entry(tmp_path, "build", "ab.json", 60, now)
    recent_mtime = recent.stat().st_mtime
    cachedir.used(old)
    cachedir.used(recent)
    assert now - old.stat().st_mtime < 60
    assert recent.stat().st_mtime == recent_mtime  # a hit within the hour writes nothing
    cachedir.used(tmp_path / "missing")  # no error


def test_check_keeps_what_it_uses_and_trims_the_rest(fleet_repo: Path, run, crds: Path) -> None:  # type: ignore[no-untyped-def]
    assert run("generate").code == 0
    first = run("check", "--crds", str(crds))
    assert first.code in (0, 1)
    store = fleet_repo / cachedir.CACHE_DIR
    entries = sorted(p for p in store.rglob("*") if p.is_file() and p.parent.parent.parent == store)
    kinds = {p.parent.parent.name for p in entries}
    assert {"build", "crd", "spec", "yaml", "rego"} <= kinds, kinds
    # Every entry is a week old, the last trim longer ago than a day, and one entry no run needs.
    week = time.time() - 7 * DAY
    unused = store / "build" / "ff" / ("ff" + "0" * 62 + ".json")
    unused.parent.mkdir(parents=True, exist_ok=True)
    unused.write_bytes(entries[0].read_bytes())
    for path in [*entries, unused]:
        os.utime(path, (week, week))
    (store / cachedir.TRIM_STAMP).write_text(f"{int(week)}\n")

    again = run("check", "--crds", str(crds))
    assert again.code == first.code and "unchanged, reused from" in again.out
    assert not unused.exists()
    # What the second run read (every build, validation, spec, serialisation and the Rego answer)
    # was refreshed by its hits and survived the trim. The CRD files' reads were not needed (every
    # validation came from the cache, so no schema was loaded): unused for a week, they went. So
    # did the serialised files' own entries and the passing spec verdicts' own files: the packs of
    # the last run's entries answered for them.
    from fedfleet import write
    from fedfleet.checks.crds import SchemaSource
    from fedfleet.spec import readcache

    crd_reads = {store / readcache.KIND / k[:2] / k
                 for k in (readcache.key(p.read_bytes()) for p, _label in SchemaSource.resolve([crds]).files)}
    assert crd_reads & set(entries)
    packed = {p for p in entries if p.parent.parent.name in (write.CACHE_KIND, readcache.VERDICT_KIND)}
    assert packed and store / write.PACK_KIND / "00" / "last" in entries
    assert store / readcache.VERDICT_PACK_KIND / "00" / "last" in entries
    left = {p for p in store.rglob("*") if p.is_file() and p.parent.parent.parent == store}
    assert left == set(entries) - crd_reads - packed
    assert all(time.time() - p.stat().st_mtime < 3600 for p in left)
