"""yamlemit: the bundle's YAML text, byte for byte what PyYAML's C dumper writes, without its nodes.

`yaml.dump_all(..., Dumper=CSafeDumper)` spends most of its time in PyYAML's Python representer
and resolver (a Node object per value, two regex resolutions per scalar) before libyaml emits.
At 10,000 clusters that is ~4 CPU-s of `generate`'s ~8. This module writes the same text
directly for the data the bundle holds (dicts with str keys, lists, str, int, bool, None), with
each distinct string's style decided once.

It follows libyaml's emitter (src/emitter.c, 0.2.5, the version PyYAML's wheels bundle):
- a scalar's style: yaml_emitter_analyze_scalar (the indicator, space and break flags) and
  yaml_emitter_select_scalar_style (plain when allowed and the resolver would read the plain
  text back as a string, else single-quoted; `|` stays literal only when block_allowed);
- layout: block mappings indent by 2 (yaml_emitter_increase_indent, best_indent 2), a sequence
  in a mapping is indentless (yaml_emitter_emit_block_sequence_item), a collection in a sequence
  item starts on the item's line (yaml_emitter_write_indent), empty collections are flow `{}`
  and `[]` (yaml_emitter_check_empty_mapping/sequence);
- literal scalars: yaml_emitter_write_block_scalar_hints and yaml_emitter_write_literal_scalar.

Anything outside what it knows for certain raises Unsupported, and the caller serialises that
file with PyYAML itself: a float, a character libyaml would escape (control characters, tabs,
astral-plane characters), a key over 128 bytes or over a line (libyaml writes it as a complex
`? key`), a multi-line string libyaml would double-quote or that needs an indentation or keep
(`+`) hint, an empty document, a subclass of a known type. tests/test_yamlemit.py
compares the two on the example bundle, a large synthetic one and random documents.
"""

from __future__ import annotations

from typing import Any

import yaml
from yaml.resolver import Resolver

STR_TAG = "tag:yaml.org,2002:str"
_RESOLVER = Resolver()
WIDTH = 4096  # write.serialise's width: libyaml folds a plain or quoted value at a space past it
_MAX_INDENT = 1000
_MAX_KEY = 128  # yaml_emitter_check_simple_key: a longer key is written as `? key`
_FIRST_BOTH = frozenset("#,[]{}&*!|>'\"%@`")


class Unsupported(Exception):
    """The value is outside what this emitter writes exactly; use PyYAML for the file."""


class Ordered(list):  # type: ignore[type-arg]
    """A mapping given as (key, value) pairs, written in this order (every plain dict is written
    with its keys sorted)."""


def _printable(s: str) -> bool:
    """Every character libyaml writes as itself with allow_unicode (IS_PRINTABLE, emitter.c
    yaml_emitter_analyze_scalar: else special_characters, double-quoted) and none a line break
    (IS_BREAK: NEL, LS and PS too). Tabs and control characters are not."""
    if s.isascii():
        return s.isprintable()
    return all(" " <= c <= "~" or ("\xa0" <= c <= "\ud7ff" and c not in "\u2028\u2029")
               or ("\ue000" <= c <= "\ufffd" and c != "\ufeff") for c in s)


def _block_indicators(s: str) -> bool:
    """yaml_emitter_analyze_scalar's block_indicators for a one-line printable ASCII string (the
    string's end counts as whitespace: PyYAML hands libyaml a NUL-terminated buffer)."""
    if s.startswith(("---", "...")):
        return True
    n = len(s)
    first = s[0]
    followed = n == 1 or s[1] == " "
    if first in _FIRST_BOTH or (first in "?:-" and followed):
        return True
    # after the first character: ": " or a final ":" and " #"
    return ": " in s or s.endswith(":") or " #" in s


def _inline(s: str) -> str:
    """A one-line string as a key or value in block context: plain, or single-quoted (before any
    folding at the width, _fold)."""
    if not _printable(s):
        raise Unsupported(s[:40])
    if not s:
        return "''"
    plain = (s[0] != " " and s[-1] != " " and not _block_indicators(s)
             and _RESOLVER.resolve(yaml.ScalarNode, s, (True, False)) == STR_TAG)
    return s if plain else "'" + s.replace("'", "''") + "'"


def _fold(text: str, column: int, indent: int) -> str:
    """A one-line value written from `column` on, with libyaml's breaks at the width
    (yaml_emitter_write_plain_scalar / _single_quoted_scalar with allow_breaks): at a space, not
    after another, when the column is past WIDTH and the next character is no space, the space
    becomes a line break and the indentation of the scalar (its parent's + 2). In quotes, never
    at the first or last character; `''` is the one escape."""
    quoted = text[0] == "'"
    s = text[1:-1].replace("''", "'") if quoted else text
    n = len(s)
    out = ["'"] if quoted else []
    col = column + 1 if quoted else column
    spaces = False
    for i, c in enumerate(s):
        if c == " ":
            if (not spaces and col > WIDTH and not (i + 1 < n and s[i + 1] == " ")
                    and (not quoted or 0 < i < n - 1)):
                out.append("\n" + " " * indent)
                col = indent
            else:
                out.append(" ")
                col += 1
            spaces = True
        else:
            if quoted and c == "'":
                out.append("'")
                col += 1
            out.append(c)
            col += 1
            spaces = False
    if quoted:
        out.append("'")
    return "".join(out)


