"""conftest compatibility (issue 14.5): `package main` in policies/ runs with conftest's semantics,
one built object at a time (open-policy-agent/conftest policy/engine.go), through `fedfleet check`."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from conftest import REPO, line_of

DENY = """package main

import rego.v1

deny contains msg if {
	input.kind == "Deployment"
	not input.spec.template.spec.securityContext.runAsNonRoot
	msg := sprintf("Deployment %s must set runAsNonRoot", [input.metadata.name])
}
"""

WARN = """package main

import rego.v1

warn_team contains {"msg": sprintf("Namespace %s has no team label", [input.metadata.name]), "owner": "platform"} if {
	input.kind == "Namespace"
	not input.metadata.labels.team
}
"""


@pytest.fixture
def repo(fleet_repo: Path, run, crds: Path) -> Path:  # crds: check validates against the CRD store
    shutil.copytree(REPO / "policies", fleet_repo / "policies")
    assert run("generate").code == 0
    return fleet_repo


def _policy(repo: Path, text: str, name: str = "k8s.rego") -> Path:
    path = repo / "policies/conftest" / name
    path.parent.mkdir(exist_ok=True)
    path.write_text(text)
    return path


def _check(run) -> tuple[int, dict]:
    result = run("check", "-o", "json")
    report = json.loads(result.out)
    return result.code, next((c for c in report["checks"] if c["name"] == "conftest"), {})


def test_no_package_main_no_conftest_run(repo: Path, run) -> None:
    code, conftest = _check(run)
    assert code == 0 and conftest == {}


def test_a_conftest_deny_fires_per_object(repo: Path, run) -> None:
    _policy(repo, DENY)
    code, conftest = _check(run)
    assert code == 1 and conftest["status"] == "failed"
    found = conftest["findings"]
    names = {f["subject"] for f in found}
    # every Deployment kustomize builds (the per-job SuperLinks), each its own finding at its root
    assert {"Deployment flower-system/superlink-mnist-eu", "Deployment flower-system/superlink-digits-dev"} <= names
    mnist = next(f for f in found if f["subject"] == "Deployment flower-system/superlink-mnist-eu")
    assert mnist == {**mnist, "check": "conftest:deny", "severity": "error", "file": "overlays/hub-prod",
                     "message": "Deployment superlink-mnist-eu must set runAsNonRoot"}
    assert all(f["subject"].startswith("Deployment ") for f in found), "input is one object: only Deployments match"
    assert "package main: 1 rule(s) (deny)" in conftest["summary"]
    text = run("check").out
    assert "FAILED   conftest" in text and "overlays/hub-prod: error: conftest:deny: Deployment superlink-mnist-eu" in text


def test_a_warn_only_warns(repo: Path, run) -> None:
    _policy(repo, WARN)
    code, conftest = _check(run)
    assert code == 0 and conftest["status"] == "passed"
    assert conftest["findings"] and {f["severity"] for f in conftest["findings"]} == {"warning"}
    assert any(f["message"] == "Namespace fl-mnist has no team label" for f in conftest["findings"])


def test_violation_prefixes_and_exceptions(repo: Path, run) -> None:
    _policy(repo, """package main

import rego.v1

violation_image_registry contains {"msg": sprintf("%s pulls from docker.io", [input.metadata.name])} if {
	input.kind == "Deployment"
	some c in input.spec.template.spec.containers
	startswith(c.image, "flwr/")
}

