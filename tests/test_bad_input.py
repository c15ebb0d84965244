"""Bad input of every kind: exit 2, a message naming file, line and field, nothing written.

Each case edits one file of a copy of the example fleet. `expect` is a fragment of the message,
`where` the file:line the message must name (line 0: the file only).
"""

from __future__ import annotations

from pathlib import Path

import pytest

JOB = "specs/jobs/mnist-eu.yaml"
FLEET = "specs/fleet.yaml"
EU = "specs/clusters/eu-hospitals.yaml"


def replace(old: str, new: str):
    def edit(text: str) -> str:
        assert old in text, f"fixture drifted: {old!r} not in file"
        return text.replace(old, new, 1)

    return edit


def whole(content: str):
    return lambda _text: content


CASES = [
    # (id, file, edit, expected message fragment, expected "file:line")
    ("malformed-yaml", JOB, replace("rounds: 5", "rounds: [5"), "malformed YAML", f"{JOB[6:]}:"),
    ("tab-indentation", JOB, replace("  hub: hub-prod", "\thub: hub-prod"), "malformed YAML", f"{JOB[6:]}:"),
    ("python-tag", JOB, replace("rounds: 5", "rounds: !!python/object/apply:os.system ['touch /tmp/pwned']"),
     "is not allowed", f"{JOB[6:]}:11"),
    ("alias-bomb", JOB, replace("  tls: {enabled: true}", "  tls: &a {enabled: true}\n  extra: *a"),
     "aliases are not allowed", f"{JOB[6:]}:"),
    ("duplicate-key", JOB, replace("  namespace: fl-mnist", "  namespace: fl-mnist\n  namespace: other"),
     "duplicate key 'namespace'", f"{JOB[6:]}:8"),
    ("unknown-field", JOB, replace("  framework: flower", "  framework: flower\n  framwork: flower"),
     "unknown field 'framwork'", f"{JOB[6:]}:9"),
    ("wrong-type", JOB, replace("rounds: 5", "rounds: five"), "'five' is not of type 'integer'", f"{JOB[6:]}:11"),
    ("zero-rounds", JOB, replace("rounds: 5", "rounds: 0"), "less than the minimum of 1", f"{JOB[6:]}:11"),
    ("bad-framework", JOB, replace("framework: flower", "framework: tensorflow"), "is not one of", f"{JOB[6:]}:8"),
    ("bad-listener-type", JOB, replace("type: Route", "type: Ingress"), "is not one of", f"{JOB[6:]}:14"),
    ("invalid-k8s-name", JOB, replace("namespace: fl-mnist", "namespace: FL_Mnist"), "does not match", f"{JOB[6:]}:7"),
    ("name-escapes-output", JOB, replace("name: mnist-eu", "name: ../../etc"), "does not match", f"{JOB[6:]}:4"),
    ("name-too-long", JOB, replace("name: mnist-eu", "name: " + "m" * 64), "is too long", f"{JOB[6:]}:4"),
    ("dangling-hub", JOB, replace("hub: hub-prod", "hub: hub-mars"), "hub 'hub-mars'", f"{JOB[6:]}:6"),
    ("dangling-cluster-set", JOB, replace("clusterSets: [eu-hospitals]", "clusterSets: [eu-clinics]"),
     "cluster set 'eu-clinics' is not declared", f"{JOB[6:]}:"),
    ("set-of-another-hub", JOB, replace("clusterSets: [eu-hospitals]", "clusterSets: [dev-sandbox]"),
     "belongs to hub 'hub-dev'", f"{JOB[6:]}:"),
    ("dangling-data-holder", JOB, replace("eu-hosp-3: /srv/fl/mnist", "eu-hosp-9: /srv/fl/mnist"),
     "data holder 'eu-hosp-9' is not a declared cluster", f"{JOB[6:]}:22"),
    ("relative-data-path", JOB, replace("eu-hosp-3: /srv/fl/mnist", "eu-hosp-3: srv/fl/mnist"),
     "does not match", f"{JOB[6:]}:22"),
    ("unreachable-min-clients", JOB, replace("numberOfClusters: 3", "numberOfClusters: 1"),
     "can never reach minAvailableClients=2", f"{JOB[6:]}:"),
    ("unsupported-placement-field", JOB, replace("    numberOfClusters: 3", "    numberOfClusters: 3\n    spreadPolicy: {}"),
     "unknown field 'spreadPolicy'", f"{JOB[6:]}:"),
    ("bad-selector-operator", "specs/jobs/ct-segment-us.yaml", replace("operator: In", "operator: Gt"),
     "is not one of", "jobs/ct-segment-us.yaml:"),
    ("duplicate-cluster", EU, replace("name: eu-hosp-2", "name: eu-hosp-1"), "duplicate cluster name 'eu-hosp-1'",
     f"{EU[6:]}:"),
    ("dangling-set-of-cluster", EU, replace("clusterSet: eu-hospitals", "clusterSet: eu-hospital"),
     "cluster set 'eu-hospital'", f"{EU[6:]}:8"),
    ("bad-quantity", EU, replace("cpu: \"32\"", "cpu: lots"), "does not match", f"{EU[6:]}:"),
    ("allocatable-over-capacity", EU, replace("allocatable: {cpu: \"32\"", "allocatable: {cpu: \"64\""),
     "allocatable cpu exceeds capacity", f"{EU[6:]}:"),
    ("bad-taint-effect", EU, replace("effect: NoSelect", "effect: NoSchedule"), "is not one of", f"{EU[6:]}:"),
    ("duplicate-hub", FLEET, replace("name: hub-prod", "name: hub-dev"), "duplicate hub name 'hub-dev'", f"{FLEET[6:]}:"),
    ("wrong-api-version", FLEET, replace("fedfleet.io/v1alpha1", "fedfleet.io/v2"), "apiVersion must be", f"{FLEET[6:]}:1"),
    ("unknown-kind", "specs/jobs/extra.yaml", whole("apiVersion: fedfleet.io/v1alpha1\nkind: Cluster\nmetadata: {name: x}\n"),
     "unknown kind 'Cluster'", "jobs/extra.yaml:2"),
    ("document-not-a-mapping", "specs/jobs/extra.yaml", whole("- just\n- a list\n"), "must be a mapping", "jobs/extra.yaml:1"),
    ("not-utf8", "specs/jobs/extra.yaml", lambda _t: "kind: \udcff", "not UTF-8", "jobs/extra.yaml"),
    ("second-fleet", "specs/fleet2.yaml", lambda _t: (Path("specs/fleet.yaml").read_text()), "exactly one Fleet", "fleet2.yaml"),
    ("bad-argocd-flavour", FLEET, replace("flavour: argocd}", "flavour: gitlab}"), "is not one of", f"{FLEET[6:]}:20"),
    ("argocd-flavour-in-operator-namespace", FLEET, replace("{namespace: argocd, flavour: argocd}", "{flavour: argocd}"),
     "owns argocd-cm and would remove the health checks", f"{FLEET[6:]}:20"),
    ("argocd-instance-without-operator", FLEET,
     replace("{namespace: argocd, flavour: argocd}", "{namespace: argocd, flavour: argocd, instance: main}"),
     "'instance' names the OpenShift GitOps ArgoCD resource and would be ignored", f"{FLEET[6:]}:20"),
    ("insecure-http-hub", FLEET, replace("server: https://api.hub-dev", "server: http://api.hub-dev"),
     "does not match", f"{FLEET[6:]}:"),
]


