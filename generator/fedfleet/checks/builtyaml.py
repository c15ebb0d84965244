"""Read kustomize's output: yaml-rs (Rust) where it gives exactly what PyYAML's CSafeLoader gives.

CSafeLoader builds the Python objects in Python (SafeConstructor): at 10,000 clusters the 37 MB
kustomize prints took 5.4 CPU-s, under the GIL. yaml-rs builds them in Rust (1.0 CPU-s), but
reads YAML 1.2, where PyYAML reads YAML 1.1: a plain (unquoted) scalar can mean something else
(`yes`, `on`, `0755`, `1e3`, `1:20`, a date, a merge key `<<`). So each text is first walked by
libyaml's C parser (PyYAML's event stream: 1.5 CPU-s, no objects built), which says exactly which
scalars are plain; every distinct plain value that could be anything but a string under either
reading is resolved by both parsers (once per process), and yaml-rs's result is taken only when
they all agree and there is no tag, anchor or alias. Anything else, or any yaml-rs error, is read
by CSafeLoader, as before. tests/test_builtyaml.py compares both over a whole synthetic build and
the example bundle, and over the scalars that differ.
"""

from __future__ import annotations

import math
import re
from typing import Any

import yaml

try:
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]

try:
    import yaml_rs
except ImportError:  # pragma: no cover - the project depends on it; without it, CSafeLoader
    yaml_rs = None

# A plain scalar can resolve to something other than a string only if it starts like a number
# (PyYAML's int, float and timestamp resolvers; YAML 1.2's and Rust's number forms), starts with `~`, `<`,
# `=`, `!`, `&` or `*` (PyYAML's null, merge, value and yaml tags) or is empty, or is one of these words in any case
# (PyYAML's bool and null; YAML 1.2's true/false/null; Rust's float names). PyYAML's resolvers are
# keyed by a scalar's first character (yaml/resolver.py add_implicit_resolver): every key of its
# table is covered here (tests/test_builtyaml.py checks that). Anything else is a string under both.
_MAYBE_NOT_STR = re.compile(r"[-+.0-9~<=!&*]")
_WORDS = frozenset({"yes", "no", "on", "off", "y", "n", "true", "false", "null", "inf", "infinity", "nan",
                    "+inf", "-inf", "+infinity", "-infinity", "+nan", "-nan"})

# libyaml counts NEL, LINE SEPARATOR and PARAGRAPH SEPARATOR as line breaks (yaml/libyaml
# src/yaml_private.h IS_BREAK_AT), YAML 1.2 (yaml-rs) does not: a string kustomize wrote across
# lines at one of them reads differently in every scalar style, quoted and block included.
_YAML11_BREAKS = re.compile("[\x85\u2028\u2029]")

_agree: dict[str, bool] = {}  # plain scalar -> both parsers give the same value (per process)


def _same(a: Any, b: Any) -> bool:
    if type(a) is not type(b):
        return False
    if isinstance(a, float) and math.isnan(a):
        return math.isnan(b)
    return bool(a == b)


def _both_read_alike(value: str) -> bool:
    """Both parsers give the same value for this plain scalar as a mapping value and as a key."""
    found = _agree.get(value)
    if found is None:
        found = False
        try:
            a = yaml.load(f"k: {value}\n", Loader=_Loader)
            b = yaml_rs.loads(f"k: {value}\n", parse_datetime=False)
            ka = yaml.load(f"{value}: v\n", Loader=_Loader)
            kb = yaml_rs.loads(f"{value}: v\n", parse_datetime=False)
            found = (isinstance(a, dict) and isinstance(b, dict) and list(a) == ["k"] and list(b) == ["k"]
                     and _same(a["k"], b["k"]) and isinstance(ka, dict) and isinstance(kb, dict)
                     and len(ka) == len(kb) == 1 and _same(next(iter(ka)), next(iter(kb))))
        except Exception:  # noqa: BLE001 - either parser refusing it means: not alike
            found = False
        _agree[value] = found
    return found


def _documents_if_alike(text: str) -> int | None:
    """How many documents the text holds, or None when yaml-rs may read it differently."""
    documents = 0
    for event in yaml.parse(text, Loader=_Loader):
        kind = type(event)
        if kind is yaml.ScalarEvent:
            if event.anchor is not None or event.tag is not None:
                return None
            if event.style:  # quoted or block: a string under both
                continue
            value = event.value
            if (value == "" or _MAYBE_NOT_STR.match(value) or value.lower() in _WORDS) and not _both_read_alike(value):
                return None
        elif kind is yaml.DocumentStartEvent:
            documents += 1
        elif kind is yaml.AliasEvent:
            return None
        elif kind in (yaml.MappingStartEvent, yaml.SequenceStartEvent) and (
                event.anchor is not None or event.tag is not None):
            return None
    return documents


def fast_documents(text: str) -> list[Any] | None:
    """Every document of `text` as yaml-rs reads it, or None when that may differ from
    CSafeLoader's reading (then the caller reads it with CSafeLoader)."""
    if yaml_rs is None or _YAML11_BREAKS.search(text):
        return None
    try:
        documents = _documents_if_alike(text)
    except yaml.YAMLError:
        return None  # CSafeLoader raises the same error, with its message
    if documents is None:
        return None
    try:
        read = yaml_rs.loads(text, parse_datetime=False)
    except Exception:  # noqa: BLE001 - yaml-rs refuses what PyYAML may take (a duplicate key)
        return None
    # yaml-rs gives one document as itself, several as a list of them
    if documents == 0:
        return [] if read is None else None
    if documents == 1:
        return [read]
    return read if isinstance(read, list) and len(read) == documents else None


def _as_kustomize_wrote(text: str) -> list[Any] | None:
    """Every document as yaml-rs (YAML 1.2, as kustomize's go-yaml v3 writes) reads it."""
    if yaml_rs is None:
        return None
    documents = sum(1 for e in yaml.parse(text, Loader=_Loader) if type(e) is yaml.DocumentStartEvent)
    read = yaml_rs.loads(text, parse_datetime=False)
    if documents <= 1:
        return [read]
    return read if isinstance(read, list) and len(read) == documents else None


def load_all(text: str) -> list[Any]:
    """The non-empty documents of kustomize's output, exactly as CSafeLoader reads them; where
    CSafeLoader cannot build a value kustomize wrote plain as a YAML 1.2 string (`=`, PyYAML's
    merge-value tag; `2024-13-45`, a timestamp with no such day: ValueError), as yaml-rs reads it,
    the string kustomize meant. Raises yaml.YAMLError or ValueError when neither can."""
    fast = fast_documents(text)
    if fast is not None:
        return [d for d in fast if d]
    try:
        documents = list(yaml.load_all(text, Loader=_Loader))
    except (yaml.constructor.ConstructorError, ValueError):
        try:
            written = _as_kustomize_wrote(text)
        except Exception:  # noqa: BLE001 - yaml-rs refuses it too: CSafeLoader's error is the answer
            written = None
        if written is None:
            raise
        documents = written
    return [d for d in documents if d]
