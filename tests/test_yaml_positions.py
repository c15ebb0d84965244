"""Spec files are read by a fast reader without positions; a position is worked out when a finding
first needs one, by the full reader over the same text. Both must agree on every input: the same
data where the fast one accepts a file, and the full one's exact error where it does not."""

from __future__ import annotations

import math
import random
from pathlib import Path
from typing import Any

import pytest
import yaml

from fedfleet.findings import InputError
from fedfleet.spec import yamlsource
from fedfleet.spec.load import load_fleet
from fleetbuilder import cluster, job, write_specs

# YAML 1.1 quirks the reader must keep as YAML 1.2 core text, and what 1.2 does resolve.
ACCEPTED = [
    "a: 1\n",
    "on: yes\noff: no\nY: n\n",
    "0x1F: 0x1F\n1_000: 1_000\nt: 12:30\nd: 2026-11-26\n",
    "f: [.inf, -.Inf, .NaN, 1e3, -.5, +12, 0o17, 0o9, ~, null, Null, '', \"\"]\n",
    "q: 'true'\nb: true\nc: False\ns: !!str 12\nbang: ! 12\nlit: |\n  x\n  y\nfold: >-\n  a\n  b\n",
    "---\na: 1\n...\n---\n---\n- x\n- {y: [z]}\n--- ~\n---\nlast: 1\n",
    "anchored: &a {k: v}\nplain: &b text\n",
    "%YAML 1.1\n---\nk: v\n",
    "",
    "# only a comment\n",
    "\ufeffbom: 1\n",
    "k: !!map {a: 1}\nl: !!seq [1]\n",
]

# What the reader refuses, each reported by the full reader at its line.
REFUSED = [
    ("a: &x 1\nb: *x\n", "YAML aliases are not allowed"),
    ("base: {k: v}\nm:\n  <<: {k: w}\n", "merge keys are not allowed"),
    ("a: 1\nb: 2\na: 3\n", "duplicate key 'a'"),
    ("d: !!timestamp 2026-01-01\n", "tag 'tag:yaml.org,2002:timestamp' is not allowed"),
    ("x: !!python/object:os.system ls\n", "is not allowed"),
    ("? [a, b]\n: v\n", "mapping keys must be plain strings"),
    ("!!int 1: v\n", "mapping keys must be plain strings"),
    ("k: !!set {a}\n", "tag 'tag:yaml.org,2002:set' is not allowed"),
    ("a: [1, 2\n", "malformed YAML"),
    ("a: b: c\n", "malformed YAML"),
]


def read_text(tmp_path: Path, text: str) -> list[yamlsource.Document]:
    path = tmp_path / "f.yaml"
    path.write_text(text, encoding="utf-8")
    return yamlsource.read_documents(path, "f.yaml")


def same(a: Any, b: Any) -> bool:
    """Equal data, types and key order included (NaN equals NaN)."""
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return bool(a == b)


@pytest.mark.parametrize("text", ACCEPTED)
def test_the_fast_reader_gives_the_full_readers_data(text: str, tmp_path: Path) -> None:
    fast = yamlsource._fast_read(text)
    assert fast is not None, "the fast reader must take an ordinary file"
    full = yamlsource._full_read(text, "f.yaml")
    assert [i for i, _ in fast] == [d.index for d in full]
    assert all(same(data, d.data) for (_, data), d in zip(fast, full))
    docs = read_text(tmp_path, text)
    assert [(d.index, d.positions) for d in docs] == [(d.index, d.positions) for d in full]


@pytest.mark.parametrize("text,message", REFUSED)
def test_what_the_fast_reader_cannot_take_is_the_full_readers_error(text: str, message: str, tmp_path: Path) -> None:
    assert yamlsource._fast_read(text) is None
    with pytest.raises(InputError) as via_file:
        read_text(tmp_path, text)
    with pytest.raises(InputError) as full:
        yamlsource._full_read(text, "f.yaml")
    assert [str(f) for f in via_file.value.findings] == [str(f) for f in full.value.findings]
    assert message in str(via_file.value.findings[0])
    assert via_file.value.findings[0].location.line >= 1


