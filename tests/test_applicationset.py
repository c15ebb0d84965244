"""The ApplicationSet form (issue 14, point 4): one ApplicationSet held by one hub's Argo CD in
place of one Application per hub. That it generates the very Applications of the per-hub form is
proven against Argo CD's own renderer in tests/oracles/test_oracle_applicationset.py; here: the
bundle's layout, the AppProject, the CRD schema and the refused specs."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from conftest import line_of

DEV_ARGO = "    argocd: {namespace: argocd, flavour: argocd}       # upstream Argo CD on the dev hub\n"
# hub-dev's Argo CD objects in hub-prod's namespace, its API server as hub-prod's Argo CD knows it,
# and per-hub options that differ from hub-prod's: they must survive the ApplicationSet.
DEV_MEMBER = ("    argocd:\n      namespace: openshift-gitops\n"
              "      destinationServer: https://api.hub-dev.example.com:6443\n"
              "      targetRevision: dev\n      syncPolicy: {automated: null, syncOptions: [PruneLast=true]}\n")
APPSET = "  applicationSet: {name: fl-hubs, hub: hub-prod}\n"


def edit(repo: Path, old: str, new: str) -> None:
    fleet = repo / "specs/fleet.yaml"
    text = fleet.read_text()
    assert old in text, old
    fleet.write_text(text.replace(old, new, 1))


def use_application_set(repo: Path, appset: str = APPSET, dev: str = DEV_MEMBER) -> None:
    edit(repo, DEV_ARGO, dev)
    edit(repo, "  clusterSets:\n", appset + "  clusterSets:\n")


def docs(path: Path) -> list[dict]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d]


def test_one_application_set_on_the_holder_and_no_per_hub_application(fleet_repo: Path, run, crds: Path) -> None:
    use_application_set(fleet_repo)
    assert run("generate").code == 0
    boot = fleet_repo / "bootstrap"
    assert not (boot / "hub-dev/application.yaml").exists() and not (boot / "hub-prod/application.yaml").exists()
    [appset] = docs(boot / "hub-prod/applicationset.yaml")
    assert (appset["kind"], appset["metadata"]["name"], appset["metadata"]["namespace"]) == \
        ("ApplicationSet", "fl-hubs", "openshift-gitops")
    assert appset["spec"]["goTemplate"] is True and appset["spec"]["goTemplateOptions"] == ["missingkey=error"]
    [generator] = appset["spec"]["generators"]
    assert [e["hub"] for e in generator["list"]["elements"]] == ["hub-dev", "hub-prod"]
    for hub in ("hub-dev", "hub-prod"):
        resources = yaml.safe_load((boot / hub / "kustomization.yaml").read_text())["resources"]
        assert "application.yaml" not in resources
        assert ("applicationset.yaml" in resources) == (hub == "hub-prod")
    # the holder's project lets the held Applications through: both destinations, fleet repo
    [project] = docs(boot / "hub-prod/appproject.yaml")
    assert [d["server"] for d in project["spec"]["destinations"]] == \
        ["https://kubernetes.default.svc", "https://api.hub-dev.example.com:6443"]
    # hub-dev keeps what its own Argo CD needs for its bootstrap Applications
    assert {"argocd-rbac.yaml", "appproject.yaml", "fl-controller.yaml", "hub-policies.yaml",
            "health-checks.yaml"} <= {p.name for p in (boot / "hub-dev").iterdir()}
    # the ApplicationSet is valid against Argo CD's CRD (../shared/crds/applicationset-crd.yaml)
    result = run("validate", "--crds", str(crds), "-o", "json")
    assert result.code == 0, result.out
    assert not [f for f in json.loads(result.out)["findings"] if "ApplicationSet" in f["message"]]


def test_switching_forms_prunes_the_other_file(fleet_repo: Path, run) -> None:
    assert run("generate").code == 0
    assert (fleet_repo / "bootstrap/hub-prod/application.yaml").exists()
    use_application_set(fleet_repo)
    assert run("generate").code == 0
    assert not (fleet_repo / "bootstrap/hub-prod/application.yaml").exists()
    assert (fleet_repo / "bootstrap/hub-prod/applicationset.yaml").exists()


def test_members_only_some_hubs(fleet_repo: Path, run) -> None:
    """`hubs` limits the set: a hub outside it keeps its own Application."""
    use_application_set(fleet_repo, "  applicationSet: {hub: hub-prod, hubs: [hub-prod]}\n", DEV_ARGO)
    assert run("generate").code == 0
    assert (fleet_repo / "bootstrap/hub-dev/application.yaml").exists()
    [appset] = docs(fleet_repo / "bootstrap/hub-prod/applicationset.yaml")
    assert appset["metadata"]["name"] == "fedfleet-hubs"
    assert [e["hub"] for e in appset["spec"]["generators"][0]["list"]["elements"]] == ["hub-prod"]


def _refused(fleet_repo: Path, run) -> list[dict]:
    result = run("generate", "-o", "json")
    assert result.code == 2, result.out
    assert not (fleet_repo / "bootstrap").exists(), "nothing half written"
    return json.loads(result.out)["findings"]


def test_a_member_in_another_argo_cd_namespace_is_refused_at_its_line(fleet_repo: Path, run) -> None:
    use_application_set(fleet_repo, dev=DEV_MEMBER.replace("namespace: openshift-gitops", "namespace: argocd"))
    [finding] = _refused(fleet_repo, run)
    assert finding["line"] == line_of(fleet_repo / "specs/fleet.yaml", "namespace: argocd")
    assert finding["field"] == "spec.hubs[0].argocd.namespace"
    assert "'openshift-gitops'" in finding["message"] and "'argocd'" in finding["message"]


def test_two_members_on_one_destination_are_refused(fleet_repo: Path, run) -> None:
    use_application_set(fleet_repo, dev=DEV_MEMBER.replace("https://api.hub-dev.example.com:6443",
                                                           "https://kubernetes.default.svc"))
    [finding] = _refused(fleet_repo, run)
    assert finding["field"].endswith("argocd.destinationServer")
    assert "hub-dev" in finding["message"] and "hub-prod" in finding["message"]


def test_unknown_hubs_are_refused(fleet_repo: Path, run) -> None:
    use_application_set(fleet_repo, "  applicationSet: {hub: hub-qa, hubs: [hub-prod, hub-dev, hub-stage]}\n")
    findings = _refused(fleet_repo, run)
    messages = sorted(f["message"] for f in findings)
    assert any("'hub-stage'" in m for m in messages) and any("'hub-qa'" in m for m in messages), messages
    assert {f["line"] for f in findings} == {line_of(fleet_repo / "specs/fleet.yaml", "applicationSet:")}


def test_the_holder_renders_the_project_a_member_uses(fleet_repo: Path, run) -> None:
    """The holder names an existing project, a member uses fedfleet's: the holder's Argo CD still
    needs fedfleet's project, for that member's destination only."""
    use_application_set(fleet_repo)
    edit(fleet_repo, "    superlink: {exposure: Route", "    argocd: {project: platform-fl}\n    superlink: {exposure: Route")
    assert run("generate").code == 0
    [project] = docs(fleet_repo / "bootstrap/hub-prod/appproject.yaml")
    assert project["spec"]["destinations"] == [{"server": "https://api.hub-dev.example.com:6443", "namespace": "*"}]
    assert project["spec"]["description"].endswith("on hub-dev")
    [appset] = docs(fleet_repo / "bootstrap/hub-prod/applicationset.yaml")
    assert {e["hub"]: e["project"] for e in appset["spec"]["generators"][0]["list"]["elements"]} == \
        {"hub-dev": "fedfleet", "hub-prod": "platform-fl"}
