"""The output root's cache directory (`.fedfleet-cache/`): which entries a run used, and
trimming the ones no run has used for days.

Every entry is content-addressed: a changed input is a new key, and the old entry is never read
again. Kept in a CI cache, the directory would grow with every pull request. So it is trimmed the
way Go's build cache is (cmd/go/internal/cache/cache.go: `mtimeInterval`, `trimInterval`,
`trimLimit`, and its `trim.txt`): an entry's modification time says when a run last used it,
refreshed on a hit at most once an hour (so a warm run does not rewrite every inode); at most once a
day a run removes the entries unused for five days. A removed entry is only a miss: the next run
that needs it recomputes it.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import time
from pathlib import Path

CACHE_DIR = ".fedfleet-cache"
USED_REFRESH = 3600.0  # seconds: a hit refreshes an entry's mtime when it is older than this
TRIM_EVERY = 24 * 3600.0  # seconds between two trims of one directory
TRIM_AFTER = 5 * 24 * 3600.0  # an entry no run used for this long is removed
TRIM_STAMP = "trim.txt"  # when the directory was last trimmed (Unix seconds)
_TMP_AFTER = 3600.0  # a `.tmp-*` file this old was left by a run that was killed mid-write


def source_digests(*files: str | Path) -> bytes:
    """The SHA-256 of each file's bytes, concatenated: what a cache key holds of the code that
    computes its entry (one more byte of that code is another key)."""
    return b"".join(hashlib.sha256(Path(f).read_bytes()).digest() for f in files)


def used(path: Path) -> None:
    """A run just read this entry and will use it: keep it for another TRIM_AFTER."""
    try:
        now = time.time()
        if now - path.stat().st_mtime > USED_REFRESH:
            os.utime(path, (now, now))
    except OSError:  # a read-only cache only loses its upkeep
        pass


def read_entry(path: Path, label: bytes) -> tuple[bytes, str] | None:
    """An entry's content and its SHA-256 (hex), or None: absent, or its first line is not
    `label` (each kind's format and the entry's key) and that SHA-256, so a truncated, edited or
    misfiled entry is a miss. A hit is marked used."""
    try:
        raw = path.read_bytes()
    except OSError:
        return None
    head, sep, content = raw.partition(b"\n")
    digest = hashlib.sha256(content).hexdigest()
    if not sep or head != label + b" " + digest.encode():
        return None
    used(path)
    return content, digest


def write_entry(directory: Path, path: Path, label: bytes, content: bytes, made: set[Path] | None = None) -> None:
    """`content` under the first line read_entry checks, written whole under a name of its own and
    renamed (a reader sees all or nothing; builds write entries from several threads). `made`: the
    folders a caller writing many entries already made. A read-only or full cache directory only
    costs speed."""
    try:
        if made is None or path.parent not in made:
            path.parent.mkdir(parents=True, exist_ok=True)
            if not (directory / ".gitignore").exists():
                (directory / ".gitignore").write_text("*\n")
            if made is not None:
                made.add(path.parent)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        with os.fdopen(fd, "wb") as fh:
            fh.write(label + b" " + hashlib.sha256(content).hexdigest().encode() + b"\n")
            fh.write(content)
        os.replace(tmp, path)
    except OSError:
        pass


def trim(directory: Path, now: float | None = None) -> int:
    """Remove the entries of `directory` no run used for TRIM_AFTER, at most once per TRIM_EVERY;
    returns how many were removed. Only files two levels down (`<kind>/<key[:2]>/<entry>`, the
    layout every cache kind shares) are entries; the `.gitignore` and the stamp stay."""
    now = time.time() if now is None else now
    stamp = directory / TRIM_STAMP
    try:
        last = float(stamp.read_text().strip() or 0)
    except (OSError, ValueError):
        last = 0.0
    if 0 <= now - last < TRIM_EVERY or not directory.is_dir():
        return 0
    removed = 0
    for kind in _subdirs(directory):
        for shard in _subdirs(kind):
            for entry in os.scandir(shard):
                try:
                    if not entry.is_file(follow_symlinks=False):
                        continue
                    age = now - entry.stat(follow_symlinks=False).st_mtime
                    if age > TRIM_AFTER or (entry.name.startswith(".tmp-") and age > _TMP_AFTER):
                        os.unlink(entry.path)
                        removed += 1
                except OSError:
                    continue
            try:
                os.rmdir(shard)  # only when it is now empty
            except OSError:
                pass
    try:
        stamp.write_text(f"{int(now)}\n")
    except OSError:
        pass
    return removed


def _subdirs(directory: Path) -> list[Path]:
    try:
        return [Path(e.path) for e in os.scandir(directory) if e.is_dir(follow_symlinks=False)]
    except OSError:
        return []
