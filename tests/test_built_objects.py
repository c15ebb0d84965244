"""check keeps each built unit's objects as their JSON text (checks/built.py BuiltObjects) and
makes them into Python data again on each access: what comes back is what kustomize's output read
as, type for type; objects JSON would change (a YAML timestamp, a float NaN, an integer beyond 64
bits) are kept as they were read. Real kustomize builds."""

from __future__ import annotations

import datetime
from pathlib import Path

import orjson

from fedfleet.checks import builtyaml, kustomize, rego
from fedfleet.checks.built import BuiltObjects, _pack, build_and_check


def _typed(value: object) -> object:
    if isinstance(value, dict):
        return {k: _typed(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_typed(v) for v in value]
    return (type(value).__name__, repr(value))


def test_what_kustomize_built_comes_back_type_for_type(tmp_path: Path) -> None:
    app = tmp_path / "app"
    app.mkdir()
    (app / "kustomization.yaml").write_text("resources:\n- cm.yaml\n- other.yaml\n")
    (app / "cm.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\n"
                                 "data:\n  a: x\nbinaryData: {}\nimmutable: true\n")
    (app / "other.yaml").write_text("apiVersion: example.com/v1\nkind: Thing\nmetadata:\n  name: t\n"
                                    "spec:\n  n: 3\n  f: 1.5\n  when: 2024-01-01\n  s: 'é ✓'\n")
    files = {f"app/{p.name}": p.read_bytes() for p in app.iterdir()}
    read = builtyaml.load_all(kustomize.build_text(app))
    # kustomize writes JSON's types (a date as its RFC 3339 string): every unit it builds packs
    assert read[1]["spec"] == {"n": 3, "f": 1.5, "when": "2024-01-01T00:00:00Z", "s": "é ✓"}
    for cache in (None, tmp_path / "cache", tmp_path / "cache"):  # built, built and stored, reused
        built = build_and_check(files, {"app": "hub"}, None, cache)
        assert not built.build_findings
        again = built.objects["app"]
        assert _typed(again) == _typed(read)
        assert built.objects.count("app") == 2 and list(built.objects) == ["app"]
        # each object's text is what the Rego input writes for it
        assert [orjson.loads(t) for t in built.objects.texts("app")][0] == read[0]


def test_objects_json_would_change_are_kept_as_read() -> None:
    plain = [{"kind": "ConfigMap", "data": {"a": "é", "n": 1, "f": 1.0, "t": True, "z": None}},
             {"kind": "Secret", "data": {"s": "a,b]", "l": [1, [2, {}]]}}, {}]
    packed = _pack(plain, from_json=False)
    assert not isinstance(packed, list)
    for changed in ({"when": datetime.date(2024, 1, 1)}, {"f": float("nan")}, {"big": 2**70}, {1: "non-string key"},
                    {"t": (1, 2)}):
        objects = [*plain, {"kind": "Thing", "spec": changed}]
        assert _pack(objects, from_json=False) is objects
    store = BuiltObjects()
    kept = [{"kind": "Thing", "spec": {"when": datetime.date(2024, 1, 1)}}]
    store.add("root", [packed, _pack(kept, from_json=False)])
    back = store["root"]
    assert _typed(back) == _typed(plain + kept) and back[-1]["spec"]["when"] is kept[0]["spec"]["when"]
    # each object's text, as the Rego input writes it, and an empty unit
    assert list(store.texts("root")) == [rego.object_json(o) for o in plain + kept]
    empty = _pack([], from_json=False)
    store.add("empty", [empty])
    assert store["empty"] == [] and list(store.texts("empty")) == [] and store.count("root") == 4


def test_a_packed_cache_entry_comes_back_byte_for_byte_and_a_misshapen_one_is_a_miss() -> None:
    """The build cache keeps a unit's packed objects as they are (built._packed_entry): a hit is
    the same array, starts and ids; an entry whose index does not fit its array is not taken."""
    from fedfleet.checks.built import _Packed, _packed_entry, _packed_from_entry

    objects = [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"cm{i}", "namespace": "n"},
                "data": {"k": "a,b]", "n": i}} for i in range(5)]
    packed = _pack(objects, from_json=False)
    assert isinstance(packed, _Packed)
    entry = _packed_entry(packed)
    back = _packed_from_entry(entry)
    assert back is not None and back.array == packed.array and list(back.starts) == list(packed.starts)
    assert back.ids == packed.ids and back.objects() == objects and list(back.texts()) == list(packed.texts())
    empty = _pack([], from_json=False)
    assert isinstance(empty, _Packed) and _packed_from_entry(_packed_entry(empty)).objects() == []  # type: ignore[union-attr]
    meta, _, data = entry.partition(b"\n")
    index = orjson.loads(meta)
    shifted = dict(index, starts=[index["starts"][0] + 1, *index["starts"][1:]])
    for bad in (meta + b"\n" + data[:-1],  # cut short
                orjson.dumps(shifted) + b"\n" + data,  # an object's text not after "[" or ","
                orjson.dumps(dict(index, ids=index["ids"][1:])) + b"\n" + data,  # one id fewer
                b"not json\n" + data, data):
        assert _packed_from_entry(bad) is None
