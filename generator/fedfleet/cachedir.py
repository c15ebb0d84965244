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

import os
import time
from pathlib import Path

CACHE_DIR = ".fedfleet-cache"
USED_REFRESH = 3600.0  # seconds: a hit refreshes an entry's mtime when it is older than this
TRIM_EVERY = 24 * 3600.0  # seconds between two trims of one directory
TRIM_AFTER = 5 * 24 * 3600.0  # an entry no run used for this long is removed
TRIM_STAMP = "trim.txt"  # when the directory was last trimmed (Unix seconds)
_TMP_AFTER = 3600.0  # a `.tmp-*` file this old was left by a run that was killed mid-write


def used(path: Path) -> None:
    """A run just read this entry and will use it: keep it for another TRIM_AFTER."""
    try:
        now = time.time()
        if now - path.stat().st_mtime > USED_REFRESH:
            os.utime(path, (now, now))
    except OSError:  # a read-only cache only loses its upkeep
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
