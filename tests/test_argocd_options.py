"""Argo CD options in the spec (issue 14, point 4): per-hub targetRevision, syncPolicy
overrides, an existing project (then no AppProject is generated)."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from conftest import line_of

DEV_ARGO = "    argocd: {namespace: argocd, flavour: argocd}       # upstream Argo CD on the dev hub\n"
PROD_SUPERLINK = "    superlink: {exposure: Route, domain: apps.hub-prod.example.com}"


def _edit(repo: Path, old: str, new: str) -> None:
    fleet = repo / "specs/fleet.yaml"
    text = fleet.read_text()
    assert old in text
    fleet.write_text(text.replace(old, new, 1))


def _app(repo: Path, hub: str) -> dict:
    return yaml.safe_load((repo / f"bootstrap/{hub}/application.yaml").read_text().split("\n", 1)[1])


def test_target_revision_sync_policy_and_existing_project(fleet_repo: Path, run) -> None:
    _edit(fleet_repo, DEV_ARGO, "    argocd:\n      namespace: argocd\n      flavour: argocd\n"
          "      project: platform-fl\n"
          "      syncPolicy: {automated: null, syncOptions: [PruneLast=true, RespectIgnoreDifferences=true]}\n")
    _edit(fleet_repo, PROD_SUPERLINK, "    argocd: {targetRevision: v1.4.0}\n" + PROD_SUPERLINK)
    assert run("generate").code == 0
    dev, prod = _app(fleet_repo, "hub-dev"), _app(fleet_repo, "hub-prod")
    assert dev["spec"]["source"]["targetRevision"] == "main", "repo.revision by default"
    assert prod["spec"]["source"]["targetRevision"] == "v1.4.0"
    assert "automated" not in dev["spec"]["syncPolicy"], "automated: null = manual sync"
    assert dev["spec"]["syncPolicy"]["syncOptions"] == ["PruneLast=true", "RespectIgnoreDifferences=true"]
    assert dev["spec"]["syncPolicy"]["retry"]["limit"] == 5, "keys not named keep fedfleet's value"
    assert prod["spec"]["syncPolicy"]["automated"] == {"prune": True, "selfHeal": True}
    # an existing project: used, and no AppProject generated for that hub
    assert dev["spec"]["project"] == "platform-fl"
    assert not (fleet_repo / "bootstrap/hub-dev/appproject.yaml").exists()
    kustomization = yaml.safe_load((fleet_repo / "bootstrap/hub-dev/kustomization.yaml").read_text())
    assert "appproject.yaml" not in kustomization["resources"]
    assert (fleet_repo / "bootstrap/hub-prod/appproject.yaml").exists()
    assert prod["spec"]["project"] == yaml.safe_load(
        (fleet_repo / "bootstrap/hub-prod/appproject.yaml").read_text().split("\n", 1)[1])["metadata"]["name"]


def test_naming_a_project_later_prunes_the_generated_one(fleet_repo: Path, run) -> None:
    assert run("generate").code == 0
    assert (fleet_repo / "bootstrap/hub-dev/appproject.yaml").exists()
    _edit(fleet_repo, DEV_ARGO, "    argocd: {namespace: argocd, flavour: argocd, project: default}\n")
    assert run("generate").code == 0
    assert not (fleet_repo / "bootstrap/hub-dev/appproject.yaml").exists()
    assert _app(fleet_repo, "hub-dev")["spec"]["project"] == "default", "Argo CD's own default project"


def test_a_bad_sync_policy_is_refused_at_its_line(fleet_repo: Path, run) -> None:
    _edit(fleet_repo, DEV_ARGO, "    argocd: {namespace: argocd, flavour: argocd, syncPolicy: {automatic: true}}\n")
    result = run("generate", "-o", "json")
    assert result.code == 2
    [finding] = json.loads(result.out)["findings"]
    assert finding["line"] == line_of(fleet_repo / "specs/fleet.yaml", "automatic: true")
    assert "automatic" in finding["message"]
