"""Sync-wave dependencies over the kustomize-built example bundle: passes as rendered, fails
naming both ends when a producer comes late or is missing."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from conftest import EXAMPLE_SPECS
from fedfleet import pipeline
from fedfleet.checks import waves
from fedfleet.checks.built import build_and_check


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[dict]]:
    out = tmp_path_factory.mktemp("bundle")
    rendered = pipeline.render(pipeline.Paths(EXAMPLE_SPECS, out))
    result = build_and_check(rendered.build_inputs, rendered.roots, None, None)
    assert not result.build_findings
    return result.objects


def _find(objs: list[dict], kind: str, name: str) -> dict:
    return next(o for o in objs if o.get("kind") == kind and o["metadata"]["name"] == name)


def _root_with(built: dict[str, list[dict]], kind: str, predicate) -> str:
    return next(r for r in sorted(built) if any(o.get("kind") == kind and predicate(o) for o in built[r]))


def test_example_bundle_has_no_wave_deadlock(built: dict[str, list[dict]]) -> None:
    findings, needs = waves.check(built)
    assert findings == [], [f.render() for f in findings]
    assert needs > 0


def test_secret_producer_moved_to_a_later_wave_fails_naming_both_ends(built: dict[str, list[dict]]) -> None:
    # The SuperLink Deployment mounts the Secret its Certificate produces: push the Certificate late.
    root = _root_with(built, "Certificate", lambda o: o["metadata"]["name"].startswith("superlink-"))
    objs = copy.deepcopy(built[root])
    cert = next(o for o in objs if o.get("kind") == "Certificate" and o["metadata"]["name"].startswith("superlink-"))
    cert["metadata"].setdefault("annotations", {})[waves.WAVE] = "5"
    secret = cert["spec"]["secretName"]
    findings = waves.check_root(root, objs)
    late = [f for f in findings if secret in f.message and "later wave 5" in f.message]
    assert late, [f.render() for f in findings]
    assert f"Certificate flower-system/{cert['metadata']['name']}" in late[0].message  # the producer
    assert "Deployment flower-system/" in late[0].message  # the consumer
    assert ".secret.secretName" in late[0].field


def test_missing_configmap_fails_naming_the_consumer_field(built: dict[str, list[dict]]) -> None:
    root = _root_with(built, "Job", lambda o: o["metadata"]["name"].startswith("flwr-run-"))
    job = next(o for o in built[root] if o.get("kind") == "Job" and o["metadata"]["name"].startswith("flwr-run-"))
    objs = [o for o in built[root] if not (o.get("kind") == "ConfigMap" and o["metadata"]["name"] == job["metadata"]["name"])]
    findings = waves.check_root(root, objs)
    missing = [f for f in findings if f"ConfigMap flower-system/{job['metadata']['name']}" in f.message]
    assert missing and "nothing in this build produces" in missing[0].message
    assert f"Job flower-system/{job['metadata']['name']}" in missing[0].message
    assert "configMap" in missing[0].field


def test_managed_cluster_secret_must_be_delivered_by_an_enforced_policy(built: dict[str, list[dict]]) -> None:
    root = _root_with(built, "AddOnTemplate", lambda o: True)
    assert not waves.check_root(root, built[root])
    objs = copy.deepcopy(built[root])
    for pol in (o for o in objs if o.get("kind") == "Policy"):
        pol["spec"]["remediationAction"] = "inform"  # informed only: nothing delivers the CA
    findings = waves.check_root(root, objs)
    assert any("on managed clusters" in f.message and "Secret" in f.message for f in findings), \
        [f.render() for f in findings]
