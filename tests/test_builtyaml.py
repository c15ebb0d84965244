"""checks/builtyaml.py reads kustomize's output exactly as PyYAML's CSafeLoader does.

Compared over real `kubectl kustomize` output: every unit of a synthetic fleet (bench/synthetic.py)
and of the example bundle, and a kustomization whose objects hold the plain scalars YAML 1.1 and
1.2 read differently. Where yaml-rs would differ the text must go to CSafeLoader (fast_documents
is None); where it is taken, the objects must be equal, types included.
"""

from __future__ import annotations

import math
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
import yaml_rs

from fedfleet import pipeline
from fedfleet.checks import builtyaml
from fedfleet.checks.built import composed_units
from fedfleet.checks.kustomize import build_text

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
from synthetic import write_fleet  # noqa: E402


def _typed(value: Any) -> Any:
    """The value with every scalar's type beside it (True == 1 and 1.0 == 1 in Python)."""
    if isinstance(value, dict):
        return [(_typed(k), _typed(v)) for k, v in value.items()]
    if isinstance(value, list):
        return [_typed(v) for v in value]
    if isinstance(value, float) and math.isnan(value):
        return ("nan",)
    return (type(value).__name__, value)


def _slow(text: str) -> list[Any]:
    return [d for d in yaml.load_all(text, Loader=yaml.CSafeLoader) if d]


def _units(root: Path) -> list[str]:
    files = {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}
    rendered = pipeline.render(pipeline.Paths(specs=root / "specs", out=root))
    return sorted(u for r in rendered.roots for u in (composed_units(r, files) or [r]))


def _compare_builds(root: Path) -> int:
    """Every unit built for real; both readings equal; returns how many took yaml-rs."""
    fast = 0
    for unit in _units(root):
        text = build_text(root / unit)
        assert builtyaml.load_all(text) is not None
        assert _typed(builtyaml.load_all(text)) == _typed(_slow(text)), unit
        fast += builtyaml.fast_documents(text) is not None
    return fast


def test_a_synthetic_fleet_reads_the_same_unit_by_unit(tmp_path: Path) -> None:
    write_fleet(tmp_path, 1200, 120, 2)  # a hub above layout.SPLIT_ABOVE: core and parts
    assert subprocess.run([str(Path(sys.executable).parent / "fedfleet"), "generate"], cwd=tmp_path,
                          stdout=subprocess.DEVNULL).returncode == 0
    units = _units(tmp_path)
    assert any("/part-" in u for u in units)
    assert _compare_builds(tmp_path) == len(units)  # nothing in fedfleet's output needs the slow path


def test_the_example_bundle_reads_the_same(fleet_repo: Path) -> None:
    assert subprocess.run([str(Path(sys.executable).parent / "fedfleet"), "generate"], cwd=fleet_repo,
                          stdout=subprocess.DEVNULL).returncode == 0
    assert _compare_builds(fleet_repo) == len(_units(fleet_repo))


# Plain scalars that PyYAML (YAML 1.1) and yaml-rs (YAML 1.2) read differently, and some they agree on.
DIFFERENT = ["yes", "No", "ON", "off", "0755", "0o755", "1e3", "1e+06", "+.5", "1:20", "190:20:30.15",
             "2026-11-25", "2026-11-25T10:00:00Z", "1.5e400", "<<", "="]
ALIKE = ["true", "False", "null", "~", "12", "-3", "1.5", "0x1F", "1_000", ".inf", "y", "n", "inf", "nan",
         "tRue", "cluster-001", "--flag=yes", "a b yes"]


