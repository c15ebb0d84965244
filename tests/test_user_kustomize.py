"""User kustomize content (issue 14, point 3): the spec names extra resources, components and
patches per hub and per base; the generator lists them verbatim, never removes them, and never
prunes the hand-written files they name."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from conftest import line_of

HUB_PROD = '''    superlink: {exposure: Route, domain: apps.hub-prod.example.com}  # Routes superlink-<job>.apps.hub-prod.example.com:443
'''
USER = '''    kustomize:
      resources: [extra/quota.yaml]
      components: [../../components/audit]
      patches:
      - target: {kind: Namespace, name: fl-mnist}
        patch: |-
          - op: add
            path: /metadata/labels/team
            value: ml
'''
QUOTA = "apiVersion: v1\nkind: ResourceQuota\nmetadata: {name: fl-quota, namespace: fl-mnist}\nspec: {hard: {pods: '50'}}\n"
COMPONENT = ("apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\n"
             "commonAnnotations: {audit.acme.io/owner: platform}\n")


def _declare(repo: Path, block: str = USER) -> None:
    fleet = repo / "specs/fleet.yaml"
    fleet.write_text(fleet.read_text().replace(HUB_PROD, HUB_PROD + block))


def _hand_written(repo: Path) -> None:
    (repo / "overlays/hub-prod/extra").mkdir(parents=True, exist_ok=True)
    (repo / "overlays/hub-prod/extra/quota.yaml").write_text(QUOTA)
    (repo / "components/audit").mkdir(parents=True, exist_ok=True)
    (repo / "components/audit/kustomization.yaml").write_text(COMPONENT)


def _build(repo: Path, root: str) -> list[dict]:
    from fedfleet.checks.kustomize import build

    return build(repo / root)


def test_hub_resources_components_and_patches_are_built(fleet_repo: Path, run, crds: Path) -> None:
    _declare(fleet_repo)
    _hand_written(fleet_repo)
    assert run("generate").code == 0
    k = yaml.safe_load((fleet_repo / "overlays/hub-prod/kustomization.yaml").read_text())
    assert k["resources"][-1] == "extra/quota.yaml" and k["components"] == ["../../components/audit"]
    assert k["patches"][-1]["target"] == {"kind": "Namespace", "name": "fl-mnist"}
    objects = _build(fleet_repo, "overlays/hub-prod")
    quota = next(o for o in objects if o["kind"] == "ResourceQuota")
    assert quota["metadata"]["labels"]["fedfleet.io/hub"] == "hub-prod", "the overlay's labels reach it too"
    ns = next(o for o in objects if o["kind"] == "Namespace" and o["metadata"]["name"] == "fl-mnist")
    assert ns["metadata"]["labels"]["team"] == "ml"
    assert all(o["metadata"].get("annotations", {}).get("audit.acme.io/owner") == "platform" for o in objects)
    # validate and check build with the user's files (they are read from the repository)
    assert run("validate", "--crds", str(crds)).code == 0
    assert run("generate", "--check").code == 0


def test_generate_keeps_declared_content_and_never_prunes_hand_written_files(fleet_repo: Path, run) -> None:
    _declare(fleet_repo)
    _hand_written(fleet_repo)
    assert run("generate").code == 0
    assert run("generate").code == 0  # a second run changes nothing...
    assert "extra/quota.yaml" in (fleet_repo / "overlays/hub-prod/kustomization.yaml").read_text()
    fleet = fleet_repo / "specs/fleet.yaml"
    fleet.write_text(fleet.read_text().replace(USER, ""))  # ...and undeclaring drops the line only
    assert run("generate").code == 0
    assert "extra/quota.yaml" not in (fleet_repo / "overlays/hub-prod/kustomization.yaml").read_text()
    assert (fleet_repo / "overlays/hub-prod/extra/quota.yaml").read_text() == QUOTA, "hand-written: never pruned"
    assert (fleet_repo / "components/audit/kustomization.yaml").read_text() == COMPONENT


def test_base_content_goes_into_the_base(fleet_repo: Path, run) -> None:
    fleet = fleet_repo / "specs/fleet.yaml"
    fleet.write_text(fleet.read_text().replace("  clusterSets:\n", "  bases:\n    governance:\n      kustomize:\n"
                                               "        resources: [limits.yaml]\n  clusterSets:\n", 1))
    (fleet_repo / "bases/governance").mkdir(parents=True)
    (fleet_repo / "bases/governance/limits.yaml").write_text(
        "apiVersion: v1\nkind: LimitRange\nmetadata: {name: limits, namespace: fl-governance}\n"
        "spec: {limits: [{type: Container, default: {cpu: 500m}}]}\n")
    assert run("generate").code == 0
    k = yaml.safe_load((fleet_repo / "bases/governance/kustomization.yaml").read_text())
    assert k["resources"] == ["namespace.yaml", "limits.yaml"]
    assert any(o["kind"] == "LimitRange" for o in _build(fleet_repo, "overlays/hub-dev"))


def test_bad_paths_are_refused_at_their_line(fleet_repo: Path, run) -> None:
    _declare(fleet_repo, "    kustomize:\n      resources: [/etc/passwd, ../../../outside.yaml,"
                         " https://github.com/acme/x//base, extra/ok.yaml]\n")
    result = run("generate", "-o", "json")
    assert result.code == 2
    findings = json.loads(result.out)["findings"]
    line = line_of(fleet_repo / "specs/fleet.yaml", "/etc/passwd")
    messages = sorted(f["message"] for f in findings)
    assert [f["line"] for f in findings] == [line] * 3
    assert any("is absolute" in m for m in messages)
    assert any("leaves the repository" in m for m in messages)
    assert any("remote kustomize target" in m for m in messages)
    assert not (fleet_repo / "overlays").exists()


def test_a_resource_that_is_a_generated_file_is_refused(fleet_repo: Path, run) -> None:
    _declare(fleet_repo, "    kustomize:\n      resources: [jobs/mnist-eu.yaml]\n")
    result = run("generate")
    assert result.code == 2
    assert "'jobs/mnist-eu.yaml' is a file fedfleet generates" in result.err
    assert f"fleet.yaml:{line_of(fleet_repo / 'specs/fleet.yaml', 'jobs/mnist-eu.yaml')}:" in result.err


def test_schema_publishes_the_kustomize_fields(run) -> None:
    schema = json.loads(run("schema").out)
    text = json.dumps(schema)
    assert '"kustomize"' in text and '"components"' in text and '"bases"' in text
