"""Modes that cannot lie: a policy's remediation over the full precedence matrix (environment
default, plugin parameter, per-policy override, the plugin's forced mode), the input errors of a
request a forced mode refuses, and the core's own refusal of plugins that claim to enforce what
ACM can only report."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import pytest

from fedfleet import pipeline
from fedfleet.findings import InputError
from fedfleet.governance import Concern, PolicyContent, Target, Template, hookimpl, load_registry
from fedfleet.governance.wrap import remediation_for

PATHS = pipeline.Paths(Path("specs"), Path("."))
MODES = (None, "inform", "enforce")


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new, 1))


def _content(forced: str | None) -> PolicyContent:
    return PolicyContent(name="p", description="d", target=Target("hub"), remediation=forced,  # type: ignore[arg-type]
                         forced_because="because" if forced else "",
                         templates=(Template("ConfigurationPolicy", {"object-templates": []}),))


@pytest.mark.parametrize("env,wide,override,forced",
                         list(itertools.product(("inform", "enforce"), MODES, MODES, MODES)))
def test_precedence_matrix(fleet_repo: Path, env: str, wide: str | None, override: str | None,
                           forced: str | None) -> None:
    fleet = pipeline.load(PATHS)
    hub = next(h for h in fleet.hubs if fleet.remediation[h.environment] == env)
    params: dict[str, Any] = {}
    if wide:
        params["remediation"] = wide
    if override:
        params["overrides"] = {"p": {"remediation": override}}
    mode, errors = remediation_for(hub, fleet, "tls", params, _content(forced))
    if forced:
        # the forced mode wins, always; asking for the other one is an error, asking for it is not
        assert mode == forced
        asked_other = [a for a in (override, wide) if a and a != forced]
        assert len(errors) == len(asked_other)
        for e in errors:
            assert "policy 'p' of plugin 'tls' can only " + forced in e.message and "because" in e.message
            assert e.field.startswith("spec.governance.plugins.tls.")
    else:
        assert errors == []
        assert mode == (override or wide or env)


def test_forced_inform_asked_to_enforce_is_an_input_error_at_the_parameter(fleet_repo: Path, run) -> None:
    _edit(fleet_repo / "specs/fleet.yaml", "  hubs:\n", "  governance:\n    plugins:\n      tls:\n        remediation: enforce\n"
          "      addon:\n        overrides:\n          controller: {remediation: enforce}\n  hubs:\n")
    result = run("generate")
    assert result.code == 2
    lines = result.err.splitlines()
    wide = [line for line in lines if "spec.governance.plugins.tls.remediation" in line]
    # every observe-only tls policy is named, once (not once per hub), with the line of the parameter
    for name in ("no-insecure", "secrets", "certificates", "jobs", "ca-digits-dev", "ca-mnist-eu"):
        assert sum(f"policy '{name}' of plugin 'tls' can only inform, not enforce" in line for line in wide) == 1, name
    assert not any("'superlink'" in line for line in wide), "tls-superlink may enforce"
    text = (fleet_repo / "specs/fleet.yaml").read_text().splitlines()
    line_no = next(i for i, line in enumerate(text, 1) if "remediation: enforce" in line)
    assert all(line.startswith(f"specs/fleet.yaml:{line_no}:") for line in wide)
    override = [line for line in lines if "spec.governance.plugins.addon.overrides.controller.remediation" in line]
    assert len(override) == 1 and "status conditions" in override[0]
    assert not (fleet_repo / "overlays").exists() or "nothing was written" in result.err


def test_forced_enforce_asked_to_inform_is_an_input_error(fleet_repo: Path, run) -> None:
    _edit(fleet_repo / "specs/fleet.yaml", "  hubs:\n", "  governance:\n    plugins:\n      membership: {remediation: inform}\n  hubs:\n")
    result = run("generate")
    assert result.code == 2 and "can only enforce, not inform" in result.err and "labels no ManagedCluster" in result.err


def test_a_policy_that_may_follow_the_parameters_does(fleet_repo: Path) -> None:
    _edit(fleet_repo / "specs/fleet.yaml", "  hubs:\n", "  governance:\n    plugins:\n      tls:\n        overrides:\n"
          "          superlink: {remediation: enforce}\n  hubs:\n")
    b = pipeline.render(PATHS)
    dev = next(d for d in b.bundle["overlays/hub-dev/governance/tls.yaml"] if d["metadata"]["name"] == "tls-superlink")
    assert dev["spec"]["remediationAction"] == "enforce"
    assert dev["spec"]["policy-templates"][0]["objectDefinition"]["spec"]["remediationAction"] == "enforce"


# --- the core refuses plugins whose "enforce" ACM would not honour -------------------------------

class _Plugin:
    def __init__(self, policies: list[PolicyContent]) -> None:
        self._policies = policies

    @hookimpl
    def fedfleet_concern(self) -> Concern:
        return Concern(name="extra", title="t", description="d", standards=("S",), categories=("C",), controls=("X-1 c",))

    @hookimpl
    def fedfleet_policies(self, context: Any) -> list[PolicyContent]:
        return self._policies


def _render_with(plugin: _Plugin) -> pipeline.Rendered:
    return pipeline.render(PATHS, registry=load_registry(extra={"extra": plugin}))


CM = {"apiVersion": "v1", "kind": "ConfigMap"}


@pytest.mark.parametrize("template,why", [
    (Template("ConfigurationPolicy", {"object-templates": [{"complianceType": "musthave",
                                                            "objectDefinition": {**CM, "metadata": {"namespace": "n"}}}]}),
     "without a name"),
    (Template("ConfigurationPolicy", {"object-templates": [{"complianceType": "musthave", "objectDefinition": {
        **CM, "metadata": {"name": "x", "namespace": "n"}, "status": {"phase": "Ready"}}}]}), "status can only be observed"),
    (Template("CertificatePolicy", {"namespaceSelector": {"include": ["n"]}}), "only reports"),
])
def test_observe_only_content_must_force_inform(fleet_repo: Path, template: Template, why: str) -> None:
    plugin = _Plugin([PolicyContent(name="p", description="d", target=Target("hub"), templates=(template,))])
    with pytest.raises(InputError) as err:
        _render_with(plugin)
    assert "policy 'p' can only inform" in str(err.value) and why in str(err.value)
    forced = _Plugin([PolicyContent(name="p", description="d", target=Target("hub"), remediation="inform",
                                    templates=(template,))])
    assert _render_with(forced).bundle


def test_template_names_never_collide(fleet_repo: Path) -> None:
    named = {"complianceType": "musthave", "objectDefinition": {**CM, "metadata": {"name": "x", "namespace": "n"}}}
    two = (Template("ConfigurationPolicy", {"object-templates": [named]}),) * 2
    # policy "a" has templates extra-a-1 and extra-a-2; policy "a-2" is extra-a-2 itself
    plugin = _Plugin([PolicyContent(name="a", description="d", target=Target("hub"), templates=two),
                      PolicyContent(name="a-2", description="d", target=Target("hub"), templates=two[:1])])
    with pytest.raises(InputError) as err:
        _render_with(plugin)
    assert "policy template 'extra-a-2'" in str(err.value)
    ok = _Plugin([PolicyContent(name="a", description="d", target=Target("hub"), templates=two)])
    names = [t["objectDefinition"]["metadata"]["name"] for d in _render_with(ok).bundle["overlays/hub-prod/governance/extra.yaml"]
             if d["kind"] == "Policy" for t in d["spec"]["policy-templates"]]
    assert names == ["extra-a-1", "extra-a-2"]
