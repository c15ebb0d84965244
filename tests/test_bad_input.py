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


def whole(content: str | bytes):
    return lambda _text: content


# Latin-1 "café" on line 3: the message must give line and column, not a byte offset.
NOT_UTF8 = b"apiVersion: fedfleet.io/v1alpha1\nkind: FederatedLearningJob\nmetadata: {name: caf\xe9}\n"


def line_of(text: str | bytes, anchor: str | tuple[str, int]) -> int:
    """1-based line of the n-th line holding `anchor` (first by default)."""
    needle, nth = (anchor, 1) if isinstance(anchor, str) else anchor
    lines = text.decode("latin-1").splitlines() if isinstance(text, bytes) else text.splitlines()
    hits = [i + 1 for i, line in enumerate(lines) if needle in line]
    assert len(hits) >= nth, f"fixture drifted: {needle!r} not in the edited file"
    return hits[nth - 1]


CASES = [
    # (id, file, edit, expected message fragment, anchor: text on the line the message must name,
    #  or (text, n) for its n-th occurrence; the line is found in the edited file, never hard-coded)
    ("malformed-yaml", JOB, replace("rounds: 5", "rounds: [5"), "malformed YAML", "minAvailableClients: 2"),
    ("tab-indentation", JOB, replace("  hub: hub-prod", "\thub: hub-prod"), "malformed YAML", "\thub: hub-prod"),
    ("python-tag", JOB, replace("rounds: 5", "rounds: !!python/object/apply:os.system ['touch /tmp/pwned']"),
     "is not allowed", "rounds: !!python"),
    ("alias-bomb", JOB, replace("  tls: {enabled: true}", "  tls: &a {enabled: true}\n  extra: *a"),
     "aliases are not allowed", "extra: *a"),
    ("duplicate-key", JOB, replace("  namespace: fl-mnist", "  namespace: fl-mnist\n  namespace: other"),
     "duplicate key 'namespace'", "namespace: other"),
    ("unknown-field", JOB, replace("  framework: flower", "  framework: flower\n  framwork: flower"),
     "unknown field 'framwork'; did you mean 'framework'?", "framwork: flower"),
    ("wrong-type", JOB, replace("rounds: 5", "rounds: five"), "'five' is not of type 'integer'", "rounds: five"),
    ("zero-rounds", JOB, replace("rounds: 5", "rounds: 0"), "less than the minimum of 1", "rounds: 0"),
    ("bad-framework", JOB, replace("framework: flower", "framework: tensorflow"), "is not one of", "framework: tensorflow"),
    ("bad-listener-type", JOB, replace("type: Route", "type: Ingress"), "is not one of", "type: Ingress"),
    ("invalid-k8s-name", JOB, replace("namespace: fl-mnist", "namespace: FL_Mnist"), "does not match", "namespace: FL_Mnist"),
    ("name-escapes-output", JOB, replace("name: mnist-eu", "name: ../../etc"), "does not match", "name: ../../etc"),
    ("name-too-long", JOB, replace("name: mnist-eu", "name: " + "m" * 64), "is too long", "name: mmmm"),
    ("dangling-hub", JOB, replace("hub: hub-prod", "hub: hub-mars"), "hub 'hub-mars'", "hub: hub-mars"),
    ("dangling-cluster-set", JOB, replace("clusterSets: [eu-hospitals]", "clusterSets: [eu-clinics]"),
     "cluster set 'eu-clinics' is not declared; the sets of hub hub-prod are: eu-hospitals, us-clinics",
     "clusterSets: [eu-clinics]"),
    ("set-of-another-hub", JOB, replace("clusterSets: [eu-hospitals]", "clusterSets: [dev-sandbox]"),
     "belongs to hub 'hub-dev'", "clusterSets: [dev-sandbox]"),
    ("dangling-data-holder", JOB, replace("eu-hosp-3: /srv/fl/mnist", "eu-hosp-9: /srv/fl/mnist"),
     "data holder 'eu-hosp-9' is not a declared cluster", "eu-hosp-9: /srv/fl/mnist"),
    ("relative-data-path", JOB, replace("eu-hosp-3: /srv/fl/mnist", "eu-hosp-3: srv/fl/mnist"),
     "does not match", "eu-hosp-3: srv/fl/mnist"),
    ("unreachable-min-clients", JOB, replace("numberOfClusters: 3", "numberOfClusters: 1"),
     "can never reach minAvailableClients=2", "numberOfClusters: 1"),
    ("unsupported-placement-field", JOB, replace("    numberOfClusters: 3", "    numberOfClusters: 3\n    spreadPolicy: {}"),
     "unknown field 'spreadPolicy'", "spreadPolicy: {}"),
    ("bad-selector-operator", "specs/jobs/ct-segment-us.yaml", replace("operator: In", "operator: Gt"),
     "is not one of", "operator: Gt"),
    ("duplicate-cluster", EU, replace("name: eu-hosp-2", "name: eu-hosp-1"), "duplicate cluster name 'eu-hosp-1'", ("name: eu-hosp-1", 2)),
    ("dangling-set-of-cluster", EU, replace("clusterSet: eu-hospitals", "clusterSet: eu-hospital"),
     "cluster set 'eu-hospital', which the fleet does not declare; the declared sets are: dev-sandbox, eu-hospitals, "
     "us-clinics", "clusterSet: eu-hospital"),
    ("bad-quantity", EU, replace("cpu: \"32\"", "cpu: lots"), "does not match", "cpu: lots"),
    ("allocatable-over-capacity", EU, replace("allocatable: {cpu: \"32\"", "allocatable: {cpu: \"64\""),
     "allocatable cpu exceeds capacity", "allocatable: {cpu: \"64\""),
    ("bad-taint-effect", EU, replace("effect: NoSelect", "effect: NoSchedule"), "is not one of", "effect: NoSchedule"),
    ("duplicate-hub", FLEET, replace("name: hub-prod", "name: hub-dev"), "duplicate hub name 'hub-dev'", ("name: hub-dev", 2)),
    ("wrong-api-version", FLEET, replace("fedfleet.io/v1alpha1", "fedfleet.io/v2"), "apiVersion must be", "fedfleet.io/v2"),
    ("unknown-kind", "specs/jobs/extra.yaml", whole("apiVersion: fedfleet.io/v1alpha1\nkind: Cluster\nmetadata: {name: x}\n"),
     "unknown kind 'Cluster'", "kind: Cluster"),
    ("document-not-a-mapping", "specs/jobs/extra.yaml", whole("- just\n- a list\n"), "must be a mapping", "- just"),
    ("not-utf8", "specs/jobs/extra.yaml", whole(NOT_UTF8), "not UTF-8", "name: caf"),
    ("second-fleet", "specs/fleet2.yaml", lambda _t: (Path("specs/fleet.yaml").read_text()), "exactly one Fleet", "kind: Fleet"),
    ("bad-argocd-flavour", FLEET, replace("flavour: argocd}", "flavour: gitlab}"), "is not one of", "flavour: gitlab}"),
    ("argocd-flavour-in-operator-namespace", FLEET, replace("{namespace: argocd, flavour: argocd}", "{flavour: argocd}"),
     "owns argocd-cm and would remove the health checks", "{flavour: argocd}"),
    ("argocd-instance-without-operator", FLEET,
     replace("{namespace: argocd, flavour: argocd}", "{namespace: argocd, flavour: argocd, instance: main}"),
     "'instance' names the OpenShift GitOps ArgoCD resource and would be ignored", "instance: main}"),
    ("insecure-http-hub", FLEET, replace("server: https://api.hub-dev", "server: http://api.hub-dev"),
     "does not match", "server: http://api.hub-dev"),
]


