"""Safe YAML reading that remembers where every node came from.

PyYAML's C composer builds the node graph (no Python object is ever constructed from a tag, so no
code can run); we turn nodes into plain data ourselves and record each node's line and column by
its path. Aliases are refused: specs never need them and they are the vehicle of
"billion laughs" expansion. Duplicate keys are refused: YAML says they are an error, PyYAML
silently keeps the last one.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ..findings import Finding, InputError, Location

try:  # the C composer is ~10x faster; fall back to pure Python where libyaml is missing
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]

MAX_FILE_BYTES = 64 * 1024 * 1024

PathKey = tuple[str | int, ...]

_STR = "tag:yaml.org,2002:str"
_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"
_BOOL = "tag:yaml.org,2002:bool"
_NULL = "tag:yaml.org,2002:null"
_MAP = "tag:yaml.org,2002:map"
_SEQ = "tag:yaml.org,2002:seq"
_SCALAR_TAGS = {_STR, _INT, _FLOAT, _BOOL, _NULL}
_scalar_constructor = yaml.constructor.SafeConstructor()


@dataclass(frozen=True)
class Document:
    """One YAML document: its data plus the position of every node, keyed by path."""

    file: str
    index: int
    data: Any
    positions: dict[PathKey, tuple[int, int]]

    def locate(self, path: PathKey) -> Location:
        """The position of the node at `path`, or of its nearest ancestor that has one."""
        p = tuple(path)
        while p not in self.positions and p:
            p = p[:-1]
        line, col = self.positions.get(p, (0, 0))
        return Location(self.file, line, col)


def _mark(node: yaml.Node) -> tuple[int, int]:
    return node.start_mark.line + 1, node.start_mark.column + 1


class _Converter:
    def __init__(self, file: str) -> None:
        self.file = file
        self.positions: dict[PathKey, tuple[int, int]] = {}
        self.findings: list[Finding] = []
        self.seen: set[int] = set()

    def fail(self, node: yaml.Node, message: str, path: PathKey) -> None:
        line, col = _mark(node)
        self.findings.append(
            Finding("yaml", message, location=Location(self.file, line, col), field=dotted(path))
        )

    def convert(self, node: yaml.Node, path: PathKey) -> Any:
        self.positions[path] = _mark(node)
        if not isinstance(node, yaml.ScalarNode):
            # The composer resolves an alias to the very node object it names: meeting a node twice
            # means an alias, refused before any expansion could blow up.
            if id(node) in self.seen:
                self.fail(node, "YAML aliases are not allowed in fedfleet specs", path)
                return None
            self.seen.add(id(node))
        if isinstance(node, yaml.MappingNode):
            if node.tag != _MAP:
                self.fail(node, f"tag {node.tag!r} is not allowed", path)
                return None
            out: dict[str, Any] = {}
            for key_node, value_node in node.value:
                if not isinstance(key_node, yaml.ScalarNode) or key_node.tag not in (_STR, _INT, _BOOL):
                    self.fail(key_node, "mapping keys must be plain strings", path)
                    continue
                key = str(key_node.value) if key_node.tag == _STR else str(
                    _scalar_constructor.construct_object(key_node)
                )
                if key == "<<":
                    self.fail(key_node, "YAML merge keys are not allowed in fedfleet specs", path)
                    continue
                if key in out:
                    self.fail(key_node, f"duplicate key {key!r}", path + (key,))
                    continue
                out[key] = self.convert(value_node, path + (key,))
            return out
        if isinstance(node, yaml.SequenceNode):
            if node.tag != _SEQ:
                self.fail(node, f"tag {node.tag!r} is not allowed", path)
                return None
            return [self.convert(item, path + (i,)) for i, item in enumerate(node.value)]
        if node.tag not in _SCALAR_TAGS:
            # Timestamps, binary, sets and any python/* tag: refused, never constructed.
            self.fail(node, f"tag {node.tag!r} is not allowed (quote the value to make it a string)", path)
            return None
        if node.tag == _STR:
            return node.value
        return _scalar_constructor.construct_object(node)


def read_documents(path: Path, display: str | None = None) -> list[Document]:
    """Read every YAML document of one file. Raises InputError naming file and line."""
    name = display or str(path)
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise InputError([Finding("yaml", f"file is {size} bytes, over the {MAX_FILE_BYTES} limit", location=Location(name))])
        raw = path.read_bytes()
    except OSError as exc:
        raise InputError([Finding("yaml", f"cannot read file: {exc.strerror}", location=Location(name))]) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError([Finding("yaml", f"not UTF-8 text ({exc.reason} at byte {exc.start})", location=Location(name))]) from None
    try:
        docs: list[Document] = []
        for index, node in enumerate(yaml.compose_all(text, Loader=_Loader)):
            if node is None:
                continue
            conv = _Converter(name)
            data = conv.convert(node, ())
            if conv.findings:
                raise InputError(conv.findings)
            docs.append(Document(name, index, data, conv.positions))
        return docs
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        loc = Location(name, mark.line + 1, mark.column + 1) if mark else Location(name)
        problem = exc.problem or exc.context or "malformed YAML"
        raise InputError([Finding("yaml", f"malformed YAML: {problem}", location=loc)]) from None
    except yaml.YAMLError as exc:
        raise InputError([Finding("yaml", f"malformed YAML: {exc}", location=Location(name))]) from None


def dotted(path: PathKey) -> str:
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + part
    return out