exception contains rules if {
	input.metadata.name == "superlink-digits-dev"
	rules := ["image_registry"]
}
""")
    code, conftest = _check(run)
    assert code == 1
    failing = {f["subject"] for f in conftest["findings"] if f["check"] == "conftest:violation_image_registry"}
    assert "Deployment flower-system/superlink-mnist-eu" in failing
    assert "Deployment flower-system/superlink-digits-dev" not in failing, "excepted by name without the prefix"
    assert ", 1 excepted" in conftest["summary"]


def test_package_main_without_rules_is_said(repo: Path, run) -> None:
    _policy(repo, "package main\n\nimport rego.v1\n\nis_deployment if input.kind == \"Deployment\"\n")
    code, conftest = _check(run)
    assert code == 0 and conftest["findings"] == []
    assert conftest["summary"] == "package main has no deny/violation/warn rule"


def test_deny_if_without_contains_is_refused_as_conftest_does(repo: Path, run) -> None:
    path = _policy(repo, "package main\n\nimport rego.v1\n\ndeny if {\n\tinput.kind == \"Secret\"\n}\n")
    code, conftest = _check(run)
    assert code == 1 and conftest["status"] == "failed"
    [finding] = conftest["findings"]
    assert "conftest refuses the boolean form" in finding["message"]
    assert (finding["file"], finding["line"]) == ("policies/conftest/k8s.rego", line_of(path, "deny if {"))


def test_a_result_without_msg_is_an_error(repo: Path, run) -> None:
    _policy(repo, "package main\n\nimport rego.v1\n\nwarn contains {\"message\": \"x\"} if input.kind == \"Namespace\"\n")
    code, conftest = _check(run)
    assert code == 1
    assert all(f["severity"] == "error" and "has no string `msg`" in f["message"] for f in conftest["findings"])


def test_data_conftest_file_names_the_directory(repo: Path, run) -> None:
    _policy(repo, """package main

import rego.v1

warn contains sprintf("%s in %s", [input.metadata.name, data.conftest.file.name]) if input.kind == "ManagedClusterSet"
""")
    code, conftest = _check(run)
    assert code == 0
    assert any(f["message"] == "eu-hospitals in overlays/hub-prod" for f in conftest["findings"])


def test_another_package_with_deny_rules_is_not_silently_skipped(repo: Path, run) -> None:
    path = _policy(repo, "package kubernetes.admission\n\nimport rego.v1\n\n"
                         "deny contains \"no\" if input.kind == \"Secret\"\n")
    code, conftest = _check(run)
    assert code == 0
    [finding] = conftest["findings"]
    assert finding["severity"] == "warning" and "package kubernetes.admission defines deny but is not evaluated" in \
        finding["message"]
    assert (finding["file"], finding["line"]) == ("policies/conftest/k8s.rego", line_of(path, "deny contains"))


def test_rego_v0_syntax_is_refused_with_the_line_and_why(repo: Path, run) -> None:
    path = _policy(repo, "package main\n\ndeny[msg] {\n\tinput.kind == \"Secret\"\n\tmsg := \"x\"\n}\n")
    result = run("check", "-o", "json")
    assert result.code == 1
    rego = next(c for c in json.loads(result.out)["checks"] if c["name"] == "rego")
    [finding] = rego["findings"]
    assert finding["file"] == "policies/conftest/k8s.rego" and finding["line"] == line_of(path, "deny[msg]")
    assert "conftest's default --rego-version v1" in finding["message"]


def test_policy_test_runs_package_main_tests(repo: Path, run) -> None:
    _policy(repo, DENY)
    _policy(repo, """package main

import rego.v1

test_deployment_without_non_root_is_denied if {
	count(deny) == 1 with input as {"kind": "Deployment", "metadata": {"name": "d"}, "spec": {"template": {"spec": {}}}}
}

test_non_root_passes if {
	count(deny) == 0 with input as {"kind": "Deployment", "metadata": {"name": "d"}, "spec": {"template": {"spec": {"securityContext": {"runAsNonRoot": true}}}}}
}
""", "k8s_test.rego")
    result = run("policy", "test", "-o", "json")
    assert result.code == 0
    tests = {t["name"]: t["outcome"] for t in json.loads(result.out)["tests"] if t["package"] == "main"}
    assert tests == {"test_deployment_without_non_root_is_denied": "passed", "test_non_root_passes": "passed"}