def test_mutated_specs_read_the_same_by_both_readers() -> None:
    """Random edits of real spec files with YAML's sharp edges: wherever the fast reader accepts
    the text, the full reader accepts it with the same data; wherever it declines, the full
    reader reports an error (so no file loses its data or its error to the fast path); and the
    positions worked out later are the ones the full reader records."""
    fixtures = Path(__file__).parent / "fixtures"
    seeds = [p.read_text() for p in sorted(fixtures.rglob("*.yaml")) if p.stat().st_size < 4000][:40]
    assert seeds
    pieces = ["&a ", "*a", "!!str ", "!!int ", "!x ", "! ", "<<: ", "? ", "- ", ": ", "\n", "  ", "'", '"', "yes",
              "0x1F", "---\n", "...\n", "%TAG ! tag:x,2000:\n", "{", "}", "[", "]", ",", "#c", "~", "1_000", ".inf",
              "!!map ", "!!seq ", "!!null ", "\t", "a: a\na: b\n", "|\n  x\n", ">-\n  y\n", "\ufeff"]
    rnd = random.Random(15)
    accepted = declined = 0
    for _ in range(1500):
        text = rnd.choice(seeds)
        for _ in range(rnd.randint(1, 3)):
            at = rnd.randrange(len(text) + 1)
            if rnd.random() < 0.3:
                text = text[:at] + text[at + rnd.randint(1, 5):]
            else:
                text = text[:at] + rnd.choice(pieces) + text[at:]
        fast = yamlsource._fast_read(text)
        if fast is None:
            with pytest.raises(InputError):
                yamlsource._full_read(text, "f.yaml")
            declined += 1
            continue
        full = yamlsource._full_read(text, "f.yaml")
        assert [i for i, _ in fast] == [d.index for d in full], text
        assert all(same(data, d.data) for (_, data), d in zip(fast, full)), text
        tables = yamlsource._positions(text)
        assert all(tables[d.index] == d.positions for d in full), text
        accepted += 1
    assert accepted > 300 and declined > 300  # both paths were exercised


def test_the_limits_hold_on_the_fast_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(yamlsource, "MAX_NODES", 50)
    text = yaml.safe_dump({"items": list(range(60))})
    assert yamlsource._fast_read(text) is None
    with pytest.raises(InputError) as exc:
        read_text(tmp_path, text)
    assert "more than 50 YAML nodes" in str(exc.value.findings[0])
    deep = "a:\n" + "".join("  " * i + "- \n" for i in range(1, 70))
    assert yamlsource._fast_read(deep) is None


def test_an_error_deep_in_a_big_inventory_names_its_line_and_column(tmp_path: Path) -> None:
    clusters = [cluster(f"c{i:05d}", labels={"tier": "gold"}, claims={"j.client-data": f"/d/{i}"}) for i in range(3000)]
    clusters[2876]["clusterSet"] = "no-such-set"
    specs = write_specs(tmp_path, clusters, [job("j", {"c00001": "/d/1"})])
    text = (specs / "fleet.yaml").read_text()
    lines = text.splitlines()
    [line] = [i + 1 for i, t in enumerate(lines) if "no-such-set" in t]
    column = lines[line - 1].index("no-such-set") + 1
    with pytest.raises(InputError) as exc:
        load_fleet(specs)
    [finding] = [f for f in exc.value.findings if "no-such-set" in f.message]
    assert (finding.location.file, finding.location.line, finding.location.column) == ("specs/fleet.yaml", line, column)
    assert finding.field == "spec.clusters[2876].clusterSet"


def test_a_position_is_worked_out_when_first_asked(tmp_path: Path) -> None:
    specs = write_specs(tmp_path, [cluster("a1", claims={"j.client-data": "/d"})], [job("j", {"a1": "/d"})])
    (specs / "more").mkdir()
    (specs / "more" / "jobs.yaml").write_text(yaml.safe_dump_all([job(f"k{i}", {"a1": "/d"}) for i in range(3)]))
    doc = yamlsource.read_documents(specs / "more" / "jobs.yaml", "more/jobs.yaml")[0]
    assert doc._positions is None  # nothing asked yet
    text = (specs / "more" / "jobs.yaml").read_text()
    at = doc.locate(("spec", "data", "holders", "a1"))
    lines = text.splitlines()
    first = next(i for i, t in enumerate(lines) if t.strip().startswith("a1:"))
    assert (at.line, at.column) == (first + 1, lines[first].index("a1:") + 1 + len("a1: "))


def test_positions_kept_in_the_read_cache_are_the_ones_worked_out_and_one_byte_works_them_out_again(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With the read cache (check's), a file's positions are worked out once for its bytes and the
    reader (spec/readcache.py), then read back: the same for every node; one byte more in the file
    is another key and works them out again."""
    from fedfleet.spec.readcache import ReadCache

    path = tmp_path / "jobs.yaml"
    path.write_text(yaml.safe_dump_all([job(f"k{i}", {"a1": "/d", "b2": "/e"}) for i in range(4)]
                                       + [{"items": ["a", {"b": ["c", 1]}], "1": {"2": "three"}}]))
    worked: list[int] = []
    real = yamlsource._positions
    monkeypatch.setattr(yamlsource, "_positions", lambda text: worked.append(1) or real(text))
    cache = ReadCache(tmp_path / "cache")
    plain = [d.positions for d in yamlsource.read_documents(path, "jobs.yaml")]
    assert len(worked) == 1 and all(plain)
    first = [d.positions for d in yamlsource.read_documents(path, "jobs.yaml", cache)]
    again = [d.positions for d in yamlsource.read_documents(path, "jobs.yaml", cache)]
    assert first == again == plain and len(worked) == 2  # the second read took them from the cache
    assert all(type(k) is tuple for table in again for k in table)
    assert any(type(part) is int for table in again for k in table for part in k)  # list indices stay ints
    path.write_text(path.read_text() + "\n")  # one byte
    changed = [d.positions for d in yamlsource.read_documents(path, "jobs.yaml", cache)]
    assert len(worked) == 3 and changed == plain
