"""The built-in twins over a synthetic fleet (bench/synthetic.py: 400 clusters, 40 jobs, 2 hubs),
whole and with every fifth rendered object taken out (so most deny rules fire), find exactly what
they found before they looked objects up in data.fedfleet_lib.objects and before check asked every
package in one query: tests/fixtures/rego-synthetic/findings.json was written by main f35d5fd
(each rule scanning input.objects, each deny and warn asked on its own). Should a rule or the
synthetic fleet change on purpose, write the file again from this test's `_findings`.

Also, on the same inputs: the one query gives what asking each rule on its own gives, and the
library's index gives what the scan it replaces gives. Every evaluation is the real regorus."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

from fedfleet import pipeline
from fedfleet.checks import rego

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
from synthetic import write_fleet  # noqa: E402

FIXTURE = Path(__file__).parent / "fixtures" / "rego-synthetic" / "findings.json"


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> tuple[pipeline.Rendered, dict[str, Any], str]:
    tmp = tmp_path_factory.mktemp("synthetic")
    specs = write_fleet(tmp, 400, 40, 2)
    rendered = pipeline.render(pipeline.Paths(specs, tmp))
    n = 0
    thinned = {}
    for path, docs in sorted(rendered.bundle.items()):  # every fifth object of the bundle, in order
        keep = []
        for doc in docs:
            n += 1
            if n % 5:
                keep.append(doc)
        thinned[path] = keep
    return rendered, {"whole": rendered.bundle, "thinned": thinned}, str(tmp)


def _modules(rendered: pipeline.Rendered) -> list[rego.RegoModule]:
    return [m for m in rego.plugin_modules(rendered.registry.rego_modules()) if not m.name.endswith("_test.rego")]


def _findings(rendered: pipeline.Rendered, bundles: dict[str, Any], tmp: str) -> dict[str, Any]:
    out = {}
    for name, bundle in bundles.items():
        result = rego.evaluate(rendered.fleet, rendered.plan, bundle, rego.plugin_modules(rendered.registry.rego_modules()))
        out[name] = {"packages": result.packages, "objects": result.objects,
                     "findings": [f.render().replace(tmp + "/", "") for f in result.findings]}
    return out


def test_the_twins_find_what_they_found_before(fleet: tuple[pipeline.Rendered, dict[str, Any], str]) -> None:
    rendered, bundles, tmp = fleet
    found = _findings(rendered, bundles, tmp)
    assert found == json.loads(FIXTURE.read_text(encoding="utf-8"))
    # not a vacuous comparison: the thinned bundle fails rules of most packages
    denied = {line.split(": ")[2].split(" ")[0] for line in found["thinned"]["findings"] if ": error: " in line}
    assert {"rego:tls.superlink", "rego:addon.agent-available", "rego:membership.labels",
            "rego:prerequisites.cert-manager", "rego:data-locality.claim", "rego:observability.addon"} <= denied


def test_one_query_gives_what_each_rule_gives(fleet: tuple[pipeline.Rendered, dict[str, Any], str]) -> None:
    rendered, bundles, _ = fleet
    denied = 0
    for bundle in bundles.values():
        text = rego.input_json(rego.build_input(rendered.fleet, rendered.plan, bundle))
        engine = rego.EmbeddedEngine()
        together = engine.evaluate_json(_modules(rendered), text)
        each = {pkg: {name: engine._set_rule(pkg, name) for name in ("deny", "warn")} for pkg in together}
        assert together == each
        denied += sum(len(sets["deny"]) for sets in together.values())
    assert denied  # the thinned bundle's denials were compared too


def test_the_index_gives_what_the_scan_gives(fleet: tuple[pipeline.Rendered, dict[str, Any], str]) -> None:
    rendered, bundles, _ = fleet
    modules = _modules(rendered)
    [library] = [m for m in modules if m.origin == "fedfleet"]
    indexed = "of_kind(kind) := [input.objects[i] | some i in index[kind]]"
    assert indexed in library.source
    scanning = rego.RegoModule(library.name, library.source.replace(
        indexed, "of_kind(kind) := [o | some o in input.objects; o.object.kind == kind]"), library.origin)
    for bundle in bundles.values():
        text = rego.input_json(rego.build_input(rendered.fleet, rendered.plan, bundle))
        with_index = rego.EmbeddedEngine().evaluate_json(modules, text)
        with_scan = rego.EmbeddedEngine().evaluate_json([scanning if m is library else m for m in modules], text)
        assert with_index == with_scan


def test_a_failing_rule_is_named_as_before(fleet: tuple[pipeline.Rendered, dict[str, Any], str]) -> None:
    """An evaluation error fails the one query; each rule is then asked on its own, so the finding
    names the rule that failed, as when each was asked separately."""
    from fedfleet.findings import InputError

    rendered, bundles, _ = fleet
    text = rego.input_json(rego.build_input(rendered.fleet, rendered.plan, bundles["whole"]))
    broken = rego.RegoModule("broken.rego", "package fedfleet.broken\n\nimport rego.v1\n\n"
                                            "warn contains x if {\n\tsome job in input.jobs\n\tx := to_number(job.name)\n}\n", "test")
    with pytest.raises(InputError) as bad:
        rego.EmbeddedEngine().evaluate_json(_modules(rendered) + [broken], text)
    [finding] = bad.value.findings
    assert finding.check == "rego" and finding.message.startswith("evaluating data.fedfleet.broken.warn failed: ")


@pytest.mark.parametrize("package", ["fedfleet_lib.objects", "fedfleet_lib", "fedfleet_lib.mine"])
def test_a_policy_in_the_librarys_package_is_bad_input(package: str, fleet_repo: Path, run: Any) -> None:
    """data.fedfleet_lib is fedfleet's: a module of policies/ in that package would be merged into
    the library the built-in twins read (one more `index` entry changes what every twin sees;
    another `of_kind` is a conflict at evaluation). check and policy test refuse it, naming the
    file and the package line (exit 2), before anything is evaluated."""
    path = fleet_repo / "policies" / "mine" / "helpers.rego"
    path.parent.mkdir(parents=True)
    path.write_text(f"# my helpers\n\npackage {package}\n\nimport rego.v1\n\nindex[\"Policy\"] contains 0 if true\n")
    assert run("generate").code == 0
    for argv in (("check", "-o", "json"), ("policy", "test", "-o", "json")):
        result = run(*argv)
        assert result.code == 2, argv
        [finding] = json.loads(result.out)["findings"]
        assert finding["file"] == "policies/mine/helpers.rego" and finding["line"] == 3, argv
        assert "fedfleet_lib" in finding["message"], argv