@pytest.mark.parametrize("token", DIFFERENT)
def test_a_scalar_read_differently_goes_to_csafeloader(token: str) -> None:
    for text in (f"a: {token}\n", f"a:\n- x\n- {token}\n", f"{token}: v\n", f"x: 1\n---\nb:\n  c: [{token}]\n"):
        assert builtyaml.fast_documents(text) is None, text
        try:
            slow = _typed(_slow(text))
        except yaml.YAMLError:  # PyYAML refuses `<<` and `=` as values: load_all reads them as
            # kustomize (YAML 1.2) wrote them, plain strings
            read = yaml_rs.loads(text)
            assert _typed(builtyaml.load_all(text)) == _typed(read if "---" in text else [read]), text
            continue
        assert _typed(builtyaml.load_all(text)) == slow


@pytest.mark.parametrize("token", ALIKE)
def test_a_scalar_read_alike_takes_yaml_rs(token: str) -> None:
    for text in (f"a: {token}\n", f"a:\n- x\n- {token}\n", f"a: '{token}'\nb: \"{token}\"\nc: |\n  {token}\n"):
        assert builtyaml.fast_documents(text) is not None, text
        assert _typed(builtyaml.load_all(text)) == _typed(_slow(text))


def test_quoted_and_block_scalars_are_strings_under_both() -> None:
    quoted = "".join(f"k{i}: '{t}'\nq{i}: \"{t}\"\n" for i, t in enumerate(DIFFERENT))
    text = quoted + "lit: |\n  yes\n  0755\nfold: >-\n  on\n  1e3\nlist:\n- |-\n  no\n"
    assert builtyaml.fast_documents(text) is not None
    assert _typed(builtyaml.load_all(text)) == _typed(_slow(text))


@pytest.mark.parametrize("text", [
    "a: &x 1\nb: *x\n",  # anchors and aliases
    "a: !!str 1\n",  # tags
    "x: !!binary aGk=\n",
    "a: {b: 1}\nc: &m [1]\n",
    "a: 1\na: 2\n",  # a duplicate key: PyYAML keeps the last, yaml-rs refuses
])
def test_anchors_tags_and_duplicates_go_to_csafeloader(text: str) -> None:
    assert builtyaml.fast_documents(text) is None
    assert _typed(builtyaml.load_all(text)) == _typed(_slow(text))


@pytest.mark.parametrize("text", ["", "---\n- a: 1\n- b: 2\n", "- a: 1\n- b: 2\n",
                                  "a: 1\n...\n---\nb: 2\n", "# only a comment\n", "a: 1\n---\nb: 2\n---\nc: 3\n"])
def test_documents_are_counted_as_libyaml_counts_them(text: str) -> None:
    """yaml-rs gives one document as itself and several as a list: the count comes from libyaml."""
    assert builtyaml.fast_documents(text) is not None
    assert _typed(builtyaml.fast_documents(text)) == _typed(list(yaml.load_all(text, Loader=yaml.CSafeLoader)))


@pytest.mark.parametrize("text", ["---\n", "a: 1\n---\n", "a: 1\n---\n---\nb: 2\n"])
def test_an_empty_document_is_read_by_csafeloader(text: str) -> None:
    """An empty document holds an empty plain scalar; as a key, yaml-rs and PyYAML differ on it."""
    assert builtyaml.fast_documents(text) is None
    assert builtyaml.load_all(text) == _slow(text)


def test_every_pyyaml_resolver_is_covered_by_the_candidates() -> None:
    """A plain scalar is only compared when it could be other than a string: PyYAML's implicit
    resolvers are keyed by first character; each key is a candidate character, or its regexes
    only match words in builtyaml._WORDS (compared case-insensitively)."""
    for first, resolvers in yaml.resolver.Resolver.yaml_implicit_resolvers.items():
        if first is None or first == "" or builtyaml._MAYBE_NOT_STR.match(first):
            continue
        for _tag, regexp in resolvers:
            words = re.findall(r"[A-Za-z]+", regexp.pattern)
            assert words and all(w.lower() in builtyaml._WORDS for w in words), (first, regexp.pattern)


