"""What the placeholders and waves checks read of each built unit, kept per unit in check's cache.

Both checks judge a root's objects against the fleet (declared images, the hub's SuperLink, ...)
and across the root's units (a FederatedLearning's Service, a workload's Secret may be in another
unit). What they read of the objects is a pure function of one unit's objects
(placeholders.unit_facts, waves.unit_facts: each image with a problem, each product and need of
a wave): small JSON data. At 10,000 clusters, with one job changed, reading all 20,134 built
objects for them cost ~0.45 CPU-s each run (the objects made Python data again, every node of
every object walked for images); one unit's objects changed.

An entry is stored under the SHA-256 of the unit's built bytes (its build cache entry: built._Packed
.digest, verified when the entry was read) and of what computes the facts (this module's,
placeholders.py's, waves.py's, yamlsource.py's (field names) and upstream.py's (annotation names)
source, and Python's version, whose ipaddress and urllib judge hosts): another byte of the objects
or of that code is another key, computed afresh. The fleet is not in the key: what depends on it
is judged from the facts each run. A unit kept as objects (JSON would change them, no digest) is
read every time. Only what JSON gives back unchanged is stored (cache.Cache.put).
"""

from __future__ import annotations

import hashlib
import sys
import time
from pathlib import Path
from typing import Any

from ..spec import yamlsource
from .. import upstream
from ..cachedir import source_digests
from . import placeholders, waves
from .built import Built, _Packed
from .cache import Cache

KIND = "facts"  # entries under <cache_dir>/facts/
_FORMAT = b"fedfleet-unit-facts-v1"
_identity: bytes | None = None


def facts_identity() -> bytes:
    global _identity
    if _identity is None:
        h = hashlib.sha256(_FORMAT)
        h.update(source_digests(__file__, placeholders.__file__, waves.__file__, yamlsource.__file__, upstream.__file__))
        h.update(sys.version.encode())
        _identity = h.digest()
    return _identity


def facts_key(digest: str) -> str:
    return hashlib.sha256(facts_identity() + digest.encode()).hexdigest()


def _usable(value: Any) -> bool:
    return (isinstance(value, list) and len(value) == 2 and isinstance(value[0], list) and len(value[0]) == 2
            and isinstance(value[1], list) and len(value[1]) == 5)


class Facts:
    """root -> each unit's facts (in build order) for the placeholders and the waves check, and
    the seconds each check's facts took (reading objects counted to the placeholders)."""

    def __init__(self) -> None:
        self.placeholders: dict[str, list[list[Any]]] = {}
        self.waves: dict[str, list[list[Any]]] = {}
        self.placeholder_seconds = 0.0
        self.wave_seconds = 0.0
        self.reused = 0  # units whose facts came from the cache


def collect(built: Built, cache_dir: Path | None) -> Facts:
    """Each root's units' facts: from the cache for a unit whose built bytes an earlier run saw,
    else from its objects (one unit as Python data at a time), then stored."""
    store = Cache(cache_dir) if cache_dir is not None else None
    out = Facts()
    for root in sorted(built.objects):
        out.placeholders[root], out.waves[root] = [], []
        for part in built.objects.parts(root):
            t = time.perf_counter()
            digest = part.digest if isinstance(part, _Packed) else ""
            key = facts_key(digest) if store is not None and digest else ""
            hit = store.get(KIND, key) if key and store is not None else None
            if _usable(hit):
                out.placeholders[root].append(hit[0])
                out.waves[root].append(hit[1])
                out.reused += 1
                out.placeholder_seconds += time.perf_counter() - t
                continue
            objects = part.objects() if isinstance(part, _Packed) else part
            found = placeholders.unit_facts(objects)
            t2 = time.perf_counter()
            wave_facts = waves.unit_facts(objects)
            del objects
            out.placeholders[root].append(found)
            out.waves[root].append(wave_facts)
            if key and store is not None:
                store.put(KIND, key, [found, wave_facts])
            t3 = time.perf_counter()
            out.placeholder_seconds += t2 - t
            out.wave_seconds += t3 - t2
    return out
