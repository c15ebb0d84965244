"""registration.addon on the live audit's recorded ManagedClusterAddOns (tests/fixtures/hub-prod/):
config-policy-controller's dryrun, on the hub, flags the same clients as the live audit and the Rego
twin (tests/test_registration_policy.py): none as recorded; eu-hosp-1 (another fleet's signer) and
eu-hosp-2 (rotation failed) in the broken recording."""

from __future__ import annotations

import json
from pathlib import Path

from fedfleet import pipeline
from oracles.oracle_acm import dryrun
from oracles.oracle_tools import REPO
from test_registration_policy import RECORDED, broken_recording, twin_denials


def _policy() -> dict:
    rendered = pipeline.render(pipeline.Paths(REPO / "specs", REPO))
    policy = next(d for d in rendered.bundle["overlays/hub-prod/governance/registration.yaml"]
                  if d["metadata"]["name"] == "registration-addon-mnist-eu")
    # No hub template in it: the replicated policy is the root policy.
    assert "{{hub" not in json.dumps(policy)
    return policy


def test_dryrun_agrees_with_the_live_audit_and_the_twin(tmp_path: Path) -> None:
    policy = _policy()
    recorded = json.loads(RECORDED.read_text())["items"]
    assert dryrun(policy, recorded, tmp_path, "recorded").compliant
    assert twin_denials(REPO, {"items": recorded}) == {}
    broken = broken_recording()["items"]
    verdict = dryrun(policy, broken, tmp_path, "broken")
    assert not verdict.compliant
    flagged = {line.split("namespace ")[1].split()[0].rstrip(";")
               for line in verdict.messages.split("; ") if line.startswith("violation")}
    assert flagged == {"eu-hosp-1", "eu-hosp-2"} == set(twin_denials(REPO, {"items": broken}))
