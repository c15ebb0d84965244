"""The ApplicationSet form against Argo CD's own renderer (tools/appset: argo-cd v3.6.1's
applicationset-controller code, GenerateApplications with the list generator, RenderTemplateParams
and applyTemplatePatch, unchanged).

For each fleet: the ApplicationSet fedfleet writes is expanded by Argo CD, and the Applications it
generates must equal the per-hub Applications fedfleet writes for the same fleet without
`applicationSet`, both decoded into Argo CD's Application type and encoded again (so `prune: false`
and an absent `prune` compare equal, as Argo CD reads them). Nothing is compared by hand.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from oracles.oracle_tools import tool

REPO = Path(__file__).resolve().parents[2]


def argo(appset_or_apps: Any, *flags: str) -> list[dict[str, Any]]:
    done = subprocess.run([str(tool("appset")), *flags], input=json.dumps(appset_or_apps),
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return sorted(json.loads(done.stdout), key=lambda a: a["metadata"]["name"])


def generated(root: Path, rel: str) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all((root / rel).read_text()) if d]


def fleet_copy(root: Path, edit) -> Path:  # type: ignore[no-untyped-def]
    shutil.copytree(REPO / "specs", root / "specs")
    fleet = root / "specs/fleet.yaml"
    fleet.write_text(edit(fleet.read_text()))
    return root


DEV_ARGO = "    argocd: {namespace: argocd, flavour: argocd}       # upstream Argo CD on the dev hub\n"


def _members(text: str) -> str:
    """hub-dev in hub-prod's Argo CD namespace, its own destination, and per-hub options that
    differ from hub-prod's: an existing project, another revision, a syncPolicy with a key
    dropped and one replaced."""
    return text.replace(DEV_ARGO, (
        "    argocd:\n      namespace: openshift-gitops\n"
        "      destinationServer: https://api.hub-dev.example.com:6443\n"
        "      project: platform-fl\n      targetRevision: dev\n"
        "      syncPolicy: {automated: null, retry: {limit: 2, backoff: {duration: 5s, factor: 3, maxDuration: 1m}}}\n"))


def _many(text: str) -> str:
    """Ten more hubs, every syncPolicy variant the spec allows, and a repository URL with `{{`
    (which a template must print, not execute)."""
    variants = ["{}", "{automated: null}", "{syncOptions: null}", "{retry: null}",
                "{automated: {prune: false, selfHeal: true, allowEmpty: true}}",
                "{syncOptions: [CreateNamespace=true, ServerSideApply=true]}", "{retry: {limit: -1}}",
                "{automated: null, syncOptions: null, retry: null}", "{automated: {}}", "{}"]
    hubs = "".join(
        f"  - name: hub-{i:02d}\n    environment: {('dev', 'staging', 'prod')[i % 3]}\n"
        f"    server: https://api.hub-{i:02d}.example.com:6443\n"
        f"    argocd: {{namespace: openshift-gitops, destinationServer: 'https://hub-{i:02d}.example.com:6443'"
        + (f", targetRevision: release-{i}" if i % 2 else "") + (", project: team-x" if i % 4 == 0 else "")
        + f", syncPolicy: {variant}}}\n"
        for i, variant in enumerate(variants))
    text = _members(text).replace("  - name: hub-prod\n", hubs + "  - name: hub-prod\n", 1)
    return text.replace("url: https://git.example.com/platform/fleet.git",
                        "url: 'https://git.example.com/platform/{{fleet}}.git'")


def _everything(text: str) -> str:
    return text.replace("  clusterSets:\n", "  applicationSet: {hub: hub-prod}\n  clusterSets:\n", 1)


@pytest.mark.parametrize("edit", [_members, _many], ids=["two hubs, overrides", "twelve hubs, every syncPolicy form"])
def test_argo_cd_generates_the_per_hub_applications(run: Any, tmp_path: Path, monkeypatch, edit) -> None:  # type: ignore[no-untyped-def]
    per_hub = fleet_copy(tmp_path / "per-hub", edit)
    with_set = fleet_copy(tmp_path / "appset", lambda t: _everything(edit(t)))
    for root in (per_hub, with_set):
        monkeypatch.chdir(root)
        assert run("generate").code == 0
    hubs = sorted(p.name for p in (per_hub / "bootstrap").iterdir())
    expected = [app for hub in hubs for app in generated(per_hub, f"bootstrap/{hub}/application.yaml")]
    for app in expected:
        del app["apiVersion"], app["kind"]
    [appset] = generated(with_set, "bootstrap/hub-prod/applicationset.yaml")
    got = argo(appset)
    assert [a["metadata"]["name"] for a in got] == [f"fedfleet-{h}" for h in hubs]
    assert got == argo(expected, "-applications")
    # the per-hub differences really are there (a comparison of identical Applications proves little)
    by_name = {a["metadata"]["name"]: a for a in got}
    assert by_name["fedfleet-hub-dev"]["spec"]["project"] == "platform-fl"
    assert by_name["fedfleet-hub-dev"]["spec"]["source"]["targetRevision"] == "dev"
    assert "automated" not in by_name["fedfleet-hub-dev"]["spec"]["syncPolicy"]
    assert by_name["fedfleet-hub-prod"]["spec"]["syncPolicy"]["automated"] == {"prune": True, "selfHeal": True}
    assert all("finalizers" not in a["metadata"] for a in got), "no resources-finalizer: as the per-hub form"


def test_a_missing_element_key_is_an_error_in_argo_cd(run: Any, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """missingkey=error: an element without a key the template uses fails the render instead of
    producing an Application with an empty field."""
    root = fleet_copy(tmp_path, lambda t: _everything(_members(t)))
    monkeypatch.chdir(root)
    assert run("generate").code == 0
    [appset] = generated(root, "bootstrap/hub-prod/applicationset.yaml")
    del appset["spec"]["generators"][0]["list"]["elements"][0]["targetRevision"]
    done = subprocess.run([str(tool("appset"))], input=json.dumps(appset), capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "targetRevision" in done.stderr, done.stderr
