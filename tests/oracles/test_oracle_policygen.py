"""The Policy Generator as a peer: fed the same object templates, it produces the same Policies,
Placements, PlacementBindings and PolicySets as fedfleet, except for the deliberate differences
listed (with their reasons) in tests/oracles/policygen-differences.yaml and the README."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from fedfleet.checks.kustomize import build as kustomize_build
from oracles.oracle_policygen import compare, dumps, generalise, generator_config, run_generator
from oracles.oracle_tools import REPO

DELIBERATE = Path(__file__).parent / "policygen-differences.yaml"
HUBS = ("hub-dev", "hub-prod")


def _documented() -> list[tuple[frozenset[str], str]]:
    """(kinds, field pattern) of every documented difference; a pattern ending in `*` is a prefix."""
    out = []
    for entry in yaml.safe_load(DELIBERATE.read_text()):
        kinds = frozenset(k.strip() for k in entry["kind"].split(","))
        fields = entry["field"] if isinstance(entry["field"], list) else [entry["field"]]
        out += [(kinds, f) for f in fields]
    return out


def _explained(kind: str, path: str, documented: list[tuple[frozenset[str], str]]) -> tuple[frozenset[str], str] | None:
    for kinds, pattern in documented:
        if kind in kinds and (path == pattern or (pattern.endswith("*") and path.startswith(pattern[:-1]))):
            return kinds, pattern
    return None


@pytest.fixture(scope="module")
def differences(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list]:
    out = {}
    for hub in HUBS:
        # The governance core's objects, in the governance namespace: the Flower jobs' delivery
        # policies in flower-system (render/flower.py) are not the plugins' and are not compared.
        namespace = "fl-governance"
        ours = [o for o in kustomize_build(REPO / "overlays" / hub)
                if o["kind"] not in ("Policy", "PolicySet", "Placement", "PlacementBinding")
                or o["metadata"].get("namespace") == namespace]
        work = tmp_path_factory.mktemp(f"policygen-{hub}")
        theirs = run_generator(generator_config(ours, work))
        assert sum(o["kind"] == "Policy" for o in theirs) == sum(o["kind"] == "Policy" for o in ours)
        out[hub] = compare(ours, theirs, namespace)
    return out


def test_every_difference_is_documented(differences: dict[str, list]) -> None:
    documented = _documented()
    unexplained = [f"{hub}: {d.kind} {d.name} {d.path}: fedfleet {dumps(d.fedfleet)}, generator {dumps(d.generator)}"
                   for hub, diffs in differences.items() for d in diffs
                   if not _explained(d.kind, generalise(d.path), documented)]
    assert not unexplained, "differences from the Policy Generator not in policygen-differences.yaml:\n" + \
        "\n".join(unexplained)


def test_every_documented_difference_still_exists(differences: dict[str, list]) -> None:
    found = {_explained(d.kind, generalise(d.path), _documented()) for diffs in differences.values() for d in diffs}
    stale = [f"{sorted(kinds)} {pattern}" for kinds, pattern in _documented() if (kinds, pattern) not in found]
    assert not stale, f"documented in {DELIBERATE.name} but no longer different: {stale}"


def test_policy_content_is_identical(differences: dict[str, list]) -> None:
    """The part ACM evaluates: templates, remediation, severity, selectors, placements."""
    content = [d for diffs in differences.values() for d in diffs
               if d.path.startswith("spec") or (d.kind == "Placement")]
    assert not content, [(d.kind, d.name, d.path, d.fedfleet, d.generator) for d in content]
