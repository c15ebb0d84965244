"""What the spec reader made of a file's bytes, kept for the next run (`check`'s .fedfleet-cache).

Reading a spec file is a walk over libyaml's events in Python (yamlsource._fast_events): at 10,000
clusters ~0.4 s of every `check`, though one pull request changes a file or two. An entry holds
the documents' data of one file as JSON, under the SHA-256 of the file's exact bytes and of the
reader (yamlsource.py's source, which holds the YAML 1.2 resolution and the limits; PyYAML's and
libyaml's versions; Python's): any other byte, or another reader, is another key. Only what the
fast reader accepts is stored (a file with anything to report is read by the full reader every
time, so every error and its file:line come from the reader as before), and only data JSON gives
back unchanged (not NaN or infinity, not an integer beyond 64 bits). Positions are not stored:
they are worked out from the text on first need, as without the cache.

An entry starts with a line naming the format, its key and the SHA-256 of its content: one that
is truncated, edited or filed under another key is a miss.
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path
from typing import Any

import orjson

from ..cachedir import read_entry, source_digests, write_entry
from ..versions import yaml_versions

KIND = "spec"  # entries under <cache_dir>/spec/
_FORMAT = b"fedfleet-spec-read-v1"
_identity: bytes | None = None


def reader_identity() -> bytes:
    global _identity
    if _identity is None:
        from . import yamlsource

        h = hashlib.sha256(_FORMAT)
        h.update(source_digests(yamlsource.__file__, __file__))
        h.update(f"\0{yaml_versions()}\0{sys.version}".encode())
        _identity = h.digest()
    return _identity


def key(raw: bytes) -> str:
    return hashlib.sha256(reader_identity() + hashlib.sha256(raw).digest()).hexdigest()


# Entries under <cache_dir>/spec-pos/: where each node of a file is, for the findings that name one
# (yamlsource._Source.positions; ~0.1 CPU-s of a warm 10,000-cluster check's plan findings).
POSITIONS_KIND = "spec-pos"
VERDICT_KIND = "spec-valid"  # entries under <cache_dir>/spec-valid/: a document its kind's schema passed


VERDICT_PACK_KIND = "spec-valid-pack"  # the last run's passing verdict keys in one file


class ReadCache:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._passed: set[str] | None = None  # the last run's verdict keys (the pack), read on first need
        self._used: list[str] = []  # this run's passing verdict keys, for the next pack

    def valid(self, key: str) -> bool:
        """An earlier run's schema check passed the document this key names (load.py verdict_key)."""
        if self._passed is None:
            self._passed = self._read_pack()
        if key in self._passed:
            self._used.append(key)
            return True
        hit = read_entry(self.directory / VERDICT_KIND / key[:2] / key, self._label(key))
        if hit is None or hit[0] != b"valid":
            return False
        self._used.append(key)
        return True

    def put_valid(self, key: str) -> None:
        write_entry(self.directory, self.directory / VERDICT_KIND / key[:2] / key, self._label(key), b"valid")
        self._used.append(key)

    # The passing verdicts of the last run, in one file: at 10,000 clusters a warm check asked
    # ~1,000 verdict files (one open and read each). Only a container: a key is the document's
    # bytes, index and schema identity (load.py verdict_key), as each file's name is; its first
    # line holds the SHA-256 of the rest, so a damaged pack is not read (the files answer).

    def _pack_path(self) -> Path:
        return self.directory / VERDICT_PACK_KIND / "00" / "last"

    def _read_pack(self) -> set[str]:
        hit = read_entry(self._pack_path(), self._label("pack"))
        if hit is None:
            return set()
        return set(hit[0].decode("ascii", "replace").split("\n")) - {""}

    def write_pack(self) -> None:
        """This run's passing verdicts as the next run's pack, unless the pack holds exactly them."""
        if self._passed is not None and self._passed == set(self._used):
            return
        content = "\n".join(sorted(set(self._used))).encode("ascii")
        write_entry(self.directory, self._pack_path(), self._label("pack"), content)

    def _path(self, key: str) -> Path:
        return self.directory / KIND / key[:2] / key

    def get_positions(self, key: str) -> dict[int, dict[tuple[str | int, ...], tuple[int, int]]] | None:
        """Where every node of a file's documents is (yamlsource._positions), as an earlier run
        worked it out from the same bytes with the same reader (`key`, as for get)."""
        path = self.directory / POSITIONS_KIND / key[:2] / key
        hit = read_entry(path, self._label(key))
        if hit is None:
            return None
        content = hit[0]
        # One str object per distinct path component: orjson makes one per row, and a file's rows
        # repeat their parents' components (1.6x the positions worked out from the text took).
        names: dict[str, str] = {}

        def node(row: list[Any]) -> tuple[str | int, ...]:
            return tuple(names.setdefault(part, part) if type(part) is str else part for part in row[:-2])

        try:
            value = orjson.loads(content)
            # each row: the node's path, then its line and column
            tables = {int(index): {node(row): (row[-2], row[-1]) for row in rows}
                      for index, rows in value.items()}
        except (orjson.JSONDecodeError, AttributeError, TypeError, ValueError):
            return None
        return tables

    def put_positions(self, key: str, tables: dict[int, dict[tuple[str | int, ...], tuple[int, int]]]) -> None:
        content = orjson.dumps({str(index): [[*node, line, column] for node, (line, column) in table.items()]
                                for index, table in tables.items()})
        write_entry(self.directory, self.directory / POSITIONS_KIND / key[:2] / key, self._label(key), content)

    def _label(self, key: str) -> bytes:
        """An entry's first line is this and the SHA-256 of the rest (cachedir.read_entry)."""
        return b" ".join((_FORMAT, key.encode()))

    def get(self, key: str) -> list[tuple[int, Any]] | None:
        hit = read_entry(self._path(key), self._label(key))
        if hit is None:
            return None
        try:
            value = orjson.loads(hit[0])
        except orjson.JSONDecodeError:
            return None
        if not isinstance(value, list) or not all(
                isinstance(d, list) and len(d) == 2 and type(d[0]) is int for d in value):
            return None
        return [(index, data) for index, data in value]

    def put(self, key: str, docs: list[tuple[int, Any]]) -> None:
        try:
            content = orjson.dumps(docs)
        except TypeError:  # an integer beyond 64 bits: read every time
            return
        if orjson.loads(content) != [list(d) for d in docs]:  # NaN or infinity came back as null
            return
        write_entry(self.directory, self._path(key), self._label(key), content)
