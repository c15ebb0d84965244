"""The bootstrap carries the health checks for both Argo CD flavours; the overlays carry the
sync options and the wave order the checks require. Read from the built (kustomize) output."""

from __future__ import annotations

import shutil
from pathlib import Path

import yaml

from fedfleet.checks.crds import SchemaSet
from fedfleet.checks.kustomize import build
from fedfleet.render.health import CHECKS, Health
from fedfleet.render.health import run as run_lua
from fedfleet.spec.load import load_fleet

from conftest import extra_crd
from test_health import CASES, objects

REPO = Path(__file__).resolve().parents[1]


def built(fleet_repo: Path, root: str) -> list[dict]:
    return build(fleet_repo / root)


def test_bootstrap_installs_the_checks_per_flavour(fleet_repo: Path, run) -> None:
    assert run("generate").code == 0
    fleet = load_fleet(fleet_repo / "specs")
    flavours = {h.name: h.argocd_flavour for h in fleet.hubs}
    assert flavours == {"hub-dev": "argocd", "hub-prod": "openshift-gitops"}, "the example shows both flavours"

    dev = {(o["kind"], o["metadata"]["name"]): o for o in built(fleet_repo, "bootstrap/hub-dev")}
    cm = dev[("ConfigMap", "argocd-cm")]
    assert cm["metadata"]["namespace"] == "argocd" and "labels" not in cm["metadata"]
    assert cm["data"] == {f"resource.customizations.health.{c.group}_{c.kind}": c.source for c in CHECKS}

    prod = {(o["kind"], o["metadata"]["name"]): o for o in built(fleet_repo, "bootstrap/hub-prod")}
    argocd = prod[("ArgoCD", "openshift-gitops")]
    assert argocd["apiVersion"] == "argoproj.io/v1beta1" and argocd["metadata"]["namespace"] == "openshift-gitops"
    assert list(argocd["spec"]) == ["resourceHealthChecks"], "only the field fedfleet owns"
    # the operator turns each entry into argocd-cm key "resource.customizations.health.<group>_<kind>"
    # (argocd-operator controllers/argocd/configmap.go getResourceHealthChecks)
    keys = {f"resource.customizations.health.{e['group']}_{e['kind']}": e["check"] for e in argocd["spec"]["resourceHealthChecks"]}
    assert keys == cm["data"]


def test_the_installed_scripts_give_the_tested_verdicts(fleet_repo: Path, run) -> None:
    """What the bootstrap ships (after kustomize) is what the health tests ran."""
    assert run("generate").code == 0
    argocd = next(o for o in built(fleet_repo, "bootstrap/hub-prod") if o["kind"] == "ArgoCD")
    scripts = {(e["group"], e["kind"]): e["check"] for e in argocd["spec"]["resourceHealthChecks"]}
    for file, name, status, message in CASES:
        o = objects(file)[name]
        group = o["apiVersion"].rpartition("/")[0]
        assert run_lua(scripts[(group, o["kind"])], o) == Health(status, message), name


def test_argocd_resource_matches_the_operator_crd(fleet_repo: Path, run, crds: Path, tmp_path: Path) -> None:
    argocd_crd = extra_crd("argoproj.io_argocds.yaml")
    assert run("generate").code == 0
    both = tmp_path / "crds"
    shutil.copytree(crds, both)
    shutil.copy(argocd_crd, both / argocd_crd.name)
    schemas = SchemaSet.from_directory(both)
    assert ("argoproj.io/v1beta1", "ArgoCD") in schemas.validators
    objs = built(fleet_repo, "bootstrap/hub-prod")
    argocd = [o for o in objs if o["kind"] == "ArgoCD"]
    findings, checked = schemas.validate(argocd, "bootstrap/hub-prod")
    assert len(argocd) == checked == 1 and findings == []
    broken = argocd[0]
    broken["spec"]["resourceHealthChecks"][0]["script"] = broken["spec"]["resourceHealthChecks"][0].pop("check")
    findings, _ = schemas.validate([broken], "x")
    assert any("script" in f.message for f in findings), "the strict schema must catch a wrong field name"


def test_overlays_carry_sync_options_and_jobs_come_last(fleet_repo: Path, run) -> None:
    assert run("generate").code == 0
    objs = built(fleet_repo, "overlays/hub-prod")

    def options(o: dict) -> str | None:
        return o["metadata"].get("annotations", {}).get("argocd.argoproj.io/sync-options")

    def wave(o: dict) -> int:
        return int(o["metadata"]["annotations"]["argocd.argoproj.io/sync-wave"])

    by_kind: dict[str, list[dict]] = {}
    for o in objs:
        by_kind.setdefault(o["kind"], []).append(o)
    assert {options(o) for o in by_kind["FederatedLearning"]} == {"ServerSideApply=true,SkipDryRunOnMissingResource=true"}
    assert {options(o) for o in by_kind["ManagedClusterSetBinding"]} == {"ServerSideApply=true"}
    for kind in ("Policy", "PlacementBinding", "PolicySet"):
        assert {options(o) for o in by_kind[kind]} == {"SkipDryRunOnMissingResource=true"}, kind
    for kind in ("Placement", "ClusterManagementAddOn", "ConfigMap", "Namespace", "ManagedClusterSet"):
        assert {options(o) for o in by_kind[kind]} == {None}, kind
    # a Waiting job is Progressing and holds its wave: everything it waits for comes earlier
    # (a Flower job's run Job goes with the jobs: it submits its run and waits in the SuperLink)
    last = max(wave(o) for o in objs if o["kind"] not in ("FederatedLearning", "Job"))
    assert min(wave(o) for o in by_kind["FederatedLearning"]) > last
    assert {wave(o) for o in by_kind["Job"]} == {wave(o) for o in by_kind["FederatedLearning"]}
    app = next(o for o in built(fleet_repo, "bootstrap/hub-prod") if o["kind"] == "Application")
    assert "SkipDryRunOnMissingResource=true" not in app["spec"]["syncPolicy"]["syncOptions"]


def test_job_client_placements_say_what_the_job_needs(fleet_repo: Path, run) -> None:
    assert run("generate").code == 0
    fleet = load_fleet(fleet_repo / "specs")
    placements = {o["metadata"]["name"]: o for o in built(fleet_repo, "overlays/hub-prod") if o["kind"] == "Placement"}
    for job in fleet.jobs_on("hub-prod"):
        notes = placements[f"fedfleet-clients-{job.name}"]["metadata"]["annotations"]
        assert notes["fedfleet.io/job"] == job.name
        assert notes["fedfleet.io/min-selected-clusters"] == str(job.min_clients)
    assert "fedfleet.io/min-selected-clusters" not in placements["fedfleet-hub"]["metadata"]["annotations"]