@pytest.mark.parametrize("case_id,file,edit,expect,where", CASES, ids=[c[0] for c in CASES])
def test_bad_input_exits_2_names_the_place_and_writes_nothing(fleet_repo: Path, run, case_id, file, edit, expect, where):
    path = fleet_repo / file
    original = path.read_text() if path.exists() else ""
    new = edit(original)
    if case_id == "not-utf8":
        path.write_bytes(b"kind: \xff\xfe\n")
    else:
        path.write_text(new)
    result = run("generate")
    assert result.code == 2, result.out + result.err
    assert expect in result.err, result.err
    assert where in result.err, result.err
    assert "Traceback" not in result.err
    assert not any((fleet_repo / d).exists() for d in ("bases", "overlays", "bootstrap")), "nothing may be written"
    assert not Path("/tmp/pwned").exists()


def test_every_error_is_reported_not_only_the_first(fleet_repo: Path, run) -> None:
    job = fleet_repo / JOB
    job.write_text(job.read_text().replace("rounds: 5", "rounds: five").replace("framework: flower", "framework: x"))
    eu = fleet_repo / EU
    eu.write_text(eu.read_text().replace("effect: NoSelect", "effect: Nope"))
    result = run("generate")
    assert result.code == 2
    assert "'five'" in result.err and "'x' is not one of" in result.err and "'Nope'" in result.err


def test_existing_bundle_is_untouched_by_bad_input(fleet_repo: Path, run) -> None:
    assert run("generate").code == 0
    before = {p: p.read_bytes() for p in (fleet_repo / "overlays").rglob("*") if p.is_file()}
    job = fleet_repo / JOB
    job.write_text(job.read_text().replace("rounds: 5", "rounds: -1"))
    assert run("generate").code == 2
    after = {p: p.read_bytes() for p in (fleet_repo / "overlays").rglob("*") if p.is_file()}
    assert before == after


def test_missing_spec_directory(tmp_path: Path, run, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = run("generate")
    assert result.code == 2 and "spec directory does not exist" in result.err
