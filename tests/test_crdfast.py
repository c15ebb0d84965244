"""CRD validation's fast path (fastjsonschema says valid, jsonschema says why not) finds exactly
what jsonschema alone finds: messages, fields, subjects and locations.

Every field of one built object of each kind of the example bundle (real kustomize builds, the
upstream CRDs) is replaced in turn by values of every JSON type, including those where the two
libraries are known to differ (1.0 for an integer in draft 4, booleans as numbers, huge ints),
and an undeclared property is added at every object; each mutant is validated both ways.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any, Iterator

import pytest

from fedfleet import pipeline
from fedfleet.checks import crds as crdcheck
from fedfleet.checks.built import build_and_check

VALUES: list[Any] = [1.0, 1.5, 3, -1, 10**20, "x", "", True, False, None, [], {}, ["x"], {"x": 1}]


def _paths(value: Any, at: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if isinstance(value, dict):
        for k, v in value.items():
            yield at + (k,)
            yield from _paths(v, at + (k,))
    elif isinstance(value, list):
        for i, v in enumerate(value[:2]):
            yield at + (i,)
            yield from _paths(v, at + (i,))


def _objects(value: Any, at: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if isinstance(value, dict):
        yield at
        for k, v in value.items():
            yield from _objects(v, at + (k,))
    elif isinstance(value, list):
        for i, v in enumerate(value[:2]):
            yield from _objects(v, at + (i,))


def _set(obj: Any, path: tuple[Any, ...], value: Any) -> Any:
    out = copy.deepcopy(obj)
    target = out
    for p in path[:-1]:
        target = target[p]
    target[path[-1]] = value
    return out


def _findings(schemas: crdcheck.SchemaSet, obj: dict[str, Any]) -> list[str]:
    try:
        found, _ = schemas.validate([copy.deepcopy(obj)], "unit")
    except (AttributeError, TypeError) as exc:  # metadata or a Policy's spec not a mapping
        return [f"raises {type(exc).__name__}"]
    return [f"{f.render()} @{f.field} {f.subject}" for f in found]


@pytest.fixture
def built_objects(fleet_repo: Path) -> list[dict[str, Any]]:
    rendered = pipeline.render(pipeline.Paths(specs=fleet_repo / "specs", out=fleet_repo))
    built = build_and_check(rendered.build_inputs, rendered.roots, None)
    one: dict[tuple[str, str], dict[str, Any]] = {}
    for objects in built.objects.values():
        for o in objects:
            one.setdefault((o["apiVersion"], o["kind"]), o)
    return list(one.values())


def test_the_fast_path_finds_what_jsonschema_finds(built_objects: list[dict[str, Any]], crds: Path) -> None:
    source = crdcheck.SchemaSource.resolve([crds], store=False)
    fast, full = source.load(), source.load()
    fast.fast_from, full.fast_from = 1, 10**9  # every kind compiled at once / never
    compared = invalid = took_fast = 0
    for obj in built_objects:
        key = (obj["apiVersion"], obj["kind"])
        if key not in fast.validators:
            continue
        mutants = [obj] + [_set(obj, path, v) for path in _paths(obj) for v in VALUES if path[:1] != ("kind",)]
        mutants += [_set(obj, at + ("undeclaredField",), "x") for at in _objects(obj)]
        for mutant in mutants:
            before = copy.deepcopy(mutant)
            expected = _findings(full, mutant)
            assert _findings(fast, mutant) == expected, (key, mutant)
            assert mutant == before  # neither fills defaults into the object
            compared += 1
            invalid += bool(expected)
        took_fast += fast._fast.get(key) is not None
    assert compared > 1000 and invalid > compared // 4
    assert took_fast >= 5  # the fast path was taken for most kinds, not bypassed


def test_a_schema_with_another_keyword_is_validated_by_jsonschema_alone() -> None:
    assert crdcheck._fast_check({"type": "object", "properties": {"n": {"type": "number", "multipleOf": 0.1}}}) is None
    assert crdcheck._fast_check({"type": "object", "patternProperties": {"^a": {"type": "string"}}}) is None
    assert crdcheck._fast_check({"type": "object", "properties": {"multipleOf": {"type": "string"}}}) is not None
    check = crdcheck._fast_check({"type": "object", "properties": {"n": {"type": "integer"}}})
    assert check is not None
    with pytest.raises(Exception):
        check({"n": 1.0})  # draft 4: 1.0 is not an integer, as in jsonschema's Draft4Validator
