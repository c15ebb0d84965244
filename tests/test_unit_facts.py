"""What placeholders and waves read of each built unit is kept in check's cache by the unit's built
bytes (checks/unitfacts.py) and can never be stale: one byte of a unit's input rebuilds it and its
facts are read again (only its), other code reading them is another key, a damaged entry is a miss,
and the findings are always what the checks find over the objects themselves. Real kustomize builds
of the example fleet."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from fedfleet import pipeline
from fedfleet.checks import placeholders, unitfacts, waves
from fedfleet.checks.built import Built, build_all


@pytest.fixture
def rendered(fleet_repo: Path) -> pipeline.Rendered:
    return pipeline.render(pipeline.Paths(specs=fleet_repo / "specs", out=fleet_repo))


class _Counted:
    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls = 0
        real = placeholders.unit_facts

        def counted(objects: list[dict]) -> list[Any]:
            self.calls += 1
            return real(objects)

        monkeypatch.setattr(placeholders, "unit_facts", counted)


def _run(rendered: pipeline.Rendered, files: dict[str, bytes], store: Path,
         counted: _Counted) -> tuple[Built, unitfacts.Facts, list[str], list[str]]:
    """One run's facts and findings; counted.calls: the units whose facts were read from objects."""
    built = build_all(files, rendered.roots, store)
    counted.calls = 0
    facts = unitfacts.collect(built, store)
    calls = counted.calls
    found = [f.render() for f in placeholders.facts_findings(rendered.fleet, facts.placeholders, built.hubs)]
    wave_found = [f.render() for f in waves.check_facts(facts.waves)[0]]
    # what the checks find over the objects themselves, nothing kept
    assert found == [f.render() for f in placeholders.object_findings(rendered.fleet, built.objects, built.hubs)]
    assert wave_found == [f.render() for f in waves.check(built.objects)[0]]
    assert waves.check_facts(facts.waves)[1] == waves.check(built.objects)[1]
    counted.calls = calls
    return built, facts, found, wave_found


def _parts(built: Built) -> int:
    return sum(len(built.objects.parts(root)) for root in built.objects)


def test_facts_are_reused_for_the_same_bytes_and_read_again_for_one_byte_more(
        rendered: pipeline.Rendered, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = tmp_path / "cache"
    counted = _Counted(monkeypatch)
    built, facts, found, wave_found = _run(rendered, rendered.build_inputs, store, counted)
    parts = _parts(built)
    assert facts.reused == 0 and counted.calls == parts > 1
    assert list((store / unitfacts.KIND).rglob("*.json"))

    _built, facts, again, wave_again = _run(rendered, rendered.build_inputs, store, counted)
    assert facts.reused == parts and counted.calls == 0  # every unit's facts from the cache
    assert (again, wave_again) == (found, wave_found)

    # One byte of one unit's input: an image loses its tag (":" -> "/"), so that unit builds other
    # bytes; only its facts are read again, and the new placeholder is found.
    path = next(p for p, text in sorted(rendered.build_inputs.items())
                if b"image: flwr/superlink:" in text and p.startswith("overlays/"))
    changed = dict(rendered.build_inputs)
    changed[path] = changed[path].replace(b"image: flwr/superlink:", b"image: flwr/superlink/", 1)
    _built, facts, edited, _waves = _run(rendered, changed, store, counted)
    assert counted.calls == 1 and facts.reused == parts - 1
    new = [f for f in edited if "flwr/superlink/" in f]
    assert new and not [f for f in found if "flwr/superlink/" in f]


def test_other_code_reading_the_facts_or_a_damaged_entry_is_a_miss(
        rendered: pipeline.Rendered, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = tmp_path / "cache"
    counted = _Counted(monkeypatch)
    built, _facts, found, wave_found = _run(rendered, rendered.build_inputs, store, counted)
    parts = _parts(built)
    entries = sorted((store / unitfacts.KIND).rglob("*.json"))
    assert len(entries) == parts
    entries[0].write_bytes(entries[0].read_bytes()[:-3])  # cut short
    _built, facts, again, wave_again = _run(rendered, rendered.build_inputs, store, counted)
    assert counted.calls == 1 and facts.reused == parts - 1 and (again, wave_again) == (found, wave_found)
    # One digit of a value edited, the JSON still whole (the waves' count of needs, the entry's
    # last number): a miss too, never another count.
    raw = entries[1].read_bytes()
    at = raw.rindex(b"]]") - 1
    assert raw[at:at + 1].isdigit()
    entries[1].write_bytes(raw[:at] + (b"7" if raw[at:at + 1] != b"7" else b"8") + raw[at + 1:])
    _built, facts, again, wave_again = _run(rendered, rendered.build_inputs, store, counted)
    assert counted.calls == 1 and facts.reused == parts - 1 and (again, wave_again) == (found, wave_found)

    # placeholders.py, waves.py, ... one byte different: every unit's facts are read again
    monkeypatch.setattr(unitfacts, "_identity", unitfacts.facts_identity() + b"x")
    _built, facts, again, wave_again = _run(rendered, rendered.build_inputs, store, counted)
    assert counted.calls == parts and facts.reused == 0 and (again, wave_again) == (found, wave_found)


def test_one_byte_of_any_module_reading_the_facts_is_another_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """placeholders.py, waves.py, yamlsource.py (field names), upstream.py (annotation names) and
    unitfacts.py itself: a copy of any with one byte more gives another identity, so every key."""
    from fedfleet import upstream
    from fedfleet.spec import yamlsource

    monkeypatch.setattr(unitfacts, "_identity", None)
    before = unitfacts.facts_key("digest")
    for module in (placeholders, waves, yamlsource, upstream, unitfacts):
        copy = tmp_path / f"{module.__name__}.py"
        copy.write_bytes(Path(module.__file__).read_bytes() + b"#")
        with monkeypatch.context() as m:
            m.setattr(module, "__file__", str(copy))
            m.setattr(unitfacts, "_identity", None)
            assert unitfacts.facts_key("digest") != before, module.__name__
    monkeypatch.setattr(unitfacts, "_identity", None)
    assert unitfacts.facts_key("digest") == before and unitfacts.facts_key("other") != before