def test_kustomize_output_with_the_differing_scalars(tmp_path: Path) -> None:
    """Real kustomize re-emits what it reads: objects whose values are written plain (a kind of
    our own: kustomize converts objects to JSON, which has no infinity, so `.inf` is left out)."""
    (tmp_path / "kustomization.yaml").write_text("resources:\n- differ.yaml\n- alike.yaml\n")
    for name, tokens in (("differ", DIFFERENT), ("alike", ALIKE)):
        spec = "".join(f"  k{i}: {t}\n" for i, t in enumerate(tokens) if t not in ("<<", "=", ".inf"))
        (tmp_path / f"{name}.yaml").write_text(f"apiVersion: example.com/v1\nkind: Thing\nmetadata:\n  name: {name}\nspec:\n{spec}")
    text = build_text(tmp_path)
    assert _typed(builtyaml.load_all(text)) == _typed(_slow(text))
    docs = text.split("\n---\n")
    assert len(docs) == 2
    alike = next(d for d in docs if "name: alike" in d)
    assert builtyaml.fast_documents(alike) is not None
    assert _typed(builtyaml.fast_documents(alike)) == _typed(_slow(alike))
    differ = next(d for d in docs if "name: differ" in d)
    if re.search(r"^  k0: yes$", differ, re.M):  # kustomize kept it plain: CSafeLoader reads it
        assert builtyaml.fast_documents(differ) is None


def test_line_and_paragraph_separators_and_nel_go_to_csafeloader(tmp_path: Path) -> None:
    """libyaml counts U+2028, U+2029 and U+0085 as line breaks (yaml/libyaml src/yaml_private.h
    IS_BREAK_AT), YAML 1.2 parsers such as yaml-rs do not: a string kustomize wrote over several
    lines reads differently (`'x\u2028    y'` instead of `'x\u2028y'`), in quoted and block scalars
    alike. Real kustomize output of such strings must be read as CSafeLoader reads it."""
    (tmp_path / "kustomization.yaml").write_text("resources:\n- cm.yaml\n")
    (tmp_path / "cm.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\ndata:\n"
        '  a: "x\\u2028y"\n  b: "line1\\nline2\\u2028  z\\n"\n  c: "p\\u0085q"\n'
        '  e: "multi\\nline\\u2029 end"\n  f: "x\\u2028"\n')
    text = build_text(tmp_path)
    assert "\u2028" in text and "\u2029" in text
    assert builtyaml.fast_documents(text) is None
    read = builtyaml.load_all(text)
    assert _typed(read) == _typed(_slow(text))
    assert read[0]["data"]["a"] == "x\u2028y"
    for text in ("a: 'x\u2028y'\n", "a: |\n  p\u2029  q\n", "a: 'b\x85c'\n"):
        assert builtyaml.fast_documents(text) is None, repr(text)
        assert _typed(builtyaml.load_all(text)) == _typed(_slow(text))


def test_values_csafeloader_cannot_build_are_read_as_kustomize_wrote_them(tmp_path: Path) -> None:
    """kustomize (YAML 1.2) writes the strings `=` and `2024-13-45` plain; PyYAML's CSafeLoader
    cannot build them (a merge-value tag; a timestamp with no such day, ValueError): check read
    them as a crash. They are the strings kustomize meant."""
    from fedfleet.checks.built import build_and_check

    files = {"app/kustomization.yaml": b'resources:\n- cm.yaml\ncommonAnnotations:\n  a: "="\n  b: "2024-13-45"\n',
             "app/cm.yaml": b'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\ndata:\n  x: "="\n  y: "on"\n'}
    built = build_and_check(files, {"app": "hub"}, None, tmp_path / "cache")
    assert not built.build_findings, [f.render() for f in built.build_findings]
    [cm] = built.objects["app"]
    assert cm["metadata"]["annotations"] == {"a": "=", "b": "2024-13-45"}
    assert cm["data"] == {"x": "=", "y": "on"}
    with pytest.raises(yaml.YAMLError):  # neither can read it: CSafeLoader's error
        builtyaml.load_all("a: =\nb: [\n")