def _literal_lines(s: str) -> tuple[str, list[str]]:
    """A multi-line string in literal style: its header (`|` and the chomping hint) and lines."""
    if not all(_printable(line) for line in s.split("\n")):
        raise Unsupported(s[:40])
    # block_allowed is lost to a trailing space or a space before a break (then double-quoted);
    # a leading space or break needs an indentation hint, a final empty line the keep hint.
    if s[0] in " \n" or s.endswith((" ", "\n\n")) or " \n" in s:
        raise Unsupported(s[:40])
    if s.endswith("\n"):
        return "|", s[:-1].split("\n")
    return "|-", s.split("\n")


# Every distinct string's rendering, decided once per process (a bundle repeats its keys and
# names thousands of times); bounded so a long-lived process does not grow without end.
_INLINE: dict[str, str] = {}
_INLINE_MAX = 1 << 20


class _Emitter:
    def __init__(self) -> None:
        self.out: list[str] = []

    def text(self, s: str) -> str:
        got = _INLINE.get(s)
        if got is None:
            if len(_INLINE) >= _INLINE_MAX:
                _INLINE.clear()
            got = _INLINE[s] = _inline(s)
        return got

    def key(self, k: Any) -> str:
        if type(k) is not str or len(k.encode()) > _MAX_KEY or "\n" in k:
            raise Unsupported(repr(k)[:40])
        return self.text(k)

    def scalar(self, v: Any, indent: int, column: int) -> str:
        """" value" after `key:` or `-` (which end at `column`), up to and including its line
        break; `indent` is the parent's (the mapping's keys or the sequence's dashes)."""
        t = type(v)
        if t is str:
            if "\n" in v:
                header, lines = _literal_lines(v)
                pad = " " * (indent + 2)
                return " " + header + "\n" + "".join(pad + line + "\n" if line else "\n" for line in lines)
            text = self.text(v)
            if column + 1 + len(text) > WIDTH:
                text = _fold(text, column + 1, indent + 2)
            return " " + text + "\n"
        if t is bool:
            return " true\n" if v else " false\n"
        if t is int:
            return f" {v}\n"
        if v is None:
            return " null\n"
        raise Unsupported(t.__name__)

    def mapping(self, items: list[tuple[Any, Any]], indent: int, first: str) -> None:
        """A non-empty block mapping whose keys sit at `indent`; `first` starts its first line
        (the indentation, or what a sequence item already wrote)."""
        if indent > _MAX_INDENT:
            raise Unsupported("too deep")
        out = self.out
        pad = " " * indent
        lead = first
        for k, v in items:
            line = lead + self.key(k) + ":"
            out.append(line)
            lead = pad
            t = type(v)
            if t is dict or t is Ordered:
                if v:
                    out.append("\n")
                    self.mapping(v if t is Ordered else _sorted(v), indent + 2, " " * (indent + 2))
                else:
                    out.append(" {}\n")
            elif t is list:
                if v:
                    out.append("\n")
                    self.sequence(v, indent, pad)  # indentless in a mapping
                else:
                    out.append(" []\n")
            else:
                out.append(self.scalar(v, indent, len(line)))

    def sequence(self, items: list[Any], indent: int, first: str) -> None:
        """A non-empty block sequence whose dashes sit at `indent`."""
        if indent > _MAX_INDENT:
            raise Unsupported("too deep")
        out = self.out
        pad = " " * indent
        lead = first
        for v in items:
            t = type(v)
            if t is dict:
                if v:
                    self.mapping(_sorted(v), indent + 2, lead + "- ")
                else:
                    out.append(lead + "- {}\n")
            elif t is list:
                if v:
                    self.sequence(v, indent + 2, lead + "- ")
                else:
                    out.append(lead + "- []\n")
            else:
                out.append(lead + "-" + self.scalar(v, indent, len(lead) + 1))
            lead = pad


def _sorted(d: dict[Any, Any]) -> list[tuple[Any, Any]]:
    return [(k, d[k]) for k in sorted(d)]


def dump_documents(docs: list[Ordered], explicit_start: bool) -> str:
    """The YAML text of documents, each given as its top-level (key, value) pairs in order, as
    `yaml.dump_all(docs, Dumper=CSafeDumper, sort_keys=False, default_flow_style=False,
    explicit_start=..., width=4096, allow_unicode=True)` with write.py's `|` for multi-line
    strings writes them (a plain dict at any level below: its keys sorted)."""
    em = _Emitter()
    for items in docs:
        if not items:
            raise Unsupported("empty document")
        if explicit_start:
            em.out.append("---\n")
        em.mapping(items, 0, "")
    return "".join(em.out)
