"""Safe, bounded YAML reading that remembers where every node came from.

PyYAML's C parser turns the text into events; we build plain data from the events ourselves, with
an explicit stack (no recursion, so any nesting depth is an error, never a RecursionError) and
record each node's line and column by its path. No Python object is ever constructed from a tag,
so no code can run.

- Scalars resolve by the YAML 1.2 core schema, not PyYAML's YAML 1.1 one: `on`, `yes`, `no`,
  `1_000`, `1:20` and dates stay the text they are (1.1 makes them booleans, numbers, timestamps).
- Mapping keys are always the text as written: label key `on` stays "on", `0x1F` stays "0x1F"
  (1.1 would turn them into True and 31, and the rendered label would silently change).
- Aliases are refused: specs never need them and they are the vehicle of "billion laughs"
  expansion. Merge keys and duplicate keys are refused (PyYAML silently keeps the last one).
- Limits, checked while parsing, so memory stays bounded whatever the input: file size, nodes per
  file and nesting depth. Going over one is one error at the line where it happened.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ..findings import Finding, InputError, Location
from . import readcache
from .readcache import ReadCache

try:  # the C parser is ~10x faster; fall back to pure Python where libyaml is missing
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]

# Limits. A 10,000-cluster fleet in ONE file is about 3 MiB and 450,000 nodes; the largest upstream
# CRD (argoproj.io ArgoCD) is 2 MiB, ~40,000 nodes and 31 levels deep (ApplicationSet: 35); a spec is ~12 levels deep.
MAX_FILE_BYTES = 16 * 1024 * 1024
MAX_NODES = 1_000_000
MAX_DEPTH = 64

PathKey = tuple[str | int, ...]

_STR = "tag:yaml.org,2002:str"
_MAP = "tag:yaml.org,2002:map"
_SEQ = "tag:yaml.org,2002:seq"

# YAML 1.2.2, 10.3.2 "Tag Resolution" of the core schema.
_NULL = re.compile(r"^(?:~|null|Null|NULL|)$")
_TRUE = re.compile(r"^(?:true|True|TRUE)$")
_FALSE = re.compile(r"^(?:false|False|FALSE)$")
_INT10 = re.compile(r"^[-+]?[0-9]+$")
_INT8 = re.compile(r"^0o[0-7]+$")
_INT16 = re.compile(r"^0x[0-9a-fA-F]+$")
_FLOAT = re.compile(r"^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?$")
_INF = re.compile(r"^[-+]?\.(?:inf|Inf|INF)$")
_NAN = re.compile(r"^\.(?:nan|NaN|NAN)$")
_MAYBE_NOT_STR = frozenset("~nNtTfF0123456789+-.")


def resolve_core(text: str) -> Any:
    """A plain (unquoted) scalar by the YAML 1.2 core schema."""
    if text and text[0] not in _MAYBE_NOT_STR:  # most scalars are names: skip the patterns
        return text
    if _NULL.match(text):
        return None
    if _TRUE.match(text):
        return True
    if _FALSE.match(text):
        return False
    if _INT10.match(text):
        return int(text)
    if _INT8.match(text):
        return int(text[2:], 8)
    if _INT16.match(text):
        return int(text[2:], 16)
    if _FLOAT.match(text):
        return float(text)
    if _INF.match(text):
        return float("-inf") if text.startswith("-") else float("inf")
    if _NAN.match(text):
        return float("nan")
    return text


class _Source:
    """One file's text, kept so that positions are worked out only when something asks for one.

    Recording a position for every node costs more than building the data (a 10,000-cluster
    fleet has ~480,000 nodes, and only the nodes a finding names are ever looked up), so the
    data comes from the fast reader and the positions, on first need, from the same events again
    (_positions: for a file the fast reader took, exactly the positions _Builder records)."""

    def __init__(self, name: str, text: str, cache: ReadCache | None = None, key: str = "") -> None:
        self.name = name
        self.text = text
        self._tables: dict[int, dict[PathKey, tuple[int, int]]] | None = None
        # With the read cache: the positions an earlier run worked out from the same bytes with
        # the same reader (its key), and this run's kept for the next (spec/readcache.py).
        self._cache = cache
        self._key = key

    def positions(self, index: int) -> dict[PathKey, tuple[int, int]]:
        if self._tables is None:
            if self._cache is not None and self._key:
                self._tables = self._cache.get_positions(self._key)
            if self._tables is None:
                try:
                    self._tables = _positions(self.text)
                    if self._cache is not None and self._key:
                        self._cache.put_positions(self._key, self._tables)
                except _Unusual:  # never for a file the fast reader took; the full reader, to be sure
                    self._tables = {doc.index: doc.positions for doc in _full_read(self.text, self.name)}
        return self._tables.get(index, {})


class Document:
    """One YAML document: its data plus the position of every node, keyed by path (worked out
    when first asked, see _Source)."""

    __slots__ = ("file", "index", "data", "_positions", "_source", "content_key")

    def __init__(self, file: str, index: int, data: Any, positions: dict[PathKey, tuple[int, int]] | None = None,
                 source: _Source | None = None, content_key: str = "") -> None:
        self.file = file
        self.index = index
        self.data = data
        self._positions = positions
        self._source = source
        # Read through spec/readcache.py: its key (the file's bytes and the reader), which
        # identifies `data` for the schema verdicts of load.py; "" otherwise.
        self.content_key = content_key

    @property
    def positions(self) -> dict[PathKey, tuple[int, int]]:
        if self._positions is None:
            self._positions = self._source.positions(self.index) if self._source is not None else {}
        return self._positions

    def locate(self, path: PathKey) -> Location:
        """The position of the node at `path`, or of its nearest ancestor that has one."""
        positions = self.positions
        p = tuple(path)
        while p not in positions and p:
            p = p[:-1]
        line, col = positions.get(p, (0, 0))
        return Location(self.file, line, col)

    def locate_key(self, path: PathKey) -> Location:
        """The position of the key of the mapping entry at `path` (an unknown field is the key's
        fault, not its value's).

        Positions are recorded for values only (a key's for every node would double the table of a
        480,000-node fleet for the few findings that need one), so the key is found in the text:
        the last `key:` before its value, on the value's line or, for a block value, above it.
        """
        at = self.locate(path)
        if not path or at.line == 0 or self._source is None or path not in self.positions:
            return at
        key = re.compile(r"(?<![\w.-])([\"']?)" + re.escape(str(path[-1])) + r"\1[ \t]*:")
        lines = self._source.text.splitlines()
        for number in range(min(at.line, len(lines)), max(0, at.line - 20), -1):
            line = lines[number - 1] if number != at.line else lines[number - 1][: at.column - 1]
            found = list(key.finditer(line))
            if found:
                return Location(self.file, number, found[-1].start() + 1)
        return at

    def __repr__(self) -> str:
        return f"Document(file={self.file!r}, index={self.index})"


def _mark(event: yaml.Event) -> tuple[int, int]:
    return event.start_mark.line + 1, event.start_mark.column + 1


class _Limit(Exception):
    """A limit was crossed: stop reading this file at once (memory stays bounded)."""


@dataclass
class _Frame:
    container: dict[str, Any] | list[Any]
    path: PathKey
    discard: bool = False  # a refused node: build nothing inside, only consume its events
    expect_key: bool = True  # mapping: the next node is a key (else the value of `key`)
    key: str | None = None  # mapping: the key waiting for its value
    drop_value: bool = False  # mapping: the waiting key was refused, so is its value


@dataclass
class _Builder:
    file: str
    positions: dict[PathKey, tuple[int, int]] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    nodes: int = 0

    def fail(self, event: yaml.Event, message: str, path: PathKey) -> None:
        line, col = _mark(event)
        self.findings.append(Finding("yaml", message, location=Location(self.file, line, col), field=dotted(path)))

    def document(self, events: Any) -> Any:
        """Consume the events of one document (after DocumentStart, up to DocumentEnd)."""
        stack: list[_Frame] = []
        root: list[Any] = []
        for event in events:
            if isinstance(event, yaml.DocumentEndEvent):
                return root[0] if root else None
            if isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
                done = stack.pop()
                if stack:
                    self._place(stack[-1], done.container, event, done.discard)
                else:
                    root.append(None if done.discard else done.container)
                continue
            self.nodes += 1
            if self.nodes > MAX_NODES:
                self.fail(event, f"more than {MAX_NODES} YAML nodes in one file (the limit); split it into "
                          "several files", stack[-1].path if stack else ())
                raise _Limit
            parent = stack[-1] if stack else None
            discard = bool(parent and (parent.discard or (not parent.expect_key and parent.drop_value)))
            is_key = parent is not None and isinstance(parent.container, dict) and parent.expect_key
            path = self._path_of(parent)
            if isinstance(event, yaml.AliasEvent):
                if not discard:
                    self.fail(event, "YAML aliases are not allowed in fedfleet specs", path)
                self._place_or_root(stack, root, None, event, True)
                continue
            if isinstance(event, yaml.ScalarEvent):
                if is_key:
                    assert parent is not None
                    self._key(parent, event, path, discard)
                    continue
                value, ok = self._scalar(event, path, discard)
                if not discard and ok:
                    self.positions[path] = _mark(event)
                self._place_or_root(stack, root, value, event, discard or not ok)
                continue
            # a mapping or a sequence starts
            if len(stack) >= MAX_DEPTH:
                self.fail(event, f"nested deeper than {MAX_DEPTH} levels (the limit)", path)
                raise _Limit
            mapping = isinstance(event, yaml.MappingStartEvent)
            wanted = _MAP if mapping else _SEQ
            refused = discard
            if is_key:
                if not discard:
                    self.fail(event, "mapping keys must be plain strings", path)
                refused = True
            elif event.tag not in (None, "!", wanted):
                if not discard:
                    self.fail(event, f"tag {event.tag!r} is not allowed", path)
                refused = True
            if not refused:
                self.positions[path] = _mark(event)
            stack.append(_Frame({} if mapping else [], path, discard=refused))
        raise InputError([Finding("yaml", "malformed YAML: the document does not end", location=Location(self.file))])

    @staticmethod
    def _path_of(parent: _Frame | None) -> PathKey:
        if parent is None:
            return ()
        if isinstance(parent.container, dict):
            return parent.path if parent.expect_key or parent.key is None else parent.path + (parent.key,)
        return parent.path + (len(parent.container),)

    def _key(self, parent: _Frame, event: yaml.ScalarEvent, path: PathKey, discard: bool) -> None:
        # Keys are the text as written (YAML 1.2 core would still make `0x1F` the number 31).
        key = event.value
        refused = discard
        if event.tag not in (None, "!", _STR):
            if not discard:
                self.fail(event, "mapping keys must be plain strings", path)
            refused = True
        elif key == "<<" and event.implicit[0]:
            if not discard:
                self.fail(event, "YAML merge keys are not allowed in fedfleet specs", path)
            refused = True
        elif key in parent.container:
            if not discard:
                self.fail(event, f"duplicate key {key!r}", path + (key,))
            refused = True
        parent.key, parent.drop_value, parent.expect_key = key, refused, False

    def _scalar(self, event: yaml.ScalarEvent, path: PathKey, discard: bool) -> tuple[Any, bool]:
        if event.tag in (None, "!"):
            plain = event.tag is None and event.implicit[0]
            return (resolve_core(event.value) if plain else event.value), True
        if event.tag == _STR:
            return event.value, True
        # Timestamps, binary, sets, any python/* tag and explicit numbers: refused, never constructed.
        if not discard:
            self.fail(event, f"tag {event.tag!r} is not allowed (quote the value to make it a string)", path)
        return None, False

    def _place_or_root(self, stack: list[_Frame], root: list[Any], value: Any, event: yaml.Event, drop: bool) -> None:
        if stack:
            self._place(stack[-1], value, event, drop)
        else:
            root.append(None if drop else value)

    @staticmethod
    def _place(parent: _Frame, value: Any, event: yaml.Event, drop: bool) -> None:
        if isinstance(parent.container, dict):
            if parent.expect_key:  # a refused complex key ended: its value is dropped too
                parent.key, parent.drop_value, parent.expect_key = None, True, False
                return
            if not (drop or parent.drop_value or parent.discard) and parent.key is not None:
                parent.container[parent.key] = value
            parent.key, parent.drop_value, parent.expect_key = None, False, True
        elif not parent.discard:
            # A refused item still takes its index, so the positions of its siblings stay true.
            parent.container.append(None if drop else value)


def line_column(raw: bytes, offset: int) -> tuple[int, int]:
    """1-based line and column (in characters) of a byte offset."""
    line_start = raw.rfind(b"\n", 0, offset) + 1
    column = len(raw[line_start:offset].decode("utf-8", errors="replace")) + 1
    return raw.count(b"\n", 0, offset) + 1, column


def read_documents(path: Path, display: str | None = None, cache: ReadCache | None = None) -> list[Document]:
    """Read every YAML document of one file. Raises InputError naming file and line. With `cache`,
    what the fast reader made of the same bytes in an earlier run is taken (spec/readcache.py)."""
    name = display or str(path)
    try:
        with path.open("rb") as fh:
            # Read one byte past the limit rather than trusting stat (a FIFO or /proc file lies).
            raw = fh.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise InputError([Finding("yaml", f"cannot read file: {exc.strerror}", location=Location(name))]) from None
    if len(raw) > MAX_FILE_BYTES:
        raise InputError([Finding("yaml", f"file is over the {MAX_FILE_BYTES // 2**20} MiB limit; split it into "
                                  "several files", location=Location(name))])
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line, col = line_column(raw, exc.start)
        raise InputError([Finding("yaml", f"not UTF-8 text: byte 0x{raw[exc.start]:02x} ({exc.reason})",
                                  location=Location(name, line, col))]) from None
    key = readcache.key(raw) if cache is not None else ""
    source = _Source(name, text, cache, key)
    fast = cache.get(key) if cache is not None else None
    if fast is None:
        fast = _fast_read(text)
        if fast is not None and cache is not None:
            cache.put(key, fast)
    if fast is None:  # something to report (or an unusual construct): the full reader says what and where
        return _full_read(text, name)
    return [Document(name, index, data, source=source, content_key=key) for index, data in fast]


def _full_read(text: str, name: str) -> list[Document]:
    """Read with positions, reporting every problem at its line. Raises InputError."""
    builder = _Builder(name)
    docs: list[Document] = []
    try:
        events = iter(yaml.parse(text, Loader=_Loader))
        index = 0
        for event in events:
            if isinstance(event, yaml.DocumentStartEvent):
                builder.positions = {}
                data = builder.document(events)
                if data is not None and not builder.findings:
                    docs.append(Document(name, index, data, builder.positions, source=_Source(name, text)))
                index += 1
    except _Limit:
        pass
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        loc = Location(name, mark.line + 1, mark.column + 1) if mark else Location(name)
        problem = exc.problem or exc.context or "malformed YAML"
        raise InputError([Finding("yaml", f"malformed YAML: {problem}", location=loc)]) from None
    except yaml.reader.ReaderError as exc:
        line, col = _char_position(text, exc.position)
        raise InputError([Finding("yaml", f"malformed YAML: character {exc.character!r} is not allowed in YAML",
                                  location=Location(name, line, col))]) from None
    except yaml.YAMLError as exc:
        raise InputError([Finding("yaml", f"malformed YAML: {exc}", location=Location(name))]) from None
    if builder.findings:
        raise InputError(builder.findings)
    return docs


def _positions(text: str) -> dict[int, dict[PathKey, tuple[int, int]]]:
    """Document index -> the position of every node by path, for a file the fast reader took (so
    nothing in it is refused): what _Builder records, a value's position under its key's path,
    without building data (tests/test_yaml_positions.py holds the two equal)."""
    loader = _Loader(text)
    get = loader.get_event
    scalar_event, mapping_start, sequence_start = _ScalarEvent, _MappingStart, _SequenceStart
    collection_end, document_start, document_end = _CollectionEnd, yaml.DocumentStartEvent, yaml.DocumentEndEvent
    tables: dict[int, dict[PathKey, tuple[int, int]]] = {}
    index = 0
    try:
        while True:
            event = get()
            if event is None:
                return tables
            if type(event) is not document_start:
                continue
            positions: dict[PathKey, tuple[int, int]] = {}
            # `path` is the open collection's; in a mapping `key` is the key waiting for its value
            # (None: the next scalar is a key), in a sequence `item` the next item's index.
            stack: list[tuple[PathKey, bool, Any, int]] = []
            path: PathKey = ()
            is_map, key, item, depth = False, None, 0, 0
            while True:
                event = get()
                kind = type(event)
                if kind is scalar_event:
                    if is_map:
                        if key is None:
                            key = event.value
                            continue
                        mark = event.start_mark
                        positions[path + (key,)] = (mark.line + 1, mark.column + 1)
                        key = None
                    else:
                        mark = event.start_mark
                        positions[path + (item,) if depth else ()] = (mark.line + 1, mark.column + 1)
                        item += 1
                elif kind is mapping_start or kind is sequence_start:
                    child = (path + (key,) if is_map else path + (item,)) if depth else ()
                    mark = event.start_mark
                    positions[child] = (mark.line + 1, mark.column + 1)
                    stack.append((path, is_map, key, item))
                    path, is_map, key, item = child, kind is mapping_start, None, 0
                    depth += 1
                elif kind in collection_end:
                    path, is_map, key, item = stack.pop()
                    depth -= 1
                    key = None
                    item += 1
                elif kind is document_end:
                    tables[index] = positions
                    index += 1
                    break
                else:  # an alias or the end inside a document: not a file the fast reader took
                    raise _Unusual
    finally:
        loader.dispose()


class _Unusual(Exception):
    """The fast reader met what the full reader reports or refuses: the full reader takes the file."""


_ScalarEvent, _MappingStart, _SequenceStart = yaml.ScalarEvent, yaml.MappingStartEvent, yaml.SequenceStartEvent
_CollectionEnd = (yaml.MappingEndEvent, yaml.SequenceEndEvent)
_OK_TAGS = {_MAP: (None, "!", _MAP), _SEQ: (None, "!", _SEQ)}


def _fast_read(text: str) -> list[tuple[int, Any]] | None:
    """(index, data) of each non-empty document, or None when the file needs the full reader.

    The same data as _Builder for every file it accepts, without positions: any construct the
    full reader would report (an alias, a merge or duplicate key, a tag, a complex key, a limit,
    malformed text) returns None, so errors and their positions always come from _Builder."""
    loader = _Loader(text)
    try:
        return _fast_events(loader.get_event)
    except Exception:  # noqa: BLE001 - _Unusual, malformed YAML, anything: the full reader reports it
        return None
    finally:
        loader.dispose()


def _fast_events(get: Any) -> list[tuple[int, Any]]:
    docs: list[tuple[int, Any]] = []
    index = 0
    nodes = 0
    max_nodes, max_depth = MAX_NODES, MAX_DEPTH
    scalar_event, mapping_start, sequence_start, collection_end = _ScalarEvent, _MappingStart, _SequenceStart, _CollectionEnd
    document_start, document_end = yaml.DocumentStartEvent, yaml.DocumentEndEvent
    maybe_not_str, resolve = _MAYBE_NOT_STR, resolve_core
    while True:
        event = get()
        if event is None:
            return docs
        if type(event) is not document_start:
            continue
        # One document: `container` is the open mapping or sequence (None at the root), `key` the
        # mapping key waiting for its value (None: the next scalar is a key).
        stack: list[tuple[Any, bool, Any]] = []
        container: Any = None
        is_map = False
        key: Any = None
        root: Any = None
        while True:
            event = get()
            kind = type(event)
            if kind is scalar_event:
                nodes += 1
                if nodes > max_nodes:
                    raise _Unusual
                tag = event.tag
                if is_map and key is None:
                    text = event.value
                    if (tag is not None and tag != "!" and tag != _STR) or text in container or (
                            text == "<<" and event.implicit[0]):
                        raise _Unusual
                    key = text
                    continue
                if tag is None:
                    text = event.value
                    if event.implicit[0] and (not text or text[0] in maybe_not_str):
                        value: Any = resolve(text)
                    else:
                        value = text
                elif tag == "!" or tag == _STR:
                    value = event.value
                else:
                    raise _Unusual
                if is_map:
                    container[key] = value
                    key = None
                elif container is not None:
                    container.append(value)
                else:
                    root = value
            elif kind is mapping_start or kind is sequence_start:
                nodes += 1
                if nodes > max_nodes or len(stack) >= max_depth or (is_map and key is None):
                    raise _Unusual
                mapping = kind is mapping_start
                if event.tag not in _OK_TAGS[_MAP if mapping else _SEQ]:
                    raise _Unusual
                stack.append((container, is_map, key))
                container, is_map, key = ({} if mapping else []), mapping, None
            elif kind in collection_end:
                done = container
                container, is_map, key = stack.pop()
                if is_map:
                    container[key] = done
                    key = None
                elif container is not None:
                    container.append(done)
                else:
                    root = done
            elif kind is document_end:
                if root is not None:
                    docs.append((index, root))
                index += 1
                break
            else:  # an alias, or the events end inside the document
                raise _Unusual


def _char_position(text: str, position: int) -> tuple[int, int]:
    line_start = text.rfind("\n", 0, position) + 1
    return text.count("\n", 0, position) + 1, position - line_start + 1


def dotted(path: PathKey) -> str:
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + part
    return out
