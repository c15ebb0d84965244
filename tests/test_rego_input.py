"""check writes its Rego input piece by piece (rego.input_chunks, one object's JSON at a time):
byte for byte the document rego.input_json(rego.build_input(...)) writes, so the policies and the
result cache see what they saw. Real kustomize builds of the example fleet."""

from __future__ import annotations

import hashlib
from pathlib import Path

from fedfleet import pipeline
from fedfleet.checks import rego
from fedfleet.checks.built import build_and_check


def _rendered(fleet_repo: Path) -> pipeline.Rendered:
    return pipeline.render(pipeline.Paths(fleet_repo / "specs", fleet_repo))


def test_the_streamed_input_is_the_whole_document_byte_for_byte(fleet_repo: Path, tmp_path: Path) -> None:
    rendered = _rendered(fleet_repo)
    built = build_and_check(rendered.build_inputs, rendered.roots, None)
    assert not built.build_findings
    whole = rego.input_json(rego.build_input(rendered.fleet, rendered.plan, built.for_policies(rendered))).encode()
    target = tmp_path / "input.json"
    digest, count = rego.write_input(target, rendered.fleet, rendered.plan, built.policy_json(rendered),
                                     lambda: built.for_policies(rendered))
    assert target.read_bytes() == whole
    assert digest == hashlib.sha256(whole).digest()
    assert count == len(built.for_policies(rendered)) == sum(len(v) for v in built.objects.values()) > 100
    # so the result cache's key is the one the whole text gives
    modules = rego.plugin_modules(rendered.registry.rego_modules())
    assert rego.results_key_of(modules, digest) == rego.results_key(modules, whole.decode())


def test_a_failed_build_writes_the_rendered_bundle_as_before(fleet_repo: Path, tmp_path: Path) -> None:
    """A build that fails: Rego judges the rendered bundle (for_policies), written the same way."""
    rendered = _rendered(fleet_repo)
    files = dict(rendered.build_inputs)
    broken = next(p for p in sorted(files) if p.startswith("overlays/") and p.endswith("kustomization.yaml"))
    files[broken] += b"resources: [missing.yaml]\n"
    built = build_and_check(files, rendered.roots, None)
    assert built.build_findings
    whole = rego.input_json(rego.build_input(rendered.fleet, rendered.plan, rendered.bundle)).encode()
    target = tmp_path / "input.json"
    rego.write_input(target, rendered.fleet, rendered.plan, built.policy_json(rendered),
                     lambda: built.for_policies(rendered))
    assert target.read_bytes() == whole


def test_a_value_orjson_cannot_write_falls_back_to_the_whole_document(fleet_repo: Path, tmp_path: Path) -> None:
    """An integer beyond 64 bits in one object (PyYAML reads one from kustomize's output): the
    document is written whole by input_json (the standard library), as before, and its count and
    digest are of that text."""
    rendered = _rendered(fleet_repo)
    hub_objects = rego.hub_objects(rendered.bundle, rendered.roots)
    big = rego.HubObject(hub_objects[0].path, hub_objects[0].hub, {"kind": "ConfigMap", "data": {"n": 2**70}})
    every = [*hub_objects, big]

    def pieces():
        for o in every:
            yield o.path, o.hub, rego.object_json(o.object)

    target = tmp_path / "input.json"
    digest, count = rego.write_input(target, rendered.fleet, rendered.plan, pieces(), lambda: every)
    whole = rego.input_json(rego.build_input(rendered.fleet, rendered.plan, every)).encode()
    assert target.read_bytes() == whole and b"1180591620717411303424" in whole
    assert digest == hashlib.sha256(whole).digest() and count == len(every)
