"""yamlemit writes exactly PyYAML's text: on the example bundle, a synthetic fleet's and random
documents full of strings that YAML treats specially. PyYAML itself (its C dumper, as write.py
called it before yamlemit) is the oracle, run in the same test."""

from __future__ import annotations

import random
import sys
from pathlib import Path
from typing import Any

import pytest

from fedfleet import pipeline, write, yamlemit

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
from synthetic import write_fleet  # noqa: E402


def pyyaml(docs: list[dict[str, Any]]) -> bytes:
    return (write.HEADER + write._serialise_pyyaml(docs)).encode("utf-8")


def fast(docs: list[dict[str, Any]]) -> bytes:
    """yamlemit alone: raises Unsupported instead of falling back."""
    text = yamlemit.dump_documents([write._pairs(d) for d in docs], explicit_start=len(docs) > 1)
    return (write.HEADER + text).encode("utf-8")


def test_the_example_bundle_is_written_by_yamlemit_byte_for_byte(fleet_repo: Path) -> None:
    rendered = pipeline.render(pipeline.Paths(fleet_repo / "specs", fleet_repo))
    for path, docs in rendered.bundle.items():
        assert fast(docs) == pyyaml(docs) == rendered.files[path], path


def test_a_synthetic_fleet_with_units_is_written_byte_for_byte(tmp_path: Path) -> None:
    write_fleet(tmp_path, 1200, 120, 2)  # hub overlays above layout.SPLIT_ABOVE: core and parts
    rendered = pipeline.render(pipeline.Paths(tmp_path / "specs", tmp_path))
    assert any("/part-" in p for p in rendered.bundle)
    for path, docs in rendered.bundle.items():
        assert fast(docs) == pyyaml(docs), path


# Strings YAML reads as something else, or that need quotes, folding or a block style.
TRICKY = [
    "", " ", "a", "yes", "No", "ON", "off", "y", "true", "False", "null", "Null", "~", "0", "-1", "+1", "1_000",
    "0x1F", "0o17", "017", "1.5", "-.5", "1e3", "1.0e+3", ".inf", "-.Inf", ".nan", "2001-12-14", "2001-12-14t21:59:43.10-05:00",
    "12:30:00", "190:20:30", "<<", "=", "-", "--", "---", "---x", "...", "...x", "- a", "-a", "?", "? a", "?a", ":", ":a",
    "a:", "a: b", "a:b", "a :b", "#", "#a", "a#b", "a #b", "a# b", ",a", "a,b", "[a", "a]", "{a}", "a{b}", "&a", "*a", "!a",
    "|a", ">a", "'a", "a'b", "it's", "''", '"a', 'a"b', "%a", "@a", "`a", " lead", "trail ", "in ner", "two  spaces",
    "a\nb", "a\nb\n", "\nlead", "a\n\n", "\n", "a\n\nb", "a \nb", "a\n b", "  x\ny", "line\n  indented\n", "tab\tx",
    "ctrl\x07", "nel\x85x", "ls\u2028x", "bom\ufeff", "é", "naïve: yes", "日本語", "emoji 😀", "\xa0nbsp", "del\x7f",
    "x" * 130, "k " * 70, ("word " * 1000).strip(), ("a: b " * 900).strip(), ("it's " * 1000).strip(), "y " * 2100 + "  z",
    ("a" * 4094) + " b c", ("a" * 4094) + "  b", "multi\n" + ("word " * 1000).strip() + "\nend\n",
]
SAFE_KEYS = ["name", "namespace", "labels", "annotations", "apiVersion", "kind", "spec", "a", "b b", "x-y", "on", "1",
             "", "null", "a: b", "it's", "é"]


def _scalar(rng: random.Random, tricky: bool) -> Any:
    pick = rng.random()
    if pick < 0.55:
        return rng.choice(TRICKY) if tricky else rng.choice(["plain", "with space", "yes", "", "a: b", "x\ny\n", "é"])
    if pick < 0.7:
        return rng.choice([0, 1, -7, 10**20, 443])
    if pick < 0.8:
        return rng.choice([True, False])
    if pick < 0.9:
        return None
    return rng.choice([1.5, 0.1, 1e20, float("inf")]) if tricky else "str"


def _value(rng: random.Random, depth: int, tricky: bool) -> Any:
    pick = rng.random()
    if depth > 4 or pick < 0.5:
        return _scalar(rng, tricky)
    if pick < 0.75:
        return {rng.choice(TRICKY if tricky and rng.random() < 0.3 else SAFE_KEYS): _value(rng, depth + 1, tricky)
                for _ in range(rng.randrange(0, 4))}
    return [_value(rng, depth + 1, tricky) for _ in range(rng.randrange(0, 4))]


def _document(rng: random.Random, tricky: bool) -> dict[str, Any]:
    doc: dict[str, Any] = {"apiVersion": "v1", "kind": rng.choice(["ConfigMap", "yes", "a: b"])}
    if rng.random() < 0.8:
        doc["metadata"] = {"name": _scalar(rng, tricky), "zeta": _value(rng, 1, tricky), "labels": _value(rng, 1, tricky),
                           "annotations": {"a": "b"}, "namespace": "ns"}
    for _ in range(rng.randrange(1, 5)):
        doc[rng.choice(SAFE_KEYS + TRICKY[:20])] = _value(rng, 0, tricky)
    return doc


@pytest.mark.parametrize("tricky", [False, True])
def test_random_documents_are_written_as_pyyaml_writes_them(tricky: bool) -> None:
    rng = random.Random(15)
    taken = 0
    for trial in range(1500):
        docs = [_document(rng, tricky) for _ in range(rng.randrange(1, 3))]
        expected = pyyaml(docs)
        assert write.serialise(docs) == expected, (trial, docs)
        try:
            got = fast(docs)
        except yamlemit.Unsupported:
            continue
        assert got == expected, (trial, docs)
        taken += 1
    # the comparison means something only when yamlemit wrote most of them itself
    assert taken > (1000 if not tricky else 100), taken


def test_each_tricky_string_in_each_place() -> None:
    refused: dict[str, set[str]] = {}
    for where in ("value", "item", "nested", "key"):
        for value in TRICKY:
            data = {"value": {"spec": value}, "item": {"spec": ["x", value, [value]]},
                    "nested": {"a": {"bb": [{"ccc": value, "d": value}]}}, "key": {value: 1, "z": {value: [value]}}}[where]
            docs = [{"apiVersion": "v1", "kind": "K", "data": data}]
            try:
                got = fast(docs)
            except yamlemit.Unsupported:
                refused.setdefault(where, set()).add(value)
                continue
            assert got == pyyaml(docs), (where, value)
    # what goes to PyYAML instead: characters libyaml escapes, multi-line strings it would
    # double-quote or give a hint, and (as keys) anything on several lines or over 128 bytes
    escaped = {"tab\tx", "ctrl\x07", "nel\x85x", "ls\u2028x", "bom\ufeff", "emoji 😀", "del\x7f"}
    hinted = {"\nlead", "a\n\n", "\n", "a \nb", "  x\ny"}
    assert refused["value"] == refused["item"] == refused["nested"] == escaped | hinted
    assert refused["key"] == escaped | {v for v in TRICKY if "\n" in v or len(v.encode()) > 128}


def test_what_yamlemit_refuses_still_serialises() -> None:
    docs = [{"apiVersion": "v1", "kind": "K", "data": {"f": 1.5, "t": "a\tb", "k" * 200: 1}}, {}]
    with pytest.raises(yamlemit.Unsupported):
        fast(docs)
    assert write.serialise(docs) == pyyaml(docs)