@pytest.mark.parametrize("case_id,file,edit,expect,anchor", CASES, ids=[c[0] for c in CASES])
def test_bad_input_exits_2_names_the_place_and_writes_nothing(fleet_repo: Path, run, case_id, file, edit, expect, anchor):
    path = fleet_repo / file
    original = path.read_text() if path.exists() else ""
    new = edit(original)
    path.write_bytes(new if isinstance(new, bytes) else new.encode())
    result = run("generate")
    assert result.code == 2, result.out + result.err
    assert expect in result.err, result.err
    where = f"{file}:{line_of(new, anchor)}:"
    assert where in result.err, result.err
    assert "Traceback" not in result.err
    assert not any((fleet_repo / d).exists() for d in ("bases", "overlays", "bootstrap")), "nothing may be written"
    assert not Path("/tmp/pwned").exists()


def test_not_utf8_names_line_and_column_of_the_byte(fleet_repo: Path, run) -> None:
    (fleet_repo / "specs/jobs/extra.yaml").write_bytes(NOT_UTF8)
    column = NOT_UTF8.split(b"\n")[2].index(b"\xe9") + 1
    result = run("generate")
    assert result.code == 2
    assert f"specs/jobs/extra.yaml:3:{column}: error: yaml: not UTF-8" in result.err, result.err


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


@pytest.mark.parametrize("typo", ["numberOfCluster: 3", "spreadPolicy:\n      maxSkew: 1", "spreadPolicy: {maxSkew: 1}"])
def test_an_unknown_field_points_at_its_key_not_its_value(fleet_repo: Path, run, typo: str) -> None:
    path = fleet_repo / JOB
    text = path.read_text()
    assert "    numberOfClusters: 3\n" in text, "fixture drifted"
    path.write_text(text.replace("    numberOfClusters: 3\n", f"    numberOfClusters: 3\n    {typo}\n", 1))
    key = typo.split(":")[0]
    line = line_of(path.read_text(), f"    {key}:")
    result = run("generate")
    assert result.code == 2 and f"unknown field '{key}'" in result.err
    assert f"{JOB}:{line}:5: error:" in result.err, result.err  # the key starts at column 5
